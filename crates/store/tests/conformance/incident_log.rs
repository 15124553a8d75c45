//! The incident change log (triggers on `incidents`, migration 0009) and the
//! time-to-restore rollups: an incident inserted, resolved later, moved to
//! another service, relinked to another deployment and deleted, with change
//! failure rate and time to restore worked out by hand at every step and
//! checked against a recomputation from scratch; and incidents written by
//! another store handle (the other replica) while both refresh.
//!
//! Times are hours after T0 = Monday 2026-03-02 00:00 UTC. Deployments
//! (production, no repository, so no commits): A1 api at 10, W1 web at 20,
//! A2 api at 40, A3 api at 100. Window 24 h (the default).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use tandem_domain::dora::{self, Bucket, DoraReport, MetricRules, MetricScope, Range};
use tandem_domain::engineering::{Deployment, DeploymentStatus, Incident};
use tandem_domain::project::Project;
use tandem_store::{EngineKind, Store};
use tandem_testkit::{TestDb, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    incident_changes_update_the_numbers,
    another_replica_writes_incidents
);

fn h(hours: f64) -> DateTime<Utc> {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    t0 + Duration::seconds((hours * 3600.0) as i64)
}

const SINCE: (i32, u32, u32) = (2026, 3, 1);
const UNTIL: (i32, u32, u32) = (2026, 3, 31);

fn range() -> Range {
    let d = |(y, m, dd): (i32, u32, u32)| NaiveDate::from_ymd_opt(y, m, dd).unwrap();
    Range::new(d(SINCE), d(UNTIL), Bucket::Week).unwrap()
}

fn scope(p: &Project, service: Option<&str>) -> MetricScope {
    MetricScope {
        project_ids: vec![p.id],
        service: service.map(str::to_owned),
        environment: "production".into(),
    }
}

async fn setup(store: &Store) -> Project {
    let t = team("inc-team");
    store.create_team(&t).await.unwrap();
    let p = Project {
        services: vec!["api".into(), "web".into()],
        ..project(t.id, "inc")
    };
    store.create_project(&p).await.unwrap();
    for (ext, service, at) in [
        ("A1", "api", 10.0),
        ("W1", "web", 20.0),
        ("A2", "api", 40.0),
        ("A3", "api", 100.0),
    ] {
        store
            .upsert_deployment(&Deployment {
                id: Uuid::now_v7(),
                source: "api".into(),
                external_id: ext.into(),
                project_id: p.id,
                service: service.into(),
                environment: "production".into(),
                status: DeploymentStatus::Success,
                repo: None,
                sha: None,
                is_rollback: false,
                explicit_commits: vec![],
                started_at: h(at - 0.25),
                finished_at: Some(h(at)),
                created_at: h(at - 0.25),
                updated_at: h(at),
            })
            .await
            .unwrap();
    }
    p
}

/// Incident `ext` as reported at `version` (later versions win).
fn incident(
    p: &Project,
    ext: &str,
    service: &str,
    opened: f64,
    resolved: Option<f64>,
    caused_by: Option<&str>,
    version: f64,
) -> Incident {
    Incident {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: ext.into(),
        project_id: p.id,
        service: Some(service.into()),
        title: format!("incident {ext}"),
        severity: "sev2".into(),
        opened_at: h(opened),
        resolved_at: resolved.map(h),
        caused_by: caused_by.map(str::to_owned),
        created_at: h(opened),
        updated_at: h(version),
    }
}

async fn report(store: &Store, p: &Project, service: Option<&str>) -> DoraReport {
    store.attribute_pending().await.unwrap();
    let (s, r) = (scope(p, service), range());
    let inputs = store.dora_inputs(&s, &r).await.unwrap();
    dora::report(&s, &r, &inputs)
}

/// The failed deployments' external ids and why, from the stored facts.
async fn failed(store: &Store, p: &Project) -> Vec<(String, String)> {
    store.attribute_pending().await.unwrap();
    store
        .explain_deployments(&scope(p, None), &range())
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.failed)
        .map(|d| (d.external_id, d.failure_reason.unwrap_or_default()))
        .collect()
}

