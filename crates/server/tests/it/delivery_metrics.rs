//! Delivery metrics over the real server: signed GitHub and GitLab
//! deliveries change the numbers `/api/v1/delivery/dora` serves; bad input
//! is refused naming the parameter; the member role is needed.

use hmac::{Hmac, KeyInit, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_store::EngineKind;
use tandem_testkit::per_engine;

use crate::support::{Reply, TestApp};

per_engine!(
    signed_deliveries_change_the_numbers,
    bad_queries_name_the_parameter,
    the_demo_teams_deliver_at_different_levels,
    serve_attributes_in_the_background,
);

const GH_SECRET: &str = "gh-secret-0123456789abcdef";
const GL_SECRET: &str = "gl-token-0123456789abcdef";
const RANGE: &str = "project=payments&since=2026-03-01&until=2026-03-07";

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../domain/tests/fixtures/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn setup(app: &TestApp) {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "repositories": ["acme/payments"], "services": ["payments-api", "payments"]}),
    )
    .await;
    for (provider, secret) in [("github", GH_SECRET), ("gitlab", GL_SECRET)] {
        app.call(
            Method::PUT,
            &app.admin,
            &format!("/api/v1/projects/payments/webhook-secrets/{provider}"),
            Some(json!({ "secret": secret })),
        )
        .await
        .ok(204);
    }
}

async fn github(app: &TestApp, event: &str, name: &str, delivery: &str) -> Reply {
    let body = fixture(&format!("github/{name}"));
    app.send(
        app.request(Method::POST, "/webhooks/github")
            .header("content-type", "application/json")
            .header("x-github-event", event)
            .header("x-github-delivery", delivery)
            .header("x-hub-signature-256", sign(GH_SECRET, body.as_bytes()))
            .body(body.into_bytes()),
    )
    .await
}

async fn gitlab(app: &TestApp, event: &str, name: &str, uuid: &str) -> Reply {
    let body = fixture(&format!("gitlab/{name}"));
    app.send(
        app.request(Method::POST, "/webhooks/gitlab")
            .header("content-type", "application/json")
            .header("x-gitlab-event", event)
            .header("x-gitlab-token", GL_SECRET)
            .header("x-gitlab-event-uuid", uuid)
            .body(body.into_bytes()),
    )
    .await
}

async fn dora(app: &TestApp) -> Value {
    app.get(
        &app.member,
        &format!("/api/v1/delivery/dora?{RANGE}&bucket=day"),
    )
    .await
    .ok(200)
    .body
}

