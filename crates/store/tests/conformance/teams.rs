use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    team_round_trip,
    team_duplicate_key_conflicts,
    team_update,
    team_pagination,
    team_limit_is_clamped
);

async fn team_round_trip(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();

    let got = store.get_team(t.id).await.unwrap();
    assert_eq!(got, t);
    assert_eq!(got.created_at.timestamp_subsec_micros(), 123_456);
    assert_eq!(store.get_team_by_key("payments").await.unwrap(), t);

    assert_not_found(store.get_team(Uuid::now_v7()).await, "team");
    assert_not_found(store.get_team_by_key("nope").await, "team");
    assert_not_found(store.get_team_by_key("PAYMENTS").await, "team");
}

async fn team_duplicate_key_conflicts(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    store.create_team(&t).await.unwrap();
    let mut again = team("payments");
    again.name = "Other".into();
    assert_conflict(store.create_team(&again).await, "key");

    let page = store.list_teams(&q()).await.unwrap();
    assert_eq!(page.items, vec![t]);
    assert_not_found(store.get_team(again.id).await, "team");
}

async fn team_update(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("payments");
    let other = team("search");
    store.create_team(&t).await.unwrap();
    store.create_team(&other).await.unwrap();

    let mut changed = t.clone();
    changed.name = "Payments & Billing".into();
    changed.timezone = "America/New_York".into();
    changed.updated_at = at(3600);
    store.update_team(&changed).await.unwrap();
    assert_eq!(store.get_team(t.id).await.unwrap(), changed);

    // The key is not changed by an update.
    let mut rekeyed = changed.clone();
    rekeyed.key = "billing".into();
    store.update_team(&rekeyed).await.unwrap();
    assert_eq!(store.get_team(t.id).await.unwrap().key, "payments");

    // Other teams are untouched.
    assert_eq!(store.get_team(other.id).await.unwrap(), other);

    let mut unknown = team("ghost");
    unknown.id = Uuid::now_v7();
    assert_not_found(store.update_team(&unknown).await, "team");
}

async fn team_pagination(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let mut created = Vec::new();
    for i in 0..7 {
        let t = team(&format!("team-{i}"));
        store.create_team(&t).await.unwrap();
        created.push(t.id);
    }
    let expected = sorted(created);

    // limit 3 over 7 rows: pages of 3, 3 and 1.
    let (items, pages) = all_pages(
        3,
        |t: &tandem_domain::team::Team| t.id,
        |after| {
            let store = store.clone();
            async move {
                store
                    .list_teams(&ListQuery {
                        after,
                        limit: 3,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(ids(&items, |t| t.id), expected);
    assert_eq!(pages, 3);

    // limit 7 over 7 rows: exactly one full page and no cursor.
    let page = store
        .list_teams(&ListQuery { limit: 7, ..q() })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |t| t.id), expected);
    assert_eq!(page.next_cursor, None);

    // limit 6 over 7 rows: a cursor at the sixth id, then the last row.
    let page = store
        .list_teams(&ListQuery { limit: 6, ..q() })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 6);
    assert_eq!(page.next_cursor, Some(expected[5]));
    let rest = store
        .list_teams(&ListQuery {
            limit: 6,
            after: page.next_cursor,
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&rest.items, |t| t.id), vec![expected[6]]);
    assert_eq!(rest.next_cursor, None);

    // `after` is exclusive, and need not be an existing id.
    let page = store
        .list_teams(&ListQuery {
            after: Some(expected[2]),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(ids(&page.items, |t| t.id), expected[3..].to_vec());
    let page = store
        .list_teams(&ListQuery {
            after: Some(Uuid::nil()),
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 7);
    let page = store
        .list_teams(&ListQuery {
            after: Some(Uuid::max()),
            ..q()
        })
        .await
        .unwrap();
    assert!(page.items.is_empty());
    assert_eq!(page.next_cursor, None);

    // limit 0 means the default (50).
    let page = store.list_teams(&q()).await.unwrap();
    assert_eq!(ids(&page.items, |t| t.id), expected);
    assert_eq!(page.next_cursor, None);

    // limit 1 walks one row at a time.
    let (items, pages) = all_pages(
        1,
        |t: &tandem_domain::team::Team| t.id,
        |after| {
            let store = store.clone();
            async move {
                store
                    .list_teams(&ListQuery {
                        after,
                        limit: 1,
                        ..q()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(ids(&items, |t| t.id), expected);
    assert_eq!(pages, 7);
}

async fn team_limit_is_clamped(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let mut created = Vec::new();
    for i in 0..(ListQuery::MAX_LIMIT + 2) {
        let t = team(&format!("t{i:04}"));
        store.create_team(&t).await.unwrap();
        created.push(t.id);
    }
    let expected = sorted(created);

    let page = store.list_teams(&q()).await.unwrap();
    assert_eq!(page.items.len(), ListQuery::DEFAULT_LIMIT as usize);
    assert_eq!(
        page.next_cursor,
        Some(expected[ListQuery::DEFAULT_LIMIT as usize - 1])
    );

    let page = store
        .list_teams(&ListQuery {
            limit: 10_000,
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), ListQuery::MAX_LIMIT as usize);
    assert_eq!(
        page.next_cursor,
        Some(expected[ListQuery::MAX_LIMIT as usize - 1])
    );
    let rest = store
        .list_teams(&ListQuery {
            limit: 10_000,
            after: page.next_cursor,
            ..q()
        })
        .await
        .unwrap();
    assert_eq!(
        ids(&rest.items, |t| t.id),
        expected[ListQuery::MAX_LIMIT as usize..].to_vec()
    );
    assert_eq!(rest.next_cursor, None);
}
