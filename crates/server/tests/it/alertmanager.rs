//! `POST /webhooks/alertmanager`: refused without the configured bearer
//! token or basic credentials (nothing stored); Alertmanager's published
//! example payload (version 4) opens an incident grouped by fingerprint,
//! replays change nothing, the resolution resolves it, time to restore and
//! `explain` show it by the alert's name; malformed payloads are 4xx
//! naming the field; and a real Alertmanager, given alerts through its API
//! v2, notifies Tandem, which opens and then resolves the incident.

use chrono::{DateTime, Duration, Utc};
use reqwest::Method;
use serde_json::{Value, json};
use tandem_store::EngineKind;
use tandem_testkit::per_engine;

use crate::prom_tools::{self, eventually};
use crate::support::TestApp;

per_engine!(
    deliveries_need_the_configured_credentials,
    the_published_example_opens_and_resolves_one_incident,
    malformed_notifications_are_refused_naming_the_field,
    a_real_alertmanager_fires_into_the_receiver,
);

const TOKEN: &str = "alertmanager-token-for-tests-42";
const PATH: &str = "/webhooks/alertmanager";

async fn start(engine: EngineKind) -> TestApp {
    TestApp::start_with(
        engine,
        &[
            ("TANDEM_ALERTMANAGER__BEARER_TOKEN", TOKEN),
            ("TANDEM_ALERTMANAGER__USERNAME", "am"),
            ("TANDEM_ALERTMANAGER__PASSWORD", "am-password"),
        ],
    )
    .await
}

async fn setup(app: &TestApp) {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "services": ["payments"]}),
    )
    .await;
}

/// Alertmanager's example webhook payload (docs: "webhook_config"), with
/// the `service` label Tandem reads.
fn example(status: &str, starts: DateTime<Utc>, ends: Option<DateTime<Utc>>) -> Value {
    json!({
      "version": "4",
      "groupKey": "{}:{alertname=\"HighErrorRate\"}",
      "truncatedAlerts": 0,
      "status": status,
      "receiver": "tandem",
      "groupLabels": {"alertname": "HighErrorRate"},
      "commonLabels": {"alertname": "HighErrorRate", "service": "payments", "severity": "critical"},
      "commonAnnotations": {"summary": "5xx above 5 % for 5 minutes"},
      "externalURL": "http://alertmanager.example:9093",
      "alerts": [{
        "status": status,
        "labels": {"alertname": "HighErrorRate", "service": "payments", "severity": "critical",
                   "instance": "payments-1:8080"},
        "annotations": {"summary": "5xx above 5 % for 5 minutes"},
        "startsAt": starts,
        "endsAt": ends.map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |e| e.to_rfc3339()),
        "generatorURL": "http://prometheus.example:9090/graph?g0.expr=...",
        "fingerprint": "c4d1e4f2a1b2c3d4"
      }]
    })
}

async fn deliver(app: &TestApp, body: &Value) -> crate::support::Reply {
    app.send(
        app.request(Method::POST, PATH)
            .bearer_auth(TOKEN)
            .json(body),
    )
    .await
}

async fn incidents(app: &TestApp, since: DateTime<Utc>) -> Vec<Value> {
    let since = since.date_naive();
    let r = app
        .get(
            &app.member,
            &format!("/api/v1/delivery/explain?metric=time-to-restore&team=pay&since={since}"),
        )
        .await
        .ok(200);
    r.body["incidents"].as_array().cloned().unwrap_or_default()
}

async fn deliveries_need_the_configured_credentials(engine: EngineKind) {
    let starts = Utc::now() - Duration::minutes(10);
    let body = example("firing", starts, None);
    // Not configured: refused whatever is sent.
    let plain = TestApp::start(engine).await;
    setup(&plain).await;
    plain
        .send(
            plain
                .request(Method::POST, PATH)
                .bearer_auth(TOKEN)
                .json(&body),
        )
        .await
        .err(401, "unauthorized");

    let app = start(engine).await;
    setup(&app).await;
    let post = || app.request(Method::POST, PATH).json(&body);
    app.send(post()).await.err(401, "unauthorized");
    app.send(post().bearer_auth("alertmanager-token-for-tests-43"))
        .await
        .err(401, "unauthorized");
    app.send(post().basic_auth("am", Some("wrong")))
        .await
        .err(401, "unauthorized");
    // An API token is not the receiver's credential.
    app.send(post().bearer_auth(&app.admin))
        .await
        .err(401, "unauthorized");
    assert!(incidents(&app, starts).await.is_empty());
    app.send(post().basic_auth("am", Some("am-password")))
        .await
        .ok(200);
    assert_eq!(incidents(&app, starts).await.len(), 1);
}

