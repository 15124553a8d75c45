//! Tandem's own notifications obey the recipient's policy (issues 14 §3,
//! 15 §4, 16 §2), on both engines:
//! - a P0 business request pages the on-call path: a critical alert on the
//!   team's routes, delivered at once to the local Slack stand-in by the
//!   alert sender of a started server, with a link to the request, even
//!   when the team's policy lets nothing else through for days;
//! - with a fixed clock: a warning alert raised in the team's focus block
//!   waits for its end (12:00 in the team's zone), a critical one goes at
//!   once, and a team whose own policy has no focus block gets it at once;
//! - a decision told to a requester waits for their working hours outside
//!   the focus block, in their own team's zone; a P0 decision goes at once;
//! - a scheduled report due in the focus block is sent when it ends.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};
use tandem_app::Settings;
use tandem_app::requests;
use tandem_domain::check::{AlertKind, AlertStatus, Severity};
use tandem_domain::policy::{Day, TeamPolicy};
use tandem_domain::request::{DecisionInput, NewRequest, RequestSource};
use tandem_store::{EngineKind, Store};
use tandem_testkit::{TestDb, per_engine};

use crate::checks::{start_slack, wait_for};
use crate::support::TestApp;

per_engine!(
    a_p0_request_pages_the_on_call_path_at_once,
    alerts_wait_for_the_working_hours_of_the_teams_policy,
    a_decision_waits_for_the_requesters_working_hours,
    a_scheduled_report_due_in_the_focus_block_waits_for_its_end,
);

/// A policy that lets nothing that is not urgent through before `day`
/// next comes round: working hours on that day only.
fn only_on(day: Day) -> Value {
    json!({"work_days": [day], "focus_days": []})
}

async fn a_p0_request_pages_the_on_call_path_at_once(engine: EngineKind) {
    let (slack_url, slack) = start_slack().await;
    // Critical alerts of `pay` go to the on-call channel; warnings elsewhere.
    let routes = format!(
        r#"[{{name = "on-call", team = "pay", severities = ["critical"], channel = "slack", to = "{slack_url}"}},
            {{name = "chatter", severities = ["warning"], channel = "slack", to = "{slack_url}"}}]"#
    );
    let app = TestApp::start_with(
        engine,
        &[
            ("TANDEM_ALERTS__SENDER_INTERVAL_MS", "100"),
            ("TANDEM_ALERTS__ROUTES", routes.as_str()),
        ],
    )
    .await;
    let team = app.team("pay").await;
    // The team works only on the day after tomorrow: nothing that is not
    // urgent may reach it now.
    let later = Day::of(Utc::now().date_naive() + Duration::days(2));
    app.call(
        reqwest::Method::PUT,
        &app.manager,
        "/api/v1/teams/pay/policy",
        Some(only_on(later)),
    )
    .await
    .ok(200);

    let made = app
        .post(
            &app.stakeholder,
            "/api/v1/requests",
            json!({"team_id": team["id"], "title": "Checkout is down for every card payment",
                   "description": "Customers see a 502 at the last step.",
                   "urgency": "outage"}),
        )
        .await
        .ok(201)
        .body;
    let id = made["id"].as_str().unwrap().to_owned();
    assert_eq!(made["priority"], "P0");

    let messages = wait_for(20, "the page in Slack", || async {
        let got = slack.lock().unwrap().clone();
        (!got.is_empty()).then_some(got)
    })
    .await;
    let page = &messages[0];
    let blocks = page["blocks"].as_array().expect("Block Kit blocks");
    let header = blocks[0]["text"]["text"].as_str().unwrap();
    assert!(
        header.contains("P0 request: Checkout is down for every card payment"),
        "{page:#}"
    );
    let link = format!("{}/requests/{id}", app.base);
    assert_eq!(blocks[2]["elements"][0]["url"], link.as_str(), "{page:#}");
    assert!(
        page["text"].as_str().unwrap().contains("production outage"),
        "{page:#}"
    );

    // One alert, on the critical route only, sent on its first attempt,
    // due when the request was made.
    let store = app.store().await;
    let request_id: uuid::Uuid = id.parse().unwrap();
    let alerts = wait_for(10, "the page marked sent", || async {
        let a = store.list_request_alerts(request_id).await.unwrap();
        a.iter().all(|a| a.status == AlertStatus::Sent).then_some(a)
    })
    .await;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    let a = &alerts[0];
    assert_eq!(
        (a.kind, a.severity, a.destination.as_str()),
        (AlertKind::Page, Severity::Critical, "on-call")
    );
    assert_eq!((a.incident_id, a.request_id), (None, Some(request_id)));
    assert_eq!(a.due_at, a.created_at, "a page bypasses quiet hours");
    let attempts = store.alert_attempts(a.id).await.unwrap();
    assert_eq!(attempts.len(), 1);
    assert_eq!(attempts[0].outcome, "sent");

    // A request that is not an outage or a security issue pages nobody.
    let calm = app
        .post(
            &app.stakeholder,
            "/api/v1/requests",
            json!({"team_id": team["id"], "title": "A CSV export of invoices"}),
        )
        .await
        .ok(201)
        .body;
    let calm: uuid::Uuid = calm["id"].as_str().unwrap().parse().unwrap();
    assert!(store.list_request_alerts(calm).await.unwrap().is_empty());
    assert_eq!(slack.lock().unwrap().len(), 1, "paged once");
    app.stop().await;
}

