use chrono::Duration;
use tandem_domain::metric::{Audience, Direction, Metric};
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    metric_crud,
    metric_list_filters,
    points_upsert_is_idempotent,
    points_cross_the_batch_boundary,
    points_range_and_limit,
    points_need_a_metric
);

async fn metric_crud(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    let t2 = team("search");
    store.create_team(&t).await.unwrap();
    store.create_team(&t2).await.unwrap();

    let m = metric("users-p95", Audience::Team, Some(t.id));
    store.create_metric(&m).await.unwrap();
    assert_eq!(store.get_metric(m.id).await.unwrap(), m);
    assert_eq!(store.get_metric_by_key("users-p95").await.unwrap(), m);

    let mut global = metric("conversion", Audience::Business, None);
    global.description = String::new();
    global.unit = String::new();
    global.direction = Direction::Up;
    store.create_metric(&global).await.unwrap();
    assert_eq!(store.get_metric(global.id).await.unwrap(), global);

    assert_conflict(
        store
            .create_metric(&metric("users-p95", Audience::Business, None))
            .await,
        "key",
    );
    assert_missing(
        store
            .create_metric(&metric("orphan", Audience::Team, Some(Uuid::now_v7())))
            .await,
        "team_id",
    );
    assert_not_found(store.get_metric(Uuid::now_v7()).await, "metric");
    assert_not_found(store.get_metric_by_key("orphan").await, "metric");

    let mut changed = m.clone();
    changed.name = "p95 of /users".into();
    changed.description = "Slowest 5 %".into();
    changed.unit = "s".into();
    changed.direction = Direction::Up;
    changed.audience = Audience::Business;
    changed.team_id = Some(t2.id);
    changed.updated_at = at(300);
    store.update_metric(&changed).await.unwrap();
    assert_eq!(store.get_metric(m.id).await.unwrap(), changed);

    let mut teamless = changed.clone();
    teamless.team_id = None;
    store.update_metric(&teamless).await.unwrap();
    assert_eq!(store.get_metric(m.id).await.unwrap(), teamless);

    let mut bad = teamless.clone();
    bad.team_id = Some(Uuid::now_v7());
    assert_missing(store.update_metric(&bad).await, "team_id");
    assert_eq!(store.get_metric(m.id).await.unwrap(), teamless);

    let mut ghost = teamless.clone();
    ghost.id = Uuid::now_v7();
    assert_not_found(store.update_metric(&ghost).await, "metric");
}

