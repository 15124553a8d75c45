//! GitLab webhook events (`X-Gitlab-Event`) and REST objects.
//!
//! Events used: `Push Hook`, `Merge Request Hook` (approvals included),
//! `Note Hook` on merge requests, `Pipeline Hook`, `Deployment Hook`,
//! `Issue Hook`, `Release Hook`; every other event is acknowledged and
//! ignored. The object mappers ([`merge_request`], [`note`], [`pipeline`],
//! [`deployment`], [`issue`], [`release`]) accept the webhook shapes and the
//! REST API's (`GET /projects/:id/merge_requests`, `…/deployments`, ...),
//! which differ in places (REST deployments nest the environment, REST
//! issues list labels as strings).

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::github::{TrackedIssue, pushed, tracked_issue};
use super::{At, Context, MapResult, Mapped, PayloadError};
use crate::engineering::{
    Deployment, DeploymentStatus, Pipeline, PipelineStatus, PrCommit, PrState, PullRequest, Record,
    Review, ReviewState,
};
use crate::git::CommitSource;

pub const SOURCE: &str = "gitlab";

/// The repository a payload is about (`project.path_with_namespace`).
pub fn repository(payload: &Value) -> Option<&str> {
    payload.get("project")?.get("path_with_namespace")?.as_str()
}

/// Maps one event's payload (`X-Gitlab-Event`); what it returns passes
/// storage's validation ([`Mapped::validated`]).
pub fn map(event: &str, payload: &Value, ctx: &Context<'_>) -> MapResult<Mapped> {
    let payload = super::clean_payload(payload);
    map_event(event, &payload, ctx)?.validated()
}

fn map_event(event: &str, payload: &Value, ctx: &Context<'_>) -> MapResult<Mapped> {
    let root = At::root(payload);
    root.object()?;
    match event {
        "Push Hook" => push(&root, ctx),
        "Merge Request Hook" => merge_request_event(&root),
        "Note Hook" => note_event(&root),
        "Pipeline Hook" => {
            let repo = repo_of(&root)?;
            let p = pipeline_at(&root.get("object_attributes"), &repo)?;
            Ok(Mapped::records(vec![Record::Pipeline(p)]))
        }
        "Deployment Hook" => {
            let repo = repo_of(&root)?;
            let d = deployment_at(&root, &repo, ctx)?;
            Ok(Mapped::records(vec![Record::Deployment(d)]))
        }
        "Issue Hook" => {
            let repo = repo_of(&root)?;
            let attrs = root.get("object_attributes");
            // The hook lists labels at the top level too; prefer those.
            let top_labels = root.get("labels");
            let records = issue_at(&attrs, Some(&top_labels), &repo, ctx)?;
            if records.is_empty() {
                Ok(Mapped::ignored(format!(
                    "the issue is not an incident and has neither the {:?} nor the {:?} label",
                    ctx.labels.incident, ctx.labels.bug
                )))
            } else {
                Ok(Mapped::records(records))
            }
        }
        "Release Hook" => {
            let action = root.get("action").opt_str()?.unwrap_or("create");
            if action == "delete" {
                return Ok(Mapped::ignored(
                    "a deleted release does not undo a deployment",
                ));
            }
            let repo = repo_of(&root)?;
            let d = release_at(&root, &repo, ctx)?;
            Ok(Mapped::records(vec![Record::Deployment(d)]))
        }
        other => Ok(Mapped::ignored(format!(
            "the {other:?} event carries nothing Tandem uses"
        ))),
    }
}

fn repo_of(root: &At<'_>) -> MapResult<String> {
    Ok(root
        .get("project")
        .get("path_with_namespace")
        .str()?
        .to_owned())
}

fn push(root: &At<'_>, ctx: &Context<'_>) -> MapResult<Mapped> {
    let repo = repo_of(root)?;
    let name = root.get("ref").str()?.to_owned();
    let after = root.get("after").sha()?;
    if after.bytes().all(|b| b == b'0') {
        return Ok(Mapped::ignored(format!("{name} was deleted")));
    }
    pushed(root, repo, name, after, CommitSource::Gitlab, ctx)
}

