use std::io::Cursor;

use chrono::Duration;
use tandem_domain::engineering::{
    CommitRef, Deployment, DeploymentStatus, Incident, Outcome, Pipeline, PipelineStatus, PrCommit,
    PrState, Provider, PullRequest, RawDelivery, Record, Review, ReviewState,
};
use tandem_domain::git::{Commit, CommitSource, FileChange, GitRef};
use tandem_domain::goal::{GoalPatch, GoalTransition};
use tandem_domain::metric::Audience;
use tandem_domain::project::Project;
use tandem_domain::risk::RiskStatus;
use tandem_domain::user::Role;
use tandem_domain::work_item::WorkState;
use tandem_store::{DumpSummary, EngineKind, Store, StoreError};
use tandem_testkit::{fresh_store, per_engine};
use uuid::Uuid;

use crate::common::*;

per_engine!(
    dump_round_trips_between_engines,
    demo_organisation_round_trips_between_engines,
    dump_with_invalid_json_loads_nothing,
    dump_with_invalid_goal_loads_nothing,
    dump_with_missing_reference_loads_nothing,
    dump_with_bad_header_loads_nothing,
    dump_imported_twice_keeps_the_first,
    dump_with_removed_event_lines_loads,
    every_table_is_dumped_or_named_as_left_out
);

fn other(engine: EngineKind) -> EngineKind {
    match engine {
        EngineKind::Sqlite => EngineKind::Postgres,
        EngineKind::Postgres => EngineKind::Sqlite,
    }
}

/// A small organisation with every entity type, written through the
/// ordinary create operations.
async fn populate(store: &Store) {
    let payments = team("payments");
    let search = team("search");
    store.create_team(&payments).await.unwrap();
    store.create_team(&search).await.unwrap();

    let ana = user("ana", Role::Admin);
    let mut bo = user("bo", Role::Member);
    bo.email = None;
    store
        .create_user(&ana, "$argon2id$v=19$m=19456,t=2,p=1$ana")
        .await
        .unwrap();
    store
        .create_user(&bo, "$argon2id$v=19$m=19456,t=2,p=1$bo")
        .await
        .unwrap();
    store.set_user_disabled("bo", true).await.unwrap();
    store.add_member(payments.id, ana.id).await.unwrap();
    store.add_member(search.id, ana.id).await.unwrap();
    store.add_member(payments.id, bo.id).await.unwrap();

    let ci = token("ci", Some(ana.id));
    store.create_token(&ci, "hash-ci").await.unwrap();
    store.touch_token(ci.id, at(400)).await.unwrap();
    let old = token("old", None);
    store.create_token(&old, "hash-old").await.unwrap();
    store.revoke_token(old.id, at(401)).await.unwrap();

    let checkout = project(payments.id, "checkout");
    store.create_project(&checkout).await.unwrap();
    let mut index = project(search.id, "index");
    index.repositories = vec![];
    store.create_project(&index).await.unwrap();

    let p95 = metric("users-p95", Audience::Team, Some(payments.id));
    let conversion = metric("conversion", Audience::Business, None);
    store.create_metric(&p95).await.unwrap();
    store.create_metric(&conversion).await.unwrap();

    let g1 = goal(payments.id, Some(checkout.id));
    store.create_goal(&g1).await.unwrap();
    let agreed = g1
        .transition(GoalTransition::Agree, "ana", at(1000))
        .unwrap();
    store.save_goal_change(&agreed, 0).await.unwrap();
    let edited = agreed
        .goal
        .apply(
            GoalPatch {
                technical_tasks: Some("Cache, paginate, index.".into()),
                ..GoalPatch::default()
            },
            "bo",
            at(1100) + Duration::microseconds(1),
        )
        .unwrap();
    store.save_goal_change(&edited, 1).await.unwrap();
    let g2 = bare_goal(search.id);
    store.create_goal(&g2).await.unwrap();

    let s1 = stage(g1.id, 1);
    let mut s2 = stage(g1.id, 2);
    s2.starts_on = None;
    s2.ends_on = None;
    store.create_stage(&s1).await.unwrap();
    store.create_stage(&s2).await.unwrap();

    let mut w1 = item(payments.id);
    w1.project_id = Some(checkout.id);
    w1.goal_id = Some(g1.id);
    w1.stage_id = Some(s1.id);
    w1.external_key = Some("PAY-1".into());
    w1.source = "jira".into();
    store.create_work_item(&w1).await.unwrap();
    let mut w2 = item(search.id);
    w2.state = WorkState::InProgress;
    w2.done_at = None;
    w2.impact = None;
    store.create_work_item(&w2).await.unwrap();

    let mut r1 = risk(payments.id);
    r1.goal_id = Some(g1.id);
    r1.stage_id = Some(s2.id);
    store.create_risk(&r1).await.unwrap();
    let mut r2 = risk(search.id);
    r2.status = RiskStatus::Closed;
    r2.closed_at = Some(at(2000));
    r2.owner = None;
    store.create_risk(&r2).await.unwrap();

    store
        .create_decision(&decision(payments.id, Some(g1.id)))
        .await
        .unwrap();
    store
        .create_decision(&decision(search.id, None))
        .await
        .unwrap();

    let points: Vec<_> = (0..600)
        .map(|i| {
            point(
                if i % 2 == 0 { p95.id } else { conversion.id },
                at(i / 2) + Duration::microseconds(i % 7),
                i as f64 * 0.1,
            )
        })
        .collect();
    store.upsert_points(&points).await.unwrap();

    // A business request from e-mail by a user, decided, with its messages.
    let mut n = tandem_domain::request::NewRequest::new(
        payments.id,
        "Export invoices",
        "lee@example.com",
        tandem_domain::request::RequestSource::Email,
    );
    n.requester_user_id = Some(ana.id);
    n.reply.email_address = Some("lee@example.com".into());
    n.reply.email_message_id = Some("<1@example.com>".into());
    n.external_id = Some("<1@example.com>".into());
    n.impact = Some(tandem_domain::risk::Level::High);
    let r = n
        .into_request(id(), at(5), &tandem_domain::priority::Matrix::default())
        .unwrap();
    let received = tandem_domain::request::Notification::about(
        &r,
        tandem_domain::request::NotificationKind::Received,
        id(),
        at(5),
    );
    store.create_request(&r, &[received]).await.unwrap();
    let mut input = tandem_domain::request::DecisionInput {
        kind: tandem_domain::request::RequestDecisionKind::Decline,
        reason: "Not this quarter".into(),
        postponed_until: None,
        duplicate_of: None,
        version: None,
        priority: None,
        size: None,
        size_max: None,
    };
    input.reason.push('.');
    let decided = r.decide(&input, "ana", at(6)).unwrap();
    let told = tandem_domain::request::Notification::about(
        &decided,
        tandem_domain::request::NotificationKind::Decided,
        id(),
        at(6),
    );
    store
        .save_request(
            &decided,
            r.version,
            tandem_store::RequestWrites {
                decision: None,
                goal: None,
                notifications: &[told],
            },
        )
        .await
        .unwrap();

    engineering(store, &checkout, payments.id).await;
}