async fn signed_deliveries_change_the_numbers(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let before = dora(&app).await;
    assert_eq!(before["deployment_frequency"]["deployments"], 0);
    assert_eq!(before["lead_time"]["commits"], 0);
    assert_eq!(before["thresholds_year"], 2023);
    assert_eq!(before["buckets"].as_array().unwrap().len(), 7);

    // GitHub: the push (commits without parents), the merged pull request,
    // the deployment and its success.
    for (i, (event, name)) in [
        ("push", "push"),
        ("pull_request", "pull_request_closed_merged"),
        ("deployment", "deployment"),
        ("deployment_status", "deployment_status_success"),
    ]
    .iter()
    .enumerate()
    {
        github(&app, event, name, &format!("gh-{i}")).await.ok(200);
    }
    let after_github = dora(&app).await;
    // One successful production deployment on 2026-03-02.
    assert_eq!(after_github["deployment_frequency"]["deployments"], 1);
    assert_eq!(after_github["deployment_frequency"]["deploy_days"], 1);
    assert_eq!(after_github["buckets"][1]["deployments"], 1);
    // No git import: the commits come from the push delivery, committed up
    // to the deployed head 3b5d7f9a (09:12:00Z): 1f3a8c2e (09:05:11Z), and
    // the head itself, PR #12's merge commit — a push cannot say it has two
    // parents and the pull request payload lists no commits, so its own time
    // counts and the notes say so; 2a4c6e8f (09:40Z) came later. Deployed
    // 09:26:30: leads 21 min 19 s (1279 s) and 14 min 30 s (870 s), median
    // (1279 + 870) / 2 = 1074.5 s.
    let commits = after_github["lead_time"]["commits"].as_u64().unwrap();
    assert_eq!(commits, 2, "{after_github:#}");
    let median = after_github["lead_time"]["median_hours"].as_f64().unwrap();
    assert!((median - 1074.5 / 3600.0).abs() < 1e-9, "{median}");
    let p85 = after_github["lead_time"]["p85_hours"].as_f64().unwrap();
    assert!((p85 - 1279.0 / 3600.0).abs() < 1e-9, "{p85}");
    let explained = app
        .get(
            &app.member,
            &format!("/api/v1/delivery/explain?metric=lead-time&{RANGE}"),
        )
        .await
        .ok(200)
        .body;
    let deployments = explained["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 1);
    assert_eq!(
        deployments[0]["commits"].as_array().unwrap().len() as u64,
        commits
    );
    let notes = deployments[0]["notes"].to_string();
    assert_eq!(deployments[0]["method"], "push", "{explained:#}");
    assert!(
        notes.contains("push deliveries") && notes.contains("pull request #12"),
        "{explained:#}"
    );

    // GitLab: a running deployment, then its success: a second deployment.
    gitlab(
        &app,
        "Deployment Hook",
        "deployment_running",
        "5f0b2c1e-0000-4000-8000-000000000001",
    )
    .await
    .ok(200);
    let running = dora(&app).await;
    assert_eq!(running["deployment_frequency"]["deployments"], 1);
    gitlab(
        &app,
        "Deployment Hook",
        "deployment_success",
        "5f0b2c1e-0000-4000-8000-000000000002",
    )
    .await
    .ok(200);
    let after_gitlab = dora(&app).await;
    assert_eq!(after_gitlab["deployment_frequency"]["deployments"], 2);
    // Both on 2026-03-02: still one deploy day.
    assert_eq!(after_gitlab["deployment_frequency"]["deploy_days"], 1);
    assert_eq!(after_gitlab["change_failure_rate"]["changes"], 2);

    // The other metrics answer for the same scope.
    for path in [
        "lead-time",
        "review-time",
        "flow",
        "cycle-time",
        "throughput",
        "bugs",
        "debt-share",
        "coverage",
    ] {
        let delivery = app
            .get(&app.member, &format!("/api/v1/delivery/{path}?{RANGE}"))
            .await
            .ok(200)
            .body;
        // The interface, `/api/v1/metrics/{name}`, answers the same.
        let metrics = app
            .get(&app.member, &format!("/api/v1/metrics/{path}?{RANGE}"))
            .await
            .ok(200)
            .body;
        assert_eq!(metrics, delivery, "/api/v1/metrics/{path}");
    }
    assert_eq!(
        app.get(
            &app.member,
            &format!("/api/v1/metrics/dora?{RANGE}&bucket=day")
        )
        .await
        .ok(200)
        .body,
        after_gitlab
    );
    // So a stored metric series cannot take one of those names, and
    // unauthenticated callers get nothing.
    app.post(
        &app.manager,
        "/api/v1/metrics",
        json!({"key": "dora", "name": "DORA", "direction": "up", "audience": "team"}),
    )
    .await
    .err_field(422, "invalid", "key");
    let anonymous = app
        .send(app.request(Method::GET, &format!("/api/v1/metrics/dora?{RANGE}")))
        .await;
    assert_eq!(anonymous.status.as_u16(), 401, "{:#}", anonymous.body);
    app.stop().await;
}

async fn bad_queries_name_the_parameter(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    setup(&app).await;
    let get = |q: &'static str| {
        let app = &app;
        async move {
            app.get(&app.member, &format!("/api/v1/delivery/dora?{q}"))
                .await
        }
    };
    get("project=nope&since=2026-03-01")
        .await
        .err_field(400, "bad_request", "project");
    get("team=nope&since=2026-03-01")
        .await
        .err_field(400, "bad_request", "team");
    get("since=2026-03-01")
        .await
        .err_field(400, "bad_request", "project");
    get("project=payments&team=pay&since=2026-03-01")
        .await
        .err_field(400, "bad_request", "project");
    get("project=payments&service=nope&since=2026-03-01")
        .await
        .err_field(400, "bad_request", "service");
    get("project=payments&since=2026-03-08&until=2026-03-01")
        .await
        .err_field(400, "bad_request", "since");
    get("project=payments&since=2026-03-01&bucket=year")
        .await
        .err_field(400, "bad_request", "bucket");
    get("project=payments")
        .await
        .err_field(400, "bad_request", "since");
    let reply = get("project=payments&since=yesterday").await;
    assert_eq!(reply.status, 400, "{:#}", reply.body);
    get("project=payments&since=2026-03-01&colour=red")
        .await
        .err(400, "bad_request");
    app.get(
        &app.member,
        "/api/v1/delivery/explain?metric=happiness&project=payments&since=2026-03-01",
    )
    .await
    .err_field(400, "bad_request", "metric");
    app.get(
        &app.member,
        "/api/v1/delivery/flow?project=payments&since=2026-03-01&service=payments",
    )
    .await
    .err_field(400, "bad_request", "service");
    // Team-level numbers need the member role; stakeholders see the
    // business view only.
    app.get(
        &app.stakeholder,
        "/api/v1/delivery/dora?project=payments&since=2026-03-01",
    )
    .await
    .err(403, "forbidden");
    // A team works as scope too.
    app.get(
        &app.member,
        "/api/v1/delivery/dora?team=pay&since=2026-03-01",
    )
    .await
    .ok(200);
    app.stop().await;
}