fn settings(db: &TestDb, extra: &[(&str, &str)]) -> Settings {
    let env: Vec<(String, String)> = [("TANDEM_DATABASE__URL", db.url.as_str())]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Settings::load_from(None, &env).expect("settings")
}

/// Tuesday 2026-03-03 at `h:m` in Berlin (UTC+1).
fn berlin(h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Berlin
        .with_ymd_and_hms(2026, 3, 3, h, m, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn team(store: &Store, key: &str, zone: &str) -> tandem_domain::team::Team {
    tandem_app::org::create_team(
        store,
        serde_json::from_value(json!({"key": key, "name": key, "timezone": zone})).unwrap(),
    )
    .await
    .unwrap()
}

async fn alerts_wait_for_the_working_hours_of_the_teams_policy(engine: EngineKind) {
    use tandem_app::checks::alerts::enqueue;
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let routes =
        r#"[{name = "ops", channel = "webhook", to = "http://127.0.0.1:9/hook", secret = "s"}]"#;
    let s = settings(&db, &[("TANDEM_ALERTS__ROUTES", routes)]);
    let now = berlin(10, 0); // inside the default focus block (09:00-12:00)
    for (key, service) in [("pay", "payments"), ("web", "storefront")] {
        let t = team(&store, key, "Europe/Berlin").await;
        tandem_app::org::create_project(
            &store,
            serde_json::from_value(
                json!({"team_id": t.id, "key": service, "name": service, "services": [service]}),
            )
            .unwrap(),
        )
        .await
        .unwrap();
    }
    // `web` has its own policy, without a focus block.
    tandem_app::focus::set_policy(
        &store,
        "web",
        TeamPolicy {
            focus_days: vec![],
            ..TeamPolicy::default()
        },
        now,
    )
    .await
    .unwrap();

    let mut due = Vec::new();
    for (name, team, service, severity) in [
        ("pay-warning", "pay", "payments", "warning"),
        ("pay-critical", "pay", "payments", "critical"),
        ("web-warning", "web", "storefront", "warning"),
    ] {
        let spec = serde_json::from_value(json!({
            "name": name, "team": team, "service": service, "kind": "tcp",
            "target": "127.0.0.1:9", "interval_seconds": 60, "severity": severity
        }))
        .unwrap();
        let check = tandem_app::checks::define(&store, spec, "api", now)
            .await
            .unwrap()
            .check;
        let incident = tandem_app::events::record_incident_from(
            &store,
            "check",
            serde_json::from_value(json!({
                "id": format!("check:{name}:1"), "service": service,
                "severity": severity, "opened_at": now
            }))
            .unwrap(),
            None,
            now,
        )
        .await
        .unwrap();
        let added = enqueue(
            &store,
            &s,
            &check,
            &incident,
            AlertKind::Opened,
            "1",
            "refused",
            now,
        )
        .await
        .unwrap();
        assert_eq!(added, 1);
        let alert = store
            .list_alerts(Some(incident.id))
            .await
            .unwrap()
            .remove(0);
        due.push((name, alert.due_at));
    }
    assert_eq!(
        due,
        [
            ("pay-warning", berlin(12, 0)),
            ("pay-critical", now),
            ("web-warning", now),
        ],
        "a warning waits for the end of the focus block; critical goes through; \
         a team without a focus block gets it at once"
    );
    // The sender's claim honours it: at 11:59 only the two due ones.
    let claimed = store
        .claim_due_alerts("a", berlin(11, 59), berlin(11, 0), 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 2);
    let claimed = store
        .claim_due_alerts("a", berlin(12, 0), berlin(11, 0), 100)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].due_at, berlin(12, 0));
}