/// Engineering data and a report, for the tables a dump moves row by row:
/// a merge commit with files, a ref and an import cursor, a merged pull
/// request with its commit and review, a deployment listing its commits,
/// an incident it caused, a pipeline with coverage, a raw delivery whose
/// body is not UTF-8, a webhook secret, a service scope, a report draft.
async fn engineering(store: &Store, project: &Project, team_id: Uuid) {
    let repo = "acme/checkout";
    let sha = |c: char| c.to_string().repeat(40);
    let commit = |s: char, parents: Vec<String>, t: i64| Commit {
        repo: repo.into(),
        sha: sha(s),
        author_name: "Ana Lima".into(),
        author_email: "ana@example.com".into(),
        authored_at: at(t),
        author_offset: -180,
        committed_at: at(t + 5),
        committer_offset: 60,
        subject: format!("Commit {s}"),
        parent_count: parents.len() as i32,
        parents,
        additions: Some(12),
        deletions: Some(3),
        files: vec![FileChange {
            path: format!("src/{s}.rs"),
            additions: 12,
            deletions: 3,
        }],
        source: CommitSource::Git,
    };
    store
        .upsert_commits(&[
            commit('a', vec![], 10),
            commit('b', vec![sha('a')], 20),
            commit('c', vec![sha('a'), sha('b')], 30),
        ])
        .await
        .unwrap();
    store
        .set_refs(&[GitRef {
            repo: repo.into(),
            name: "refs/heads/main".into(),
            sha: sha('c'),
            updated_at: at(31),
        }])
        .await
        .unwrap();
    store
        .set_import_cursor("git", "acme/checkout:main", &sha('c'), at(32))
        .await
        .unwrap();
    let pr = PullRequest {
        repo: repo.into(),
        number: 7,
        source: "github".into(),
        title: "Faster checkout".into(),
        state: PrState::Merged,
        draft: false,
        base_branch: "main".into(),
        head_sha: Some(sha('b')),
        merge_commit_sha: Some(sha('c')),
        created_at: at(21),
        ready_at: Some(at(22)),
        first_commit_at: Some(at(20)),
        first_review_at: None,
        approved_at: None,
        merged_at: Some(at(30)),
        closed_at: Some(at(30)),
        updated_at: at(30),
        commits: vec![PrCommit {
            sha: sha('b'),
            authored_at: at(20),
        }],
    };
    let deployment = Deployment {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: "deploy-1".into(),
        project_id: project.id,
        service: "checkout".into(),
        environment: "production".into(),
        status: DeploymentStatus::Success,
        repo: Some(repo.into()),
        sha: Some(sha('c')),
        is_rollback: false,
        explicit_commits: vec![CommitRef {
            repo: repo.into(),
            sha: sha('c'),
        }],
        started_at: at(40),
        finished_at: Some(at(45)),
        created_at: at(40),
        updated_at: at(45),
    };
    let incident = Incident {
        id: Uuid::now_v7(),
        source: "api".into(),
        external_id: "inc-1".into(),
        project_id: project.id,
        service: Some("checkout".into()),
        title: "Checkout errors".into(),
        severity: "sev2".into(),
        opened_at: at(50),
        resolved_at: Some(at(90)),
        caused_by: Some("deploy-1".into()),
        created_at: at(50),
        updated_at: at(90),
    };
    let pipeline = Pipeline {
        source: "github".into(),
        external_id: "run-1".into(),
        repo: repo.into(),
        sha: Some(sha('c')),
        branch: None,
        status: PipelineStatus::Success,
        started_at: at(32),
        finished_at: Some(at(38)),
        coverage: Some(81.25),
    };
    store
        .upsert_records(&[
            Record::PullRequest(pr),
            Record::Review {
                repo: repo.into(),
                number: 7,
                review: Review {
                    review_id: "r-1".into(),
                    state: ReviewState::Approved,
                    submitted_at: at(25),
                },
            },
            Record::Deployment(deployment),
            Record::Incident(incident),
            Record::Pipeline(pipeline),
        ])
        .await
        .unwrap();
    // Someone acknowledged the incident: the dump keeps when and who.
    let inc = store.find_incident_entry("inc-1").await.unwrap().unwrap();
    assert!(
        store
            .acknowledge_incident(inc.id, "ops-lead", at(34))
            .await
            .unwrap()
    );
    let mut headers = std::collections::BTreeMap::new();
    headers.insert("x-github-event".to_owned(), "push".to_owned());
    store
        .record_delivery(&RawDelivery {
            id: Uuid::now_v7(),
            provider: Provider::Github,
            delivery_id: "d-1".into(),
            event: "push".into(),
            project_id: Some(project.id),
            received_at: at(33),
            headers,
            body: b"{\"truncated\": \xff".to_vec(),
            outcome: Outcome::Invalid,
            detail: "malformed JSON".into(),
        })
        .await
        .unwrap();
    store
        .set_webhook_secret(project.id, Provider::Github, "s3cret", at(1))
        .await
        .unwrap();
    store
        .set_service_scope(project.id, "checkout", repo, &["web/".to_owned()])
        .await
        .unwrap();
    store.draft(team_id, "2026-W10", at(60)).await.unwrap();
    front_line(store, project, team_id, inc.id).await;
}

