//! Delivery records: pull requests, reviews, deployments, incidents,
//! pipelines, tracked work items, raw deliveries and webhook secrets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use tandem_domain::engineering::{
    CommitRef, Deployment, DeploymentStatus, Incident, Outcome, Pipeline, PipelineStatus, PrCommit,
    PrState, Provider, PullRequest, RawDelivery, Record, Review, ReviewState,
};
use tandem_domain::git::{Commit, CommitSource, GitRef};
use tandem_domain::project::Project;
use tandem_domain::work_item::{WorkKind, WorkState};
use tandem_store::{EngineKind, Ingest, RawDeliveryFilter, Store, StoreError};
use tandem_testkit::{TestDb, fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    pull_requests_merge_reports_and_commits,
    reviews_set_first_review_and_approval_in_any_order,
    deployments_fold_status_and_need_attribution_again,
    incidents_and_pipelines_fold_reports,
    tracked_bugs_upsert_on_their_key,
    deliveries_dedupe_list_and_reapply,
    ingest_skips_the_records_of_replays,
    ingest_batch_mixes_new_rows_updates_and_replays,
    ingest_with_git_is_one_transaction,
    webhook_secrets_and_repository_lookup,
);

fn sha(c: char) -> String {
    c.to_string().repeat(40)
}

async fn setup(store: &Store) -> Project {
    let t = team("pay");
    store.create_team(&t).await.unwrap();
    let p = Project {
        repositories: vec!["Acme/Payments".into(), "acme/ledger".into()],
        services: vec!["payments-api".into()],
        ..project(t.id, "payments")
    };
    store.create_project(&p).await.unwrap();
    p
}

fn pr(updated: i64) -> PullRequest {
    PullRequest {
        repo: "acme/payments".into(),
        number: 12,
        source: "github".into(),
        title: "Cache the user list".into(),
        state: PrState::Open,
        draft: true,
        base_branch: "main".into(),
        head_sha: Some(sha('a')),
        merge_commit_sha: None,
        created_at: at(0),
        ready_at: None,
        first_commit_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at: None,
        closed_at: None,
        updated_at: at(updated),
        commits: vec![],
    }
}

fn deployment(project_id: Uuid, status: DeploymentStatus, updated: i64) -> Deployment {
    Deployment {
        id: Uuid::now_v7(),
        source: "github".into(),
        external_id: "dep-1".into(),
        project_id,
        service: "payments-api".into(),
        environment: "production".into(),
        status,
        repo: Some("acme/payments".into()),
        sha: Some(sha('d')),
        is_rollback: false,
        explicit_commits: vec![],
        started_at: at(100),
        finished_at: status.is_final().then(|| at(updated)),
        created_at: at(100),
        updated_at: at(updated),
    }
}

fn delivery(provider: Provider, delivery_id: &str, received: DateTime<Utc>) -> RawDelivery {
    let mut headers = BTreeMap::new();
    headers.insert("x-github-event".to_owned(), "push".to_owned());
    RawDelivery {
        id: Uuid::now_v7(),
        provider,
        delivery_id: delivery_id.to_owned(),
        event: "push".into(),
        project_id: None,
        received_at: received,
        headers,
        body: b"{\"truncated\": \xff".to_vec(),
        outcome: Outcome::Invalid,
        detail: "malformed JSON at line 1 column 15".into(),
    }
}