fn merge_request_event(root: &At<'_>) -> MapResult<Mapped> {
    let repo = repo_of(root)?;
    let attrs = root.get("object_attributes");
    let action = attrs.get("action").opt_str()?.unwrap_or("");
    let mut mr = merge_request_at(&attrs, &repo)?;
    match action {
        "open" if !mr.draft => mr.ready_at = Some(mr.created_at),
        "update" => {
            let draft_change = root.get("changes").get("draft");
            if draft_change.get("previous").bool_or(false)?
                && !draft_change.get("current").bool_or(true)?
            {
                mr.ready_at = Some(mr.updated_at);
            }
        }
        "merge" if mr.merged_at.is_none() => {
            mr.state = PrState::Merged;
            mr.merged_at = Some(mr.updated_at);
        }
        _ => {}
    }
    let (number, author) = (mr.number, attrs.get("author_id").opt_i64()?);
    let mut records = vec![Record::PullRequest(mr)];
    if matches!(action, "approved" | "approval") {
        let user = root.get("user").get("id");
        let approver = user.i64()?;
        if Some(approver) != author {
            records.push(Record::Review {
                repo,
                number,
                review: Review {
                    review_id: format!("approval:{approver}"),
                    state: ReviewState::Approved,
                    submitted_at: attrs.get("updated_at").time()?,
                },
            });
        }
    }
    Ok(Mapped::records(records))
}

/// A merge request: the hook's `object_attributes` / `merge_request`, or a
/// REST merge request. The head is `sha` (REST) or `last_commit.id` (hook);
/// the commit on the target branch is the merge commit, else the squash
/// commit, else (fast-forward) the head. `merged_at` falls back to
/// `updated_at` when a merged request does not carry it.
pub fn merge_request(mr: &Value, repo: &str) -> MapResult<PullRequest> {
    merge_request_at(&At::root(mr), repo)
}

fn merge_request_at(at: &At<'_>, repo: &str) -> MapResult<PullRequest> {
    at.object()?;
    let created_at = at.get("created_at").time()?;
    let updated_at = at.get("updated_at").opt_time()?.unwrap_or(created_at);
    let state = match at.get("state").str()? {
        "opened" | "locked" => PrState::Open,
        "closed" => PrState::Closed,
        "merged" => PrState::Merged,
        other => {
            return Err(PayloadError::new(
                at.get("state").path(),
                format!("{other:?} is not opened, closed, locked or merged"),
            ));
        }
    };
    let head_sha = match at.get("sha").opt_sha()? {
        Some(s) => Some(s),
        None => at.get("last_commit").get("id").opt_sha()?,
    };
    let (merged_at, merge_commit_sha) = if state == PrState::Merged {
        let merged_at = at.get("merged_at").opt_time()?.unwrap_or(updated_at);
        let sha = match at.get("merge_commit_sha").opt_sha()? {
            Some(s) => Some(s),
            None => match at.get("squash_commit_sha").opt_sha()? {
                Some(s) => Some(s),
                None => head_sha.clone(),
            },
        };
        (Some(merged_at), sha)
    } else {
        (None, None)
    };
    let draft = at.get("draft").bool_or(false)? || at.get("work_in_progress").bool_or(false)?;
    Ok(PullRequest {
        repo: repo.to_owned(),
        number: at.get("iid").i64()?,
        source: SOURCE.to_owned(),
        title: at.get("title").opt_str()?.unwrap_or("").to_owned(),
        state,
        draft,
        base_branch: at.get("target_branch").str()?.to_owned(),
        head_sha,
        merge_commit_sha,
        created_at,
        ready_at: None,
        first_commit_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at,
        closed_at: match state {
            PrState::Open => None,
            PrState::Merged => merged_at,
            PrState::Closed => Some(at.get("closed_at").opt_time()?.unwrap_or(updated_at)),
        },
        updated_at,
        commits: Vec::new(),
    })
}

fn note_event(root: &At<'_>) -> MapResult<Mapped> {
    let attrs = root.get("object_attributes");
    let kind = attrs.get("noteable_type").str()?;
    if kind != "MergeRequest" {
        return Ok(Mapped::ignored(format!(
            "a note on a {kind} is not a review"
        )));
    }
    let repo = repo_of(root)?;
    let mr_at = root.get("merge_request");
    let mr = merge_request_at(&mr_at, &repo)?;
    let number = mr.number;
    let author = mr_at.get("author_id").opt_i64()?;
    let mut records = vec![Record::PullRequest(mr)];
    if let Some(review) = note_at(&attrs, author)? {
        records.push(Record::Review {
            repo,
            number,
            review,
        });
    }
    Ok(Mapped::records(records))
}