/// The front line, intake and publishing rows (issues 14, 16, 17): a check
/// with a heartbeat token and one run (its rollups), an alert with a failed
/// attempt, the incident's note and business update, a KPI source, an
/// e-mail with its thread and mailbox cursor, a publication with its
/// mapping, an archived report with a pending upload and its archive line.
async fn front_line(store: &Store, project: &Project, team_id: Uuid, incident_id: Uuid) {
    use tandem_domain::check::{AlertChannel, AlertKind, CheckState, Severity};
    let spec = tcp_check("checkout-health", "payments", "checkout");
    let check = define_check(store, &spec, (team_id, project.id), at(10), at(1)).await;
    assert!(
        store
            .set_heartbeat_token("checkout-health", "token-hash")
            .await
            .unwrap()
    );
    let claimed = store
        .claim_due_checks("a", at(10), at(40), 10)
        .await
        .unwrap();
    assert_eq!(claimed.len(), 1);
    let run = tandem_store::CheckRun {
        at: at(10),
        ok: false,
        latency_ms: 12,
        message: "connection refused".into(),
        covers_ms: 60_000,
    };
    assert!(
        store
            .finish_check_run(check.id, "a", &run, &CheckState::default(), at(70), None)
            .await
            .unwrap()
    );
    assert!(
        store
            .enqueue_alert(&tandem_store::NewAlert {
                dedup_key: "checkout-health:opened".into(),
                incident_id: Some(incident_id),
                request_id: None,
                check_id: Some(check.id),
                team_id,
                kind: AlertKind::Opened,
                severity: Severity::Critical,
                channel: AlertChannel::Slack,
                destination: "ops".into(),
                message: serde_json::json!({"title": "checkout down", "link": "/incidents/1"}),
                due_at: at(11),
                now: at(11),
            })
            .await
            .unwrap()
    );
    let alerts = store
        .claim_due_alerts("a", at(12), at(0), 10)
        .await
        .unwrap();
    assert_eq!(alerts.len(), 1);
    store
        .finish_alert_attempt(
            alerts[0].id,
            "a",
            at(12),
            Some("503 from Slack"),
            Some(at(72)),
        )
        .await
        .unwrap();
    store
        .save_incident_note(&tandem_store::IncidentNote {
            incident_id,
            body: "# What happened\n\nA bad deploy.".into(),
            updated_by: "ana".into(),
            updated_at: at(40),
        })
        .await
        .unwrap();
    store
        .add_business_update(&tandem_store::BusinessUpdate {
            id: id(),
            incident_id,
            project_id: project.id,
            service: Some("checkout".into()),
            affected: "Checkout".into(),
            doing: "Rolling back".into(),
            next_update_at: Some(at(50)),
            posted_by: "ana".into(),
            created_at: at(41),
            slack_channel: None,
            slack_outcome: "not configured".into(),
            slack_attempts: 0,
            slack_error: None,
            slack_posted_at: None,
        })
        .await
        .unwrap();
    let rate = metric("error-rate", Audience::Team, Some(team_id));
    store.create_metric(&rate).await.unwrap();
    store
        .set_kpi_source(
            rate.id,
            &tandem_domain::frontline::KpiSourceSpec {
                kind: tandem_domain::frontline::KpiSourceKind::Promql,
                url: "http://prometheus:9090".into(),
                query: "sum(rate(errors[5m]))".into(),
                interval_seconds: 3600,
            },
            at(100),
            at(50),
        )
        .await
        .unwrap();

    let requests = store
        .list_requests(&tandem_store::RequestFilter::default())
        .await
        .unwrap();
    let request_id = requests.items[0].id;
    let mail = tandem_domain::intake::InboundMail {
        id: id(),
        dedupe_key: "2@example.com".into(),
        message_id: Some("2@example.com".into()),
        source: tandem_domain::intake::MailSource::Imap,
        sender: "lee@example.com".into(),
        subject: "Re: Export invoices".into(),
        raw: b"Subject: Re: Export invoices\r\n\r\n\xff bytes".to_vec(),
        state: tandem_domain::intake::MailState::Received,
        error: String::new(),
        request_id: None,
        team: Some("payments".into()),
        received_at: at(7),
    };
    store.insert_inbound_mail(&mail, at(8)).await.unwrap();
    store
        .add_mail_thread_id("2@example.com", request_id, at(7))
        .await
        .unwrap();
    store
        .advance_imap_cursor("tandem@mail:143/INBOX", 7, 42, at(7))
        .await
        .unwrap();

    use tandem_domain::publish::{DocKind, PublishTarget};
    let goal_id = store.list_goals(&q()).await.unwrap().items[0].id;
    assert!(
        store
            .enqueue_publication(PublishTarget::Notion, DocKind::Goal, goal_id, 1, at(60))
            .await
            .unwrap()
    );
    store
        .put_publish_mapping(
            PublishTarget::Notion,
            &format!("goal:{goal_id}"),
            &tandem_store::PublishMapping {
                remote_id: "page-1".into(),
                remote_version: 3,
                content_hash: "h1".into(),
            },
            at(61),
        )
        .await
        .unwrap();
    let archived = tandem_store::ArchivedReport {
        id: id(),
        team_id,
        week: "2026-W09".into(),
        title: "Payments, 2026-W09".into(),
        sent_at: at(62),
        report: serde_json::json!({"week": "2026-W09"}),
        markdown: "# Payments".into(),
        html: "<h1>Payments</h1>".into(),
        text: "Payments".into(),
        slack: serde_json::json!({"blocks": []}),
        object_prefix: None,
    };
    store.archive_report(&archived).await.unwrap();
    store
        .archive_upload_failed(team_id, "2026-W09", "S3 said 503", at(63))
        .await
        .unwrap();
    store
        .reports_archived(&[(archived.id, at(62))], "reports/2026-03.jsonl.gz")
        .await
        .unwrap();
}

