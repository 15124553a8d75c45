//! GitLab REST objects (tests/fixtures/gitlab_rest_*.json, shaped as the
//! REST API v4 documentation shows them) through the mappers the backfill
//! importer uses: merge requests (squash merge), their commits, notes
//! (review comments and approval system notes) and approval state,
//! deployments, pipelines with coverage, incident and bug issues.

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;
use tandem_domain::engineering::{DeploymentStatus, PipelineStatus, PrState, Record, ReviewState};
use tandem_domain::webhook::gitlab::{self, Approval};
use tandem_domain::webhook::{Context, Labels};
use tandem_domain::work_item::{WorkKind, WorkState};
use uuid::Uuid;

const REPO: &str = "acme/billing/payments";
const HEAD: &str = "3b5d7f9a1c3e5f7b9d1a3c5e7f9b1d3a5c7e9f1b";
const SQUASH: &str = "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432";

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/gitlab_rest_{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn ctx(labels: &Labels) -> Context<'_> {
    Context {
        project_id: Uuid::from_u128(7),
        team_id: Uuid::from_u128(3),
        received_at: Utc.with_ymd_and_hms(2026, 3, 5, 12, 0, 0).unwrap(),
        labels,
        scoped_service: Some("payments"),
        release_environment: "production",
        new_id: Uuid::now_v7,
    }
}

#[test]
fn squash_merged_merge_request() {
    let mr = fixture("merge_request_squashed");
    let pr = gitlab::merge_request(&mr, REPO).unwrap();
    assert_eq!(pr.repo, REPO);
    assert_eq!(pr.number, 7, "the iid, not the global id");
    assert_eq!(pr.source, "gitlab");
    assert_eq!(pr.state, PrState::Merged);
    assert!(!pr.draft);
    assert_eq!(pr.base_branch, "main");
    assert_eq!(pr.head_sha.as_deref(), Some(HEAD));
    assert_eq!(
        pr.merge_commit_sha.as_deref(),
        Some(SQUASH),
        "no merge commit: the squash commit is what reached main"
    );
    assert_eq!(pr.created_at, utc("2026-03-02T09:00:00Z"));
    assert_eq!(pr.merged_at, Some(utc("2026-03-03T15:20:11.512Z")));
    assert_eq!(pr.closed_at, pr.merged_at);
    assert_eq!(pr.updated_at, utc("2026-03-03T15:20:12.004Z"));
    assert_eq!(
        pr.ready_at, None,
        "REST does not say when a draft became ready"
    );
    assert_eq!(gitlab::merge_request_author(&mr).unwrap(), Some(11));
}

#[test]
fn merge_request_commits_keep_their_authored_times() {
    let list = fixture("merge_request_commits");
    let commits: Vec<_> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| gitlab::merge_request_commit(c).unwrap())
        .collect();
    assert_eq!(commits.len(), 2);
    assert_eq!(commits[0].sha, "2a4c6e8f0b1d3f5a7c9e1b3d5f7a9c1e3b5d7f9a");
    assert_eq!(commits[0].authored_at, utc("2026-03-01T16:45:00Z"));
    assert_eq!(commits[1].sha, HEAD, "lower-cased");

    let mut broken = list[0].clone();
    broken["authored_date"] = Value::Null;
    let err = gitlab::merge_request_commit(&broken).unwrap_err();
    assert_eq!(err.field, "authored_date");
}