/// A note on a merge request as a review comment (hook
/// `object_attributes`, REST `GET …/merge_requests/:iid/notes`). System
/// notes and notes by the merge request's author (`mr_author_id`) give
/// `None`.
pub fn note(note: &Value, mr_author_id: Option<i64>) -> MapResult<Option<Review>> {
    note_at(&At::root(note), mr_author_id)
}

fn note_at(at: &At<'_>, mr_author_id: Option<i64>) -> MapResult<Option<Review>> {
    at.object()?;
    if at.get("system").bool_or(false)? {
        return Ok(None);
    }
    let author = match at.get("author_id").opt_i64()? {
        Some(a) => Some(a),
        None => at.get("author").get("id").opt_i64()?,
    };
    if author.is_some() && author == mr_author_id {
        return Ok(None);
    }
    Ok(Some(Review {
        review_id: format!("note:{}", at.get("id").id()?),
        state: ReviewState::Commented,
        submitted_at: at.get("created_at").time()?,
    }))
}

/// A pipeline (hook `object_attributes`, REST `GET …/pipelines/:id`).
/// Coverage is read when present (REST gives it as text, e.g. `"81.5"`).
pub fn pipeline(p: &Value, repo: &str) -> MapResult<Pipeline> {
    pipeline_at(&At::root(p), repo)
}

fn pipeline_at(at: &At<'_>, repo: &str) -> MapResult<Pipeline> {
    at.object()?;
    let status = match at.get("status").str()? {
        "success" => PipelineStatus::Success,
        "failed" => PipelineStatus::Failure,
        "canceled" | "canceling" | "skipped" => PipelineStatus::Cancelled,
        "created"
        | "waiting_for_resource"
        | "preparing"
        | "pending"
        | "running"
        | "manual"
        | "scheduled"
        | "waiting_for_callback" => PipelineStatus::InProgress,
        other => {
            return Err(PayloadError::new(
                at.get("status").path(),
                format!("{other:?} is not a pipeline status"),
            ));
        }
    };
    let created_at = at.get("created_at").time()?;
    let started_at = at.get("started_at").opt_time()?.unwrap_or(created_at);
    let finished_at = if status.is_final() {
        let f = match at.get("finished_at").opt_time()? {
            Some(f) => f,
            None => at.get("updated_at").opt_time()?.unwrap_or(started_at),
        };
        Some(f.max(started_at))
    } else {
        None
    };
    let coverage = at.get("coverage").opt_f64()?;
    if let Some(c) = coverage
        && !(0.0..=100.0).contains(&c)
    {
        return Err(PayloadError::new(
            at.get("coverage").path(),
            format!("{c} is not a percentage"),
        ));
    }
    Ok(Pipeline {
        source: SOURCE.to_owned(),
        external_id: at.get("id").id()?,
        repo: repo.to_owned(),
        sha: at.get("sha").opt_sha()?,
        branch: at.get("ref").opt_str()?.map(str::to_owned),
        status,
        started_at,
        finished_at,
        coverage,
    })
}

/// A deployment: the `Deployment Hook` payload (`deployment_id`, `status`,
/// `status_changed_at`, `environment` as text, the commit in `commit_url`)
/// or a REST deployment (`id`, `status`, `environment.name`, `sha`,
/// `created_at`, `updated_at`, `deployable.finished_at`).
pub fn deployment(d: &Value, repo: &str, ctx: &Context<'_>) -> MapResult<Deployment> {
    deployment_at(&At::root(d), repo, ctx)
}