fn assert_every_type(s: &DumpSummary) {
    let counts = [
        ("teams", s.teams),
        ("users", s.users),
        ("memberships", s.memberships),
        ("tokens", s.tokens),
        ("projects", s.projects),
        ("metrics", s.metrics),
        ("goals", s.goals),
        ("goal_versions", s.goal_versions),
        ("stages", s.stages),
        ("work_items", s.work_items),
        ("risks", s.risks),
        ("decisions", s.decisions),
        ("metric_points", s.metric_points),
    ];
    for (name, n) in counts {
        assert!(n > 0, "the dataset has no {name}");
    }
}

/// Engineering rows read back the same after each hop; what attribution
/// derives is recomputed, so the imported deployment waits for it.
async fn assert_engineering_moved(source: &Store, middle: &Store, back: &Store) {
    let deployed = source.get_deployment("api", "deploy-1").await.unwrap();
    assert_eq!(
        middle.get_deployment("api", "deploy-1").await.unwrap(),
        deployed
    );
    let deployed = deployed.unwrap();
    assert!(!middle.deployment_attributed(deployed.id).await.unwrap());
    assert_eq!(middle.attribute_pending().await.unwrap(), 1);
    assert!(middle.deployment_attributed(deployed.id).await.unwrap());
    for (a, b) in [(source, middle), (source, back)] {
        assert_eq!(
            a.get_commit("acme/checkout", &"c".repeat(40))
                .await
                .unwrap(),
            b.get_commit("acme/checkout", &"c".repeat(40))
                .await
                .unwrap()
        );
        assert_eq!(
            a.get_pipeline("github", "run-1").await.unwrap(),
            b.get_pipeline("github", "run-1").await.unwrap()
        );
        assert_eq!(
            a.get_incident("api", "inc-1").await.unwrap(),
            b.get_incident("api", "inc-1").await.unwrap()
        );
        let (ia, ib) = (
            a.find_incident_entry("inc-1").await.unwrap().unwrap(),
            b.find_incident_entry("inc-1").await.unwrap().unwrap(),
        );
        assert_eq!(ia, ib);
        assert_eq!(ib.acknowledged_at, Some(at(34)));
        assert_eq!(ib.acknowledged_by.as_deref(), Some("ops-lead"));
        let all = tandem_store::RawDeliveryFilter::default();
        let da = a.list_deliveries(&all).await.unwrap().items;
        let db = b.list_deliveries(&all).await.unwrap().items;
        assert_eq!(da, db);
        assert_eq!(da[0].body, b"{\"truncated\": \xff", "bytes kept exactly");
    }
}