#[test]
fn notes_give_review_comments_and_approvals() {
    let notes = fixture("merge_request_notes");
    let author = Some(11);
    let mut comments = Vec::new();
    let mut approvals = Vec::new();
    for n in notes.as_array().unwrap() {
        if let Some(r) = gitlab::note(n, author).unwrap() {
            comments.push(r);
        }
        if let Some(r) = gitlab::approval_note(n, author).unwrap() {
            approvals.push(r);
        }
    }
    // The reviewer's diff note only: not the author's reply, not system notes.
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(comments[0].review_id, "note:5002");
    assert_eq!(comments[0].state, ReviewState::Commented);
    assert_eq!(comments[0].submitted_at, utc("2026-03-02T13:30:00Z"));
    // Grace's approval; not the author's own, not an unapproval.
    assert_eq!(approvals.len(), 1, "{approvals:?}");
    assert_eq!(
        approvals[0].review_id, "approval:12",
        "the hook's review id"
    );
    assert_eq!(approvals[0].state, ReviewState::Approved);
    assert_eq!(approvals[0].submitted_at, utc("2026-03-03T10:15:00Z"));
}

#[test]
fn approval_state_lists_approvers_with_times_when_sent() {
    let state = fixture("merge_request_approvals");
    let list = gitlab::approvals(&state, Some(11)).unwrap();
    assert_eq!(
        list,
        vec![
            Approval {
                user_id: 12,
                approved_at: None
            },
            Approval {
                user_id: 14,
                approved_at: Some(utc("2026-03-03T12:00:00Z"))
            },
        ],
        "the author's self-approval is left out"
    );
    let mut broken = state.clone();
    broken["approved_by"][1]["user"] = Value::Null;
    let err = gitlab::approvals(&broken, Some(11)).unwrap_err();
    assert_eq!(err.field, "approved_by[1].user.id");
}

#[test]
fn failed_deployment_from_rest() {
    let labels = Labels::default();
    let d = gitlab::deployment(&fixture("deployment_failed"), REPO, &ctx(&labels)).unwrap();
    assert_eq!(d.source, "gitlab");
    assert_eq!(d.external_id, "4102");
    assert_eq!(d.status, DeploymentStatus::Failure);
    assert_eq!(d.environment, "production");
    assert_eq!(d.service, "payments");
    assert_eq!(d.sha.as_deref(), Some(SQUASH));
    assert_eq!(d.started_at, utc("2026-03-03T15:40:00Z"));
    assert_eq!(
        d.finished_at,
        Some(utc("2026-03-03T15:52:20Z")),
        "the deploy job's finish"
    );
}

#[test]
fn pipeline_detail_with_coverage() {
    let p = gitlab::pipeline(&fixture("pipeline"), REPO).unwrap();
    assert_eq!(p.external_id, "90310");
    assert_eq!(p.status, PipelineStatus::Success);
    assert_eq!(p.coverage, Some(81.5));
    assert_eq!(p.sha.as_deref(), Some(SQUASH));
    assert_eq!(p.branch.as_deref(), Some("main"));
    assert_eq!(p.started_at, utc("2026-03-03T15:20:35Z"));
    assert_eq!(p.finished_at, Some(utc("2026-03-03T15:31:00Z")));
}

#[test]
fn incident_and_bug_issues() {
    let labels = Labels::default();
    let records = gitlab::issue(&fixture("issue_incident"), REPO, &ctx(&labels)).unwrap();
    let [Record::Incident(inc)] = &records[..] else {
        panic!("expected one incident, got {records:?}");
    };
    assert_eq!(inc.external_id, "acme/billing/payments#31");
    assert_eq!(inc.severity, "high");
    assert_eq!(inc.opened_at, utc("2026-03-03T16:05:00Z"));
    assert_eq!(inc.resolved_at, Some(utc("2026-03-03T18:35:00Z")));
    assert_eq!(inc.service.as_deref(), Some("payments"));

    let records = gitlab::issue(&fixture("issue_bug"), REPO, &ctx(&labels)).unwrap();
    let [Record::WorkItem(bug)] = &records[..] else {
        panic!("expected one bug, got {records:?}");
    };
    assert_eq!(bug.kind, WorkKind::Bug);
    assert_eq!(bug.state, WorkState::Todo);
    assert_eq!(
        bug.external_key.as_deref(),
        Some("acme/billing/payments#32")
    );
}
