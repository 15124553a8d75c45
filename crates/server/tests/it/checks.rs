//! Health checks end to end (issue 16): a local HTTP target taken down and
//! brought back, checked by the real scheduler of a started server, makes
//! exactly one incident with its detected and resolved times, one Slack
//! alert and one recovery message to a local Slack stand-in (an axum server
//! receiving the incoming-webhook JSON), and the team's time to restore
//! changes; `metrics explain` names the check. Also: bad definitions are
//! refused naming the field, and heartbeats.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tandem_store::EngineKind;
use tandem_testkit::per_engine;
use tokio::sync::oneshot;

use crate::support::TestApp;

per_engine!(
    a_target_down_and_back_is_one_incident_two_messages_and_a_restore_time,
    bad_definitions_are_refused_naming_the_field,
    heartbeats_keep_a_check_passing,
);

/// The target: `GET /healthz` answers 200 while it runs.
async fn start_target(addr: SocketAddr) -> oneshot::Sender<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .expect("bind the target");
    let (tx, rx) = oneshot::channel::<()>();
    let app = Router::new().route("/healthz", get(|| async { "ok" }));
    tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
            .ok();
    });
    tx
}

/// The Slack stand-in: stores each incoming-webhook body.
pub(crate) async fn start_slack() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::clone(&got);
    let app = Router::new().route(
        "/services/T000/B000/XXX",
        post(move |axum::Json(body): axum::Json<Value>| {
            let store = Arc::clone(&store);
            async move {
                store.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://{}/services/T000/B000/XXX",
        listener.local_addr().unwrap()
    );
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, got)
}

/// Polls `f` every 100 ms until it answers `Some`, for at most `secs`.
pub(crate) async fn wait_for<T, F, Fut>(secs: u64, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn status(app: &TestApp, name: &str) -> String {
    let c = app
        .get(&app.member, &format!("/api/v1/checks/{name}"))
        .await
        .ok(200)
        .body;
    c["state"]["status"].as_str().unwrap().to_owned()
}

async fn setup(app: &TestApp) -> Value {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "services": ["payments"]}),
    )
    .await;
    team
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