fn assert_every_table(s: &DumpSummary) {
    for table in [
        "commits",
        "commit_parents",
        "commit_files",
        "git_refs",
        "import_cursors",
        "pull_requests",
        "pull_request_commits",
        "reviews",
        "deployments",
        "incidents",
        "pipelines",
        "deliveries",
        "webhook_secrets",
        "service_scopes",
        "report_drafts",
        "checks",
        "check_rollups",
        "alerts",
        "alert_attempts",
        "incident_notes",
        "business_updates",
        "kpi_sources",
        "inbound_mail",
        "mail_threads",
        "imap_cursors",
        "publications",
        "publish_mappings",
        "report_archive",
        "archive_uploads",
        "report_archive_lines",
    ] {
        assert!(
            s.rows.get(table).copied().unwrap_or_default() > 0,
            "the dataset has no {table}: {:?}",
            s.rows
        );
    }
}

async fn import(store: &Store, dump: &[u8]) -> Result<DumpSummary, StoreError> {
    store.import_dump(&mut Cursor::new(dump)).await
}

async fn populated(engine: EngineKind) -> (Store, tandem_testkit::TestDb, Vec<u8>) {
    let (store, db) = fresh_store(engine).await;
    populate(&store).await;
    let dump = export(&store).await;
    (store, db, dump)
}

/// The domain's demo organisation as dump lines (the way `tandem demo`
/// loads it), so it goes through the importer's validation.
fn demo_dump(today: chrono::NaiveDate) -> (tandem_demo::Demo, Vec<u8>) {
    let org = tandem_demo::organisation(today);
    let text = tandem_store::demo_dump(&org, "$argon2id$demo");
    (org, text.into_bytes())
}