fn deployment_at(at: &At<'_>, repo: &str, ctx: &Context<'_>) -> MapResult<Deployment> {
    at.object()?;
    let hook = at.get("deployment_id").is_present();
    let external_id = if hook {
        at.get("deployment_id").id()?
    } else {
        at.get("id").id()?
    };
    let status = match at.get("status").str()? {
        "success" => DeploymentStatus::Success,
        "failed" => DeploymentStatus::Failure,
        "canceled" | "skipped" => DeploymentStatus::Cancelled,
        "created" | "running" | "blocked" => DeploymentStatus::InProgress,
        other => {
            return Err(PayloadError::new(
                at.get("status").path(),
                format!("{other:?} is not a deployment status"),
            ));
        }
    };
    let env_at = at.get("environment");
    let environment = match env_at.value() {
        Some(Value::Object(_)) => env_at.get("name").str()?,
        _ => env_at.str()?,
    }
    .trim()
    .to_lowercase();
    let (changed_at, started_at, finished_at, sha) = if hook {
        let changed = at.get("status_changed_at").time()?;
        let sha = match at.get("commit_url").opt_str()? {
            Some(url) => url
                .rsplit('/')
                .next()
                .map(str::to_ascii_lowercase)
                .filter(|s| crate::git::is_sha(s)),
            None => None,
        };
        (changed, changed, status.is_final().then_some(changed), sha)
    } else {
        let created = at.get("created_at").time()?;
        let updated = at.get("updated_at").opt_time()?.unwrap_or(created);
        let finished = match at.get("deployable").get("finished_at").opt_time()? {
            Some(f) => f,
            None => updated,
        };
        (
            updated,
            created,
            status.is_final().then(|| finished.max(created)),
            at.get("sha").opt_sha()?,
        )
    };
    Ok(Deployment {
        id: (ctx.new_id)(),
        source: SOURCE.to_owned(),
        external_id,
        project_id: ctx.project_id,
        service: ctx.service_for(repo),
        environment,
        status,
        repo: Some(repo.to_owned()),
        sha,
        is_rollback: false,
        explicit_commits: Vec::new(),
        started_at,
        finished_at,
        created_at: ctx.received_at,
        updated_at: changed_at,
    })
}

/// An issue (hook `object_attributes`, REST `GET /projects/:id/issues`) as
/// an incident (incident type or label), a bug work item (bug label), both,
/// or none.
pub fn issue(issue: &Value, repo: &str, ctx: &Context<'_>) -> MapResult<Vec<Record>> {
    issue_at(&At::root(issue), None, repo, ctx)
}

fn issue_at(
    at: &At<'_>,
    top_labels: Option<&At<'_>>,
    repo: &str,
    ctx: &Context<'_>,
) -> MapResult<Vec<Record>> {
    at.object()?;
    let label_list = match top_labels {
        Some(top) if top.is_present() => top.clone(),
        _ => at.get("labels"),
    };
    let mut labels = Vec::new();
    for l in label_list.items()? {
        match l.value() {
            Some(Value::String(s)) => labels.push(s.clone()),
            _ => labels.push(l.get("title").str()?.to_owned()),
        }
    }
    let number = at.get("iid").i64()?;
    let created_at = at.get("created_at").time()?;
    let updated_at = at.get("updated_at").opt_time()?.unwrap_or(created_at);
    let closed = match at.get("state").str()? {
        "opened" | "reopened" => false,
        "closed" => true,
        other => {
            return Err(PayloadError::new(
                at.get("state").path(),
                format!("{other:?} is not opened or closed"),
            ));
        }
    };
    let closed_at = if closed {
        Some(
            at.get("closed_at")
                .opt_time()?
                .unwrap_or(updated_at)
                .max(created_at),
        )
    } else {
        None
    };
    let kind = at
        .get("issue_type")
        .opt_str()?
        .or(at.get("type").opt_str()?)
        .unwrap_or("issue");
    let severity = at
        .get("severity")
        .opt_str()?
        .map(str::to_ascii_lowercase)
        .filter(|s| s != "unknown");
    Ok(tracked_issue(
        TrackedIssue {
            source: SOURCE,
            key: format!("{repo}#{number}"),
            number,
            title: at.get("title").opt_str()?.unwrap_or("").to_owned(),
            labels,
            severity,
            is_incident_type: kind.eq_ignore_ascii_case("incident"),
            created_at,
            closed_at,
            not_planned: false,
            updated_at,
        },
        repo,
        ctx,
    ))
}

/// A release (`Release Hook` payload or a REST release) as a successful
/// deployment of its tag's commit (`commit.id`) to
/// `ctx.release_environment`, at `released_at`.
pub fn release(rel: &Value, repo: &str, ctx: &Context<'_>) -> MapResult<Deployment> {
    release_at(&At::root(rel), repo, ctx)
}