/// `serve --demo` loads an engineering history whose three teams work at
/// different rhythms; their DORA numbers must show it, straight after the
/// load (attribution runs as part of it).
async fn the_demo_teams_deliver_at_different_levels(engine: EngineKind) {
    let app = TestApp::start_full_demo(engine).await;
    let today = chrono::Utc::now().date_naive();
    let since = today - chrono::Duration::days(90);
    let dora = |team: &'static str| {
        let app = &app;
        async move {
            app.get(
                &app.member,
                &format!("/api/v1/delivery/dora?team={team}&since={since}&bucket=month"),
            )
            .await
            .ok(200)
            .body
        }
    };
    let payments = dora("payments").await;
    let platform = dora("platform").await;
    let freq = |d: &Value| d["deployment_frequency"]["per_week"].as_f64().unwrap();
    let cfr = |d: &Value| d["change_failure_rate"]["rate"].as_f64().unwrap();
    // Payments ships its four services about daily; Platform about weekly.
    assert_eq!(payments["deployment_frequency"]["level"], "elite");
    assert!(
        freq(&payments) > 3.0 * freq(&platform),
        "{payments} vs {platform}"
    );
    // Platform's changes fail more often, and every number has data behind it.
    assert!(cfr(&platform) > cfr(&payments), "{payments} vs {platform}");
    for d in [&payments, &platform] {
        assert!(d["lead_time"]["commits"].as_u64().unwrap() > 50, "{d}");
        assert!(
            d["time_to_restore"]["incidents"].as_u64().unwrap() > 0,
            "{d}"
        );
    }
}

/// With `maintenance.attribute_interval_seconds` set, a deployment that
/// arrives is attributed without any metric being read.
async fn serve_attributes_in_the_background(engine: EngineKind) {
    let app = TestApp::start_with(
        engine,
        &[("TANDEM_MAINTENANCE__ATTRIBUTE_INTERVAL_SECONDS", "1")],
    )
    .await;
    setup(&app).await;
    let store = app.store().await;
    app.post(
        &app.member,
        "/api/v1/events/deployments",
        json!({"id": "deploy-bg", "service": "payments-api", "environment": "production",
               "started_at": "2026-03-02T09:20:00Z", "finished_at": "2026-03-02T09:25:00Z",
               "status": "success"}),
    )
    .await
    .ok(200);
    let id = store
        .get_deployment("api", "deploy-bg")
        .await
        .unwrap()
        .expect("stored")
        .id;
    // Waits for the background pass (every second); gives up after a
    // minute, far beyond any pass on a loaded machine.
    let mut attributed = false;
    for _ in 0..300 {
        if store.deployment_attributed(id).await.unwrap() {
            attributed = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(attributed, "no background attribution within a minute");
    app.stop().await;
}
