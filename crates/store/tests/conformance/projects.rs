use tandem_domain::project::Project;
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(project_crud, project_list_filters_and_pages);

async fn project_crud(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();

    let p = project(t.id, "checkout");
    store.create_project(&p).await.unwrap();
    assert_eq!(store.get_project(p.id).await.unwrap(), p);
    assert_eq!(store.get_project_by_key("checkout").await.unwrap(), p);

    let mut empty = project(t.id, "empty");
    empty.repositories = vec![];
    empty.services = vec![];
    store.create_project(&empty).await.unwrap();
    assert_eq!(store.get_project(empty.id).await.unwrap(), empty);

    assert_conflict(
        store.create_project(&project(t.id, "checkout")).await,
        "key",
    );
    assert_missing(
        store
            .create_project(&project(Uuid::now_v7(), "orphan"))
            .await,
        "team_id",
    );
    assert_not_found(store.get_project_by_key("orphan").await, "project");
    assert_not_found(store.get_project(Uuid::now_v7()).await, "project");

    let mut changed = p.clone();
    changed.name = "Checkout v2".into();
    changed.repositories = vec!["acme/checkout-v2".into()];
    changed.services = vec![];
    changed.updated_at = at(500);
    store.update_project(&changed).await.unwrap();
    assert_eq!(store.get_project(p.id).await.unwrap(), changed);
    assert_eq!(store.get_project(empty.id).await.unwrap(), empty);

    let mut ghost = p.clone();
    ghost.id = Uuid::now_v7();
    assert_not_found(store.update_project(&ghost).await, "project");
}

async fn project_list_filters_and_pages(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let a = team("alpha");
    let b = team("beta");
    store.create_team(&a).await.unwrap();
    store.create_team(&b).await.unwrap();
    let mut in_a = Vec::new();
    let mut in_b = Vec::new();
    for i in 0..5 {
        let p = project(a.id, &format!("a-{i}"));
        store.create_project(&p).await.unwrap();
        in_a.push(p.id);
        let p = project(b.id, &format!("b-{i}"));
        store.create_project(&p).await.unwrap();
        in_b.push(p.id);
    }
    let in_a = sorted(in_a);
    let in_b = sorted(in_b);
    let every = sorted(in_a.iter().chain(&in_b).copied().collect());

    let page = store.list_projects(&q()).await.unwrap();
    assert_eq!(ids(&page.items, |p| p.id), every);

    let (items, pages) = all_pages(
        2,
        |p: &Project| p.id,
        |after| {
            let store = store.clone();
            let team_id = Some(a.id);
            async move {
                store
                    .list_projects(&ListQuery {
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
    assert_eq!(ids(&items, |p| p.id), in_a);
    assert_eq!(pages, 3);
    assert!(items.iter().all(|p| p.team_id == a.id));

    let page = store
        .list_projects(&ListQuery {
            team_id: Some(b.id),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |p| p.id), in_b);
    let page = store
        .list_projects(&ListQuery {
            team_id: Some(Uuid::now_v7()),
            ..q()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());

    // Filters unrelated to projects are ignored.
    let page = store
        .list_projects(&ListQuery {
            status: Some("draft".into()),
            kind: Some("bug".into()),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 10);
}