fn release_at(at: &At<'_>, repo: &str, ctx: &Context<'_>) -> MapResult<Deployment> {
    at.object()?;
    let tag = at.get("tag").opt_str()?;
    let tag = match tag {
        Some(t) => t.to_owned(),
        None => at.get("tag_name").str()?.to_owned(),
    };
    let created_at = at.get("created_at").time()?;
    let released = at.get("released_at").opt_time()?.unwrap_or(created_at);
    Ok(Deployment {
        id: (ctx.new_id)(),
        source: SOURCE.to_owned(),
        external_id: format!("release:{repo}:{tag}"),
        project_id: ctx.project_id,
        service: ctx.service_for(repo),
        environment: ctx.release_environment.to_owned(),
        status: DeploymentStatus::Success,
        repo: Some(repo.to_owned()),
        sha: at.get("commit").get("id").opt_sha()?,
        is_rollback: false,
        explicit_commits: Vec::new(),
        started_at: released,
        finished_at: Some(released),
        created_at: ctx.received_at,
        updated_at: released,
    })
}

// ---- REST-only objects (the backfill importer) -----------------------------

/// The body of the system note GitLab writes when someone approves a merge
/// request.
pub const APPROVED_NOTE: &str = "approved this merge request";

/// The author of a merge request: REST `author.id`, hook `author_id`.
pub fn merge_request_author(mr: &Value) -> MapResult<Option<i64>> {
    let at = At::root(mr);
    at.object()?;
    match at.get("author").get("id").opt_i64()? {
        Some(id) => Ok(Some(id)),
        None => at.get("author_id").opt_i64(),
    }
}

/// One commit of a merge request (REST `GET …/merge_requests/:iid/commits`:
/// `id`, `authored_date`).
pub fn merge_request_commit(c: &Value) -> MapResult<PrCommit> {
    let at = At::root(c);
    at.object()?;
    Ok(PrCommit {
        sha: at.get("id").sha()?,
        authored_at: at.get("authored_date").time()?,
    })
}

/// An approval as the review the `Merge Request Hook` records for it
/// (`approval:USER_ID`), so a backfilled approval and a delivered one are
/// the same row.
pub fn approval_review(approver_id: i64, approved_at: DateTime<Utc>) -> Review {
    Review {
        review_id: format!("approval:{approver_id}"),
        state: ReviewState::Approved,
        submitted_at: approved_at,
    }
}

/// A note (REST `GET …/merge_requests/:iid/notes`) that records an approval:
/// the system note "approved this merge request", by its author, at its
/// `created_at`. Every other note, and an approval by the merge request's
/// own author (`mr_author_id`), gives `None`.
pub fn approval_note(note: &Value, mr_author_id: Option<i64>) -> MapResult<Option<Review>> {
    let at = At::root(note);
    at.object()?;
    if !at.get("system").bool_or(false)? {
        return Ok(None);
    }
    let body = at.get("body").opt_str()?.unwrap_or("").trim();
    if body != APPROVED_NOTE {
        return Ok(None);
    }
    let approver = match at.get("author").get("id").opt_i64()? {
        Some(id) => id,
        None => at.get("author_id").i64()?,
    };
    if Some(approver) == mr_author_id {
        return Ok(None);
    }
    Ok(Some(approval_review(
        approver,
        at.get("created_at").time()?,
    )))
}

/// Who approved a merge request, by the approval state (REST
/// `GET …/merge_requests/:iid/approvals`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// `approved_by[].user.id`.
    pub user_id: i64,
    /// `approved_by[].approved_at`, which only newer GitLab versions send;
    /// otherwise the time is in the approval's system note.
    pub approved_at: Option<DateTime<Utc>>,
}

/// The approvers listed by an approval state, without the merge request's
/// own author (`mr_author_id`).
pub fn approvals(state: &Value, mr_author_id: Option<i64>) -> MapResult<Vec<Approval>> {
    let at = At::root(state);
    at.object()?;
    let mut out = Vec::new();
    for a in at.get("approved_by").items()? {
        let user_id = a.get("user").get("id").i64()?;
        if Some(user_id) == mr_author_id {
            continue;
        }
        out.push(Approval {
            user_id,
            approved_at: a.get("approved_at").opt_time()?,
        });
    }
    Ok(out)
}
