//! The front line over HTTP (issue 16, items 1, 4, 5 and 7; ADR 0031):
//! - checks defined in the browser, refusals next to their field, switched
//!   off and silenced;
//! - the incident page: timeline, the last deployment's commits, acknowledge
//!   and resolve, a business update posted to a Slack stand-in (the Web API's
//!   `chat.postMessage`) and shown on the status page, the post-incident note;
//! - the status page: for signed-in people unless made public; its 90-day
//!   uptime per service is the one availability definition the uptime route
//!   answers;
//! - KPI series collected from a real Prometheus and the test PostgreSQL,
//!   failures kept on the source and retried with backoff.

use axum::Router;
use axum::routing::get;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use tandem_domain::git::{Commit, CommitSource};
use tandem_store::EngineKind;
use tandem_testkit::per_engine;
use tandem_testkit::slack::SlackStandIn;

use crate::pages::{Browser, Got, csrf_of};
use crate::prom_tools;
use crate::support::{ADMIN_PASSWORD, TestApp};

per_engine!(
    checks_are_defined_switched_off_and_silenced_in_the_browser,
    the_incident_page_coordinates_the_front_line,
    the_status_page_uptime_is_the_uptime_routes_figure,
    the_status_page_is_public_only_when_configured,
    kpis_are_collected_from_prometheus_and_postgres,
);

const REPO: &str = "acme/payments";
const BOT_TOKEN: &str = "xoxb-frontline-test";

/// The shared Slack Web API stand-in (`tandem_testkit::slack`).
async fn slack() -> SlackStandIn {
    SlackStandIn::start(BOT_TOKEN, Vec::new()).await
}

