//! The publishing outbox (ADR 0033): enqueued once per cause, one lease
//! holder per publisher, finishing only under the lease, retries and
//! failures, the publisher's health, and the remote mappings.

use chrono::{Duration, Utc};
use tandem_domain::publish::{DocKind, PublicationStatus, PublishTarget};
use tandem_store::{EngineKind, PublishMapping, PublishOutcome};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

per_engine!(publications_are_enqueued_once_and_finished_under_the_lease);

async fn publications_are_enqueued_once_and_finished_under_the_lease(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let now = tandem_domain::time::micros(Utc::now());
    let doc = Uuid::now_v7();
    let git = PublishTarget::Git;
    assert!(
        store
            .enqueue_publication(git, DocKind::Goal, doc, 1, now)
            .await
            .unwrap()
    );
    assert!(
        !store
            .enqueue_publication(git, DocKind::Goal, doc, 1, now)
            .await
            .unwrap()
    );
    assert!(
        store
            .enqueue_publication(git, DocKind::Goal, doc, 2, now)
            .await
            .unwrap()
    );
    assert!(
        store
            .enqueue_publication(PublishTarget::Notion, DocKind::Goal, doc, 1, now)
            .await
            .unwrap()
    );
    let mut keys = store.publication_keys(git, DocKind::Goal).await.unwrap();
    keys.sort();
    assert_eq!(keys, vec![(doc, 1), (doc, 2)]);

    // One lease holder at a time; another may take over once it ran out.
    let until = now + Duration::minutes(10);
    assert!(
        store
            .claim_publish_target(git, "a", now, until)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_publish_target(git, "b", now, until)
            .await
            .unwrap()
    );
    let due = store.due_publications(git, now, 10).await.unwrap();
    assert_eq!(
        due.iter().map(|p| p.revision).collect::<Vec<_>>(),
        vec![1, 2],
        "in enqueue order"
    );
    // Only the holder finishes.
    assert!(
        !store
            .finish_publication(due[0].id, git, "b", now, PublishOutcome::Published("abc"))
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_publication(due[0].id, git, "a", now, PublishOutcome::Published("abc"))
            .await
            .unwrap()
    );
    let retry = now + Duration::seconds(30);
    assert!(
        store
            .finish_publication(
                due[1].id,
                git,
                "a",
                now,
                PublishOutcome::Failed {
                    error: "push refused",
                    retry_at: Some(retry)
                }
            )
            .await
            .unwrap()
    );
    store
        .release_publish_target(git, "a", now, Some("push refused"))
        .await
        .unwrap();
    let states = store.publish_target_states().await.unwrap();
    assert_eq!(states.len(), 1);
    assert!(states[0].failing);
    assert_eq!(states[0].last_error.as_deref(), Some("push refused"));

    // Not due before its retry time.
    assert!(
        store
            .due_publications(git, now, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let later = store.due_publications(git, retry, 10).await.unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].attempts, 1);
    assert!(
        store
            .claim_publish_target(git, "b", retry, retry + Duration::minutes(10))
            .await
            .unwrap()
    );
    assert!(
        store
            .finish_publication(
                later[0].id,
                git,
                "b",
                retry,
                PublishOutcome::Failed {
                    error: "push refused again",
                    retry_at: None
                }
            )
            .await
            .unwrap()
    );
    store
        .release_publish_target(git, "b", retry, None)
        .await
        .unwrap();
    assert!(!store.publish_target_states().await.unwrap()[0].failing);

    let history = store
        .document_publications(DocKind::Goal, doc)
        .await
        .unwrap();
    let git_v2 = history
        .iter()
        .find(|p| p.target == git && p.revision == 2)
        .unwrap();
    assert_eq!(git_v2.status, PublicationStatus::Failed);
    assert_eq!(git_v2.attempts, 2);
    let git_v1 = history
        .iter()
        .find(|p| p.target == git && p.revision == 1)
        .unwrap();
    assert_eq!(git_v1.status, PublicationStatus::Published);
    assert_eq!(git_v1.remote_ref.as_deref(), Some("abc"));
    assert_eq!(git_v1.published_at, Some(now));

    // Failed ones go back in the queue on request.
    assert_eq!(
        store
            .retry_failed_publications(Some(git), retry)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.due_publications(git, retry, 10).await.unwrap().len(),
        1
    );
    let counts = store.publication_counts().await.unwrap();
    assert!(
        counts.contains(&("git".to_owned(), "pending".to_owned(), 1)),
        "{counts:?}"
    );

    // Mappings: put, read, replace.
    assert_eq!(store.publish_mapping(git, "goal:x").await.unwrap(), None);
    let m = PublishMapping {
        remote_id: "p1".into(),
        remote_version: 1,
        content_hash: "h1".into(),
    };
    store
        .put_publish_mapping(PublishTarget::Confluence, "goal:x", &m, now)
        .await
        .unwrap();
    let m2 = PublishMapping {
        remote_id: "p2".into(),
        remote_version: 2,
        content_hash: "h2".into(),
    };
    store
        .put_publish_mapping(PublishTarget::Confluence, "goal:x", &m2, now)
        .await
        .unwrap();
    assert_eq!(
        store
            .publish_mapping(PublishTarget::Confluence, "goal:x")
            .await
            .unwrap(),
        Some(m2)
    );
}
