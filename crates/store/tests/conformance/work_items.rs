use tandem_domain::risk::Level;
use tandem_domain::work_item::{Priority, WorkContext, WorkItem, WorkKind, WorkState};
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    work_item_round_trip,
    work_item_keys_and_references,
    work_item_list_filters,
    work_item_update,
    concurrent_writers_all_succeed
);

/// Many writers at once (as the API serves them) all succeed: on SQLite a
/// write transaction takes the lock up front and waits, rather than failing
/// with "database is locked" when it upgrades from its reference checks.
async fn concurrent_writers_all_succeed(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let tasks: Vec<_> = (0..32)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                for _ in 0..10 {
                    let mut w = item(t.id);
                    w.id = Uuid::now_v7();
                    store.create_work_item(&w).await?;
                    store.get_work_item(w.id).await?;
                }
                Ok::<_, tandem_store::StoreError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let q = ListQuery {
        team_id: Some(t.id),
        limit: ListQuery::MAX_LIMIT,
        ..ListQuery::default()
    };
    assert_eq!(store.list_work_items(&q).await.unwrap().items.len(), 320);
}

async fn work_item_round_trip(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "checkout");
    store.create_project(&p).await.unwrap();
    let g = goal(t.id, Some(p.id));
    store.create_goal(&g).await.unwrap();
    let s = stage(g.id, 1);
    store.create_stage(&s).await.unwrap();

    let mut full = item(t.id);
    full.project_id = Some(p.id);
    full.goal_id = Some(g.id);
    full.stage_id = Some(s.id);
    full.external_key = Some("PAY-123".into());
    full.source = "jira".into();
    store.create_work_item(&full).await.unwrap();
    let got = store.get_work_item(full.id).await.unwrap();
    assert_eq!(got, full);
    assert_eq!(got.done_at.unwrap().timestamp_subsec_micros(), 123_456);
    assert_eq!(store.get_work_item_by_key("PAY-123").await.unwrap(), full);

    let mut bare = item(t.id);
    bare.impact = None;
    bare.complexity = None;
    bare.state = WorkState::Todo;
    bare.started_at = None;
    bare.done_at = None;
    bare.context = WorkContext::default();
    store.create_work_item(&bare).await.unwrap();
    assert_eq!(store.get_work_item(bare.id).await.unwrap(), bare);

    assert_not_found(store.get_work_item(Uuid::now_v7()).await, "work item");
    assert_not_found(store.get_work_item_by_key("PAY-999").await, "work item");
}

async fn work_item_keys_and_references(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();

    let mut first = item(t.id);
    first.external_key = Some("PAY-1".into());
    first.source = "jira".into();
    store.create_work_item(&first).await.unwrap();

    let mut dup = item(t.id);
    dup.external_key = Some("PAY-1".into());
    dup.source = "jira".into();
    assert_conflict(store.create_work_item(&dup).await, "external_key");

    // The same key from another source is another item.
    let mut other_source = item(t.id);
    other_source.external_key = Some("PAY-1".into());
    other_source.source = "github".into();
    store.create_work_item(&other_source).await.unwrap();
    // The oldest item with the key wins a lookup by key.
    let by_key = store.get_work_item_by_key("PAY-1").await.unwrap();
    assert_eq!(by_key.id, first.id.min(other_source.id));

    // Items without an external key never conflict with each other.
    for _ in 0..2 {
        store.create_work_item(&item(t.id)).await.unwrap();
    }

    let mut orphan = item(Uuid::now_v7());
    assert_missing(store.create_work_item(&orphan).await, "team_id");
    orphan.team_id = t.id;
    orphan.project_id = Some(Uuid::now_v7());
    assert_missing(store.create_work_item(&orphan).await, "project_id");
    orphan.project_id = None;
    orphan.goal_id = Some(Uuid::now_v7());
    assert_missing(store.create_work_item(&orphan).await, "goal_id");
    orphan.goal_id = None;
    orphan.stage_id = Some(Uuid::now_v7());
    assert_missing(store.create_work_item(&orphan).await, "stage_id");
    assert_not_found(store.get_work_item(orphan.id).await, "work item");

    assert_eq!(store.list_work_items(&q()).await.unwrap().items.len(), 4);
}