/// Marks every deployment attributed, as the attribution step does.
async fn mark_attributed(db: &TestDb) {
    match db.engine {
        EngineKind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE deployments SET attributed = TRUE")
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::query("UPDATE deployments SET attributed = TRUE")
                .execute(&pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

async fn pull_requests_merge_reports_and_commits(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    assert_eq!(
        store.get_pull_request("acme/payments", 12).await.unwrap(),
        None
    );

    let opened = PullRequest {
        commits: vec![
            PrCommit {
                sha: sha('1'),
                authored_at: at(-300),
            },
            PrCommit {
                sha: sha('2'),
                authored_at: at(-200),
            },
        ],
        ..pr(0)
    };
    store.upsert_pull_request(&opened).await.unwrap();
    let stored = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.first_commit_at, Some(at(-300)));
    assert_eq!(stored.commits, opened.commits);
    assert_eq!(
        stored,
        PullRequest {
            first_commit_at: Some(at(-300)),
            ..opened.clone()
        }
    );
    // A replay changes nothing.
    store.upsert_pull_request(&opened).await.unwrap();
    assert_eq!(
        store
            .get_pull_request("acme/payments", 12)
            .await
            .unwrap()
            .unwrap(),
        stored
    );

    // Ready for review, then merged (squash: a new commit on main).
    let ready = PullRequest {
        draft: false,
        ready_at: Some(at(50)),
        ..pr(50)
    };
    store.upsert_pull_request(&ready).await.unwrap();
    let merged = PullRequest {
        draft: false,
        state: PrState::Merged,
        ready_at: Some(at(50)),
        merged_at: Some(at(400)),
        closed_at: Some(at(400)),
        merge_commit_sha: Some(sha('9')),
        title: "Cache the user list (squashed)".into(),
        commits: vec![PrCommit {
            sha: sha('3'),
            authored_at: at(-500),
        }],
        ..pr(400)
    };
    store.upsert_pull_request(&merged).await.unwrap();
    // An old "opened" delivery retried late does not undo the merge.
    store.upsert_pull_request(&opened).await.unwrap();
    let got = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.state, PrState::Merged);
    assert_eq!(got.title, "Cache the user list (squashed)");
    assert_eq!(got.merged_at, Some(at(400)));
    assert_eq!(got.ready_at, Some(at(50)));
    assert!(!got.draft);
    assert_eq!(got.merge_commit_sha, Some(sha('9')));
    assert_eq!(got.first_commit_at, Some(at(-500)));
    assert_eq!(
        got.commits
            .iter()
            .map(|c| c.sha.clone())
            .collect::<Vec<_>>(),
        vec![sha('3'), sha('1'), sha('2')]
    );
    assert_eq!(got.updated_at, at(400));

    // Invalid input names its field and stores nothing.
    let bad = PullRequest {
        number: 13,
        head_sha: Some("not-a-sha".into()),
        ..pr(0)
    };
    match store.upsert_pull_request(&bad).await {
        Err(StoreError::Domain(e)) => assert_eq!(e.fields(), vec!["head_sha"]),
        other => panic!("expected a domain error, got {other:?}"),
    }
    assert_eq!(
        store.get_pull_request("acme/payments", 13).await.unwrap(),
        None
    );
}

async fn reviews_set_first_review_and_approval_in_any_order(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let review = |id: &str, state, s| Review {
        review_id: id.into(),
        state,
        submitted_at: at(s),
    };
    // A review arrives before its pull request.
    store
        .upsert_review(
            "acme/payments",
            12,
            &review("r1", ReviewState::Commented, 60),
        )
        .await
        .unwrap();
    store.upsert_pull_request(&pr(0)).await.unwrap();
    let got = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.first_review_at, Some(at(60)));
    assert_eq!(got.approved_at, None);

    store
        .upsert_review(
            "acme/payments",
            12,
            &review("r3", ReviewState::Approved, 90),
        )
        .await
        .unwrap();
    store
        .upsert_review(
            "acme/payments",
            12,
            &review("r2", ReviewState::ChangesRequested, 30),
        )
        .await
        .unwrap();
    // Replays change nothing.
    store
        .upsert_review(
            "acme/payments",
            12,
            &review("r3", ReviewState::Approved, 90),
        )
        .await
        .unwrap();
    let got = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.first_review_at, Some(at(30)));
    assert_eq!(got.approved_at, Some(at(90)));
    let reviews = store.list_reviews("acme/payments", 12).await.unwrap();
    assert_eq!(
        reviews
            .iter()
            .map(|r| r.review_id.as_str())
            .collect::<Vec<_>>(),
        vec!["r2", "r1", "r3"]
    );
    // A review time a backfill reported with the pull request is kept when
    // it is earlier than the stored reviews'.
    let backfilled = PullRequest {
        number: 14,
        first_review_at: Some(at(5)),
        ..pr(0)
    };
    store.upsert_pull_request(&backfilled).await.unwrap();
    store
        .upsert_review(
            "acme/payments",
            14,
            &review("b1", ReviewState::Approved, 50),
        )
        .await
        .unwrap();
    let got14 = store
        .get_pull_request("acme/payments", 14)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got14.first_review_at, got14.approved_at),
        (Some(at(5)), Some(at(50)))
    );
    // A later report of the pull request keeps the review times.
    store.upsert_pull_request(&pr(500)).await.unwrap();
    let got = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.first_review_at, Some(at(30)));
    assert_eq!(got.approved_at, Some(at(90)));
}

