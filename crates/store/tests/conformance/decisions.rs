use tandem_domain::decision::Decision;
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(decision_crud, decision_list_filters);

async fn decision_crud(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let g = goal(t.id, None);
    store.create_goal(&g).await.unwrap();
    let g2 = goal(t.id, None);
    store.create_goal(&g2).await.unwrap();

    let d = decision(t.id, Some(g.id));
    store.create_decision(&d).await.unwrap();
    assert_eq!(store.get_decision(d.id).await.unwrap(), d);

    let mut bare = decision(t.id, None);
    bare.options = vec![];
    bare.context = String::new();
    bare.consequences = String::new();
    bare.decided_by = None;
    store.create_decision(&bare).await.unwrap();
    assert_eq!(store.get_decision(bare.id).await.unwrap(), bare);

    assert_missing(
        store.create_decision(&decision(Uuid::now_v7(), None)).await,
        "team_id",
    );
    assert_missing(
        store
            .create_decision(&decision(t.id, Some(Uuid::now_v7())))
            .await,
        "goal_id",
    );
    assert_not_found(store.get_decision(Uuid::now_v7()).await, "decision");

    let mut changed = d.clone();
    changed.goal_id = Some(g2.id);
    changed.title = "Use a bigger cache".into();
    changed.context = "Still slow.".into();
    changed.options = vec!["bigger".into(), "smaller".into(), "none".into()];
    changed.decision = "Bigger.".into();
    changed.consequences = "Cost.".into();
    changed.decided_by = Some("Bo".into());
    changed.updated_at = at(777);
    store.update_decision(&changed).await.unwrap();
    assert_eq!(store.get_decision(d.id).await.unwrap(), changed);

    let mut detached = changed.clone();
    detached.goal_id = None;
    detached.decided_by = None;
    store.update_decision(&detached).await.unwrap();
    assert_eq!(store.get_decision(d.id).await.unwrap(), detached);

    let mut bad = detached.clone();
    bad.goal_id = Some(Uuid::now_v7());
    assert_missing(store.update_decision(&bad).await, "goal_id");
    assert_eq!(store.get_decision(d.id).await.unwrap(), detached);

    let mut ghost = detached.clone();
    ghost.id = Uuid::now_v7();
    assert_not_found(store.update_decision(&ghost).await, "decision");
}

async fn decision_list_filters(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let a = team("alpha");
    let b = team("beta");
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let g = goal(a.id, None);
    store.create_goal(&g).await.unwrap();

    let mut all = Vec::new();
    for i in 0..7usize {
        let team_id = if i < 5 { a.id } else { b.id };
        let goal_id = if i < 3 { Some(g.id) } else { None };
        let d = decision(team_id, goal_id);
        store.create_decision(&d).await.unwrap();
        all.push(d);
    }
    all.sort_by_key(|d| d.id);
    let of = |f: &dyn Fn(&Decision) -> bool| -> Vec<Uuid> {
        all.iter().filter(|d| f(d)).map(|d| d.id).collect()
    };
    let list = |lq: ListQuery| {
        let store = store.clone();
        async move { ids(&store.list_decisions(&lq).await.unwrap().items, |d| d.id) }
    };

    assert_eq!(store.list_decisions(&q()).await.unwrap().items, all);
    assert_eq!(
        list(ListQuery {
            team_id: Some(a.id),
            ..q()
        })
        .await,
        of(&|d| d.team_id == a.id)
    );
    assert_eq!(
        list(ListQuery {
            team_id: Some(b.id),
            ..q()
        })
        .await,
        of(&|d| d.team_id == b.id)
    );
    assert_eq!(
        list(ListQuery {
            goal_id: Some(g.id),
            ..q()
        })
        .await,
        of(&|d| d.goal_id == Some(g.id))
    );
    assert!(
        list(ListQuery {
            team_id: Some(b.id),
            goal_id: Some(g.id),
            ..q()
        })
        .await
        .is_empty()
    );

    let (items, pages) = all_pages(
        3,
        |d: &Decision| d.id,
        |after| {
            let store = store.clone();
            let team_id = Some(a.id);
            async move {
                store
                    .list_decisions(&ListQuery {
                        after,
                        limit: 3,
                        team_id,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(ids(&items, |d| d.id), of(&|d| d.team_id == a.id));
    assert_eq!(pages, 2);
}
