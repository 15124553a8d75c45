//! `tandem check add|run|silence` and `tandem incident ack|resolve` on an
//! incident a check opened (not one of the events API's), end to end on
//! SQLite and PostgreSQL; `metrics explain` names the check behind it.
//! `tandem check disable|enable` by name or id: a disabled check is shown
//! as such, is not run by the scheduler nor by `check run`, and opens no
//! incident.

mod support;

use serde_json::Value;
use tandem_store::EngineKind;
use tandem_testkit::{TestDb, per_engine};

use support::{failed, ok, ok_text, project, tandem};

per_engine!(
    a_check_incident_is_silenced_acknowledged_and_resolved_by_its_id,
    a_disabled_check_does_not_run_until_enabled,
);

async fn run(db: &str, args: &[&str]) -> std::process::Output {
    tandem(db, args, "TANDEM_TOKEN", None, &[]).await
}

async fn a_check_incident_is_silenced_acknowledged_and_resolved_by_its_id(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store, "acme/payments").await;
    let url = db.url.as_str();
    // A TCP check of a port nothing listens on.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target = closed.to_string();
    ok(&run(
        url,
        &[
            "check",
            "add",
            "--name",
            "pay-port",
            "--team",
            "pay-team",
            "--service",
            "payments",
            "--kind",
            "tcp",
            "--target",
            &target,
            "--interval",
            "3600",
            "--timeout",
            "2",
            "--format",
            "json",
        ],
    )
    .await);

    // Silenced: the run is recorded but opens nothing.
    let silenced = ok(&run(
        url,
        &[
            "check",
            "silence",
            "pay-port",
            "--minutes",
            "30",
            "--format",
            "json",
        ],
    )
    .await);
    assert!(silenced["silenced_until"].is_string(), "{silenced:#}");
    let r = ok(&run(url, &["check", "run", "pay-port", "--format", "json"]).await);
    assert_eq!(r["verdict"]["ok"], false, "{r:#}");
    assert_eq!(r["check"]["state"]["status"], "unknown", "{r:#}");
    let open = ok(&run(url, &["incident", "list", "--open", "--format", "json"]).await);
    assert_eq!(open, Value::Array(vec![]));

    // The silence lifted, the next failure opens the check's incident.
    let lifted = ok(&run(
        url,
        &[
            "check",
            "silence",
            "pay-port",
            "--minutes",
            "0",
            "--format",
            "json",
        ],
    )
    .await);
    assert!(lifted["silenced_until"].is_null(), "{lifted:#}");
    let r = ok(&run(url, &["check", "run", "pay-port", "--format", "json"]).await);
    assert_eq!(r["check"]["state"]["status"], "failing", "{r:#}");
    let open = ok(&run(url, &["incident", "list", "--open", "--format", "json"]).await);
    assert_eq!(open[0]["external_id"], "check:pay-port:1", "{open:#}");
    assert_eq!(open[0]["source"], "check");

    let acked = ok(&run(
        url,
        &[
            "incident",
            "ack",
            "check:pay-port:1",
            "--by",
            "ops-lead",
            "--format",
            "json",
        ],
    )
    .await);
    assert!(acked["acknowledged_at"].is_string(), "{acked:#}");

    // Resolved by the check's incident id: the same incident (source
    // `check`), not a new one from the events API.
    let resolved = ok(&run(
        url,
        &[
            "incident",
            "resolve",
            "check:pay-port:1",
            "--format",
            "json",
        ],
    )
    .await);
    assert!(resolved["resolved_at"].is_string(), "{resolved:#}");
    let all = ok(&run(url, &["incident", "list", "--format", "json"]).await);
    let all = all.as_array().unwrap();
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(all[0]["source"], "check");
    assert!(all[0]["resolved_at"].is_string());
    assert!(all[0]["acknowledged_at"].is_string());
    // By its Tandem id too; an unknown id is refused.
    let id = all[0]["id"].as_str().unwrap();
    ok(&run(url, &["incident", "resolve", id, "--format", "json"]).await);
    let err = failed(&run(url, &["incident", "resolve", "check:nope:1"]).await);
    assert!(err.contains("check:nope:1"), "{err}");

    // `metrics explain` names the check behind the incident.
    let since = (chrono::Utc::now() - chrono::Duration::days(1))
        .date_naive()
        .to_string();
    let text = ok_text(
        &run(
            url,
            &[
                "metrics",
                "explain",
                "time-to-restore",
                "--team",
                "pay-team",
                "--since",
                &since,
            ],
        )
        .await,
    );
    assert!(text.contains("check:pay-port:1"), "{text}");
}