async fn a_decision_waits_for_the_requesters_working_hours(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let s = settings(&db, &[]);
    let pay = team(&store, "pay", "Europe/Berlin").await;
    let syd = team(&store, "syd", "Australia/Sydney").await;
    // Ana, a Tandem user of the Sydney team, asks the Berlin team.
    let ana = tandem_app::users::create(
        &store,
        serde_json::from_value(json!({"username": "ana", "display_name": "Ana",
                                      "email": "ana@example.com", "role": "stakeholder"}))
        .unwrap(),
        "a long enough password".into(),
    )
    .await
    .unwrap();
    tandem_app::org::add_member(&store, "syd", "ana")
        .await
        .unwrap();

    let submit = |title: &str, urgency: &str, user: Option<uuid::Uuid>| {
        let mut new = NewRequest::new(pay.id, title, "Ana", RequestSource::Slack);
        new.urgency = urgency.parse().unwrap();
        new.requester_user_id = user;
        new.external_id = Some(title.into());
        new.reply.slack_channel = Some("D0123456".into());
        requests::submit_at(&store, &s, new, berlin(9, 30))
    };
    let calm = submit("A CSV export", "normal", None).await.unwrap();
    let from_sydney = submit("A PDF export", "normal", Some(ana.id))
        .await
        .unwrap();
    let outage = submit("Checkout is down", "outage", None).await.unwrap();
    let _ = syd;

    // The `received` notes answer what the requester just did: at once.
    let lease = Duration::minutes(2);
    for _ in 0..3 {
        let n = requests::claim_notification_at(&store, RequestSource::Slack, lease, berlin(9, 30))
            .await
            .unwrap()
            .expect("a received note due at once");
        assert_eq!(n.due_at, None);
        store
            .mark_request_notification_delivered(n.id, berlin(9, 30))
            .await
            .unwrap();
    }

    // Decided at 10:00 Berlin, in the focus block.
    let decline: DecisionInput =
        serde_json::from_value(json!({"kind": "decline", "reason": "not now"})).unwrap();
    for r in [&calm, &from_sydney, &outage] {
        requests::decide_at(&store, &s, r.id, decline.clone(), "manager", berlin(10, 0))
            .await
            .unwrap();
    }
    let due = |id| {
        let store = store.clone();
        async move {
            store
                .list_request_notifications(id)
                .await
                .unwrap()
                .last()
                .unwrap()
                .due_at
        }
    };
    // The Berlin requester: at the end of Berlin's focus block.
    assert_eq!(due(calm.id).await, Some(berlin(12, 0)));
    // Ana, in Sydney: 20:00 there is after the evening; the next moment is
    // Wednesday 12:00 in Sydney (UTC+11) = 01:00Z.
    assert_eq!(
        due(from_sydney.id).await,
        Some(Utc.with_ymd_and_hms(2026, 3, 4, 1, 0, 0).unwrap())
    );
    // A P0 request's decision goes at once.
    assert_eq!(due(outage.id).await, None);

    // The outbox follows: at 10:00 only the P0 one, at 12:00 Berlin's,
    // then Sydney's on its Wednesday noon.
    let claim_all = |at: DateTime<Utc>| {
        let store = store.clone();
        async move {
            let mut got = Vec::new();
            while let Some(n) =
                requests::claim_notification_at(&store, RequestSource::Slack, lease, at)
                    .await
                    .unwrap()
            {
                store
                    .mark_request_notification_delivered(n.id, at)
                    .await
                    .unwrap();
                got.push(n.request_id);
            }
            got
        }
    };
    assert_eq!(claim_all(berlin(10, 0)).await, [outage.id]);
    assert!(claim_all(berlin(11, 59)).await.is_empty());
    assert_eq!(claim_all(berlin(12, 0)).await, [calm.id]);
    assert!(
        claim_all(Utc.with_ymd_and_hms(2026, 3, 4, 0, 59, 0).unwrap())
            .await
            .is_empty()
    );
    assert_eq!(
        claim_all(Utc.with_ymd_and_hms(2026, 3, 4, 1, 0, 0).unwrap()).await,
        [from_sydney.id]
    );
}