/// Export A, import into B, export, import into A, export: three equal byte
/// strings. Returns what the exports held.
async fn round_trip(engine: EngineKind, source: &Store) -> DumpSummary {
    let mut first = Vec::new();
    let summary = source.export(&mut first).await.unwrap();
    assert_eq!(
        export(source).await,
        first,
        "exporting twice gives the same bytes"
    );

    let (middle, _db_b) = fresh_store(other(engine)).await;
    assert_eq!(import(&middle, &first).await.unwrap(), summary);
    let second = export(&middle).await;
    assert_same(&first, &second, "after the first hop");

    let (back, _db_c) = fresh_store(engine).await;
    assert_eq!(import(&back, &second).await.unwrap(), summary);
    let third = export(&back).await;
    assert_same(&first, &third, "after the round trip");

    summary
}

async fn demo_organisation_round_trips_between_engines(engine: EngineKind) {
    let today = date(2026, 11, 2);
    let (org, dump) = demo_dump(today);
    let (source, _db_a) = fresh_store(engine).await;
    let loaded = import(&source, &dump)
        .await
        .expect("the demo organisation loads");
    assert_eq!(loaded.teams as usize, org.teams.len());
    assert_eq!(loaded.work_items as usize, org.work_items.len());
    assert_eq!(loaded.goal_versions as usize, org.goal_versions.len());
    assert_eq!(loaded.metric_points as usize, org.points.len());

    // The demo has no tokens: add one so every type travels.
    let admin = &org.users[0].user;
    store_extras(&source, admin.id).await;

    let summary = round_trip(engine, &source).await;
    assert_every_type(&summary);

    // What the store reads back is what the domain generated.
    for g in &org.goals {
        assert_eq!(&source.get_goal(g.id).await.unwrap(), g);
    }
    for w in &org.work_items {
        assert_eq!(&source.get_work_item(w.id).await.unwrap(), w);
    }
    let mut versions = Vec::new();
    for g in &org.goals {
        versions.extend(source.list_goal_versions(g.id).await.unwrap());
    }
    let mut expected = org.goal_versions.clone();
    expected.sort_by_key(|v| (v.goal_id, v.version));
    versions.sort_by_key(|v| (v.goal_id, v.version));
    assert_eq!(versions, expected);
}

async fn store_extras(store: &Store, created_by: Uuid) {
    let t = token("demo-ci", Some(created_by));
    store.create_token(&t, "hash-demo-ci").await.unwrap();
}

async fn dump_round_trips_between_engines(engine: EngineKind) {
    let (source, _db_a, first) = populated(engine).await;
    let mut summary_out = Vec::new();
    let summary = source.export(&mut summary_out).await.unwrap();
    assert_eq!(summary_out, first, "exporting twice gives the same bytes");
    assert_every_type(&summary);
    assert_every_table(&summary);
    assert_eq!(summary.metric_points, 600);
    assert_eq!(summary.goal_versions, 2);
    let lines = String::from_utf8(first.clone()).unwrap().lines().count() as u64;
    assert_eq!(
        lines,
        summary.total() + 1,
        "one line per record plus the header"
    );

    // A → B
    let (middle, _db_b) = fresh_store(other(engine)).await;
    let imported = import(&middle, &first).await.unwrap();
    assert_eq!(imported, summary);
    let second = export(&middle).await;
    assert_same(&first, &second, "after the first hop");

    // B → A
    let (back, _db_c) = fresh_store(engine).await;
    assert_eq!(import(&back, &second).await.unwrap(), summary);
    let third = export(&back).await;
    assert_same(&first, &third, "after the round trip");
    assert_engineering_moved(&source, &middle, &back).await;

    // The operations read the imported data like the original.
    let goals = source.list_goals(&q()).await.unwrap();
    assert_eq!(middle.list_goals(&q()).await.unwrap(), goals);
    for g in &goals.items {
        assert_eq!(
            middle.list_goal_versions(g.id).await.unwrap(),
            source.list_goal_versions(g.id).await.unwrap()
        );
    }
    assert_eq!(
        middle.list_users().await.unwrap(),
        source.list_users().await.unwrap()
    );
    assert_eq!(
        middle.list_tokens().await.unwrap(),
        source.list_tokens().await.unwrap()
    );
    assert_eq!(
        middle.find_token("hash-ci").await.unwrap(),
        source.find_token("hash-ci").await.unwrap()
    );
    let (_, hash) = middle.find_user_by_username("ana").await.unwrap().unwrap();
    assert_eq!(hash, "$argon2id$v=19$m=19456,t=2,p=1$ana");
    let p95 = source.get_metric_by_key("users-p95").await.unwrap();
    assert_eq!(
        middle.list_points(p95.id, None, None, 1000).await.unwrap(),
        source.list_points(p95.id, None, None, 1000).await.unwrap()
    );
}