async fn the_published_example_opens_and_resolves_one_incident(engine: EngineKind) {
    let app = start(engine).await;
    setup(&app).await;
    let starts = tandem_domain::time::micros(Utc::now() - Duration::minutes(50));
    let firing = example("firing", starts, None);
    let r = deliver(&app, &firing).await.ok(200);
    assert_eq!(r.body, json!({"alerts": 1, "firing": 1, "resolved": 0}));
    // Alertmanager repeats a firing alert every repeat_interval: one incident.
    deliver(&app, &firing).await.ok(200);
    let open = incidents(&app, starts).await;
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(
        open[0]["title"],
        "HighErrorRate: 5xx above 5 % for 5 minutes"
    );
    assert!(open[0]["resolved_at"].is_null());
    assert!(
        open[0]["external_id"]
            .as_str()
            .is_some_and(|id| id.starts_with("c4d1e4f2a1b2c3d4@")),
        "{open:?}"
    );

    let ends = starts + Duration::minutes(20);
    let resolved = example("resolved", starts, Some(ends));
    deliver(&app, &resolved).await.ok(200);
    // A late replay of the firing notification does not reopen it.
    deliver(&app, &firing).await.ok(200);
    let done = incidents(&app, starts).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert_eq!(
        done[0]["resolved_at"]
            .as_str()
            .map(|t| t.parse::<DateTime<Utc>>().unwrap()),
        Some(ends)
    );
    // Time to restore: 20 minutes, from the alert.
    let since = starts.date_naive();
    let dora = app
        .get(
            &app.member,
            &format!("/api/v1/delivery/dora?team=pay&since={since}"),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(dora["time_to_restore"]["incidents"], 1, "{dora:#}");
    let hours = dora["time_to_restore"]["median_hours"].as_f64().unwrap();
    assert!((hours - 20.0 / 60.0).abs() < 1e-6, "{dora:#}");

    // The same alert firing again later is a new incident.
    let again = starts + Duration::minutes(40);
    deliver(&app, &example("firing", again, None)).await.ok(200);
    assert_eq!(incidents(&app, starts).await.len(), 2);
}

async fn malformed_notifications_are_refused_naming_the_field(engine: EngineKind) {
    let app = start(engine).await;
    setup(&app).await;
    let starts = Utc::now() - Duration::minutes(5);
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            {
                let mut b = example("firing", starts, None);
                b["alerts"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("fingerprint");
                b
            },
            422,
            "alerts[0].fingerprint",
        ),
        (
            {
                let mut b = example("firing", starts, None);
                b["alerts"][0]["labels"]
                    .as_object_mut()
                    .unwrap()
                    .remove("service");
                b
            },
            422,
            "alerts[0].labels.service",
        ),
        (
            {
                let mut b = example("firing", starts, None);
                b["alerts"][0]["labels"]["service"] = json!("nobody-runs-this");
                b
            },
            422,
            "alerts[0].labels.service",
        ),
        (
            {
                let mut b = example("firing", starts, None);
                b["version"] = json!("3");
                b
            },
            422,
            "version",
        ),
        (
            {
                let mut b = example("firing", starts, None);
                b["alerts"][0]["startsAt"] = json!("yesterday");
                b
            },
            422,
            "alerts[0].startsAt",
        ),
        (
            example("resolved", starts, Some(starts - Duration::minutes(1))),
            422,
            "alerts[0].endsAt",
        ),
    ];
    for (body, status, field) in cases {
        let r = deliver(&app, &body).await;
        r.err_field(status, "invalid", field);
    }
    let r = app
        .send(
            app.request(Method::POST, PATH)
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body("{\"version\": \"4\", "),
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{:?}", r.body);
    assert!(incidents(&app, starts).await.is_empty());
}

async fn a_real_alertmanager_fires_into_the_receiver(engine: EngineKind) {
    let Some(bin) = prom_tools::tool("prometheus-alertmanager") else {
        return;
    };
    let app = start(engine).await;
    setup(&app).await;
    let config = format!(
        "route:\n  receiver: tandem\n  group_by: ['alertname', 'service']\n  group_wait: 0s\n\
         \x20 group_interval: 1s\n  repeat_interval: 1h\n\
         receivers:\n  - name: tandem\n    webhook_configs:\n      - url: '{}{PATH}'\n\
         \x20       send_resolved: true\n        http_config:\n          authorization:\n\
         \x20           type: Bearer\n            credentials: {TOKEN}\n",
        app.base
    );
    let am = prom_tools::alertmanager(&bin, &config).await;
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let starts = Utc::now() - Duration::minutes(3);
    let alert = |ends: Option<DateTime<Utc>>| {
        let mut a = json!([{
            "labels": {"alertname": "PaymentsDown", "service": "payments", "severity": "critical"},
            "annotations": {"summary": "payments is not answering"},
            "startsAt": starts,
            "generatorURL": "http://prometheus.test/graph"
        }]);
        if let Some(e) = ends {
            a[0]["endsAt"] = json!(e);
        }
        a
    };
    let post = |body: Value| {
        let client = client.clone();
        let url = format!("{}/api/v2/alerts", am.base);
        async move {
            let r = client
                .post(url)
                .json(&body)
                .send()
                .await
                .expect("post to alertmanager");
            assert!(r.status().is_success(), "{:?}", r.text().await);
        }
    };
    post(alert(None)).await;
    let opened = eventually(
        "Alertmanager to notify Tandem of the firing alert",
        || async {
            let found = incidents(&app, starts).await;
            (!found.is_empty()).then_some(found)
        },
    )
    .await;
    assert_eq!(opened.len(), 1, "{opened:?}");
    assert_eq!(
        opened[0]["title"],
        "PaymentsDown: payments is not answering"
    );
    assert!(opened[0]["resolved_at"].is_null());

    let ends = Utc::now() - Duration::seconds(5);
    post(alert(Some(ends))).await;
    let resolved = eventually(
        "Alertmanager to notify Tandem of the resolution",
        || async {
            let found = incidents(&app, starts).await;
            (found.len() == 1 && !found[0]["resolved_at"].is_null()).then_some(found)
        },
    )
    .await;
    assert_eq!(
        resolved[0]["external_id"], opened[0]["external_id"],
        "one incident, grouped by fingerprint"
    );
}
