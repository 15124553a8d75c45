//! `GET /metrics`: refused without the scrape token or an admin token; the
//! computed gauges equal what the DORA API answers and are cached for
//! `prometheus.refresh_seconds`; `promtool check metrics` passes on the
//! output; and a real Prometheus scrapes it (bearer token) and answers a
//! query with Tandem's figures through its HTTP API.

use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;
use tandem_store::EngineKind;
use tandem_testkit::per_engine;

use crate::prom_tools::{self, eventually, query};
use crate::support::TestApp;

per_engine!(
    metrics_need_the_scrape_token_or_an_admin,
    computed_gauges_match_the_api_and_are_cached,
    promtool_accepts_the_output,
    a_real_prometheus_scrapes_tandem,
);

pub const SCRAPE_TOKEN: &str = "scrape-token-for-tests-0123456789";

/// A team `pay` with project `payments` (service `payments`), one
/// successful production deployment an hour ago and one open incident.
pub async fn setup(app: &TestApp) {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "services": ["payments"]}),
    )
    .await;
    let now = Utc::now();
    app.post(
        &app.member,
        "/api/v1/events/deployments",
        json!({"id": "d-1", "service": "payments", "environment": "production",
               "started_at": now - Duration::minutes(70), "finished_at": now - Duration::minutes(60),
               "status": "success"}),
    )
    .await
    .ok(200);
    app.post(
        &app.member,
        "/api/v1/events/incidents",
        json!({"id": "i-1", "service": "payments", "severity": "sev2",
               "opened_at": now - Duration::minutes(30)}),
    )
    .await
    .ok(200);
}

/// The `/metrics` text, read with the scrape token.
pub async fn scrape(app: &TestApp) -> String {
    let r = app
        .send(
            app.request(Method::GET, "/metrics")
                .header("accept", "application/openmetrics-text; version=1.0.0")
                .bearer_auth(SCRAPE_TOKEN),
        )
        .await
        .ok(200);
    assert!(
        r.header("content-type")
            .is_some_and(|c| c.starts_with("application/openmetrics-text")),
        "{:?}",
        r.headers
    );
    r.body.as_str().expect("text").to_owned()
}

/// The value of the sample whose name and labels are exactly `series`.
pub fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

pub fn with_token(engine: EngineKind) -> impl Future<Output = TestApp> {
    TestApp::start_with(
        engine,
        &[
            ("TANDEM_PROMETHEUS__SCRAPE_TOKEN", SCRAPE_TOKEN),
            ("TANDEM_PROMETHEUS__REFRESH_SECONDS", "3600"),
        ],
    )
}

async fn metrics_need_the_scrape_token_or_an_admin(engine: EngineKind) {
    let app = with_token(engine).await;
    let get = || app.request(Method::GET, "/metrics");
    app.send(get()).await.err(401, "unauthorized");
    app.send(get().bearer_auth("scrape-token-for-tests-012345678"))
        .await
        .err(401, "unauthorized");
    app.send(get().bearer_auth(&app.member))
        .await
        .err(403, "forbidden");
    app.send(get().bearer_auth(&app.admin)).await.ok(200);
    app.send(get().bearer_auth(SCRAPE_TOKEN)).await.ok(200);

    // Without a configured scrape token, only an admin may read it.
    let plain = TestApp::start(engine).await;
    let get = || plain.request(Method::GET, "/metrics");
    plain
        .send(get().bearer_auth(SCRAPE_TOKEN))
        .await
        .err(401, "unauthorized");
    plain
        .send(get().bearer_auth(&plain.manager))
        .await
        .err(403, "forbidden");
    plain.send(get().bearer_auth(&plain.admin)).await.ok(200);
}

