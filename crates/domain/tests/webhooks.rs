//! Webhook mappers over real-format payloads (tests/fixtures/{github,gitlab}),
//! shaped as GitHub's and GitLab's webhook documentation shows them.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use tandem_domain::engineering::{
    Deployment, DeploymentStatus, Incident, Pipeline, PipelineStatus, PrState, PullRequest, Record,
    ReviewState,
};
use tandem_domain::git::CommitSource;
use tandem_domain::webhook::{Context, Labels, Mapped, github, gitlab};
use tandem_domain::work_item::{WorkKind, WorkState};
use uuid::Uuid;

const HEAD: &str = "3b5d7f9a1c3e5f7b9d1a3c5e7f9b1d3a5c7e9f1b";
const C2: &str = "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a";

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn received() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap()
}

fn project() -> Uuid {
    Uuid::from_u128(7)
}

fn ctx(labels: &Labels) -> Context<'_> {
    Context {
        project_id: project(),
        team_id: Uuid::from_u128(3),
        received_at: received(),
        labels,
        scoped_service: None,
        release_environment: "production",
        new_id: Uuid::now_v7,
    }
}

fn gh(event: &str, name: &str) -> Mapped {
    let labels = Labels::default();
    github::map(event, &fixture(&format!("github/{name}")), &ctx(&labels))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn gl(event: &str, name: &str) -> Mapped {
    let labels = Labels::default();
    gitlab::map(event, &fixture(&format!("gitlab/{name}")), &ctx(&labels))
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn one_pr(m: &Mapped) -> &PullRequest {
    match &m.records[..] {
        [Record::PullRequest(pr), ..] => pr,
        other => panic!("expected a pull request, got {other:?}"),
    }
}

fn one_deployment(m: &Mapped) -> &Deployment {
    match &m.records[..] {
        [Record::Deployment(d)] => d,
        other => panic!("expected a deployment, got {other:?}"),
    }
}

fn one_pipeline(m: &Mapped) -> &Pipeline {
    match &m.records[..] {
        [Record::Pipeline(p)] => p,
        other => panic!("expected a pipeline, got {other:?}"),
    }
}

fn one_incident(m: &Mapped) -> &Incident {
    match &m.records[..] {
        [Record::Incident(i)] => i,
        other => panic!("expected an incident, got {other:?}"),
    }
}

#[test]
fn github_push_carries_commits_and_the_branch() {
    let m = gh("push", "push");
    assert_eq!(m.ignored, None);
    assert_eq!(m.commits.len(), 3);
    let first = &m.commits[0];
    assert_eq!(first.repo, "acme/payments");
    assert_eq!(first.sha, "1f3a8c2e9b7d4f6a0c5e8b1d2f4a6c8e0b2d4f6a");
    assert_eq!(first.subject, "Cache the user list");
    assert_eq!(first.author_email, "ada@acme.example");
    assert_eq!(first.authored_at, utc("2026-03-02T09:05:11Z"));
    assert_eq!(first.author_offset, 60);
    assert_eq!(first.source, CommitSource::Github);
    assert!(first.parents.is_empty());
    assert_eq!(first.additions, None);
    for c in &m.commits {
        c.validate().unwrap();
    }
    assert_eq!(m.refs.len(), 1);
    assert_eq!(m.refs[0].name, "refs/heads/main");
    assert_eq!(m.refs[0].sha, HEAD);
    assert_eq!(m.refs[0].updated_at, received());
    assert_eq!(m.summary(), "3 commits, 1 ref");
}

#[test]
fn github_pull_request_lifecycle() {
    let opened = gh("pull_request", "pull_request_opened");
    let pr = one_pr(&opened);
    assert_eq!((pr.repo.as_str(), pr.number), ("acme/payments", 12));
    assert_eq!(pr.state, PrState::Open);
    assert_eq!(pr.ready_at, Some(utc("2026-03-01T14:00:00Z")));
    assert_eq!(pr.head_sha.as_deref(), Some(C2));
    // GitHub's test merge commit of an open pull request is not kept.
    assert_eq!(pr.merge_commit_sha, None);
    assert_eq!(pr.base_branch, "main");
    pr.validate().unwrap();

    let draft = gh("pull_request", "pull_request_opened_draft");
    assert!(one_pr(&draft).draft);
    assert_eq!(one_pr(&draft).ready_at, None);
    let ready = gh("pull_request", "pull_request_ready_for_review");
    assert_eq!(one_pr(&ready).ready_at, Some(utc("2026-03-01T14:30:00Z")));

    let merged = gh("pull_request", "pull_request_closed_merged");
    let pr = one_pr(&merged);
    assert_eq!(pr.state, PrState::Merged);
    assert_eq!(pr.merged_at, Some(utc("2026-03-02T09:12:00Z")));
    assert_eq!(pr.merge_commit_sha.as_deref(), Some(HEAD));
    pr.validate().unwrap();

    // Folding them in any order gives the merged pull request, ready at
    // the time it left draft.
    let all = [
        one_pr(&merged).clone(),
        one_pr(&ready).clone(),
        one_pr(&draft).clone(),
    ];
    let folded = all[1..].iter().fold(all[0].clone(), |acc, p| acc.merge(p));
    assert_eq!(folded.state, PrState::Merged);
    assert_eq!(folded.ready_at, Some(utc("2026-03-01T14:30:00Z")));
}

#[test]
fn github_review_by_someone_else_counts() {
    let m = gh("pull_request_review", "pull_request_review_submitted");
    assert_eq!(m.records.len(), 2);
    match &m.records[1] {
        Record::Review {
            repo,
            number,
            review,
        } => {
            assert_eq!((repo.as_str(), *number), ("acme/payments", 12));
            assert_eq!(review.review_id, "1887766554");
            assert_eq!(review.state, ReviewState::Approved);
            assert_eq!(review.submitted_at, utc("2026-03-01T16:20:00Z"));
        }
        other => panic!("expected a review, got {other:?}"),
    }
    // The same review written by the pull request's author is not one.
    let mut payload = fixture("github/pull_request_review_submitted");
    payload["review"]["user"]["id"] = payload["pull_request"]["user"]["id"].clone();
    let labels = Labels::default();
    let m = github::map("pull_request_review", &payload, &ctx(&labels)).unwrap();
    assert_eq!(m.records.len(), 1);
    // REST reviews write states in capitals.
    let rest = serde_json::json!({"id": 5, "state": "CHANGES_REQUESTED", "submitted_at": "2026-03-01T10:00:00Z"});
    assert_eq!(
        github::review(&rest).unwrap().unwrap().state,
        ReviewState::ChangesRequested
    );
    let pending = serde_json::json!({"id": 6, "state": "PENDING"});
    assert_eq!(github::review(&pending).unwrap(), None);
}

#[test]
fn github_deployment_then_its_status() {
    let created = gh("deployment", "deployment");
    let d = one_deployment(&created);
    assert_eq!(d.external_id, "987654321");
    assert_eq!(d.status, DeploymentStatus::InProgress);
    assert_eq!(d.environment, "production");
    assert_eq!(d.service, "payments");
    assert_eq!(d.sha.as_deref(), Some(HEAD));
    assert_eq!(d.project_id, project());
    assert_eq!(d.started_at, utc("2026-03-02T09:20:00Z"));
    assert!(!d.is_rollback);
    d.validate().unwrap();

    let done = gh("deployment_status", "deployment_status_success");
    let s = one_deployment(&done);
    assert_eq!(s.status, DeploymentStatus::Success);
    assert_eq!(s.finished_at, Some(utc("2026-03-02T09:26:30Z")));
    let folded = d.merge(s);
    assert_eq!(folded.status, DeploymentStatus::Success);
    assert_eq!(folded.id, d.id);

    // A scoped service wins over the repository's name.
    let labels = Labels::default();
    let scoped = Context {
        scoped_service: Some("checkout-api"),
        ..ctx(&labels)
    };
    let m = github::map("deployment", &fixture("github/deployment"), &scoped).unwrap();
    assert_eq!(one_deployment(&m).service, "checkout-api");

    // Inactive only says a newer deployment took over.
    let mut payload = fixture("github/deployment_status_success");
    payload["deployment_status"]["state"] = "inactive".into();
    let m = github::map("deployment_status", &payload, &ctx(&labels)).unwrap();
    assert!(m.records.is_empty());
    assert!(m.ignored.is_some());
    // Rollbacks are marked.
    let mut payload = fixture("github/deployment");
    payload["deployment"]["task"] = "deploy:rollback".into();
    let m = github::map("deployment", &payload, &ctx(&labels)).unwrap();
    assert!(one_deployment(&m).is_rollback);
}

#[test]
fn github_workflow_run_is_a_pipeline() {
    let m = gh("workflow_run", "workflow_run_completed");
    let p = one_pipeline(&m);
    assert_eq!(p.external_id, "30433642");
    assert_eq!(p.status, PipelineStatus::Success);
    assert_eq!(p.branch.as_deref(), Some("main"));
    assert_eq!(p.finished_at, Some(utc("2026-03-02T09:18:44Z")));
    assert_eq!(p.coverage, None);
}

#[test]
fn github_issues_by_label() {
    let opened = gh("issues", "issues_opened_incident");
    let i = one_incident(&opened);
    assert_eq!(i.external_id, "acme/payments#31");
    assert_eq!(i.severity, "sev1");
    assert_eq!(i.service.as_deref(), Some("payments"));
    assert_eq!(i.opened_at, utc("2026-03-02T10:00:00Z"));
    assert_eq!(i.resolved_at, None);
    let closed = gh("issues", "issues_closed_incident");
    assert_eq!(
        one_incident(&closed).resolved_at,
        Some(utc("2026-03-02T11:30:00Z"))
    );

    let bug = gh("issues", "issues_closed_bug");
    match &bug.records[..] {
        [Record::WorkItem(w)] => {
            assert_eq!(w.kind, WorkKind::Bug);
            assert_eq!(w.state, WorkState::Done);
            assert_eq!(w.external_key.as_deref(), Some("acme/payments#32"));
            assert_eq!(w.done_at, Some(utc("2026-03-01T17:00:00Z")));
            assert_eq!(w.project_id, Some(project()));
            w.validate().unwrap();
        }
        other => panic!("expected a bug, got {other:?}"),
    }
    let plain = gh("issues", "issues_opened_plain");
    assert!(plain.records.is_empty());
    assert!(plain.summary().starts_with("ignored:"));

    // Labels are configurable.
    let labels = Labels {
        incident: "outage".into(),
        bug: "documentation".into(),
    };
    let m = github::map(
        "issues",
        &fixture("github/issues_opened_plain"),
        &ctx(&labels),
    )
    .unwrap();
    assert!(matches!(&m.records[..], [Record::WorkItem(_)]));
    let m = github::map(
        "issues",
        &fixture("github/issues_opened_incident"),
        &ctx(&labels),
    )
    .unwrap();
    assert!(m.records.is_empty());
}

#[test]
fn github_release_is_a_deployment() {
    let m = gh("release", "release_published");
    let d = one_deployment(&m);
    assert_eq!(d.external_id, "release:150000001");
    assert_eq!(d.environment, "production");
    assert_eq!(d.status, DeploymentStatus::Success);
    assert_eq!(d.sha.as_deref(), Some(HEAD));
    assert_eq!(d.finished_at, Some(utc("2026-03-02T09:40:00Z")));
}

#[test]
fn github_other_events_are_ignored_and_bad_payloads_name_the_field() {
    assert!(gh("ping", "ping").ignored.is_some());
    assert!(gh("star", "ping").ignored.is_some());
    let labels = Labels::default();
    let mut payload = fixture("github/pull_request_opened");
    payload["pull_request"]
        .as_object_mut()
        .unwrap()
        .remove("created_at");
    let err = github::map("pull_request", &payload, &ctx(&labels)).unwrap_err();
    assert_eq!(err.field, "pull_request.created_at");
    assert_eq!(err.message, "is missing");
    let mut payload = fixture("github/push");
    payload["commits"][1]["timestamp"] = "last tuesday".into();
    let err = github::map("push", &payload, &ctx(&labels)).unwrap_err();
    assert_eq!(err.field, "commits[1].timestamp");
    let err = github::map("push", &Value::Array(vec![]), &ctx(&labels)).unwrap_err();
    assert_eq!(err.field, "body");
    assert_eq!(
        github::repository(&fixture("github/push")),
        Some("acme/payments")
    );
}

#[test]
fn gitlab_push() {
    let m = gl("Push Hook", "push");
    assert_eq!(m.commits.len(), 2);
    assert_eq!(m.commits[0].sha, C2);
    assert_eq!(m.commits[0].source, CommitSource::Gitlab);
    assert_eq!(
        m.commits[1].subject,
        "Merge branch 'cache-users' into 'main'"
    );
    assert_eq!(m.refs[0].sha, HEAD);
    assert_eq!(
        gitlab::repository(&fixture("gitlab/push")),
        Some("acme/payments")
    );
}

#[test]
fn gitlab_merge_request_lifecycle_with_approval() {
    let draft = gl("Merge Request Hook", "merge_request_open_draft");
    let pr = one_pr(&draft);
    assert!(pr.draft);
    assert_eq!(pr.ready_at, None);
    assert_eq!(pr.number, 12);
    assert_eq!(pr.head_sha.as_deref(), Some(C2));

    let ready = gl("Merge Request Hook", "merge_request_ready");
    assert_eq!(one_pr(&ready).ready_at, Some(utc("2026-03-01T14:30:00Z")));
    assert!(!one_pr(&ready).draft);

    let approved = gl("Merge Request Hook", "merge_request_approved");
    match &approved.records[..] {
        [Record::PullRequest(_), Record::Review { review, .. }] => {
            assert_eq!(review.state, ReviewState::Approved);
            assert_eq!(review.review_id, "approval:52");
            assert_eq!(review.submitted_at, utc("2026-03-01T16:20:00Z"));
        }
        other => panic!("expected a pull request and an approval, got {other:?}"),
    }

    let merged = gl("Merge Request Hook", "merge_request_merged");
    let pr = one_pr(&merged);
    assert_eq!(pr.state, PrState::Merged);
    assert_eq!(pr.merged_at, Some(utc("2026-03-02T09:12:00Z")));
    assert_eq!(pr.merge_commit_sha.as_deref(), Some(HEAD));
    pr.validate().unwrap();
}

#[test]
fn gitlab_notes_on_merge_requests_are_review_comments() {
    let m = gl("Note Hook", "note_merge_request");
    match &m.records[..] {
        [
            Record::PullRequest(pr),
            Record::Review { review, number, .. },
        ] => {
            assert_eq!(pr.number, 12);
            assert_eq!(*number, 12);
            assert_eq!(review.state, ReviewState::Commented);
            assert_eq!(review.review_id, "note:90001");
            assert_eq!(review.submitted_at, utc("2026-03-01T15:10:00Z"));
        }
        other => panic!("expected a pull request and a comment, got {other:?}"),
    }
    // The author's own note is not a review.
    let m = gl("Note Hook", "note_by_author");
    assert_eq!(m.records.len(), 1);
    // Notes on issues are ignored.
    let mut payload = fixture("gitlab/note_merge_request");
    payload["object_attributes"]["noteable_type"] = "Issue".into();
    let labels = Labels::default();
    let m = gitlab::map("Note Hook", &payload, &ctx(&labels)).unwrap();
    assert!(m.ignored.is_some());
}

#[test]
fn gitlab_pipeline_with_coverage() {
    let m = gl("Pipeline Hook", "pipeline_success");
    let p = one_pipeline(&m);
    assert_eq!(p.external_id, "4411");
    assert_eq!(p.status, PipelineStatus::Success);
    assert_eq!(p.coverage, Some(81.5));
    assert_eq!(p.started_at, utc("2026-03-02T09:12:05Z"));
    assert_eq!(p.finished_at, Some(utc("2026-03-02T09:18:44Z")));
    p.validate().unwrap();
}

#[test]
fn gitlab_deployment_running_then_success() {
    let running = gl("Deployment Hook", "deployment_running");
    let r = one_deployment(&running);
    assert_eq!(r.status, DeploymentStatus::InProgress);
    assert_eq!(r.external_id, "1501");
    assert_eq!(r.sha.as_deref(), Some(HEAD));
    assert_eq!(r.started_at, utc("2026-03-02T09:20:00Z"));
    let success = gl("Deployment Hook", "deployment_success");
    let s = one_deployment(&success);
    assert_eq!(s.finished_at, Some(utc("2026-03-02T09:26:30Z")));
    let folded = r.merge(s);
    assert_eq!(folded.status, DeploymentStatus::Success);
    assert_eq!(folded.started_at, utc("2026-03-02T09:20:00Z"));
    assert_eq!(folded.finished_at, Some(utc("2026-03-02T09:26:30Z")));
    // The REST shape nests the environment.
    let labels = Labels::default();
    let rest = serde_json::json!({
        "id": 1501, "iid": 7, "ref": "main", "sha": HEAD, "status": "success",
        "created_at": "2026-03-02T09:20:00.000Z", "updated_at": "2026-03-02T09:26:30.000Z",
        "environment": {"id": 9, "name": "Production", "tier": "production"},
        "deployable": {"finished_at": "2026-03-02T09:26:00.000Z"}
    });
    let d = gitlab::deployment(&rest, "acme/payments", &ctx(&labels)).unwrap();
    assert_eq!(d.environment, "production");
    assert_eq!(d.finished_at, Some(utc("2026-03-02T09:26:00Z")));
}

#[test]
fn gitlab_issues_incidents_and_bugs() {
    let opened = gl("Issue Hook", "issue_incident_opened");
    let i = one_incident(&opened);
    assert_eq!(i.external_id, "acme/payments#41");
    assert_eq!(i.severity, "critical");
    let closed = gl("Issue Hook", "issue_incident_closed");
    assert_eq!(
        one_incident(&closed).resolved_at,
        Some(utc("2026-03-02T11:30:00Z"))
    );
    let bug = gl("Issue Hook", "issue_bug_opened");
    match &bug.records[..] {
        [Record::WorkItem(w)] => {
            assert_eq!(w.kind, WorkKind::Bug);
            assert_eq!(w.state, WorkState::Todo);
            assert_eq!(w.source, "gitlab");
        }
        other => panic!("expected a bug, got {other:?}"),
    }
}

#[test]
fn gitlab_release_and_unknown_events() {
    let m = gl("Release Hook", "release_create");
    let d = one_deployment(&m);
    assert_eq!(d.external_id, "release:acme/payments:v1.4.0");
    assert_eq!(d.sha.as_deref(), Some(HEAD));
    assert!(gl("Wiki Page Hook", "push").ignored.is_some());
    let labels = Labels::default();
    let mut payload = fixture("gitlab/pipeline_success");
    payload["object_attributes"]["status"] = "exploded".into();
    let err = gitlab::map("Pipeline Hook", &payload, &ctx(&labels)).unwrap_err();
    assert_eq!(err.field, "object_attributes.status");
}

/// Issue 18, defect 6: control and bidi-override characters written on
/// GitHub or GitLab do not make a delivery invalid (the record is real) but
/// are stored as U+FFFD, so nothing Tandem prints can drive a terminal.
#[test]
fn control_and_bidi_characters_in_payloads_are_cleaned_not_refused() {
    let labels = Labels::default();
    let mut payload = fixture("github/pull_request_opened");
    payload["pull_request"]["title"] = Value::from("Fix\u{7}\u{1b}[31m red \u{202e}txt.exe");
    payload["pull_request"]["base"]["ref"] = Value::from("main\u{1b}]0;x\u{7}");
    let mapped = github::map("pull_request", &payload, &ctx(&labels)).unwrap();
    let pr = one_pr(&mapped);
    assert_eq!(pr.title, "Fix\u{fffd}\u{fffd}[31m red \u{fffd}txt.exe");
    assert_eq!(pr.base_branch, "main\u{fffd}]0;x\u{fffd}");
    pr.validate().unwrap();

    let mut payload = fixture("gitlab/merge_request_ready");
    payload["object_attributes"]["title"] = Value::from("a\u{9b}b\u{2066}");
    let mapped = gitlab::map("Merge Request Hook", &payload, &ctx(&labels)).unwrap();
    assert_eq!(one_pr(&mapped).title, "a\u{fffd}b\u{fffd}");
}