/// Collects the bodies posted to `/hook`.
async fn hook_receiver() -> (String, Arc<Mutex<Vec<Value>>>) {
    let got = Arc::new(Mutex::new(Vec::new()));
    let inbox = Arc::clone(&got);
    let app = Router::new().route(
        "/hook",
        post(move |axum::Json(body): axum::Json<Value>| {
            let inbox = Arc::clone(&inbox);
            async move {
                inbox.lock().unwrap().push(body);
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.ok() });
    (url, got)
}

async fn a_scheduled_report_due_in_the_focus_block_waits_for_its_end(engine: EngineKind) {
    use tandem_app::report::schedule::tick;
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (hook, got) = hook_receiver().await;
    let s = settings(
        &db,
        &[
            ("TANDEM_REPORT__WEBHOOK__URL", hook.as_str()),
            ("TANDEM_REPORT__WEBHOOK__SECRET", "report-secret"),
        ],
    );
    let pay = team(&store, "pay", "Europe/Berlin").await;
    // Tuesdays at 10:00 in Berlin, sent without approval.
    store
        .put_report_schedule(&tandem_store::ReportSchedule {
            team_id: pay.id,
            cron: "0 10 * * 2".into(),
            auto_send: true,
            email_to: vec![],
            updated_at: Some(berlin(8, 0)),
        })
        .await
        .unwrap();
    let r = tick(&store, &s, "a", berlin(10, 1)).await.unwrap();
    assert_eq!(r.sent, 0, "due in the focus block: it waits ({r:?})");
    let r = tick(&store, &s, "a", berlin(11, 59)).await.unwrap();
    assert_eq!(r.sent, 0, "{r:?}");
    assert!(got.lock().unwrap().is_empty());
    let r = tick(&store, &s, "b", berlin(12, 0)).await.unwrap();
    assert_eq!(r.sent, 1, "sent when the focus block ends ({r:?})");
    let r = tick(&store, &s, "a", berlin(12, 1)).await.unwrap();
    assert_eq!(r.sent, 0, "once ({r:?})");
    assert_eq!(got.lock().unwrap().len(), 1);
    assert_eq!(
        store.report_run_outcome(pay.id, "2026-W10").await.unwrap(),
        Some(Some("sent".to_owned()))
    );
}