async fn deployments_fold_status_and_need_attribution_again(engine: EngineKind) {
    let (store, db) = fresh_store(engine).await;
    let p = setup(&store).await;
    let started = deployment(p.id, DeploymentStatus::InProgress, 100);
    let id = store.upsert_deployment(&started).await.unwrap();
    assert_eq!(id, started.id);
    assert!(!store.deployment_attributed(id).await.unwrap());
    assert_eq!(
        store
            .get_deployment("github", "dep-1")
            .await
            .unwrap()
            .unwrap(),
        started
    );

    mark_attributed(&db).await;
    assert!(store.deployment_attributed(id).await.unwrap());
    // A replay changes nothing, so the attribution stays current.
    assert_eq!(store.upsert_deployment(&started).await.unwrap(), id);
    assert!(store.deployment_attributed(id).await.unwrap());

    // The final status arrives under a new proposed id: the stored id stays.
    let done = deployment(p.id, DeploymentStatus::Success, 160);
    assert_ne!(done.id, id);
    assert_eq!(store.upsert_deployment(&done).await.unwrap(), id);
    assert!(!store.deployment_attributed(id).await.unwrap());
    let got = store
        .get_deployment("github", "dep-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.status, DeploymentStatus::Success);
    assert_eq!(got.finished_at, Some(at(160)));
    assert_eq!(got.created_at, at(100));

    // A late "in progress" does not undo success.
    mark_attributed(&db).await;
    let late = deployment(p.id, DeploymentStatus::InProgress, 200);
    assert_eq!(store.upsert_deployment(&late).await.unwrap(), id);
    let got2 = store
        .get_deployment("github", "dep-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got2.status, DeploymentStatus::Success);
    assert_eq!(got2.finished_at, Some(at(160)));

    // Explicit commits round-trip.
    let api = Deployment {
        source: "api".into(),
        external_id: "build-77".into(),
        explicit_commits: vec![
            CommitRef {
                repo: "acme/payments".into(),
                sha: sha('e'),
            },
            CommitRef {
                repo: "acme/ledger".into(),
                sha: sha('f'),
            },
        ],
        is_rollback: true,
        ..deployment(p.id, DeploymentStatus::Failure, 120)
    };
    store.upsert_deployment(&api).await.unwrap();
    assert_eq!(
        store
            .get_deployment("api", "build-77")
            .await
            .unwrap()
            .unwrap(),
        api
    );

    // An unknown project is a missing reference; nothing is stored.
    let orphan = Deployment {
        external_id: "dep-x".into(),
        ..deployment(Uuid::now_v7(), DeploymentStatus::Success, 150)
    };
    assert_missing(store.upsert_deployment(&orphan).await, "project_id");
    assert_eq!(store.get_deployment("github", "dep-x").await.unwrap(), None);
}

async fn incidents_and_pipelines_fold_reports(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let p = setup(&store).await;
    let opened = Incident {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: "INC-9".into(),
        project_id: p.id,
        service: Some("payments-api".into()),
        title: "Checkout fails".into(),
        severity: "sev1".into(),
        opened_at: at(10),
        resolved_at: None,
        caused_by: Some("dep-1".into()),
        created_at: at(10),
        updated_at: at(10),
    };
    let id = store.upsert_incident(&opened).await.unwrap();
    assert_eq!(id, opened.id);
    let resolved = Incident {
        id: Uuid::now_v7(),
        resolved_at: Some(at(70)),
        caused_by: None,
        updated_at: at(70),
        created_at: at(70),
        ..opened.clone()
    };
    assert_eq!(store.upsert_incident(&resolved).await.unwrap(), id);
    // The older report, replayed, does not reopen it.
    store.upsert_incident(&opened).await.unwrap();
    let got = store.get_incident("api", "INC-9").await.unwrap().unwrap();
    assert_eq!(got.id, id);
    assert_eq!(got.resolved_at, Some(at(70)));
    assert_eq!(got.caused_by.as_deref(), Some("dep-1"));
    assert_eq!(got.created_at, at(10));
    let bad = Incident {
        external_id: "INC-10".into(),
        resolved_at: Some(at(0)),
        ..opened.clone()
    };
    match store.upsert_incident(&bad).await {
        Err(StoreError::Domain(e)) => assert_eq!(e.fields(), vec!["resolved_at"]),
        other => panic!("expected a domain error, got {other:?}"),
    }

    let running = Pipeline {
        source: "gitlab".into(),
        external_id: "acme/payments/4411".into(),
        repo: "acme/payments".into(),
        sha: Some(sha('c')),
        branch: Some("main".into()),
        status: PipelineStatus::InProgress,
        started_at: at(5),
        finished_at: None,
        coverage: None,
    };
    store.upsert_pipeline(&running).await.unwrap();
    let passed = Pipeline {
        status: PipelineStatus::Success,
        finished_at: Some(at(65)),
        coverage: Some(81.25),
        ..running.clone()
    };
    store.upsert_pipeline(&passed).await.unwrap();
    store.upsert_pipeline(&running).await.unwrap();
    assert_eq!(
        store
            .get_pipeline("gitlab", "acme/payments/4411")
            .await
            .unwrap()
            .unwrap(),
        passed
    );
}

async fn tracked_bugs_upsert_on_their_key(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let p = setup(&store).await;
    let open = tandem_domain::work_item::WorkItem {
        project_id: Some(p.id),
        title: "Refund button does nothing".into(),
        kind: WorkKind::Bug,
        state: WorkState::Todo,
        started_at: None,
        done_at: None,
        scores: Default::default(),
        context: Default::default(),
        impact: None,
        complexity: None,
        external_key: Some("acme/payments#31".into()),
        source: "github".into(),
        created_at: at(0),
        updated_at: at(0),
        ..item(p.team_id)
    };
    store.upsert_tracked_work_item(&open).await.unwrap();
    let closed = tandem_domain::work_item::WorkItem {
        id: Uuid::now_v7(),
        state: WorkState::Done,
        started_at: Some(at(90)),
        done_at: Some(at(90)),
        updated_at: at(90),
        ..open.clone()
    };
    store.upsert_tracked_work_item(&closed).await.unwrap();
    // A stale "opened" report does not reopen it.
    store.upsert_tracked_work_item(&open).await.unwrap();
    let got = store.get_work_item(open.id).await.unwrap();
    assert_eq!(got.state, WorkState::Done);
    assert_eq!(got.done_at, Some(at(90)));
    assert_eq!(got.kind, WorkKind::Bug);
    assert_eq!(store.list_work_items(&q()).await.unwrap().items.len(), 1);
}

async fn deliveries_dedupe_list_and_reapply(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let p = setup(&store).await;
    assert!(!store.delivery_seen(Provider::Github, "g-1").await.unwrap());
    let first = delivery(Provider::Github, "g-1", at(0));
    assert!(store.record_delivery(&first).await.unwrap());
    assert!(store.delivery_seen(Provider::Github, "g-1").await.unwrap());
    assert!(!store.delivery_seen(Provider::Gitlab, "g-1").await.unwrap());
    // The same delivery id again is a replay.
    assert!(
        !store
            .record_delivery(&delivery(Provider::Github, "g-1", at(5)))
            .await
            .unwrap()
    );
    // Raw bytes (even invalid UTF-8) come back exactly.
    assert_eq!(store.get_delivery(first.id).await.unwrap(), first);
    assert_not_found(store.get_delivery(Uuid::now_v7()).await, "delivery");

    let mut ids = vec![first.id];
    for i in 0..7 {
        let provider = if i % 2 == 0 {
            Provider::Gitlab
        } else {
            Provider::Github
        };
        let d = delivery(provider, &format!("d-{i}"), at(10 * (i + 1)));
        assert!(store.record_delivery(&d).await.unwrap());
        ids.push(d.id);
    }
    let (all, pages) = all_pages(
        3,
        |d: &RawDelivery| d.id,
        |after| {
            let store = store.clone();
            async move {
                store
                    .list_deliveries(&RawDeliveryFilter {
                        after,
                        limit: 3,
                        ..RawDeliveryFilter::default()
                    })
                    .await
            }
        },
    )
    .await;
    assert_eq!(pages, 3);
    assert_eq!(all.iter().map(|d| d.id).collect::<Vec<_>>(), ids);
    let gitlab_since = store
        .list_deliveries(&RawDeliveryFilter {
            provider: Some(Provider::Gitlab),
            since: Some(at(30)),
            ..RawDeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(
        gitlab_since
            .items
            .iter()
            .map(|d| d.delivery_id.as_str())
            .collect::<Vec<_>>(),
        vec!["d-2", "d-4", "d-6"]
    );
    let one = store
        .list_deliveries(&RawDeliveryFilter {
            delivery_id: Some("d-3".into()),
            ..RawDeliveryFilter::default()
        })
        .await
        .unwrap();
    assert_eq!(one.items.len(), 1);
    assert_eq!(one.next_cursor, None);

    // Reprocessing writes the records and the new outcome together.
    let records = vec![Record::Deployment(deployment(
        p.id,
        DeploymentStatus::Success,
        150,
    ))];
    store
        .reapply_delivery(
            first.id,
            Some(p.id),
            &records,
            Outcome::Applied,
            "1 deployment",
        )
        .await
        .unwrap();
    let got = store.get_delivery(first.id).await.unwrap();
    assert_eq!(got.outcome, Outcome::Applied);
    assert_eq!(got.detail, "1 deployment");
    assert_eq!(got.project_id, Some(p.id));
    assert!(
        store
            .get_deployment("github", "dep-1")
            .await
            .unwrap()
            .is_some()
    );
    // A failing record leaves the delivery as it was.
    let orphan = vec![Record::Deployment(Deployment {
        external_id: "dep-2".into(),
        ..deployment(Uuid::now_v7(), DeploymentStatus::Success, 150)
    })];
    assert_missing(
        store
            .reapply_delivery(first.id, None, &orphan, Outcome::Applied, "x")
            .await,
        "project_id",
    );
    assert_eq!(
        store.get_delivery(first.id).await.unwrap().detail,
        "1 deployment"
    );
    let counts = store.count_deliveries().await.unwrap();
    assert_eq!(counts, vec![(Outcome::Applied, 1), (Outcome::Invalid, 7)]);
}

async fn ingest_skips_the_records_of_replays(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let p = setup(&store).await;
    let applied = |id: &str, records: Vec<Record>| Ingest {
        delivery: RawDelivery {
            outcome: Outcome::Applied,
            body: b"{}".to_vec(),
            project_id: Some(p.id),
            ..delivery(Provider::Github, id, at(1))
        },
        records,
    };
    let batch = vec![
        applied("a", vec![Record::PullRequest(pr(0))]),
        applied(
            "b",
            vec![Record::Deployment(deployment(
                p.id,
                DeploymentStatus::InProgress,
                100,
            ))],
        ),
        // The same delivery twice in one batch counts once.
        applied("a", vec![Record::PullRequest(pr(0))]),
    ];
    assert_eq!(store.ingest(&batch).await.unwrap(), vec![true, true, false]);
    // A replay of "b" carrying a different (newer) report is not applied:
    // a delivery is applied once, whatever its body says the second time.
    let replay = vec![
        applied(
            "b",
            vec![Record::Deployment(deployment(
                p.id,
                DeploymentStatus::Success,
                200,
            ))],
        ),
        applied(
            "c",
            vec![Record::Review {
                repo: "acme/payments".into(),
                number: 12,
                review: Review {
                    review_id: "r".into(),
                    state: ReviewState::Approved,
                    submitted_at: at(42),
                },
            }],
        ),
    ];
    assert_eq!(store.ingest(&replay).await.unwrap(), vec![false, true]);
    let d = store
        .get_deployment("github", "dep-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.status, DeploymentStatus::InProgress);
    let got = store
        .get_pull_request("acme/payments", 12)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.approved_at, Some(at(42)));

    // A batch with a bad record stores nothing of the batch.
    let bad = vec![
        applied(
            "d",
            vec![Record::PullRequest(PullRequest {
                number: 99,
                ..pr(0)
            })],
        ),
        applied(
            "e",
            vec![Record::Deployment(Deployment {
                external_id: "dep-9".into(),
                ..deployment(Uuid::now_v7(), DeploymentStatus::Success, 150)
            })],
        ),
    ];
    assert_missing(store.ingest(&bad).await, "project_id");
    assert!(!store.delivery_seen(Provider::Github, "d").await.unwrap());
    assert_eq!(
        store.get_pull_request("acme/payments", 99).await.unwrap(),
        None
    );
}

/// One `ingest` batch holding new pull requests, reports of stored ones (a
/// newer and an older), two reports of one new pull request, a review that
/// arrived before its pull request, a review in the same delivery as its
/// pull request, and a delivery twice: the stored rows are exactly those
/// the one-record-at-a-time upserts give, and a replay of the batch
/// changes nothing.
async fn ingest_batch_mixes_new_rows_updates_and_replays(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let (reference, _ref_db) = fresh_store(engine).await;
    let p = setup(&store).await;
    let commit = |c: char, t: i64| PrCommit {
        sha: sha(c),
        authored_at: at(t),
    };
    let review = |number: i64, id: &str, state: ReviewState, t: i64| Record::Review {
        repo: "acme/payments".into(),
        number,
        review: Review {
            review_id: id.into(),
            state,
            submitted_at: at(t),
        },
    };
    // Stored before the batch: pull request 12, a review of 13 (not
    // stored yet).
    let before: Vec<Record> = vec![
        Record::PullRequest(PullRequest {
            commits: vec![commit('1', -300)],
            ..pr(100)
        }),
        review(13, "early", ReviewState::Approved, 42),
    ];
    store.upsert_records(&before).await.unwrap();
    let applied = |id: &str, records: Vec<Record>| Ingest {
        delivery: RawDelivery {
            outcome: Outcome::Applied,
            body: b"{}".to_vec(),
            project_id: Some(p.id),
            ..delivery(Provider::Github, id, at(1))
        },
        records,
    };
    let newer_12 = PullRequest {
        title: "Cache the user list, merged".into(),
        state: PrState::Merged,
        draft: false,
        merged_at: Some(at(200)),
        closed_at: Some(at(200)),
        merge_commit_sha: Some(sha('9')),
        commits: vec![commit('2', -400)],
        ..pr(200)
    };
    let older_12 = PullRequest {
        title: "an old title".into(),
        ..pr(50)
    };
    let opened_13 = PullRequest {
        number: 13,
        commits: vec![commit('3', -100)],
        ..pr(10)
    };
    let ready_13 = PullRequest {
        number: 13,
        draft: false,
        ready_at: Some(at(20)),
        commits: vec![commit('4', -150)],
        ..pr(20)
    };
    let new_15 = PullRequest {
        number: 15,
        ..pr(5)
    };
    let batch = vec![
        applied("x1", vec![Record::PullRequest(newer_12.clone())]),
        applied("x2", vec![Record::PullRequest(opened_13.clone())]),
        applied("x3", vec![Record::PullRequest(older_12.clone())]),
        // A second copy of x1, carrying something else: not applied.
        applied(
            "x1",
            vec![Record::PullRequest(PullRequest {
                number: 14,
                ..pr(0)
            })],
        ),
        applied(
            "x4",
            vec![
                review(15, "r15", ReviewState::Commented, 30),
                Record::PullRequest(new_15.clone()),
            ],
        ),
        applied("x5", vec![Record::PullRequest(ready_13.clone())]),
    ];
    assert_eq!(
        store.ingest(&batch).await.unwrap(),
        vec![true, true, true, false, true, true]
    );

    // The same reports, one record per transaction.
    setup(&reference).await;
    let once = batch
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3)
        .flat_map(|(_, item)| item.records.iter());
    for r in before.iter().chain(once) {
        reference
            .upsert_records(std::slice::from_ref(r))
            .await
            .unwrap();
    }
    let mut got = Vec::new();
    for number in [12, 13, 14, 15] {
        let stored = store
            .get_pull_request("acme/payments", number)
            .await
            .unwrap();
        assert_eq!(
            stored,
            reference
                .get_pull_request("acme/payments", number)
                .await
                .unwrap(),
            "pull request {number}"
        );
        got.push(stored);
    }
    // And what that is, spelled out.
    let pr12 = got[0].clone().unwrap();
    assert_eq!(pr12.title, "Cache the user list, merged");
    assert_eq!(pr12.state, PrState::Merged);
    assert_eq!(pr12.updated_at, at(200));
    assert_eq!(pr12.first_commit_at, Some(at(-400)));
    assert_eq!(pr12.commits, vec![commit('2', -400), commit('1', -300)]);
    let pr13 = got[1].clone().unwrap();
    assert!(!pr13.draft);
    assert_eq!(pr13.ready_at, Some(at(20)));
    assert_eq!(pr13.first_review_at, Some(at(42)));
    assert_eq!(pr13.approved_at, Some(at(42)));
    assert_eq!(pr13.first_commit_at, Some(at(-150)));
    assert_eq!(pr13.commits, vec![commit('4', -150), commit('3', -100)]);
    assert_eq!(got[2], None, "the second copy of x1 was not applied");
    let pr15 = got[3].clone().unwrap();
    assert_eq!(pr15.first_review_at, Some(at(30)));
    assert_eq!(pr15.approved_at, None);

    // The whole batch again: every delivery a replay, nothing changes.
    assert_eq!(store.ingest(&batch).await.unwrap(), vec![false; 6]);
    for (number, was) in [12, 13, 14, 15].into_iter().zip(&got) {
        assert_eq!(
            &store
                .get_pull_request("acme/payments", number)
                .await
                .unwrap(),
            was
        );
    }
}

fn pushed(c: char, parent: Option<char>) -> Commit {
    Commit {
        repo: "acme/payments".into(),
        sha: sha(c),
        author_name: "Dev".into(),
        author_email: "dev@example.com".into(),
        authored_at: at(10),
        author_offset: 0,
        committed_at: at(10),
        committer_offset: 0,
        subject: "change".into(),
        parents: parent.into_iter().map(sha).collect(),
        parent_count: i32::from(parent.is_some()),
        additions: None,
        deletions: None,
        files: vec![],
        source: CommitSource::Github,
    }
}

fn main_at(c: char) -> GitRef {
    GitRef {
        repo: "acme/payments".into(),
        name: "refs/heads/main".into(),
        sha: sha(c),
        updated_at: at(20),
    }
}

/// `ingest_with_git` (the webhook writer's batch) stores the pushed
/// commits, the ref, the deliveries with their records and the
/// invalidated attribution together, or, when any part fails, nothing:
/// a delivery whose batch failed left no commit and moved no ref (before,
/// commits and refs were committed first, in transactions of their own).
async fn ingest_with_git_is_one_transaction(engine: EngineKind) {
    let (store, db) = fresh_store(engine).await;
    let p = setup(&store).await;
    let applied = |id: &str, records: Vec<Record>| Ingest {
        delivery: RawDelivery {
            outcome: Outcome::Applied,
            body: b"{}".to_vec(),
            project_id: Some(p.id),
            ..delivery(Provider::Github, id, at(1))
        },
        records,
    };
    // A deployment of commit d, attributed before d was known.
    let dep = deployment(p.id, DeploymentStatus::Success, 150);
    store.upsert_deployment(&dep).await.unwrap();
    mark_attributed(&db).await;
    let dep_id = store
        .get_deployment("github", "dep-1")
        .await
        .unwrap()
        .unwrap()
        .id;
    assert!(store.deployment_attributed(dep_id).await.unwrap());

    let batch = vec![
        applied("push-1", vec![]),
        applied("pr-1", vec![Record::PullRequest(pr(0))]),
    ];
    let commits = vec![pushed('c', None), pushed('d', Some('c'))];
    assert_eq!(
        store
            .ingest_with_git(&batch, &commits, &[main_at('d')])
            .await
            .unwrap(),
        vec![true, true]
    );
    assert!(
        store
            .get_commit("acme/payments", &sha('d'))
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store.list_refs("acme/payments").await.unwrap(),
        vec![main_at('d')]
    );
    assert!(
        store
            .get_pull_request("acme/payments", 12)
            .await
            .unwrap()
            .is_some()
    );
    // Commit d is new: the deployment of it is attributed again.
    assert!(!store.deployment_attributed(dep_id).await.unwrap());

    // A replay: nothing new, and the ref is not moved back.
    mark_attributed(&db).await;
    assert_eq!(
        store
            .ingest_with_git(&batch[..1], &commits, &[main_at('d')])
            .await
            .unwrap(),
        vec![false]
    );
    assert!(store.deployment_attributed(dep_id).await.unwrap());

    // A batch whose record fails (a deployment of an unknown project)
    // stores none of its commits, refs or deliveries.
    let bad = vec![
        applied("push-2", vec![]),
        applied(
            "dep-2",
            vec![Record::Deployment(Deployment {
                external_id: "dep-9".into(),
                ..deployment(Uuid::now_v7(), DeploymentStatus::Success, 150)
            })],
        ),
    ];
    assert_missing(
        store
            .ingest_with_git(&bad, &[pushed('e', Some('d'))], &[main_at('e')])
            .await,
        "project_id",
    );
    assert!(
        store
            .get_commit("acme/payments", &sha('e'))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store.list_refs("acme/payments").await.unwrap(),
        vec![main_at('d')]
    );
    assert!(
        !store
            .delivery_seen(Provider::Github, "push-2")
            .await
            .unwrap()
    );

    // A bad ref is refused before anything is written, naming it.
    let mut broken = main_at('f');
    broken.sha = "not a sha".into();
    let err = store
        .ingest_with_git(
            &[applied("push-3", vec![])],
            &[pushed('f', Some('d'))],
            &[broken],
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("refs[0]"), "{err}");
    assert!(
        !store
            .delivery_seen(Provider::Github, "push-3")
            .await
            .unwrap()
    );
}

async fn webhook_secrets_and_repository_lookup(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let p = setup(&store).await;
    assert_eq!(
        store.webhook_secret(p.id, Provider::Github).await.unwrap(),
        None
    );
    store
        .set_webhook_secret(p.id, Provider::Github, "s3cret", at(0))
        .await
        .unwrap();
    store
        .set_webhook_secret(p.id, Provider::Github, "rotated", at(1))
        .await
        .unwrap();
    store
        .set_webhook_secret(p.id, Provider::Gitlab, "gl-token", at(1))
        .await
        .unwrap();
    assert_eq!(
        store
            .webhook_secret(p.id, Provider::Github)
            .await
            .unwrap()
            .as_deref(),
        Some("rotated")
    );
    // The dates, not the secrets, for pages: the replaced one's date moved.
    assert_eq!(
        store.webhook_secret_dates(p.id).await.unwrap(),
        vec![(Provider::Github, at(1)), (Provider::Gitlab, at(1))]
    );
    assert!(
        store
            .webhook_secret_dates(Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.webhook_secrets(Provider::Gitlab).await.unwrap(),
        vec![(p.id, "gl-token".to_owned())]
    );
    let targets = store.webhook_targets(Provider::Github).await.unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(targets[0].0, p);
    assert_eq!(targets[0].1, "rotated");
    assert!(
        store
            .webhook_targets(Provider::Api)
            .await
            .unwrap()
            .is_empty()
    );
    assert_missing(
        store
            .set_webhook_secret(Uuid::now_v7(), Provider::Github, "x", at(0))
            .await,
        "project_id",
    );

    // Repository names match without regard to case.
    let found = store
        .projects_with_repository("acme/payments")
        .await
        .unwrap();
    assert_eq!(found.iter().map(|p| p.id).collect::<Vec<_>>(), vec![p.id]);
    assert!(
        store
            .projects_with_repository("acme/other")
            .await
            .unwrap()
            .is_empty()
    );
    let by_service = store.projects_with_service("payments-api").await.unwrap();
    assert_eq!(by_service.len(), 1);
    assert!(
        store
            .services_in_repository(p.id, "acme/payments")
            .await
            .unwrap()
            .is_empty()
    );
}
