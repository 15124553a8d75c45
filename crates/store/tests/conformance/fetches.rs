//! The queue of pull request commit fetches (`pr_commit_fetches`, migration
//! 0015): enqueued once, claimed by one replica at a time with a lease that
//! another may take over once it ran out, given back with a later time or
//! finished only by its owner, and put off for a provider's rate limit.

use chrono::Duration;
use tandem_domain::engineering::{FetchState, Provider};
use tandem_store::{EngineKind, FetchKey};
use tandem_testkit::{fresh_store, per_engine};

use crate::common::*;

per_engine!(the_queue_claims_once_and_keeps_what_is_done);

fn key(number: i64) -> FetchKey {
    FetchKey {
        provider: Provider::Github,
        repo: "acme/payments".into(),
        number,
    }
}

async fn the_queue_claims_once_and_keeps_what_is_done(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let t = team("pay-team");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "pay");
    store.create_project(&p).await.unwrap();

    assert_eq!(
        store
            .enqueue_pr_commit_fetches(p.id, &[key(1), key(2)], at(0))
            .await
            .unwrap(),
        2
    );
    // Again (a replayed merge): nothing new.
    assert_eq!(
        store
            .enqueue_pr_commit_fetches(p.id, &[key(1)], at(5))
            .await
            .unwrap(),
        0
    );
    let one = store.pr_commit_fetch(&key(1)).await.unwrap().unwrap();
    assert_eq!(one.state, FetchState::Queued);
    assert_eq!(
        (one.attempts, one.not_before, one.enqueued_at),
        (0, at(0), at(0))
    );
    assert_eq!(one.project_id, p.id);
    assert_eq!(
        store.due_pr_commit_fetches(at(0), 10).await.unwrap().len(),
        2
    );

    // One claim wins; the other replica may take over only after the lease.
    let lease = at(600);
    assert!(
        store
            .claim_pr_commit_fetch(&key(1), "a", at(1), lease)
            .await
            .unwrap()
    );
    assert!(
        !store
            .claim_pr_commit_fetch(&key(1), "b", at(2), at(602))
            .await
            .unwrap()
    );
    let due: Vec<i64> = store
        .due_pr_commit_fetches(at(2), 10)
        .await
        .unwrap()
        .iter()
        .map(|f| f.number)
        .collect();
    assert_eq!(due, vec![2], "a live lease hides the row");
    assert!(
        store
            .claim_pr_commit_fetch(&key(1), "b", at(601), at(1200))
            .await
            .unwrap()
    );
    // The replica whose lease was taken over cannot finish the row.
    store
        .finish_pr_commit_fetch(&key(1), "a", FetchState::Done, "", at(602))
        .await
        .unwrap();
    assert_eq!(
        store.pr_commit_fetch(&key(1)).await.unwrap().unwrap().state,
        FetchState::Queued
    );
    // Its owner gives it back after a failure: one attempt, later.
    store
        .retry_pr_commit_fetch(&key(1), "b", at(700), true, "502 Bad Gateway")
        .await
        .unwrap();
    let back = store.pr_commit_fetch(&key(1)).await.unwrap().unwrap();
    assert_eq!((back.attempts, back.not_before), (1, at(700)));
    assert_eq!(back.last_error, "502 Bad Gateway");
    assert!(
        store
            .due_pr_commit_fetches(at(699), 10)
            .await
            .unwrap()
            .iter()
            .all(|f| f.number != 1)
    );

    // A rate limit puts every queued row of the provider off, none earlier.
    assert_eq!(
        store
            .postpone_pr_commit_fetches(Provider::Github, at(650))
            .await
            .unwrap(),
        1,
        "only the row due before the reset moves"
    );
    assert_eq!(
        store
            .pr_commit_fetch(&key(2))
            .await
            .unwrap()
            .unwrap()
            .not_before,
        at(650)
    );
    assert_eq!(
        store
            .postpone_pr_commit_fetches(Provider::Gitlab, at(9000))
            .await
            .unwrap(),
        0
    );

    // Done: kept, never due again; failed counts its attempt.
    assert!(
        store
            .claim_pr_commit_fetch(&key(1), "a", at(700), at(1300))
            .await
            .unwrap()
    );
    store
        .finish_pr_commit_fetch(&key(1), "a", FetchState::Done, "", at(701))
        .await
        .unwrap();
    assert!(
        store
            .claim_pr_commit_fetch(&key(2), "a", at(700), at(1300))
            .await
            .unwrap()
    );
    store
        .finish_pr_commit_fetch(&key(2), "a", FetchState::Failed, "404 Not Found", at(701))
        .await
        .unwrap();
    let done = store.pr_commit_fetch(&key(1)).await.unwrap().unwrap();
    assert_eq!(
        (done.state, done.finished_at),
        (FetchState::Done, Some(at(701)))
    );
    let failed = store.pr_commit_fetch(&key(2)).await.unwrap().unwrap();
    assert_eq!((failed.state, failed.attempts), (FetchState::Failed, 1));
    assert!(
        store
            .due_pr_commit_fetches(at(0) + Duration::days(30), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store
            .enqueue_pr_commit_fetches(p.id, &[key(1), key(2)], at(900))
            .await
            .unwrap(),
        0
    );
}