#[track_caller]
fn assert_same(expected: &[u8], got: &[u8], when: &str) {
    if expected != got {
        let e = String::from_utf8_lossy(expected);
        let g = String::from_utf8_lossy(got);
        for (i, (a, b)) in e.lines().zip(g.lines()).enumerate() {
            assert_eq!(a, b, "{when}: line {} differs", i + 1);
        }
        assert_eq!(
            e.lines().count(),
            g.lines().count(),
            "{when}: line counts differ"
        );
        panic!("{when}: exports differ");
    }
}

/// Replaces line `n` (1-based) of a dump.
fn with_line(dump: &[u8], n: usize, f: impl FnOnce(&str) -> String) -> Vec<u8> {
    let text = String::from_utf8(dump.to_vec()).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines[n - 1] = f(&lines[n - 1]);
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// The 1-based number of the first line whose record has this type.
fn line_of(dump: &[u8], record_type: &str) -> usize {
    let text = String::from_utf8(dump.to_vec()).unwrap();
    let needle = format!("{{\"type\":\"{record_type}\"");
    text.lines()
        .position(|l| l.starts_with(&needle))
        .expect("record type present")
        + 1
}

#[track_caller]
fn assert_dump_error<T: std::fmt::Debug>(
    result: Result<T, StoreError>,
    expected_line: usize,
    mentions: &str,
) {
    match result {
        Err(StoreError::Dump { line, message }) => {
            assert_eq!(
                line, expected_line,
                "the error names the bad line ({message})"
            );
            assert!(
                message.contains(mentions),
                "{message:?} should mention {mentions:?}"
            );
        }
        other => panic!("expected a dump error at line {expected_line}, got {other:?}"),
    }
}

async fn dump_with_invalid_json_loads_nothing(engine: EngineKind) {
    let (_source, _db_a, dump) = populated(engine).await;
    for target_engine in [engine, other(engine)] {
        let (target, _db) = fresh_store(target_engine).await;
        let bad = with_line(&dump, 5, |l| l[..l.len() / 2].to_owned());
        assert_dump_error(import(&target, &bad).await, 5, "");
        assert_empty(&target).await;

        // An unknown record type and a record of the wrong shape, late in the file.
        let last = String::from_utf8(dump.clone()).unwrap().lines().count();
        let bad = with_line(&dump, last, |_| {
            r#"{"type":"spaceship","data":{}}"#.to_owned()
        });
        assert_dump_error(import(&target, &bad).await, last, "spaceship");
        assert_empty(&target).await;
        let bad = with_line(&dump, 2, |_| {
            r#"{"type":"team","data":{"id":"not-a-uuid"}}"#.to_owned()
        });
        assert_dump_error(import(&target, &bad).await, 2, "");
        assert_empty(&target).await;

        // The intact dump still loads into the same database afterwards.
        import(&target, &dump).await.unwrap();
        assert_same(&dump, &export(&target).await, "after the failed attempts");
    }
}

async fn dump_with_invalid_goal_loads_nothing(engine: EngineKind) {
    let (_source, _db_a, dump) = populated(engine).await;
    let n = line_of(&dump, "goal");
    let bad = with_line(&dump, n, |l| {
        let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
        v["data"]["title"] = serde_json::json!("");
        v.to_string()
    });
    for target_engine in [engine, other(engine)] {
        let (target, _db) = fresh_store(target_engine).await;
        assert_dump_error(import(&target, &bad).await, n, "title");
        assert_empty(&target).await;
    }
}

async fn dump_with_missing_reference_loads_nothing(engine: EngineKind) {
    let (_source, _db_a, dump) = populated(engine).await;
    let cases = [
        ("work_item", "team_id"),
        ("work_item", "goal_id"),
        ("goal", "team_id"),
        ("membership", "user_id"),
        ("goal_version", "goal_id"),
        ("metric_point", "metric_id"),
    ];
    for (record_type, field) in cases {
        let n = line_of(&dump, record_type);
        let bad = with_line(&dump, n, |l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["data"][field] = serde_json::json!(Uuid::now_v7());
            v.to_string()
        });
        for target_engine in [engine, other(engine)] {
            let (target, _db) = fresh_store(target_engine).await;
            let result = import(&target, &bad).await;
            match result {
                Err(StoreError::Dump { line, .. }) => {
                    assert_eq!(
                        line, n,
                        "{record_type}.{field} on {target_engine:?}: names the line"
                    )
                }
                other => panic!(
                    "{record_type}.{field} on {target_engine:?}: expected a dump error at line {n}, got {other:?}"
                ),
            }
            assert_empty(&target).await;
        }
    }
}

