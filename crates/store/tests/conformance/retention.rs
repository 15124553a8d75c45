//! Retention of raw deliveries: old ones are deleted in batches, newer ones
//! and every record derived from them stay.

use std::collections::BTreeMap;

use tandem_domain::engineering::{Outcome, Provider, RawDelivery};
use tandem_domain::git::{Commit, CommitSource};
use tandem_store::{EngineKind, RawDeliveryFilter};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(old_deliveries_are_pruned_and_their_records_stay);

fn delivery(n: i64) -> RawDelivery {
    RawDelivery {
        id: Uuid::now_v7(),
        provider: Provider::Github,
        delivery_id: format!("d-{n}"),
        event: "push".into(),
        project_id: None,
        received_at: at(n * 100),
        headers: BTreeMap::new(),
        body: format!("{{\"n\": {n}}}").into_bytes(),
        outcome: Outcome::Applied,
        detail: String::new(),
    }
}

async fn old_deliveries_are_pruned_and_their_records_stay(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    for n in 0..5 {
        assert!(store.record_delivery(&delivery(n)).await.unwrap());
    }
    let commit = Commit {
        repo: "acme/payments".into(),
        sha: "a".repeat(40),
        author_name: "Ana".into(),
        author_email: "ana@example.com".into(),
        authored_at: at(0),
        author_offset: 0,
        committed_at: at(0),
        committer_offset: 0,
        subject: "First".into(),
        parents: vec![],
        parent_count: 0,
        additions: None,
        deletions: None,
        files: vec![],
        source: CommitSource::Github,
    };
    store
        .upsert_commits(std::slice::from_ref(&commit))
        .await
        .unwrap();

    // Received at 0, 100 and 200 s: before 250 s.
    assert_eq!(store.prune_deliveries(at(250)).await.unwrap(), 3);
    let left = store
        .list_deliveries(&RawDeliveryFilter::default())
        .await
        .unwrap()
        .items;
    let ids: Vec<&str> = left.iter().map(|d| d.delivery_id.as_str()).collect();
    assert_eq!(ids, ["d-3", "d-4"]);
    // Nothing more to do; the commit is untouched.
    assert_eq!(store.prune_deliveries(at(250)).await.unwrap(), 0);
    assert_eq!(
        store
            .get_commit("acme/payments", &commit.sha)
            .await
            .unwrap(),
        Some(commit)
    );
}
