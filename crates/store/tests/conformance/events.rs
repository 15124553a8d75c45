use chrono::Duration;
use tandem_domain::event::Event;
use tandem_store::EngineKind;
use tandem_testkit::{fresh_store, per_engine};

use crate::common::*;

per_engine!(events_bulk_insert_dedupes, events_list_by_kind_and_range);

async fn events_bulk_insert_dedupes(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    assert_eq!(store.insert_events(&[]).await.unwrap(), 0);

    let n: u32 = 1_203;
    let batch: Vec<Event> = (0..n)
        .map(|i| {
            let kind = if i % 3 == 0 { "deployment" } else { "push" };
            event("github", &format!("delivery-{i}"), kind, at(i64::from(i)))
        })
        .collect();
    assert_eq!(store.insert_events(&batch).await.unwrap(), u64::from(n));
    assert_eq!(store.count_events().await.unwrap(), i64::from(n));

    // Replaying the same batch stores nothing new.
    assert_eq!(store.insert_events(&batch).await.unwrap(), 0);
    assert_eq!(store.count_events().await.unwrap(), i64::from(n));

    // Same deliveries under new ids are still duplicates; new ones count.
    let mut mixed: Vec<Event> = batch[..600]
        .iter()
        .map(|e| Event {
            id: uuid::Uuid::now_v7(),
            ..e.clone()
        })
        .collect();
    mixed.push(event("github", "delivery-new", "push", at(5)));
    mixed.push(event("gitlab", "delivery-0", "push", at(5)));
    assert_eq!(store.insert_events(&mixed).await.unwrap(), 2);
    assert_eq!(store.count_events().await.unwrap(), i64::from(n) + 2);

    // A delivery repeated within one call counts once.
    let once = event("api", "x-1", "incident", at(7));
    let again = Event {
        id: uuid::Uuid::now_v7(),
        ..once.clone()
    };
    assert_eq!(
        store.insert_events(&[once.clone(), again]).await.unwrap(),
        1
    );
    assert_eq!(store.count_events().await.unwrap(), i64::from(n) + 3);
    let found = store.list_events("incident", at(0), at(10)).await.unwrap();
    assert_eq!(found, vec![once]);
}

async fn events_list_by_kind_and_range(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let events = vec![
        event("github", "a", "deployment", at(20)),
        event("github", "b", "deployment", at(10)),
        event("github", "c", "push", at(15)),
        event("gitlab", "d", "deployment", at(30)),
        event(
            "gitlab",
            "e",
            "deployment",
            at(10) - Duration::microseconds(1),
        ),
        event("gitlab", "f", "deployment", at(20)),
    ];
    assert_eq!(store.insert_events(&events).await.unwrap(), 6);

    // Oldest first; equal instants by id.
    let mut deployments: Vec<Event> = events
        .iter()
        .filter(|e| e.kind == "deployment")
        .cloned()
        .collect();
    deployments.sort_by_key(|e| (e.occurred_at, e.id));
    assert_eq!(
        store
            .list_events("deployment", at(-100), at(100))
            .await
            .unwrap(),
        deployments
    );

    // [from, to): from included, to excluded.
    let got = store
        .list_events("deployment", at(10), at(30))
        .await
        .unwrap();
    assert_eq!(
        got,
        deployments
            .iter()
            .filter(|e| e.occurred_at >= at(10) && e.occurred_at < at(30))
            .cloned()
            .collect::<Vec<_>>()
    );
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].external_id, "b");

    let pushes = store.list_events("push", at(0), at(100)).await.unwrap();
    assert_eq!(pushes, vec![events[2].clone()]);
    assert!(
        store
            .list_events("incident", at(0), at(100))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .list_events("deployment", at(20), at(20))
            .await
            .unwrap()
            .is_empty()
    );
}