/// The settings the test server runs with, for calling the app directly.
fn app_settings(app: &TestApp, slack: &SlackStandIn) -> tandem_app::Settings {
    let env: Vec<(String, String)> = [
        ("TANDEM_DATABASE__URL", app.db_url().to_owned()),
        ("TANDEM_SLACK__BOT_TOKEN", BOT_TOKEN.to_owned()),
        ("TANDEM_SLACK__API_URL", slack.api_url()),
        (
            "TANDEM_FRONTLINE__BUSINESS_CHANNEL",
            "C0BUSINESS".to_owned(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let example = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tandem.example.toml"));
    tandem_app::Settings::load_from(Some(example), &env).unwrap()
}

/// Waits (up to ten seconds) until the incident's business update `n`
/// (newest first) satisfies `done`; the update.
async fn update_when(app: &TestApp, id: &str, n: usize, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..200 {
        let view = app
            .get(&app.member, &format!("/api/v1/incidents/{id}/front-line"))
            .await
            .ok(200)
            .body;
        last = view["updates"][n].clone();
        if done(&last) {
            return last;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("business update {n} of {id} never got there: {last:#}");
}

/// An HTTP target answering `GET /healthz` with 200.
async fn target() -> String {
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/healthz", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// A port nobody listens on.
fn closed_port() -> String {
    format!("http://127.0.0.1:{}/healthz", prom_tools::free_port())
}

async fn setup(app: &TestApp) {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "repositories": [REPO], "services": ["payments", "search"]}),
    )
    .await;
}

async fn admin(app: &TestApp) -> Browser {
    let mut b = Browser::new(app);
    b.sign_in("admin", ADMIN_PASSWORD).await;
    b
}

/// 2026-03-02 00:00 UTC plus `hours`.
fn h(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::hours(hours)
}

fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

fn commit(name: char, parents: &[char], at: i64, subject: &str) -> Commit {
    Commit {
        repo: REPO.to_owned(),
        sha: sha(name),
        author_name: "Dev".into(),
        author_email: "dev@example.com".into(),
        authored_at: h(at),
        author_offset: 0,
        committed_at: h(at),
        committer_offset: 0,
        subject: subject.into(),
        parents: parents.iter().map(|p| sha(*p)).collect(),
        parent_count: i32::try_from(parents.len()).unwrap(),
        additions: Some(1),
        deletions: Some(0),
        files: Vec::new(),
        source: CommitSource::Git,
    }
}

/// Posts the check form.
async fn post_check(
    b: &mut Browser,
    csrf: &str,
    url: &str,
    interval: &str,
    maintenance: &str,
) -> Got {
    b.post(
        "/checks",
        &[
            ("csrf", csrf),
            ("name", "payments-health"),
            ("team", "pay"),
            ("service", "payments"),
            ("kind", "http"),
            ("target", url),
            ("conditions", "[STATUS] == 200\n[BODY] =~ ok"),
            ("interval_seconds", interval),
            ("timeout_seconds", "2"),
            ("failure_threshold", "2"),
            ("success_threshold", "1"),
            ("grace_seconds", "0"),
            ("severity", "warning"),
            ("maintenance", maintenance),
        ],
    )
    .await
}

async fn checks_are_defined_switched_off_and_silenced_in_the_browser(engine: EngineKind) {
    let app = TestApp::start_with(engine, &[("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS", "0")]).await;
    setup(&app).await;
    let url = target().await;
    let mut b = admin(&app).await;
    let home = b.get("/").await;
    assert!(home.body.contains("<a href=\"/checks\""), "{}", home.body);
    let form = b.get("/checks/new").await;
    assert_eq!(form.status, 200, "{}", form.body);
    let csrf = csrf_of(&form.body);
    // An interval under 5 s is refused next to its field; nothing stored.
    let refused = post_check(&mut b, &csrf, &url, "3", "").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"c-interval-error\""),
        "{}",
        refused.body
    );
    assert!(refused.body.contains("out of range"), "{}", refused.body);
    // A bad maintenance line too.
    let refused = post_check(&mut b, &csrf, &url, "30", "sunday").await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"c-maintenance-error\""),
        "{}",
        refused.body
    );
    assert!(
        app.get(&app.member, "/api/v1/checks").await.ok(200).body == json!([]),
        "nothing stored"
    );
    // Without the form's token: 403, nothing stored.
    let forged = post_check(&mut b, "forged", &url, "30", "").await;
    assert_eq!(forged.status, 403, "{}", forged.body);
    assert!(app.get(&app.member, "/api/v1/checks").await.ok(200).body == json!([]));

    // Saved, with its maintenance window, as the API would have it.
    let saved = post_check(&mut b, &csrf, &url, "30", "sun,sat 02:00-04:00").await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    assert_eq!(saved.location.as_deref(), Some("/checks?done=saved"));
    let c = app
        .get(&app.member, "/api/v1/checks/payments-health")
        .await
        .ok(200)
        .body;
    assert_eq!(c["spec"]["interval_seconds"], 30);
    assert_eq!(c["spec"]["severity"], "warning");
    assert_eq!(
        c["spec"]["conditions"],
        json!(["[STATUS] == 200", "[BODY] =~ ok"])
    );
    assert_eq!(
        c["spec"]["maintenance"],
        json!([{"weekdays": ["sun", "sat"], "start": "02:00", "end": "04:00"}])
    );
    // Run it; the list shows its state and last result.
    app.post(
        &app.manager,
        "/api/v1/checks/payments-health/run",
        json!({}),
    )
    .await
    .ok(200);
    let list = b.get("/checks").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(list.body.contains("payments-health"), "{}", list.body);
    assert!(list.body.contains("passed at"), "{}", list.body);

    // Edited: the form shows the stored definition and saves a change.
    let edit = b.get("/checks/payments-health").await;
    assert_eq!(edit.status, 200, "{}", edit.body);
    assert!(edit.body.contains("sun,sat 02:00-04:00"), "{}", edit.body);
    let saved = post_check(&mut b, &csrf, &url, "45", "").await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let c = app
        .get(&app.member, "/api/v1/checks/payments-health")
        .await
        .ok(200)
        .body;
    assert_eq!(c["spec"]["interval_seconds"], 45);
    assert_eq!(c["spec"]["maintenance"], Value::Null);

    // Switched off and on; silenced.
    let off = b
        .post("/checks/payments-health/disable", &[("csrf", &csrf)])
        .await;
    assert_eq!(off.location.as_deref(), Some("/checks?done=disabled"));
    let c = app
        .get(&app.member, "/api/v1/checks/payments-health")
        .await
        .ok(200)
        .body;
    assert_eq!(c["disabled"], true);
    assert!(b.get("/checks").await.body.contains("Enable"));
    b.post("/checks/payments-health/enable", &[("csrf", &csrf)])
        .await;
    let silenced = b
        .post(
            "/checks/payments-health/silence",
            &[("csrf", &csrf), ("minutes", "90")],
        )
        .await;
    assert_eq!(silenced.location.as_deref(), Some("/checks?done=silenced"));
    let c = app
        .get(&app.member, "/api/v1/checks/payments-health")
        .await
        .ok(200)
        .body;
    assert_eq!(c["disabled"], false);
    assert!(c["silenced_until"].is_string(), "{c:#}");
    let refused = b
        .post(
            "/checks/payments-health/silence",
            &[("csrf", &csrf), ("minutes", "99999")],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("silence-minutes-error"),
        "{}",
        refused.body
    );

    // The API switches checks off too.
    let c = app
        .post(
            &app.manager,
            "/api/v1/checks/payments-health/disable",
            json!({}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(c["disabled"], true);
    app.post(
        &app.member,
        "/api/v1/checks/payments-health/disable",
        json!({}),
    )
    .await
    .err(403, "forbidden");

    // Members do not define checks in the browser.
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": "dev", "role": "member", "password": "a-long-enough-password"}),
    )
    .await
    .ok(201);
    let mut dev = Browser::new(&app);
    dev.sign_in("dev", "a-long-enough-password").await;
    assert_eq!(dev.get("/checks").await.status, 403);
    assert_eq!(dev.get("/checks/new").await.status, 403);
    app.stop().await;
}

