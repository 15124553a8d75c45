//! The front line's storage (ADR 0031) on both engines: a KPI source is
//! claimed by one owner at a time and only that owner finishes the run
//! (point and outcome in one transaction); a disabled check is never
//! claimed; business updates and the post-incident note belong to an
//! incident.

use tandem_domain::check::{CheckKind, CheckSpec, Severity};
use tandem_domain::frontline::{KpiSourceKind, KpiSourceSpec};
use tandem_domain::metric::Audience;
use tandem_store::{BusinessUpdate, CheckWrite, EngineKind, IncidentNote, KpiRunOutcome};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    a_kpi_source_runs_under_one_lease_and_writes_its_point,
    a_disabled_check_is_never_claimed,
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
    let spec = CheckSpec {
        name: "payments-health".into(),
        team: "pay".into(),
        service: "payments-api".into(),
        project: None,
        kind: CheckKind::Tcp,
        target: "127.0.0.1:1".into(),
        method: None,
        headers: Default::default(),
        body: None,
        query: None,
        conditions: Vec::new(),
        interval_seconds: 60,
        timeout_seconds: 5,
        failure_threshold: 1,
        success_threshold: 1,
        grace_seconds: 0,
        severity: Severity::Critical,
        depends_on: None,
        maintenance: Vec::new(),
        record_type: None,
        nameserver: None,
        pattern: None,
        window_minutes: None,
    };
    store
        .upsert_check(&CheckWrite {
            spec: &spec,
            team_id: t.id,
            project_id: p.id,
            origin: "api",
            first_run_at: at(10),
            now: at(1),
        })
        .await
        .unwrap();
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
            })
            .await,
        "incident",
    );
}
