//! The audit log (appended, read newest first, paged, dumped) and the
//! sign-in throttle counts (one upsert per failure; forgotten after the
//! rule's quiet time; cleared on success).

use chrono::{Duration, TimeZone, Utc};
use tandem_domain::audit::{ACCOUNT_THROTTLE, AuditAction, AuditEvent};
use tandem_store::{EngineKind, ListQuery};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

per_engine!(
    audit_log_newest_first_in_pages,
    sign_in_failures_count_and_lock
);

async fn audit_log_newest_first_in_pages(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let mut ids = Vec::new();
    for i in 0..5 {
        let e = AuditEvent::new(
            Uuid::now_v7(),
            t0 + Duration::seconds(i),
            if i % 2 == 0 {
                AuditAction::SignInFailed
            } else {
                AuditAction::TokenCreated
            },
            "admin",
            &format!("subject {i}"),
            (i == 0).then_some("127.0.0.1"),
            "détail ünïcode",
        );
        store.record_audit(&e).await.unwrap();
        ids.push(e);
    }
    let first = store
        .list_audit(&ListQuery {
            limit: 2,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(first.items, vec![ids[4].clone(), ids[3].clone()]);
    let mut all = first.items.clone();
    let mut cursor = first.next_cursor;
    while let Some(after) = cursor {
        let page = store
            .list_audit(&ListQuery {
                limit: 2,
                after: Some(after),
                ..ListQuery::default()
            })
            .await
            .unwrap();
        all.extend(page.items);
        cursor = page.next_cursor;
    }
    let mut expected = ids.clone();
    expected.reverse();
    assert_eq!(all, expected);

    // Kept by export and import.
    let mut dump = Vec::new();
    store.export(&mut dump).await.unwrap();
    let (other, _db2) = fresh_store(engine).await;
    other.import_dump(&mut &dump[..]).await.unwrap();
    let back = other
        .list_audit(&ListQuery {
            limit: 10,
            ..ListQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(back.items, expected);
}

async fn sign_in_failures_count_and_lock(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let key = "account:grace";
    for i in 1..=4 {
        let (n, until) = store
            .count_sign_in_failure(key, &ACCOUNT_THROTTLE, t0 + Duration::seconds(i))
            .await
            .unwrap();
        assert_eq!((n, until), (i as u32, None));
    }
    let (n, until) = store
        .count_sign_in_failure(key, &ACCOUNT_THROTTLE, t0 + Duration::seconds(5))
        .await
        .unwrap();
    assert_eq!(n, 5);
    assert_eq!(until, Some(t0 + Duration::seconds(6)));
    let states = store
        .throttle_states(&[key.to_owned(), "address:10.0.0.1".to_owned()])
        .await
        .unwrap();
    assert_eq!(states.len(), 1);
    assert_eq!(states[0].failures, 5);
    assert_eq!(states[0].locked_until, Some(t0 + Duration::seconds(6)));
    // An hour and more later the count starts again (the lock stays where
    // it was, in the past).
    let (n, until) = store
        .count_sign_in_failure(key, &ACCOUNT_THROTTLE, t0 + Duration::hours(2))
        .await
        .unwrap();
    assert_eq!((n, until), (1, None));
    store.clear_sign_in_failures(key).await.unwrap();
    assert!(
        store
            .throttle_states(&[key.to_owned()])
            .await
            .unwrap()
            .is_empty()
    );
}