/// How many incidents of March 2026 the payments time to restore counts
/// as resolved.
async fn restored(app: &TestApp) -> Value {
    let path = "/api/v1/delivery/dora?project=payments&since=2026-03-01&until=2026-03-05";
    app.get(&app.member, path).await.ok(200).body["time_to_restore"]["resolved"].clone()
}

async fn the_incident_page_coordinates_the_front_line(engine: EngineKind) {
    let slack = slack().await;
    let slack_api = slack.api_url();
    let app = TestApp::start_with(
        engine,
        &[
            ("TANDEM_SLACK__BOT_TOKEN", BOT_TOKEN),
            ("TANDEM_SLACK__API_URL", slack_api.as_str()),
            ("TANDEM_FRONTLINE__BUSINESS_CHANNEL", "C0BUSINESS"),
            // The test runs the outbox's retries itself.
            ("TANDEM_REQUESTS__DELIVER_INTERVAL_SECONDS", "0"),
        ],
    )
    .await;
    setup(&app).await;
    let store = app.store().await;
    // History a ← b ← c; deployment d-1 ships c at h(10) (b and c: a is
    // older than the first deployment's look-back); the incident at h(12).
    store
        .upsert_commits(&[
            commit('a', &[], 4 - 40 * 24, "Initial import"),
            commit('b', &['a'], 2, "Retry card captures"),
            commit('c', &['b'], 4, "Shorter payment timeout"),
        ])
        .await
        .unwrap();
    app.post(
        &app.member,
        "/api/v1/events/deployments",
        json!({"id": "d-1", "service": "payments", "environment": "production",
               "started_at": h(9), "finished_at": h(10), "status": "success",
               "repo": REPO, "sha": sha('c')}),
    )
    .await
    .ok(200);
    app.post(
        &app.member,
        "/api/v1/events/incidents",
        json!({"id": "INC-1", "service": "payments", "severity": "sev1",
               "opened_at": h(12), "title": "Card payments fail"}),
    )
    .await
    .ok(200);
    let id = app.get(&app.member, "/api/v1/incidents").await.ok(200).body[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let page_path = format!("/incidents/{id}");

    let mut b = admin(&app).await;
    let list = b.get("/incidents").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert!(
        list.body.contains(&format!("href=\"{page_path}\"")),
        "the list links the page: {}",
        list.body
    );
    let page = b.get(&page_path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    for part in [
        "Card payments fail",
        "Detected",
        "deployment <code>d-1</code>",
        "Retry card captures",
        "Shorter payment timeout",
        "# Post-incident note: Card payments fail",
    ] {
        assert!(page.body.contains(part), "{part:?} missing: {}", page.body);
    }
    assert!(!page.body.contains("Initial import"), "{}", page.body);
    let csrf = csrf_of(&page.body);

    // A business update without what is affected: refused by its field.
    let refused = b
        .post(
            &format!("{page_path}/updates"),
            &[
                ("csrf", &csrf),
                ("affected", " "),
                ("doing", "Rolling back"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"u-affected-error\""),
        "{}",
        refused.body
    );
    assert!(slack.calls().is_empty());

    assert_eq!(restored(&app).await, 0);

    // Acknowledged, then an update to the stakeholders' channel.
    let acked = b
        .post(&format!("{page_path}/ack"), &[("csrf", &csrf)])
        .await;
    assert_eq!(acked.status, 303, "{}", acked.body);
    let next = (Utc::now() + Duration::hours(1))
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let sent = b
        .post(
            &format!("{page_path}/updates"),
            &[
                ("csrf", &csrf),
                ("affected", "About 1 in 5 card payments fail at checkout."),
                ("doing", "We are rolling back this morning's release."),
                ("next_update_at", &next),
            ],
        )
        .await;
    assert_eq!(
        sent.location.as_deref(),
        Some(format!("{page_path}?done=update-queued").as_str()),
        "{}",
        sent.body
    );
    // Through the outbox, right away.
    let messages = slack.wait_for("chat.postMessage", 1).await;
    assert_eq!(messages.len(), 1, "{messages:#?}");
    let posted_update = update_when(&app, &id, 0, |u| u["slack_outcome"] == "posted").await;
    assert_eq!(posted_update["slack_attempts"], 1);
    let page = b.get(&page_path).await;
    assert!(page.body.contains("(Slack: posted "), "{}", page.body);
    let messages: Vec<Value> = messages.into_iter().map(|c| c.body).collect();
    assert_eq!(messages[0]["channel"], "C0BUSINESS");
    let text = messages[0]["text"].as_str().unwrap();
    assert!(text.contains("About 1 in 5 card payments fail"), "{text}");
    assert!(text.contains("rolling back"), "{text}");
    assert!(text.contains("Next update by"), "{text}");

    // The status page shows the update (signed in; it is not public).
    let status = b.get("/status").await;
    assert_eq!(status.status, 200, "{}", status.body);
    assert!(
        status.body.contains("About 1 in 5 card payments fail"),
        "{}",
        status.body
    );

    // The note is saved; then resolved.
    let noted = b
        .post(
            &format!("{page_path}/note"),
            &[
                ("csrf", &csrf),
                ("body", "# What happened\n\nA shorter timeout."),
            ],
        )
        .await;
    assert_eq!(noted.status, 303, "{}", noted.body);
    let resolved = b
        .post(&format!("{page_path}/resolve"), &[("csrf", &csrf)])
        .await;
    assert_eq!(resolved.status, 303, "{}", resolved.body);
    let page = b.get(&page_path).await;
    assert!(page.body.contains("A shorter timeout."), "{}", page.body);
    assert!(page.body.contains("Acknowledged by admin"), "{}", page.body);

    // The API sees the same: the timeline in order, the suspects.
    let view = app
        .get(&app.member, &format!("/api/v1/incidents/{id}/front-line"))
        .await
        .ok(200)
        .body;
    let kinds: Vec<&str> = view["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["detected", "acknowledged", "business-update", "resolved"]
    );
    let suspects: Vec<&str> = view["suspects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert_eq!(suspects, ["Shorter payment timeout", "Retry card captures"]);
    assert_eq!(view["last_deployment"]["external_id"], "d-1");
    assert!(view["incident"]["resolved_at"].is_string());
    assert_eq!(
        view["note"]["body"],
        "# What happened\n\nA shorter timeout."
    );
    // Resolved through the same path as any report: time to restore counts it.
    let dora = app
        .get(
            &app.member,
            "/api/v1/delivery/dora?project=payments&since=2026-03-01&until=2026-03-05",
        )
        .await
        .ok(200)
        .body;
    assert_eq!(dora["time_to_restore"]["incidents"], 1, "{dora:#}");
    assert_eq!(dora["time_to_restore"]["resolved"], 1, "{dora:#}");
    assert_eq!(restored(&app).await, 1);

    // The API's business update and note; the roles.
    let u = app
        .post(
            &app.member,
            &format!("/api/v1/incidents/{id}/updates"),
            json!({"affected": "Nothing any more.", "doing": "Watching."}),
        )
        .await
        .ok(201)
        .body;
    assert_eq!(u["slack_outcome"], "pending", "the outbox posts it");
    update_when(&app, &id, 0, |u| u["slack_outcome"] == "posted").await;
    assert_eq!(slack.calls_to("chat.postMessage").len(), 2);

    // Slack down: the update is on the status page at once; the page shows
    // the failed attempt; once Slack is back the outbox posts it, once.
    slack.set_down(true);
    let u = app
        .post(
            &app.member,
            &format!("/api/v1/incidents/{id}/updates"),
            json!({"affected": "Refunds are delayed by a day.", "doing": "Replaying them."}),
        )
        .await
        .ok(201)
        .body;
    assert_eq!(u["slack_outcome"], "pending");
    let status = b.get("/status").await;
    assert!(
        status.body.contains("Refunds are delayed by a day."),
        "{}",
        status.body
    );
    let failed = update_when(&app, &id, 0, |u| u["slack_error"].is_string()).await;
    assert_eq!(
        (
            failed["slack_outcome"].as_str(),
            failed["slack_attempts"].as_i64()
        ),
        (Some("pending"), Some(1))
    );
    assert!(
        failed["slack_error"]
            .as_str()
            .unwrap()
            .contains("chat.postMessage"),
        "{failed}"
    );
    let page = b.get(&page_path).await;
    assert!(
        page.body
            .contains("attempt 1 failed: Slack chat.postMessage"),
        "{}",
        page.body
    );
    let settings = app_settings(&app, &slack);
    let store = app.store().await;
    // Within the lease nothing is tried again.
    let early = tandem_app::frontline::deliver_business_updates(&store, &settings)
        .await
        .unwrap();
    assert_eq!((early.posted, early.failed), (0, 0));
    slack.set_down(false);
    let later = Utc::now() + Duration::minutes(2);
    let retried = tandem_app::frontline::deliver_business_updates_at(&store, &settings, later)
        .await
        .unwrap();
    assert_eq!((retried.posted, retried.failed), (1, 0));
    let again = tandem_app::frontline::deliver_business_updates_at(
        &store,
        &settings,
        later + Duration::minutes(2),
    )
    .await
    .unwrap();
    assert_eq!((again.posted, again.failed), (0, 0), "posted once");
    let posted = slack.calls_to("chat.postMessage");
    assert_eq!(posted.len(), 3, "{posted:#?}");
    assert!(
        posted[2].body["text"]
            .as_str()
            .unwrap()
            .contains("Refunds are delayed")
    );
    let done = update_when(&app, &id, 0, |u| u["slack_outcome"] == "posted").await;
    assert_eq!(
        (
            done["slack_attempts"].as_i64(),
            done["slack_error"].is_null()
        ),
        (Some(2), true)
    );
    app.post(
        &app.member,
        &format!("/api/v1/incidents/{id}/updates"),
        json!({"affected": "x", "doing": " "}),
    )
    .await
    .err_field(422, "invalid", "doing");
    app.post(
        &app.stakeholder,
        &format!("/api/v1/incidents/{id}/updates"),
        json!({"affected": "x", "doing": "y"}),
    )
    .await
    .err(403, "forbidden");
    let mut reader = Browser::new(&app);
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": "exec", "role": "stakeholder", "password": "a-long-enough-password"}),
    )
    .await
    .ok(201);
    reader.sign_in("exec", "a-long-enough-password").await;
    assert_eq!(reader.get(&page_path).await.status, 403);
    // Stakeholders read the status page.
    assert_eq!(reader.get("/status").await.status, 200);
    app.stop().await;
}

async fn the_status_page_uptime_is_the_uptime_routes_figure(engine: EngineKind) {
    let app = TestApp::start_with(engine, &[("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS", "0")]).await;
    setup(&app).await;
    let up = target().await;
    let define = |name: &str, service: &str, url: &str, interval: u32| {
        json!({"name": name, "team": "pay", "service": service, "kind": "http",
               "target": url, "interval_seconds": interval, "timeout_seconds": 1})
    };
    for body in [
        define("pay-up", "payments", &up, 60),
        define("pay-down", "payments", &closed_port(), 30),
        define("search-up", "search", &up, 60),
    ] {
        app.post(&app.manager, "/api/v1/checks", body).await.ok(201);
    }
    // Each run stands for its interval: payments is up 2 × 60 s and down
    // 30 s, so 120 / 150 = 0.8; search is up all its observed time.
    for name in ["pay-up", "pay-up", "pay-down", "search-up"] {
        app.post(
            &app.manager,
            &format!("/api/v1/checks/{name}/run"),
            json!({}),
        )
        .await
        .ok(200);
    }
    let status = app.get(&app.member, "/api/v1/status").await.ok(200).body;
    let service = |name: &str| {
        status["services"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["service"] == name)
            .unwrap_or_else(|| panic!("{name} on the page: {status:#}"))
            .clone()
    };
    let payments = service("payments");
    assert_eq!(payments["uptime"]["availability"], 0.8, "{payments:#}");
    assert_eq!(payments["state"], "down");
    assert_eq!(payments["checks"], json!(["pay-down", "pay-up"]));
    // One definition per number: a service with one check has exactly the
    // figure the uptime route gives that check over the same 90 days.
    let search = service("search");
    let route = app
        .get(
            &app.member,
            &format!(
                "/api/v1/checks/search-up/uptime?from={}&to={}",
                urlencode(search["uptime"]["from"].as_str().unwrap()),
                urlencode(search["uptime"]["to"].as_str().unwrap())
            ),
        )
        .await
        .ok(200)
        .body;
    let mut same = search["uptime"].clone();
    same["check"] = route["check"].clone();
    assert_eq!(same, route, "the status page and the uptime route differ");
    assert_eq!(route["availability"], 1.0);
    assert_eq!(route["grain"], "hour");
    // The page says so in percent; a team's page has its services only.
    let mut b = admin(&app).await;
    let page = b.get("/status").await;
    assert!(page.body.contains("80.000 %"), "{}", page.body);
    assert!(page.body.contains("100.000 %"), "{}", page.body);
    let team_page = b.get("/status/pay").await;
    assert_eq!(team_page.status, 200, "{}", team_page.body);
    assert!(team_page.body.contains("payments"), "{}", team_page.body);
    assert_eq!(b.get("/status/nope").await.status, 404);
    // A disabled check leaves the page.
    app.post(&app.manager, "/api/v1/checks/search-up/disable", json!({}))
        .await
        .ok(200);
    let status = app.get(&app.member, "/api/v1/status").await.ok(200).body;
    assert_eq!(
        status["services"].as_array().unwrap().len(),
        1,
        "{status:#}"
    );
    app.stop().await;
}

fn urlencode(s: &str) -> String {
    s.replace('+', "%2B").replace(':', "%3A")
}

async fn the_status_page_is_public_only_when_configured(engine: EngineKind) {
    // Off by default: a visitor is sent to sign in.
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let mut visitor = Browser::new(&app);
    let got = visitor.get("/status").await;
    assert_eq!(got.status, 303, "{}", got.body);
    assert!(
        got.location
            .as_deref()
            .unwrap_or_default()
            .starts_with("/sign-in"),
        "{:?}",
        got.location
    );
    assert_eq!(visitor.get("/status/pay").await.status, 303);
    app.send(app.request(reqwest::Method::GET, "/api/v1/status"))
        .await
        .err(401, "unauthorized");
    app.stop().await;

    // Public for the organisation, and for one team.
    let app = TestApp::start_with(
        engine,
        &[
            ("TANDEM_STATUS_PAGE__PUBLIC", "true"),
            ("TANDEM_STATUS_PAGE__TITLE", "Acme status"),
        ],
    )
    .await;
    setup(&app).await;
    let mut visitor = Browser::new(&app);
    let got = visitor.get("/status").await;
    assert_eq!(got.status, 200, "{}", got.body);
    assert!(got.body.contains("Acme status"), "{}", got.body);
    assert!(!got.body.contains("Back to Tandem"), "{}", got.body);
    // Only what is made public: the team's page stays private.
    assert_eq!(visitor.get("/status/pay").await.status, 303);
    app.stop().await;
    let app =
        TestApp::start_with(engine, &[("TANDEM_STATUS_PAGE__PUBLIC_TEAMS", "[\"pay\"]")]).await;
    setup(&app).await;
    let mut visitor = Browser::new(&app);
    assert_eq!(visitor.get("/status/pay").await.status, 200);
    assert_eq!(visitor.get("/status").await.status, 303);
    app.stop().await;
}

async fn kpis_are_collected_from_prometheus_and_postgres(engine: EngineKind) {
    let Some(bin) = prom_tools::tool("prometheus") else {
        return;
    };
    // A Prometheus scraping itself (its own `up` series).
    let prom = prom_tools::prometheus(&bin, "global:\n  scrape_interval: 15s\n").await;
    let pg = std::env::var("TANDEM_TEST_PG_URL")
        .expect("TANDEM_TEST_PG_URL: the test PostgreSQL (scripts/test.sh sets it)");
    // The tests drive the runs; the scheduler is covered by the store's
    // lease test and `jobs::kpi_sources`.
    let app = TestApp::start_with(
        engine,
        &[("TANDEM_KPI_SOURCES__SCHEDULER_INTERVAL_MS", "0")],
    )
    .await;
    let team = app.team("pay").await;
    for key in ["error-budget", "open-orders", "mean-basket"] {
        app.post(
            &app.manager,
            "/api/v1/metrics",
            json!({"key": key, "name": key, "unit": "", "direction": "up",
                   "audience": "business", "team_id": team["id"]}),
        )
        .await
        .ok(201);
    }
    let source = |kind: &str, url: &str, query: &str| json!({"kind": kind, "url": url, "query": query, "interval_seconds": 3600});
    // Bad sources are refused naming the field; nothing is set.
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/open-orders/source",
        Some(source("postgres", &pg, "DELETE FROM orders")),
    )
    .await
    .err_field(422, "invalid", "query");
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/open-orders/source",
        Some(source("promql", &pg, "up")),
    )
    .await
    .err_field(422, "invalid", "url");
    app.get(&app.member, "/api/v1/metrics/open-orders/source")
        .await
        .err(404, "not_found");
    app.call(
        reqwest::Method::PUT,
        &app.member,
        "/api/v1/metrics/open-orders/source",
        Some(source("postgres", &pg, "SELECT 1")),
    )
    .await
    .err(403, "forbidden");

    // PromQL: a vector of one sample.
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/error-budget/source",
        Some(source("promql", &prom.base, "vector(42.5)")),
    )
    .await
    .ok(200);
    let ran = app
        .post(
            &app.manager,
            "/api/v1/metrics/error-budget/source/run",
            json!({}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(ran["source"]["last_value"], 42.5, "{ran:#}");
    assert!(ran["source"]["last_error"].is_null(), "{ran:#}");
    // Several series are refused with a reason; kept on the source, retried
    // after 30 s, the last success kept.
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/error-budget/source",
        Some(source(
            "promql",
            &prom.base,
            "label_replace(vector(1), \"a\", \"x\", \"\", \"\") or label_replace(vector(2), \"a\", \"y\", \"\", \"\")",
        )),
    )
    .await
    .ok(200);
    let failed = app
        .post(
            &app.manager,
            "/api/v1/metrics/error-budget/source/run",
            json!({}),
        )
        .await
        .ok(200)
        .body["source"]
        .clone();
    assert!(
        failed["last_error"]
            .as_str()
            .unwrap()
            .contains("returned 2 series"),
        "{failed:#}"
    );
    assert_eq!(failed["failures"], 1);
    let ran_at: DateTime<Utc> = failed["last_run_at"].as_str().unwrap().parse().unwrap();
    let next: DateTime<Utc> = failed["next_run_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(next - ran_at, Duration::seconds(30), "retried after 30 s");
    // A Prometheus that is not there: the error says so.
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/error-budget/source",
        Some(source(
            "promql",
            &closed_port().replace("/healthz", ""),
            "up",
        )),
    )
    .await
    .ok(200);
    let down = app
        .post(
            &app.manager,
            "/api/v1/metrics/error-budget/source/run",
            json!({}),
        )
        .await
        .ok(200)
        .body["source"]
        .clone();
    assert!(
        down["last_error"]
            .as_str()
            .unwrap()
            .contains("Prometheus did not answer"),
        "{down:#}"
    );
    // The points: one, at the start of the hour.
    let points = app
        .get(&app.member, "/api/v1/metrics/error-budget/points")
        .await
        .ok(200)
        .body;
    let items = points["items"]
        .as_array()
        .or(points.as_array())
        .unwrap()
        .clone();
    assert_eq!(items.len(), 1, "{points:#}");
    assert_eq!(items[0]["value"], 42.5);
    let at: DateTime<Utc> = items[0]["at"].as_str().unwrap().parse().unwrap();
    assert_eq!(at.timestamp() % 3600, 0, "{at}");

    // SQL: any numeric type, read-only.
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/open-orders/source",
        Some(source("postgres", &pg, "SELECT 40 + 2 AS n")),
    )
    .await
    .ok(200);
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/metrics/mean-basket/source",
        Some(source(
            "postgres",
            &pg,
            "SELECT avg(x) FROM generate_series(1, 4) AS x -- numeric",
        )),
    )
    .await
    .ok(200);
    for (key, want) in [("open-orders", 42.0), ("mean-basket", 2.5)] {
        let ran = app
            .post(
                &app.manager,
                &format!("/api/v1/metrics/{key}/source/run"),
                json!({}),
            )
            .await
            .ok(200)
            .body;
        assert_eq!(ran["source"]["last_value"], want, "{ran:#}");
    }
    // The set-up page shows each source and its last error.
    let mut b = admin(&app).await;
    let page = b.get("/setup/kpis").await;
    assert!(page.body.contains("postgres every 3600 s"), "{}", page.body);
    assert!(page.body.contains("Last run failed"), "{}", page.body);
    // …and sets one, refusing a bad query by its field.
    let csrf = csrf_of(&page.body);
    let refused = b
        .post(
            "/setup/kpis/source",
            &[
                ("csrf", &csrf),
                ("series", "open-orders"),
                ("kind", "postgres"),
                ("url", &pg),
                ("query", "UPDATE orders SET open = false"),
                ("interval_seconds", "600"),
            ],
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused.body.contains("id=\"source-query-error\""),
        "{}",
        refused.body
    );
    let set = b
        .post(
            "/setup/kpis/source",
            &[
                ("csrf", &csrf),
                ("series", "open-orders"),
                ("kind", "promql"),
                ("url", &prom.base),
                ("query", "vector(7)"),
                ("interval_seconds", "600"),
            ],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let s = app
        .get(&app.member, "/api/v1/metrics/open-orders/source")
        .await
        .ok(200)
        .body;
    assert_eq!(s["source"]["spec"]["kind"], "promql");
    assert_eq!(s["source"]["spec"]["interval_seconds"], 600);
    app.delete(&app.manager, "/api/v1/metrics/open-orders/source")
        .await
        .ok(204);
    app.stop().await;
}
