//! The front line's storage (ADR 0031) on both engines: a KPI source is
//! claimed by one owner at a time and only that owner finishes the run
//! (point and outcome in one transaction); a disabled check is never
//! claimed; business updates and the post-incident note belong to an
//! incident.

use tandem_domain::engineering::Incident;
use tandem_domain::frontline::{KpiSourceKind, KpiSourceSpec};
use tandem_domain::metric::Audience;
use tandem_store::{
    BusinessUpdate, EngineKind, IncidentNote, KpiRunOutcome, UPDATE_FAILED, UPDATE_PENDING,
    UPDATE_POSTED,
};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    a_kpi_source_runs_under_one_lease_and_writes_its_point,
    a_disabled_check_is_never_claimed,
    a_business_update_is_posted_once_through_its_outbox,
);

fn promql() -> KpiSourceSpec {
    KpiSourceSpec {
        kind: KpiSourceKind::Promql,
        url: "http://prometheus:9090".into(),
        query: "sum(up)".into(),
        interval_seconds: 3600,
    }
}

async fn a_kpi_source_runs_under_one_lease_and_writes_its_point(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let m = metric("error-rate", Audience::Team, None);
    store.create_metric(&m).await.unwrap();
    store
        .set_kpi_source(m.id, &promql(), at(100), at(50))
        .await
        .unwrap();
    // Not due before its first run.
    let early = store
        .claim_due_kpi_sources("a", at(99), at(200), None, 10)
        .await
        .unwrap();
    assert!(early.is_empty());
    // Two replicas: one gets it.
    let a = store
        .claim_due_kpi_sources("a", at(100), at(200), None, 10)
        .await
        .unwrap();
    let b = store
        .claim_due_kpi_sources("b", at(101), at(201), None, 10)
        .await
        .unwrap();
    assert_eq!((a.len(), b.len()), (1, 0));
    // Nor can a forced run take a held source.
    let forced = store
        .claim_due_kpi_sources("c", at(102), at(202), Some(m.id), 1)
        .await
        .unwrap();
    assert!(forced.is_empty());
    // Only the owner finishes.
    let collected = KpiRunOutcome::Collected {
        point_at: at(0),
        value: 4.5,
    };
    assert!(
        !store
            .finish_kpi_run(m.id, "b", at(103), &collected, at(3700))
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_kpi_run(m.id, "a", at(103), &collected, at(3700))
            .await
            .unwrap()
    );
    let points = store.list_points(m.id, None, None, 10).await.unwrap();
    assert_eq!(points.len(), 1);
    assert_eq!((points[0].at, points[0].value), (at(0), 4.5));
    let s = store.kpi_source(m.id).await.unwrap().unwrap();
    assert_eq!(
        (s.failures, s.last_success_at, s.last_value, s.next_run_at),
        (0, Some(at(103)), Some(4.5), at(3700))
    );
    // A failure counts, keeps the last success, writes no point.
    let claimed = store
        .claim_due_kpi_sources("a", at(103), at(200), Some(m.id), 1)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1, "a forced run takes a free source");
    let failed = KpiRunOutcome::Failed("Prometheus did not answer".into());
    assert!(
        store
            .finish_kpi_run(m.id, "a", at(104), &failed, at(134))
            .await
            .unwrap()
    );
    let s = store.kpi_source(m.id).await.unwrap().unwrap();
    assert_eq!(s.failures, 1);
    assert_eq!(s.last_error.as_deref(), Some("Prometheus did not answer"));
    assert_eq!(s.last_success_at, Some(at(103)));
    assert_eq!(
        store.list_points(m.id, None, None, 10).await.unwrap().len(),
        1
    );
    // Setting the source again forgets the outcome; removing it keeps the points.
    store
        .set_kpi_source(m.id, &promql(), at(200), at(200))
        .await
        .unwrap();
    let s = store.kpi_source(m.id).await.unwrap().unwrap();
    assert_eq!((s.failures, s.last_error), (0, None));
    assert!(store.remove_kpi_source(m.id).await.unwrap());
    assert!(!store.remove_kpi_source(m.id).await.unwrap());
    assert_eq!(
        store.list_points(m.id, None, None, 10).await.unwrap().len(),
        1
    );
    // A source needs its series.
    assert_not_found(
        store
            .set_kpi_source(Uuid::now_v7(), &promql(), at(1), at(1))
            .await,
        "metric",
    );
}