async fn computed_gauges_match_the_api_and_are_cached(engine: EngineKind) {
    let app = with_token(engine).await;
    setup(&app).await;
    let text = scrape(&app).await;

    // The same numbers as GET /api/v1/delivery/dora over the same window.
    let since = (Utc::now() - Duration::days(27)).date_naive();
    let dora = app
        .get(
            &app.member,
            &format!("/api/v1/delivery/dora?team=pay&service=payments&since={since}"),
        )
        .await
        .ok(200)
        .body;
    let labels = r#"{team="pay",service="payments",environment="production"}"#;
    assert_eq!(
        sample(&text, &format!("tandem_dora_deployments{labels}")),
        dora["deployment_frequency"]["deployments"].as_f64(),
        "{text}"
    );
    assert_eq!(
        sample(&text, &format!("tandem_dora_deployments{labels}")),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            &format!("tandem_dora_deployment_frequency_per_week{labels}")
        ),
        dora["deployment_frequency"]["per_week"].as_f64()
    );
    assert_eq!(
        sample(&text, &format!("tandem_dora_incidents{labels}")),
        Some(1.0)
    );
    // The team's figure over all its services has an empty service label.
    assert_eq!(
        sample(
            &text,
            r#"tandem_dora_deployments{team="pay",service="",environment="production"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            r#"tandem_incidents_open{team="pay",service="payments"}"#
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, r#"tandem_tech_debt_target_ratio{team="pay"}"#),
        Some(0.2),
        "{text}"
    );
    assert!(
        sample(&text, "tandem_dora_window_seconds").is_some_and(|d| d == 28.0 * 86_400.0),
        "{text}"
    );
    // Own metrics: the scrape above was counted by its route template.
    assert!(
        text.contains(r#"tandem_http_requests_total{method="POST",route="/api/v1/events/deployments",status="200"}"#),
        "{text}"
    );
    assert!(text.contains("process_cpu_seconds_total"), "{text}");
    assert!(text.trim_end().ends_with("# EOF"));

    // Cached: a second deployment does not show until the refresh.
    let now = Utc::now();
    app.post(
        &app.member,
        "/api/v1/events/deployments",
        json!({"id": "d-2", "service": "payments", "environment": "production",
               "started_at": now - Duration::minutes(20), "finished_at": now - Duration::minutes(10),
               "status": "success"}),
    )
    .await
    .ok(200);
    let again = scrape(&app).await;
    assert_eq!(
        sample(&again, &format!("tandem_dora_deployments{labels}")),
        Some(1.0),
        "the computed gauges are cached for refresh_seconds"
    );
}

async fn promtool_accepts_the_output(engine: EngineKind) {
    let Some(promtool) = prom_tools::tool("promtool") else {
        return;
    };
    let app = with_token(engine).await;
    setup(&app).await;
    // The classic text format (what a client gets without asking for
    // OpenMetrics), which promtool reads.
    let reply = app
        .send(
            app.request(Method::GET, "/metrics")
                .bearer_auth(SCRAPE_TOKEN),
        )
        .await
        .ok(200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let text = reply.body.as_str().expect("text").to_owned();
    assert!(
        text.contains("# TYPE tandem_http_requests_total counter"),
        "{text}"
    );
    let mut child = tokio::process::Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run promtool");
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(text.as_bytes()).await.expect("write");
    }
    let out = child.wait_with_output().await.expect("promtool finishes");
    assert!(
        out.status.success(),
        "promtool check metrics failed:\n{}{}\n--- the output:\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

async fn a_real_prometheus_scrapes_tandem(engine: EngineKind) {
    let Some(bin) = prom_tools::tool("prometheus") else {
        return;
    };
    let app = with_token(engine).await;
    setup(&app).await;
    let target = app.base.trim_start_matches("http://");
    let config = format!(
        "global:\n  scrape_interval: 1s\n\
         scrape_configs:\n  - job_name: tandem\n    scrape_interval: 1s\n    metrics_path: /metrics\n\
         \x20   authorization:\n      type: Bearer\n      credentials: {SCRAPE_TOKEN}\n\
         \x20   static_configs:\n      - targets: ['{target}']\n"
    );
    let prom = prom_tools::prometheus(&bin, &config).await;
    let result = eventually(
        "Prometheus to have scraped Tandem's DORA gauges",
        || async {
            let r = query(
            &prom.base,
            r#"tandem_dora_deployments{team="pay",service="payments",environment="production"}"#,
        )
        .await;
            (!r.is_empty()).then_some(r)
        },
    )
    .await;
    assert_eq!(result.len(), 1, "{result:?}");
    assert_eq!(result[0]["value"][1], "1", "{result:?}");
    assert_eq!(result[0]["metric"]["job"], "tandem");
    // The target is up (the scrape succeeded with the bearer token) and the
    // own counters are there too.
    let up = query(&prom.base, r#"up{job="tandem"}"#).await;
    assert_eq!(up[0]["value"][1], "1", "{up:?}");
    eventually("Prometheus to count its own scrapes", || async {
        let r = query(
            &prom.base,
            r#"sum(tandem_http_requests_total{route="/metrics",status="200"})"#,
        )
        .await;
        (!r.is_empty()).then_some(())
    })
    .await;
}
