//! Retention of raw deliveries: old ones are deleted in batches, newer ones
//! and every record derived from them stay. What the archive (ADR 0036)
//! reads before it deletes: old deliveries and raw check results in order,
//! deleted exactly as read; sent reports until marked archived, and again
//! once sent again.

use std::collections::BTreeMap;

use tandem_domain::engineering::{Outcome, Provider, RawDelivery};
use tandem_domain::git::{Commit, CommitSource};
use tandem_store::{EngineKind, RawDeliveryFilter};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(old_deliveries_are_pruned_and_their_records_stay);
per_engine!(deliveries_are_read_for_the_archive_then_deleted_by_id);
per_engine!(check_results_are_read_for_the_archive_then_deleted_through_the_last);
per_engine!(reports_are_read_for_the_archive_until_marked);

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

async fn deliveries_are_read_for_the_archive_then_deleted_by_id(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    // Stored out of order: read back by time.
    for n in [3, 0, 4, 1, 2] {
        assert!(store.record_delivery(&delivery(n)).await.unwrap());
    }
    let first = store.deliveries_to_archive(at(250), 2).await.unwrap();
    let ids: Vec<&str> = first.iter().map(|d| d.delivery_id.as_str()).collect();
    assert_eq!(ids, ["d-0", "d-1"]);
    assert_eq!(first[0].body, b"{\"n\": 0}");
    // Read again until deleted: the same ones.
    assert_eq!(
        store.deliveries_to_archive(at(250), 2).await.unwrap(),
        first
    );
    let gone: Vec<Uuid> = first.iter().map(|d| d.id).collect();
    assert_eq!(store.delete_deliveries(&gone).await.unwrap(), 2);
    assert_eq!(store.delete_deliveries(&gone).await.unwrap(), 0);
    let rest = store.deliveries_to_archive(at(250), 10).await.unwrap();
    let ids: Vec<&str> = rest.iter().map(|d| d.delivery_id.as_str()).collect();
    assert_eq!(ids, ["d-2"]);
    let left = store
        .list_deliveries(&RawDeliveryFilter::default())
        .await
        .unwrap()
        .items;
    assert_eq!(left.len(), 3);
}

async fn check_results_are_read_for_the_archive_then_deleted_through_the_last(engine: EngineKind) {
    use tandem_domain::check::CheckState;
    use tandem_store::CheckRun;
    let (store, _db) = fresh_store(engine).await;
    let t = team("pay");
    store.create_team(&t).await.unwrap();
    let p = project(t.id, "payments");
    store.create_project(&p).await.unwrap();
    let mut checks = Vec::new();
    for name in ["api-health", "web-health"] {
        let spec = tcp_check(name, "pay", "payments-api");
        let c = define_check(&store, &spec, (t.id, p.id), at(0), at(0)).await;
        checks.push(c);
    }
    // Three runs of each, at 0, 100 and 200 s.
    for n in 0..3 {
        let now = at(n * 100);
        let claimed = store
            .claim_due_checks("a", now, now + chrono::Duration::seconds(30), 10)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "run {n}");
        for c in &claimed {
            let run = CheckRun {
                at: now,
                ok: n != 1,
                latency_ms: 10 + n,
                message: format!("run {n}"),
                covers_ms: 60_000,
            };
            assert!(
                store
                    .finish_check_run(c.id, "a", &run, &CheckState::default(), now, None)
                    .await
                    .unwrap()
            );
        }
    }
    let batch = store.check_results_to_archive(at(150), 3).await.unwrap();
    let seen: Vec<(i64, bool)> = batch
        .iter()
        .map(|r| ((r.at - at(0)).num_seconds(), r.ok))
        .collect();
    assert_eq!(seen, [(0, true), (0, true), (100, false)]);
    let mut names: Vec<&str> = batch[..2].iter().map(|r| r.check.as_str()).collect();
    names.sort();
    assert_eq!(names, ["api-health", "web-health"]);
    assert!(
        batch[0].check_id < batch[1].check_id,
        "ordered by check id within a time"
    );
    let last = batch.last().unwrap();
    assert_eq!(
        store
            .delete_check_results_through(at(150), (last.at, last.check_id))
            .await
            .unwrap(),
        3
    );
    // The other result at 100 s is next; nothing at 200 s is read.
    let rest = store.check_results_to_archive(at(150), 10).await.unwrap();
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].at, at(100));
    assert_ne!(rest[0].check_id, last.check_id);
}

async fn reports_are_read_for_the_archive_until_marked(engine: EngineKind) {
    use tandem_store::ArchivedReport;
    let (store, _db) = fresh_store(engine).await;
    let t = team("pay");
    store.create_team(&t).await.unwrap();
    let report = |week: &str, sent_at| ArchivedReport {
        id: Uuid::now_v7(),
        team_id: t.id,
        week: week.into(),
        title: format!("Payments, {week}"),
        sent_at,
        report: serde_json::json!({"week": week}),
        markdown: "# Payments".into(),
        html: "<h1>Payments</h1>".into(),
        text: "Payments".into(),
        slack: serde_json::json!({"blocks": []}),
        object_prefix: None,
    };
    store
        .archive_report(&report("2026-W44", at(100)))
        .await
        .unwrap();
    store
        .archive_report(&report("2026-W45", at(0)))
        .await
        .unwrap();
    let due = store.reports_to_archive(10).await.unwrap();
    let weeks: Vec<(&str, &str)> = due
        .iter()
        .map(|(r, key)| (r.week.as_str(), key.as_str()))
        .collect();
    assert_eq!(weeks, [("2026-W45", "pay"), ("2026-W44", "pay")]);
    let sends: Vec<_> = due.iter().map(|(r, _)| (r.id, r.sent_at)).collect();
    store
        .reports_archived(&sends, "archive/reports/2026-11/part-a.jsonl.gz")
        .await
        .unwrap();
    assert!(store.reports_to_archive(10).await.unwrap().is_empty());
    // Sent again: the same row with a new send time is due again.
    store
        .archive_report(&report("2026-W44", at(300)))
        .await
        .unwrap();
    let due = store.reports_to_archive(10).await.unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].0.week, "2026-W44");
    assert_eq!(due[0].0.sent_at, at(300));
    store
        .reports_archived(
            &[(due[0].0.id, due[0].0.sent_at)],
            "archive/reports/2026-11/part-b.jsonl.gz",
        )
        .await
        .unwrap();
    assert!(store.reports_to_archive(10).await.unwrap().is_empty());
}