/// Time to restore recomputed from the incidents themselves: (opened,
/// resolved, median hours).
async fn restore_from_scratch(
    store: &Store,
    p: &Project,
    service: Option<&str>,
) -> (u64, u64, Option<f64>) {
    let incidents = store
        .incidents_in(&scope(p, service), &range())
        .await
        .unwrap();
    let mut hours: Vec<f64> = incidents
        .iter()
        .filter_map(|i| dora::restore_seconds(i.opened_at, i.resolved_at))
        .map(|s| s / 3600.0)
        .collect();
    (
        incidents.len() as u64,
        hours.len() as u64,
        dora::median(&mut hours),
    )
}

/// Checks the incremental numbers against the hand-computed ones and against
/// a recomputation from scratch (incidents read one by one; every
/// deployment's facts recomputed after a change of rules and back).
async fn check(
    store: &Store,
    p: &Project,
    step: &str,
    failed_changes: u64,
    restore: (u64, Option<f64>),
) {
    let all = report(store, p, None).await;
    assert_eq!(all.change_failure_rate.changes, 4, "{step}");
    assert_eq!(
        all.change_failure_rate.failed, failed_changes,
        "{step}: failed changes"
    );
    assert_eq!(
        all.time_to_restore.incidents, restore.0,
        "{step}: incidents"
    );
    match (all.time_to_restore.median_hours, restore.1) {
        (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{step}: median {a} != {b}"),
        (a, b) => assert_eq!(a, b, "{step}: median"),
    }
    assert_eq!(all.time_to_restore.precision, "exact", "{step}");
    for service in [None, Some("api"), Some("web")] {
        let r = report(store, p, service).await;
        let (opened, resolved, median) = restore_from_scratch(store, p, service).await;
        assert_eq!(r.time_to_restore.incidents, opened, "{step} {service:?}");
        assert_eq!(r.time_to_restore.resolved, resolved, "{step} {service:?}");
        assert_eq!(r.time_to_restore.median_hours, median, "{step} {service:?}");
        let weeks: u64 = r.buckets.iter().map(|b| b.incidents).sum();
        assert_eq!(weeks, opened, "{step} {service:?}: incidents by week");
    }
    let before = failed(store, p).await;
    let rules = store.metric_rules().await.unwrap();
    let other = MetricRules {
        incident_window_hours: rules.incident_window_hours + 1,
        ..rules.clone()
    };
    assert!(store.set_metric_rules(&other).await.unwrap());
    assert!(store.set_metric_rules(&rules).await.unwrap());
    assert_eq!(failed(store, p).await, before, "{step}: from scratch");
    assert_eq!(report(store, p, None).await, all, "{step}: from scratch");
}

fn pair(ext: &str, reason: &str) -> (String, String) {
    (ext.to_owned(), reason.to_owned())
}

async fn incident_changes_update_the_numbers(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let p = setup(&store).await;
    check(&store, &p, "no incidents", 0, (0, None)).await;
    assert_eq!(
        store.attribute_pending().await.unwrap(),
        0,
        "nothing pending"
    );

    // I1 on api opened at 12, resolved at 14, naming nothing: in A1's window
    // (10 ≤ 12 < min(10 + 24, A2 at 40)). 1 of 4 changes failed; 2 h.
    store
        .upsert_incident(&incident(&p, "I1", "api", 12.0, Some(14.0), None, 14.0))
        .await
        .unwrap();
    check(&store, &p, "inserted", 1, (1, Some(2.0))).await;
    assert_eq!(
        failed(&store, &p).await,
        vec![pair("A1", "incident_in_window")]
    );

    // Resolved later, at 20: 8 h; A1 still the failure.
    store
        .upsert_incident(&incident(&p, "I1", "api", 12.0, Some(20.0), None, 20.0))
        .await
        .unwrap();
    check(&store, &p, "resolved later", 1, (1, Some(8.0))).await;

    // Moved to web and reopened at 22, resolved at 30: W1's window (20 ≤ 22
    // < 44); A1 no longer failed. 8 h; api has no incident, web one.
    store
        .upsert_incident(&incident(&p, "I1", "web", 22.0, Some(30.0), None, 30.0))
        .await
        .unwrap();
    check(&store, &p, "service changed", 1, (1, Some(8.0))).await;
    assert_eq!(
        failed(&store, &p).await,
        vec![pair("W1", "incident_in_window")]
    );
    assert_eq!(
        report(&store, &p, Some("api"))
            .await
            .time_to_restore
            .incidents,
        0
    );
    assert_eq!(
        report(&store, &p, Some("web"))
            .await
            .time_to_restore
            .incidents,
        1
    );

    // Relinked to A3: A3 failed (linked, however late); W1 no longer (the
    // incident names a known deployment).
    store
        .upsert_incident(&incident(
            &p,
            "I1",
            "web",
            22.0,
            Some(30.0),
            Some("A3"),
            31.0,
        ))
        .await
        .unwrap();
    check(&store, &p, "relinked", 1, (1, Some(8.0))).await;
    assert_eq!(
        failed(&store, &p).await,
        vec![pair("A3", "linked_incident")]
    );

    // I2 on api at 41, resolved at 41.5, unlinked: A2 failed (40 ≤ 41 <
    // 64). 2 of 4; median of 8 h and 0.5 h = 4.25 h. Still open: I3 on web
    // at 50 counts as opened, not resolved, and fails nothing (W1's window
    // ended at 44).
    store
        .upsert_incident(&incident(&p, "I2", "api", 41.0, Some(41.5), None, 42.0))
        .await
        .unwrap();
    store
        .upsert_incident(&incident(&p, "I3", "web", 50.0, None, None, 50.0))
        .await
        .unwrap();
    check(&store, &p, "second incident", 2, (3, Some(4.25))).await;
    assert_eq!(
        failed(&store, &p).await,
        vec![
            pair("A2", "incident_in_window"),
            pair("A3", "linked_incident")
        ]
    );

    // I1 deleted (no store write deletes incidents; an operator might):
    // A3 no longer failed; I2 and I3 remain, median 0.5 h.
    let i1 = store.get_incident("api", "I1").await.unwrap().unwrap().id;
    delete_incident(&db, i1).await;
    check(&store, &p, "deleted", 1, (2, Some(0.5))).await;
    assert_eq!(
        failed(&store, &p).await,
        vec![pair("A2", "incident_in_window")]
    );
    store.close().await;
}

async fn delete_incident(db: &TestDb, id: Uuid) {
    match db.engine {
        EngineKind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query("DELETE FROM incidents WHERE id = $1")
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query("DELETE FROM incidents WHERE id = $1")
                .bind(id)
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

/// Two store handles on one database, as two replicas: one writes
/// incidents while both refresh; the other's numbers follow, and match a
/// recomputation from scratch at the end.
async fn another_replica_writes_incidents(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let a = db.store().await;
    let b = db.store().await;
    let p = setup(&a).await;
    check(&a, &p, "empty", 0, (0, None)).await;

    // Written through B, read through A.
    b.upsert_incident(&incident(&p, "I1", "api", 12.0, Some(14.0), None, 14.0))
        .await
        .unwrap();
    check(&a, &p, "other replica inserted", 1, (1, Some(2.0))).await;
    b.upsert_incident(&incident(
        &p,
        "I1",
        "api",
        12.0,
        Some(16.0),
        Some("A2"),
        16.0,
    ))
    .await
    .unwrap();
    check(&a, &p, "other replica relinked", 1, (1, Some(4.0))).await;
    assert_eq!(failed(&a, &p).await, vec![pair("A2", "linked_incident")]);

    // B writes 40 incidents on web (opened 60 + i, resolved 1 + i hours
    // later; W1's window has passed, so none fails a deployment) while A and
    // B refresh concurrently.
    let writer = {
        let b = b.clone();
        let p = p.clone();
        tokio::spawn(async move {
            for i in 0..40 {
                let at = 60.0 + f64::from(i);
                b.upsert_incident(&incident(
                    &p,
                    &format!("W{i}"),
                    "web",
                    at,
                    Some(at + 1.0 + f64::from(i)),
                    None,
                    at,
                ))
                .await
                .unwrap();
                if i % 4 == 0 {
                    b.attribute_pending().await.unwrap();
                }
            }
        })
    };
    for _ in 0..10 {
        a.attribute_pending().await.unwrap();
    }
    writer.await.unwrap();
    // Restore times: 4 h (I1) and 1..=40 h: 41 values, median 20 h.
    check(&a, &p, "concurrent writes", 1, (41, Some(20.0))).await;
    check(&b, &p, "concurrent writes, seen by B", 1, (41, Some(20.0))).await;
    a.close().await;
    b.close().await;
}