async fn work_item_list_filters(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let a = team("alpha");
    let b = team("beta");
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let pa = project(a.id, "pa");
    store.create_project(&pa).await.unwrap();
    let ga = goal(a.id, Some(pa.id));
    store.create_goal(&ga).await.unwrap();
    let sa = stage(ga.id, 1);
    store.create_stage(&sa).await.unwrap();

    let mut all = Vec::new();
    let kinds = WorkKind::ALL;
    let states = WorkState::ALL;
    for i in 0..15usize {
        let team_id = if i % 3 == 2 { b.id } else { a.id };
        let mut w = item(team_id);
        w.kind = kinds[i % kinds.len()];
        w.state = states[i % states.len()];
        w.priority = Priority::ALL[i % Priority::ALL.len()];
        if w.state != WorkState::Done {
            w.done_at = None;
        }
        if team_id == a.id {
            if i % 2 == 0 {
                w.project_id = Some(pa.id);
            }
            if i % 4 == 0 {
                w.goal_id = Some(ga.id);
                w.stage_id = Some(sa.id);
            } else if i % 4 == 1 {
                w.goal_id = Some(ga.id);
            }
        }
        w.external_key = Some(format!("K-{i}"));
        store.create_work_item(&w).await.unwrap();
        all.push(w);
    }
    all.sort_by_key(|w| w.id);
    let of = |f: &dyn Fn(&WorkItem) -> bool| -> Vec<Uuid> {
        all.iter().filter(|w| f(w)).map(|w| w.id).collect()
    };
    let list = |lq: ListQuery| {
        let store = store.clone();
        async move { ids(&store.list_work_items(&lq).await.unwrap().items, |w| w.id) }
    };

    assert_eq!(store.list_work_items(&q()).await.unwrap().items, all);
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            ..q()
        })
        .await,
        of(&|w| w.team_id == a.id)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(b.id),
            ..q()
        })
        .await,
        of(&|w| w.team_id == b.id)
    );
    assert_eq!(
        list(ListQuery {
            project_id: Some(pa.id),
            ..q()
        })
        .await,
        of(&|w| w.project_id == Some(pa.id))
    );
    assert_eq!(
        list(ListQuery {
            goal_id: Some(ga.id),
            ..q()
        })
        .await,
        of(&|w| w.goal_id == Some(ga.id))
    );
    assert_eq!(
        list(ListQuery {
            stage_id: Some(sa.id),
            ..q()
        })
        .await,
        of(&|w| w.stage_id == Some(sa.id))
    );
    for state in WorkState::ALL {
        let expected = of(&|w| w.state == *state);
        assert!(!expected.is_empty());
        assert_eq!(
            list(ListQuery {
                status: Some(state.to_string()),
                ..q()
            })
            .await,
            expected
        );
    }
    for kind in WorkKind::ALL {
        let expected = of(&|w| w.kind == *kind);
        assert!(!expected.is_empty());
        assert_eq!(
            list(ListQuery {
                kind: Some(kind.to_string()),
                ..q()
            })
            .await,
            expected
        );
    }
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            status: Some("todo".into()),
            kind: Some("feature".into()),
            ..q()
        })
        .await,
        of(&|w| w.team_id == a.id && w.state == WorkState::Todo && w.kind == WorkKind::Feature)
    );
    assert_eq!(
        list(ListQuery {
            goal_id: Some(ga.id),
            project_id: Some(pa.id),
            ..q()
        })
        .await,
        of(&|w| w.goal_id == Some(ga.id) && w.project_id == Some(pa.id))
    );
    assert!(
        list(ListQuery {
            team_id: Some(b.id),
            goal_id: Some(ga.id),
            ..q()
        })
        .await
        .is_empty()
    );

    let (items, pages) = all_pages(
        4,
        |w: &WorkItem| w.id,
        |after| {
            let store = store.clone();
            let team_id = Some(a.id);
            async move {
                store
                    .list_work_items(&ListQuery {
                        after,
                        limit: 4,
                        team_id,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(ids(&items, |w| w.id), of(&|w| w.team_id == a.id));
    assert_eq!(pages, 3);
}

async fn work_item_update(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "checkout");
    store.create_project(&p).await.unwrap();
    let g = goal(t.id, None);
    store.create_goal(&g).await.unwrap();
    let s = stage(g.id, 1);
    store.create_stage(&s).await.unwrap();

    let mut w = item(t.id);
    w.state = WorkState::Todo;
    w.started_at = None;
    w.done_at = None;
    w.external_key = Some("PAY-7".into());
    store.create_work_item(&w).await.unwrap();

    let mut changed = w.clone();
    changed.project_id = Some(p.id);
    changed.goal_id = Some(g.id);
    changed.stage_id = Some(s.id);
    changed.title = "Cache the user list (v2)".into();
    changed.kind = WorkKind::Debt;
    changed.priority = Priority::P0;
    changed.impact = Some(Level::Low);
    changed.complexity = None;
    changed.state = WorkState::Done;
    changed.context.why = "Still slow.".into();
    changed.started_at = Some(at(1000));
    changed.done_at = Some(at(2000));
    changed.updated_at = at(2000);
    store.update_work_item(&changed).await.unwrap();
    assert_eq!(store.get_work_item(w.id).await.unwrap(), changed);
    assert_eq!(store.get_work_item_by_key("PAY-7").await.unwrap(), changed);

    // Clearing optional references and times.
    let mut cleared = changed.clone();
    cleared.project_id = None;
    cleared.goal_id = None;
    cleared.stage_id = None;
    cleared.state = WorkState::Todo;
    cleared.started_at = None;
    cleared.done_at = None;
    store.update_work_item(&cleared).await.unwrap();
    assert_eq!(store.get_work_item(w.id).await.unwrap(), cleared);

    let mut bad = cleared.clone();
    bad.goal_id = Some(Uuid::now_v7());
    assert_missing(store.update_work_item(&bad).await, "goal_id");
    let mut bad = cleared.clone();
    bad.stage_id = Some(Uuid::now_v7());
    assert_missing(store.update_work_item(&bad).await, "stage_id");
    let mut bad = cleared.clone();
    bad.project_id = Some(Uuid::now_v7());
    assert_missing(store.update_work_item(&bad).await, "project_id");
    assert_eq!(store.get_work_item(w.id).await.unwrap(), cleared);

    let mut ghost = cleared.clone();
    ghost.id = Uuid::now_v7();
    assert_not_found(store.update_work_item(&ghost).await, "work item");
}