async fn a_disabled_check_is_never_claimed(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("pay");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "payments");
    store.create_project(&p).await.unwrap();
    let spec = tcp_check("payments-health", "pay", "payments-api");
    define_check(&store, &spec, (t.id, p.id), at(10), at(1)).await;
    assert!(
        store
            .set_check_disabled("payments-health", true)
            .await
            .unwrap()
    );
    assert!(
        store
            .get_check("payments-health")
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
    assert_eq!(store.disabled_checks().await.unwrap(), ["payments-health"]);
    let by_name = store.get_check("payments-health").await.unwrap().unwrap();
    let by_id = store.get_check_by_id(by_name.id).await.unwrap().unwrap();
    assert_eq!(by_id, by_name);
    assert!(
        store
            .get_check_by_id(Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );
    let claimed = store
        .claim_due_checks("a", at(20), at(80), 10)
        .await
        .unwrap();
    assert!(claimed.is_empty(), "a disabled check runs no more");
    assert!(
        store
            .set_check_disabled("payments-health", false)
            .await
            .unwrap()
    );
    let claimed = store
        .claim_due_checks("a", at(20), at(80), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    assert!(!store.set_check_disabled("nope", true).await.unwrap());

    // Notes and business updates need their incident.
    let missing = Uuid::now_v7();
    assert_not_found(
        store
            .save_incident_note(&IncidentNote {
                incident_id: missing,
                body: "# Note".into(),
                updated_by: "ana".into(),
                updated_at: at(30),
            })
            .await,
        "incident",
    );
    assert_not_found(
        store
            .add_business_update(&BusinessUpdate {
                id: Uuid::now_v7(),
                incident_id: missing,
                project_id: p.id,
                service: None,
                affected: "x".into(),
                doing: "y".into(),
                next_update_at: None,
                posted_by: "ana".into(),
                created_at: at(30),
                slack_channel: None,
                slack_outcome: "not configured".into(),
                slack_attempts: 0,
                slack_error: None,
                slack_posted_at: None,
            })
            .await,
        "incident",
    );
}

/// A business update waiting for Slack is held by one sender at a time; a
/// failed attempt waits for its lease, a posted one is never claimed again,
/// and one given up on stays failed with its error.
async fn a_business_update_is_posted_once_through_its_outbox(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("pay");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "payments");
    store.create_project(&p).await.unwrap();
    let incident = Incident {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: "INC-1".into(),
        project_id: p.id,
        service: Some("payments-api".into()),
        title: "Checkout fails".into(),
        severity: "sev1".into(),
        opened_at: at(10),
        resolved_at: None,
        caused_by: None,
        created_at: at(10),
        updated_at: at(10),
    };
    let incident_id = store.upsert_incident(&incident).await.unwrap();
    let update = |n: i64| BusinessUpdate {
        id: Uuid::now_v7(),
        incident_id,
        project_id: p.id,
        service: Some("payments-api".into()),
        affected: format!("update {n}"),
        doing: "Rolling back".into(),
        next_update_at: None,
        posted_by: "ana".into(),
        created_at: at(20 + n),
        slack_channel: Some("C0BUSINESS".into()),
        slack_outcome: UPDATE_PENDING.into(),
        slack_attempts: 0,
        slack_error: None,
        slack_posted_at: None,
    };
    let (first, second) = (update(1), update(2));
    store.add_business_update(&first).await.unwrap();
    store.add_business_update(&second).await.unwrap();

    // Two senders at once: each gets its own, oldest first.
    let a = store
        .claim_business_update(at(30), at(90))
        .await
        .unwrap()
        .unwrap();
    let b = store
        .claim_business_update(at(30), at(90))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((a.id, b.id), (first.id, second.id));
    assert_eq!(a.slack_attempts, 1);
    assert!(
        store
            .claim_business_update(at(31), at(91))
            .await
            .unwrap()
            .is_none()
    );

    // The first fails and is retried after its lease; then posted, once.
    store
        .finish_business_update(a.id, None, Some("Slack chat.postMessage: 503"), false)
        .await
        .unwrap();
    assert!(
        store
            .claim_business_update(at(40), at(100))
            .await
            .unwrap()
            .is_none()
    );
    let again = store
        .claim_business_update(at(91), at(150))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((again.id, again.slack_attempts), (first.id, 2));
    assert_eq!(
        again.slack_error.as_deref(),
        Some("Slack chat.postMessage: 503")
    );
    store
        .finish_business_update(again.id, Some(at(92)), None, false)
        .await
        .unwrap();
    // The second is given up on.
    store
        .finish_business_update(b.id, None, Some("channel_not_found"), true)
        .await
        .unwrap();
    assert!(
        store
            .claim_business_update(at(500), at(600))
            .await
            .unwrap()
            .is_none()
    );

    let stored = store
        .business_updates(Some(incident_id), at(0), 10)
        .await
        .unwrap();
    let one = stored.iter().find(|u| u.id == first.id).unwrap();
    assert_eq!(one.slack_outcome, UPDATE_POSTED);
    assert_eq!(
        (one.slack_posted_at, one.slack_error.as_deref()),
        (Some(at(92)), None)
    );
    let two = stored.iter().find(|u| u.id == second.id).unwrap();
    assert_eq!(two.slack_outcome, UPDATE_FAILED);
    assert_eq!(two.slack_error.as_deref(), Some("channel_not_found"));
    assert!(
        store
            .finish_business_update(Uuid::now_v7(), None, None, true)
            .await
            .is_err()
    );
}