async fn a_target_down_and_back_is_one_incident_two_messages_and_a_restore_time(
    engine: EngineKind,
) {
    let (slack_url, slack) = start_slack().await;
    let routes = format!(r#"[{{name = "ops-slack", channel = "slack", to = "{slack_url}"}}]"#);
    let app = TestApp::start_with(
        engine,
        &[
            ("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS", "100"),
            ("TANDEM_ALERTS__SENDER_INTERVAL_MS", "100"),
            ("TANDEM_ALERTS__ROUTES", routes.as_str()),
        ],
    )
    .await;
    setup(&app).await;
    // A free port for the target, which can then stop and start again there.
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target = start_target(addr).await;
    let defined = app
        .post(
            &app.manager,
            "/api/v1/checks",
            json!({"name": "payments-health", "team": "pay", "service": "payments",
                   "kind": "http", "target": format!("http://{addr}/healthz"),
                   "conditions": ["[STATUS] == 200", "[BODY] =~ ^ok$"],
                   "interval_seconds": 5, "timeout_seconds": 2, "severity": "critical"}),
        )
        .await
        .ok(201)
        .body;
    assert_eq!(defined["check"]["origin"], "api");

    let dora_url = "/api/v1/delivery/dora?team=pay&since=2026-01-01";
    let before = app.get(&app.member, dora_url).await.ok(200).body;
    assert_eq!(before["time_to_restore"]["incidents"], 0, "{before:#}");

    wait_for(20, "the first passing run", || async {
        (status(&app, "payments-health").await == "passing").then_some(())
    })
    .await;

    // Down.
    let down_at = Utc::now();
    target.send(()).unwrap();
    wait_for(20, "the check failing", || async {
        (status(&app, "payments-health").await == "failing").then_some(())
    })
    .await;
    let failing_seen = Utc::now();
    wait_for(10, "the Slack alert", || async {
        (slack.lock().unwrap().len() == 1).then_some(())
    })
    .await;

    // Back.
    let up_at = Utc::now();
    let _target = start_target(addr).await;
    wait_for(20, "the check recovering", || async {
        (status(&app, "payments-health").await == "passing").then_some(())
    })
    .await;
    let passing_seen = Utc::now();
    wait_for(10, "the recovery message", || async {
        (slack.lock().unwrap().len() == 2).then_some(())
    })
    .await;

    // Exactly one incident, opened at the first failure and resolved at the
    // first success.
    let incidents = app.get(&app.member, "/api/v1/incidents").await.ok(200).body;
    let incidents = incidents.as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{incidents:#?}");
    let incident = &incidents[0];
    assert_eq!(incident["source"], "check");
    assert_eq!(incident["external_id"], "check:payments-health:1");
    let (opened, resolved) = (time(&incident["opened_at"]), time(&incident["resolved_at"]));
    assert!(down_at <= opened && opened <= failing_seen, "{incident:#}");
    assert!(
        up_at <= resolved && resolved <= passing_seen,
        "{incident:#}"
    );

    // One alert and one recovery, as Block Kit with the incident page's link.
    let messages = slack.lock().unwrap().clone();
    let link = format!(
        "{}/incidents/{}",
        app.base,
        incident["id"].as_str().unwrap()
    );
    for (m, header) in messages
        .iter()
        .zip(["payments-health is failing", "payments-health recovered"])
    {
        let blocks = m["blocks"].as_array().expect("Block Kit blocks");
        assert_eq!(blocks[0]["type"], "header");
        assert!(
            blocks[0]["text"]["text"].as_str().unwrap().contains(header),
            "{m:#}"
        );
        assert_eq!(blocks[2]["elements"][0]["url"], link.as_str(), "{m:#}");
        assert!(m["text"].as_str().unwrap().contains(header));
    }
    // The incident's log shows both, sent on the first attempt.
    let detail = app
        .get(
            &app.member,
            &format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap()),
        )
        .await
        .ok(200)
        .body;
    let alerts = detail["alerts"].as_array().unwrap();
    let kinds: Vec<&str> = alerts
        .iter()
        .map(|a| a["alert"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "resolved"]);
    for a in alerts {
        assert_eq!(a["alert"]["status"], "sent");
        assert_eq!(a["attempts"][0]["outcome"], "sent");
    }

    // The team's time to restore now counts it.
    let after = app.get(&app.member, dora_url).await.ok(200).body;
    let ttr = &after["time_to_restore"];
    assert_eq!(
        (ttr["incidents"].clone(), ttr["resolved"].clone()),
        (json!(1), json!(1)),
        "{after:#}"
    );
    let hours = ttr["median_hours"].as_f64().unwrap();
    let expected = (resolved - opened).num_milliseconds() as f64 / 3_600_000.0;
    assert!(
        (hours - expected).abs() <= expected * 0.01 + 1e-6,
        "{hours} vs {expected}"
    );
    let explained = app
        .get(
            &app.member,
            "/api/v1/delivery/explain?metric=time-to-restore&team=pay&since=2026-01-01",
        )
        .await
        .ok(200)
        .body;
    assert_eq!(
        explained["incidents"][0]["external_id"], "check:payments-health:1",
        "{explained:#}"
    );

    // Acknowledging keeps the first acknowledgement.
    let acked = app
        .post(
            &app.member,
            "/api/v1/incidents/check:payments-health:1/ack",
            json!({}),
        )
        .await
        .ok(200)
        .body;
    assert!(acked["acknowledged_at"].is_string());

    // Uptime reads the rollups: some down time, some up time.
    let uptime = app
        .get(&app.member, "/api/v1/checks/payments-health/uptime")
        .await
        .ok(200)
        .body;
    let a = uptime["availability"].as_f64().unwrap();
    assert!(a > 0.0 && a < 1.0, "{uptime:#}");
    assert!(uptime["failed_runs"].as_i64().unwrap() >= 1);
}

async fn bad_definitions_are_refused_naming_the_field(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let base = json!({"name": "c1", "team": "pay", "service": "payments", "kind": "http",
                      "target": "https://example.com/"});
    let with = |patch: Value| {
        let mut b = base.clone();
        for (k, v) in patch.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    for (patch, field) in [
        (
            json!({"interval_seconds": 4, "timeout_seconds": 2}),
            "interval_seconds",
        ),
        (json!({"target": "not a url"}), "target"),
        (
            json!({"conditions": ["[STATUS] == 200", "[SPEED] > 3"]}),
            "conditions[1]",
        ),
        (
            json!({"kind": "postgres", "target": "postgres://db/x", "query": "DELETE FROM t"}),
            "query",
        ),
        (json!({"team": "nope"}), "team"),
        (json!({"service": "nowhere"}), "service"),
        (json!({"depends_on": "missing"}), "depends_on"),
    ] {
        let reply = app
            .post(&app.manager, "/api/v1/checks", with(patch.clone()))
            .await;
        reply.err_field(422, "invalid", field);
    }
    // An unknown field is a 4xx naming it, too.
    let reply = app
        .post(
            &app.manager,
            "/api/v1/checks",
            with(json!({"colour": "red"})),
        )
        .await;
    assert!(reply.status.is_client_error(), "{:?}", reply.body);
    assert!(
        reply.body.to_string().contains("colour"),
        "{:?}",
        reply.body
    );
    // Nothing was stored; a member may not define checks.
    assert_eq!(
        app.get(&app.member, "/api/v1/checks").await.ok(200).body,
        json!([])
    );
    app.post(&app.member, "/api/v1/checks", base.clone())
        .await
        .err(403, "forbidden");
}

async fn heartbeats_keep_a_check_passing(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let defined = app
        .post(
            &app.manager,
            "/api/v1/checks",
            json!({"name": "nightly-export", "team": "pay", "service": "payments",
                   "kind": "heartbeat", "interval_seconds": 60, "grace_seconds": 30}),
        )
        .await
        .ok(201)
        .body;
    let token = defined["heartbeat_token"]
        .as_str()
        .expect("a token, shown once");
    // Unknown token: 404, nothing stored.
    let reply = app
        .send(app.request(reqwest::Method::POST, "/heartbeats/not-a-token"))
        .await;
    assert_eq!(reply.status, 404);
    let store = app.store().await;
    assert_eq!(
        store
            .get_check("nightly-export")
            .await
            .unwrap()
            .unwrap()
            .last_ping_at,
        None
    );
    let reply = app
        .send(app.request(reqwest::Method::POST, &format!("/heartbeats/{token}")))
        .await
        .ok(200);
    assert_eq!(reply.body["check"], "nightly-export");
    let run = app
        .post(&app.manager, "/api/v1/checks/nightly-export/run", json!({}))
        .await
        .ok(200)
        .body;
    assert_eq!(run["verdict"]["ok"], true, "{run:#}");
    assert_eq!(run["check"]["state"]["status"], "passing");
    // The token is not readable back.
    let listed = app.get(&app.member, "/api/v1/checks").await.ok(200).body;
    assert!(!listed.to_string().contains(token));
    assert_eq!(listed[0]["has_heartbeat_token"], true);
}