async fn a_disabled_check_does_not_run_until_enabled(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store, "acme/payments").await;
    let url = db.url.as_str();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let target = closed.to_string();
    let added = ok(&run(
        url,
        &[
            "check",
            "add",
            "--name",
            "pay-port",
            "--team",
            "pay-team",
            "--service",
            "payments",
            "--kind",
            "tcp",
            "--target",
            &target,
            "--interval",
            "60",
            "--timeout",
            "2",
            "--format",
            "json",
        ],
    )
    .await);
    let id = added["check"]["id"].as_str().unwrap().to_owned();

    // Disabled by name: shown as such in both formats.
    let off = ok(&run(url, &["check", "disable", "pay-port", "--format", "json"]).await);
    assert_eq!(off["disabled"], true, "{off:#}");
    let listed = ok(&run(url, &["check", "list", "--format", "json"]).await);
    assert_eq!(listed[0]["disabled"], true, "{listed:#}");
    let table = ok_text(&run(url, &["check", "list"]).await);
    assert!(table.contains("disabled"), "{table}");

    // Neither `check run` nor the scheduler runs it, so nothing opens.
    let err = failed(&run(url, &["check", "run", "pay-port"]).await);
    assert!(err.contains("disabled"), "{err}");
    let settings = std::sync::Arc::new(tandem_app::Settings::load_from(None, &[]).unwrap());
    let runner = tandem_app::checks::run::Runner::new("test".into(), 4).unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(1);
    let started = tandem_app::checks::run::run_due(&store, &settings, &runner, later)
        .await
        .unwrap();
    assert_eq!(started, 0, "a disabled check is not claimed");
    let check = store.get_check("pay-port").await.unwrap().unwrap();
    assert!(check.last_run_at.is_none(), "{check:?}");
    let open = ok(&run(url, &["incident", "list", "--open", "--format", "json"]).await);
    assert_eq!(open, Value::Array(vec![]));

    // Enabled again by its id: the scheduler runs it and the failure opens
    // the check's incident.
    let on = ok(&run(url, &["check", "enable", &id, "--format", "json"]).await);
    assert_eq!(on["disabled"], false, "{on:#}");
    assert_eq!(on["name"], "pay-port");
    let started = tandem_app::checks::run::run_due(&store, &settings, &runner, later)
        .await
        .unwrap();
    assert_eq!(started, 1);
    let mut ran = None;
    for _ in 0..200 {
        let c = store.get_check("pay-port").await.unwrap().unwrap();
        if c.last_run_at.is_some() {
            ran = Some(c);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let ran = ran.expect("the enabled check ran");
    assert_eq!(ran.last_ok, Some(false));
    let open = ok(&run(url, &["incident", "list", "--open", "--format", "json"]).await);
    assert_eq!(open[0]["external_id"], "check:pay-port:1", "{open:#}");

    // Unknown names and ids: a clear message and a non-zero exit.
    for bad in ["no-such-check", "0190d6a0-0000-7000-8000-000000000000"] {
        for verb in ["disable", "enable"] {
            let err = failed(&run(url, &["check", verb, bad]).await);
            assert!(err.contains(bad) && err.contains("no check"), "{err}");
        }
    }
}