async fn metric_list_filters(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let mut all = Vec::new();
    for i in 0..8usize {
        let audience = if i % 2 == 0 {
            Audience::Team
        } else {
            Audience::Business
        };
        let team_id = if i < 3 { Some(t.id) } else { None };
        let m = metric(&format!("m-{i}"), audience, team_id);
        store.create_metric(&m).await.unwrap();
        all.push(m);
    }
    all.sort_by_key(|m| m.id);
    let of = |f: &dyn Fn(&Metric) -> bool| -> Vec<Uuid> {
        all.iter().filter(|m| f(m)).map(|m| m.id).collect()
    };
    let list = |lq: ListQuery| {
        let store = store.clone();
        async move { ids(&store.list_metrics(&lq).await.unwrap().items, |m| m.id) }
    };

    assert_eq!(store.list_metrics(&q()).await.unwrap().items, all);
    assert_eq!(
        list(ListQuery {
            audience: Some("team".into()),
            ..q()
        })
        .await,
        of(&|m| m.audience == Audience::Team)
    );
    assert_eq!(
        list(ListQuery {
            audience: Some("business".into()),
            ..q()
        })
        .await,
        of(&|m| m.audience == Audience::Business)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(t.id),
            ..q()
        })
        .await,
        of(&|m| m.team_id == Some(t.id))
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(t.id),
            audience: Some("business".into()),
            ..q()
        })
        .await,
        of(&|m| m.team_id == Some(t.id) && m.audience == Audience::Business)
    );
    let (items, pages) = all_pages(
        3,
        |m: &Metric| m.id,
        |after| {
            let store = store.clone();
            async move {
                store
                    .list_metrics(&ListQuery {
                        after,
                        limit: 3,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(items, all);
    assert_eq!(pages, 3);
}

async fn points_upsert_is_idempotent(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let m = metric("users-p95", Audience::Team, None);
    let other = metric("other", Audience::Team, None);
    store.create_metric(&m).await.unwrap();
    store.create_metric(&other).await.unwrap();
    assert_eq!(store.upsert_points(&[]).await.unwrap(), 0);

    let t0 = at(0);
    store
        .upsert_points(&[point(m.id, t0, 512.5)])
        .await
        .unwrap();
    store
        .upsert_points(&[point(m.id, t0, 300.25)])
        .await
        .unwrap();
    assert_eq!(
        store.list_points(m.id, None, None, 100).await.unwrap(),
        vec![point(m.id, t0, 300.25)]
    );

    // The same instant on another metric is another point.
    store
        .upsert_points(&[point(other.id, t0, -1.5)])
        .await
        .unwrap();
    assert_eq!(
        store.list_points(m.id, None, None, 100).await.unwrap(),
        vec![point(m.id, t0, 300.25)]
    );
    assert_eq!(
        store.list_points(other.id, None, None, 100).await.unwrap(),
        vec![point(other.id, t0, -1.5)]
    );

    // One microsecond apart is another instant.
    let t1 = t0 + Duration::microseconds(1);
    store.upsert_points(&[point(m.id, t1, 1.0)]).await.unwrap();
    assert_eq!(
        store.list_points(m.id, None, None, 100).await.unwrap(),
        vec![point(m.id, t0, 300.25), point(m.id, t1, 1.0)]
    );

    // Replaying a whole batch keeps one point per instant with the new values.
    let batch: Vec<_> = (0..10)
        .map(|i| point(m.id, at(100 + i), i as f64))
        .collect();
    store.upsert_points(&batch).await.unwrap();
    let replay: Vec<_> = (0..10)
        .map(|i| point(m.id, at(100 + i), i as f64 * 10.0 + 0.5))
        .collect();
    store.upsert_points(&replay).await.unwrap();
    let stored = store
        .list_points(m.id, Some(at(100)), None, 100)
        .await
        .unwrap();
    assert_eq!(stored, replay);

    // The same instant twice within one call: the last value wins, on both engines.
    let twice = [
        point(m.id, at(500), 1.0),
        point(m.id, at(501), 2.0),
        point(m.id, at(500), 3.0),
    ];
    store
        .upsert_points(&twice)
        .await
        .expect("duplicates within one write");
    assert_eq!(
        store
            .list_points(m.id, Some(at(500)), None, 100)
            .await
            .unwrap(),
        vec![point(m.id, at(500), 3.0), point(m.id, at(501), 2.0)]
    );

    // Negative zero reads back as zero on both engines (SQLite cannot keep
    // its sign, so neither engine does), and tiny and huge values are exact.
    let odd = [
        point(other.id, at(600), -0.0),
        point(other.id, at(601), f64::MIN_POSITIVE),
        point(other.id, at(602), -1.7976931348623157e308),
        point(other.id, at(603), 0.1 + 0.2),
    ];
    store.upsert_points(&odd).await.unwrap();
    let stored = store
        .list_points(other.id, Some(at(600)), None, 100)
        .await
        .unwrap();
    assert_eq!(stored, odd);
    assert!(stored[0].value.is_sign_positive(), "-0.0 is stored as 0.0");
}

async fn points_cross_the_batch_boundary(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let m = metric("throughput", Audience::Team, None);
    store.create_metric(&m).await.unwrap();
    let n = 1_234;
    let points: Vec<_> = (0..n)
        .map(|i| {
            point(
                m.id,
                base() + Duration::microseconds(i * 1_000_003),
                i as f64 / 4.0,
            )
        })
        .collect();
    let written = store.upsert_points(&points).await.unwrap();
    assert_eq!(written, n as u64);
    let stored = store.list_points(m.id, None, None, 10_000).await.unwrap();
    assert_eq!(stored, points);

    // Writing them all again changes nothing but values.
    let again: Vec<_> = points
        .iter()
        .map(|p| point(m.id, p.at, p.value + 1.0))
        .collect();
    store.upsert_points(&again).await.unwrap();
    let stored = store.list_points(m.id, None, None, 10_000).await.unwrap();
    assert_eq!(stored, again);
}

async fn points_range_and_limit(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let m = metric("users-p95", Audience::Team, None);
    store.create_metric(&m).await.unwrap();
    // Written out of order, with sub-second instants of varying precision.
    let instants = [
        at(30),
        at(10),
        at(20),
        at(20) + Duration::microseconds(1),
        at(20) - Duration::microseconds(123_456),
        at(40) - Duration::microseconds(456),
        at(0),
    ];
    let points: Vec<_> = instants
        .iter()
        .enumerate()
        .map(|(i, t)| point(m.id, *t, i as f64))
        .collect();
    store.upsert_points(&points).await.unwrap();
    let mut ordered = points.clone();
    ordered.sort_by_key(|p| p.at);

    assert_eq!(
        store.list_points(m.id, None, None, 100).await.unwrap(),
        ordered
    );
    // [from, to): from is included, to is not.
    let inside: Vec<_> = ordered
        .iter()
        .filter(|p| p.at >= at(10) && p.at < at(30))
        .cloned()
        .collect();
    assert_eq!(inside.len(), 4);
    assert_eq!(
        store
            .list_points(m.id, Some(at(10)), Some(at(30)), 100)
            .await
            .unwrap(),
        inside
    );
    let from: Vec<_> = ordered.iter().filter(|p| p.at >= at(20)).cloned().collect();
    assert_eq!(
        store
            .list_points(m.id, Some(at(20)), None, 100)
            .await
            .unwrap(),
        from
    );
    let to: Vec<_> = ordered.iter().filter(|p| p.at < at(20)).cloned().collect();
    assert_eq!(
        store
            .list_points(m.id, None, Some(at(20)), 100)
            .await
            .unwrap(),
        to
    );
    assert!(
        store
            .list_points(m.id, Some(at(20)), Some(at(20)), 100)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_points(m.id, Some(at(31)), Some(at(39)), 100)
            .await
            .unwrap()
            .is_empty()
    );

    // The limit keeps the oldest.
    assert_eq!(
        store.list_points(m.id, None, None, 3).await.unwrap(),
        ordered[..3].to_vec()
    );
    assert_eq!(
        store
            .list_points(m.id, Some(at(10)), None, 2)
            .await
            .unwrap(),
        ordered
            .iter()
            .filter(|p| p.at >= at(10))
            .take(2)
            .cloned()
            .collect::<Vec<_>>()
    );
    assert!(
        store
            .list_points(Uuid::now_v7(), None, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}

async fn points_need_a_metric(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let m = metric("users-p95", Audience::Team, None);
    store.create_metric(&m).await.unwrap();
    let result = store
        .upsert_points(&[point(m.id, at(0), 1.0), point(Uuid::now_v7(), at(0), 2.0)])
        .await;
    assert_missing(result, "metric_id");
    // Nothing was written, not even the valid point.
    assert!(
        store
            .list_points(m.id, None, None, 100)
            .await
            .unwrap()
            .is_empty()
    );
}