async fn dump_with_bad_header_loads_nothing(engine: EngineKind) {
    let (_source, _db_a, dump) = populated(engine).await;
    let (target, _db) = fresh_store(engine).await;
    assert_dump_error(import(&target, b"").await, 1, "empty");
    let bad = with_line(&dump, 1, |_| {
        r#"{"format":"tandem-dump","version":99}"#.to_owned()
    });
    assert_dump_error(import(&target, &bad).await, 1, "99");
    let bad = with_line(&dump, 1, |_| "hello".to_owned());
    assert_dump_error(import(&target, &bad).await, 1, "header");
    assert_empty(&target).await;

    // A header alone is an empty dump; blank lines are skipped.
    let header = String::from_utf8(dump.clone())
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let summary = import(&target, format!("{header}\n\n").as_bytes())
        .await
        .unwrap();
    assert_eq!(summary.total(), 0);
    assert_empty(&target).await;
}

async fn dump_imported_twice_keeps_the_first(engine: EngineKind) {
    let (_source, _db_a, dump) = populated(engine).await;
    for target_engine in [engine, other(engine)] {
        let (target, _db) = fresh_store(target_engine).await;
        import(&target, &dump).await.unwrap();
        let after_first = export(&target).await;
        assert_same(&dump, &after_first, "after the first import");

        // The first record (a team) already exists: line 2 is refused.
        assert_dump_error(import(&target, &dump).await, 2, "already exists");
        assert_same(
            &dump,
            &export(&target).await,
            "after the refused second import",
        );
        target.ping().await.unwrap();
    }
}

/// The generic events table is gone (migration 0011); a dump written before
/// that still loads, its `event` lines skipped and counted nowhere.
async fn dump_with_removed_event_lines_loads(engine: EngineKind) {
    let (_source, _db_a, dump) = populated(engine).await;
    let text = String::from_utf8(dump.clone()).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let event = r#"{"type":"event","data":{"external_id":"d-1","id":"0190a0b0-0000-7000-8000-000000000001","kind":"deployment","occurred_at":"2024-01-01T00:00:00Z","payload":{"a":1},"received_at":"2024-01-01T00:00:00.000007Z","source":"github"}}"#;
    lines.insert(lines.len(), event);
    lines.insert(2, event);
    let mut old = lines.join("\n");
    old.push('\n');
    for target_engine in [engine, other(engine)] {
        let (target, _db) = fresh_store(target_engine).await;
        let with_events = import(&target, old.as_bytes()).await.unwrap();
        let (plain, _db2) = fresh_store(target_engine).await;
        assert_eq!(with_events, import(&plain, &dump).await.unwrap());
        assert_same(&dump, &export(&target).await, "after skipping event lines");
    }
}

/// Every table of the schema is either carried by a dump or named in
/// `NOT_DUMPED` with its reason, and no name is in both or stale: a new
/// table cannot be left out of backups by accident.
async fn every_table_is_dumped_or_named_as_left_out(engine: EngineKind) {
    let (store, _db) = fresh_store(engine).await;
    let schema = store.schema_tables().await.unwrap();
    let dumped = tandem_store::dumped_tables();
    let left_out: Vec<&str> = tandem_store::NOT_DUMPED.iter().map(|(t, _)| *t).collect();
    let unaccounted: Vec<&String> = schema
        .iter()
        .filter(|t| !dumped.contains(&t.as_str()) && !left_out.contains(&t.as_str()))
        .collect();
    assert!(
        unaccounted.is_empty(),
        "tables neither dumped nor in NOT_DUMPED: {unaccounted:?}"
    );
    for t in dumped.iter().chain(&left_out) {
        assert!(
            schema.iter().any(|s| s == t),
            "{t} is named by the dump but is not in the schema"
        );
    }
    for t in &dumped {
        assert!(!left_out.contains(t), "{t} is both dumped and left out");
    }
    for (t, why) in tandem_store::NOT_DUMPED {
        assert!(!why.is_empty(), "{t} is left out without a reason");
    }
}
