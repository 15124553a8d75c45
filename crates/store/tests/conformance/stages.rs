use tandem_domain::stage::Stage;
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(stage_crud_and_positions, stage_lists);

async fn stage_crud_and_positions(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let g = goal(t.id, None);
    store.create_goal(&g).await.unwrap();

    assert_eq!(store.next_stage_position(g.id).await.unwrap(), 1);
    let s1 = stage(g.id, store.next_stage_position(g.id).await.unwrap());
    store.create_stage(&s1).await.unwrap();
    assert_eq!(store.get_stage(s1.id).await.unwrap(), s1);
    assert_eq!(store.next_stage_position(g.id).await.unwrap(), 2);
    let mut s2 = stage(g.id, 2);
    s2.starts_on = None;
    s2.ends_on = None;
    s2.description = String::new();
    store.create_stage(&s2).await.unwrap();
    assert_eq!(store.get_stage(s2.id).await.unwrap(), s2);
    let s5 = stage(g.id, 5);
    store.create_stage(&s5).await.unwrap();
    assert_eq!(store.next_stage_position(g.id).await.unwrap(), 6);
    // Other goals count from 1.
    assert_eq!(store.next_stage_position(Uuid::now_v7()).await.unwrap(), 1);

    assert_missing(
        store.create_stage(&stage(Uuid::now_v7(), 1)).await,
        "goal_id",
    );
    assert_not_found(store.get_stage(Uuid::now_v7()).await, "stage");

    let mut changed = s1.clone();
    changed.name = "Discovery".into();
    changed.description = "Find out.".into();
    changed.position = 9;
    changed.starts_on = Some(date(2027, 2, 28));
    changed.ends_on = Some(date(2027, 3, 1));
    changed.updated_at = at(900);
    store.update_stage(&changed).await.unwrap();
    assert_eq!(store.get_stage(s1.id).await.unwrap(), changed);
    assert_eq!(store.next_stage_position(g.id).await.unwrap(), 10);
    assert_eq!(store.get_stage(s2.id).await.unwrap(), s2);

    let mut ghost = s1.clone();
    ghost.id = Uuid::now_v7();
    assert_not_found(store.update_stage(&ghost).await, "stage");
}

async fn stage_lists(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let a = team("alpha");
    let b = team("beta");
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let ga1 = goal(a.id, None);
    let ga2 = goal(a.id, None);
    let gb = goal(b.id, None);
    for g in [&ga1, &ga2, &gb] {
        store.create_goal(g).await.unwrap();
    }
    let mut all = Vec::new();
    for (g, n) in [(&ga1, 3), (&ga2, 2), (&gb, 2)] {
        for pos in 1..=n {
            let s = stage(g.id, pos);
            store.create_stage(&s).await.unwrap();
            all.push(s);
        }
    }
    all.sort_by_key(|s| s.id);
    let of = |f: &dyn Fn(&Stage) -> bool| -> Vec<Uuid> {
        all.iter().filter(|s| f(s)).map(|s| s.id).collect()
    };

    let page = store.list_stages(&q()).await.unwrap();
    assert_eq!(page.items, all);

    let page = store
        .list_stages(&ListQuery {
            goal_id: Some(ga1.id),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |s| s.id), of(&|s| s.goal_id == ga1.id));

    let page = store
        .list_stages(&ListQuery {
            team_id: Some(a.id),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |s| s.id), of(&|s| s.goal_id != gb.id));
    let page = store
        .list_stages(&ListQuery {
            team_id: Some(b.id),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |s| s.id), of(&|s| s.goal_id == gb.id));

    // Goal and team together: the goal must belong to the team.
    let page = store
        .list_stages(&ListQuery {
            team_id: Some(a.id),
            goal_id: Some(ga2.id),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |s| s.id), of(&|s| s.goal_id == ga2.id));
    let page = store
        .list_stages(&ListQuery {
            team_id: Some(b.id),
            goal_id: Some(ga2.id),
            ..q()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());

    let (items, pages) = all_pages(
        2,
        |s: &Stage| s.id,
        |after| {
            let store = store.clone();
            let team_id = Some(a.id);
            async move {
                store
                    .list_stages(&ListQuery {
                        after,
                        limit: 2,
                        team_id,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(ids(&items, |s| s.id), of(&|s| s.goal_id != gb.id));
    assert_eq!(pages, 3);
}
