//! GitHub webhook events (`X-GitHub-Event`) and REST objects.
//!
//! Events used: `push`, `pull_request`, `pull_request_review`, `deployment`,
//! `deployment_status`, `workflow_run`, `issues`, `release`; `ping` and every
//! other event is acknowledged and ignored. The object mappers
//! ([`pull_request`], [`review`], [`deployment`], [`deployment_with_status`],
//! [`workflow_run`], [`issue`], [`release`]) take the object as both the
//! webhooks and the REST API return it.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{At, Context, MapResult, Mapped, PayloadError, has_label, severity_label, subject};
use crate::engineering::{
    Deployment, DeploymentStatus, Incident, Pipeline, PipelineStatus, PrState, PullRequest, Record,
    Review, ReviewState,
};
use crate::git::{Commit, CommitSource, GitRef};
use crate::work_item::{Priority, WorkItem, WorkKind, WorkState};

pub const SOURCE: &str = "github";

/// The repository a payload is about (`repository.full_name`), used to find
/// the project (and so the secret) before the signature is checked. Nothing
/// else in the body is read before that.
pub fn repository(payload: &Value) -> Option<&str> {
    payload.get("repository")?.get("full_name")?.as_str()
}

/// Maps one event's payload; what it returns passes storage's validation
/// ([`Mapped::validated`]).
pub fn map(event: &str, payload: &Value, ctx: &Context<'_>) -> MapResult<Mapped> {
    let payload = super::clean_payload(payload);
    map_event(event, &payload, ctx)?.validated()
}

fn map_event(event: &str, payload: &Value, ctx: &Context<'_>) -> MapResult<Mapped> {
    let root = At::root(payload);
    root.object()?;
    match event {
        "ping" => Ok(Mapped::ignored("ping: the webhook is set up")),
        "push" => push(&root, ctx),
        "pull_request" => pull_request_event(&root),
        "pull_request_review" => review_event(&root),
        "deployment" => deployment_event(&root, ctx),
        "deployment_status" => deployment_status_event(&root, ctx),
        "workflow_run" => {
            let repo = repo_of(&root)?;
            let run = workflow_run_at(&root.get("workflow_run"), &repo)?;
            Ok(Mapped::records(vec![Record::Pipeline(run)]))
        }
        "issues" => {
            let repo = repo_of(&root)?;
            let records = issue_at(&root.get("issue"), &repo, ctx)?;
            if records.is_empty() {
                Ok(Mapped::ignored(format!(
                    "the issue has neither the {:?} nor the {:?} label",
                    ctx.labels.incident, ctx.labels.bug
                )))
            } else {
                Ok(Mapped::records(records))
            }
        }
        "release" => release_event(&root, ctx),
        other => Ok(Mapped::ignored(format!(
            "the {other:?} event carries nothing Tandem uses"
        ))),
    }
}

fn repo_of(root: &At<'_>) -> MapResult<String> {
    Ok(root.get("repository").get("full_name").str()?.to_owned())
}

fn push(root: &At<'_>, ctx: &Context<'_>) -> MapResult<Mapped> {
    let repo = repo_of(root)?;
    let name = root.get("ref").str()?.to_owned();
    if root.get("deleted").bool_or(false)? {
        return Ok(Mapped::ignored(format!("{name} was deleted")));
    }
    let after = root.get("after").sha()?;
    pushed(root, repo, name, after, CommitSource::Github, ctx)
}

/// What a push brings (GitHub and GitLab alike): its commits and, unless
/// `after` is all zeros (the branch was deleted), the branch's new head.
pub(crate) fn pushed(
    root: &At<'_>,
    repo: String,
    name: String,
    after: String,
    source: CommitSource,
    ctx: &Context<'_>,
) -> MapResult<Mapped> {
    let mut commits = Vec::new();
    for c in root.get("commits").items()? {
        commits.push(push_commit(&c, &repo, source)?);
    }
    let refs = if after.bytes().all(|b| b == b'0') {
        Vec::new()
    } else {
        vec![GitRef {
            repo,
            name,
            sha: after,
            updated_at: ctx.received_at,
        }]
    };
    Ok(Mapped {
        commits,
        refs,
        ..Mapped::default()
    })
}

/// A commit as push payloads list it (GitHub and GitLab share the shape:
/// `id`, `message`, `timestamp`, `author.name`, `author.email`). Pushes carry
/// neither parents nor line statistics: the parent count is recorded as 1
/// and statistics as unknown; a git import replaces the row whole.
fn push_commit(c: &At<'_>, repo: &str, source: CommitSource) -> MapResult<Commit> {
    let sha = c.get("id").sha()?;
    let ts = c.get("timestamp");
    let at = ts
        .opt_time_offset()?
        .ok_or_else(|| PayloadError::new(ts.path(), "is missing"))?;
    let offset = at.offset().local_minus_utc() / 60;
    let author = c.get("author");
    Ok(Commit {
        repo: repo.to_owned(),
        sha,
        author_name: author.get("name").opt_str()?.unwrap_or("").to_owned(),
        author_email: author.get("email").opt_str()?.unwrap_or("").to_owned(),
        authored_at: at.with_timezone(&Utc),
        author_offset: offset,
        committed_at: at.with_timezone(&Utc),
        committer_offset: offset,
        subject: subject(c.get("message").opt_str()?.unwrap_or("")),
        parents: Vec::new(),
        parent_count: 1,
        additions: None,
        deletions: None,
        files: Vec::new(),
        source,
    })
}

fn pull_request_event(root: &At<'_>) -> MapResult<Mapped> {
    let action = root.get("action").str()?;
    let at = root.get("pull_request");
    let mut pr = pull_request_at(&at)?;
    match action {
        "opened" if !pr.draft => pr.ready_at = Some(pr.created_at),
        "ready_for_review" => pr.ready_at = Some(pr.updated_at),
        _ => {}
    }
    Ok(Mapped::records(vec![Record::PullRequest(pr)]))
}

/// A pull request object (webhook `pull_request`, REST `GET /pulls`). The
/// state is `merged` when `merged_at` is set; the merge commit is kept only
/// once merged (before that GitHub reports a test merge). `ready_at` is not
/// known from the object alone (the events set it).
pub fn pull_request(pr: &Value) -> MapResult<PullRequest> {
    pull_request_at(&At::root(pr))
}

fn pull_request_at(at: &At<'_>) -> MapResult<PullRequest> {
    at.object()?;
    let repo = at
        .get("base")
        .get("repo")
        .get("full_name")
        .str()?
        .to_owned();
    let merged_at = at.get("merged_at").opt_time()?;
    let state = match (at.get("state").str()?, merged_at) {
        (_, Some(_)) => PrState::Merged,
        ("open", None) => PrState::Open,
        ("closed", None) => PrState::Closed,
        (other, None) => {
            return Err(PayloadError::new(
                at.get("state").path(),
                format!("{other:?} is not open or closed"),
            ));
        }
    };
    let created_at = at.get("created_at").time()?;
    let merge_commit_sha = if state == PrState::Merged {
        at.get("merge_commit_sha").opt_sha()?
    } else {
        None
    };
    Ok(PullRequest {
        repo,
        number: at.get("number").i64()?,
        source: SOURCE.to_owned(),
        title: at.get("title").opt_str()?.unwrap_or("").to_owned(),
        state,
        draft: at.get("draft").bool_or(false)?,
        base_branch: at.get("base").get("ref").str()?.to_owned(),
        head_sha: at.get("head").get("sha").opt_sha()?,
        merge_commit_sha,
        created_at,
        ready_at: None,
        first_commit_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at,
        closed_at: at.get("closed_at").opt_time()?,
        updated_at: at.get("updated_at").opt_time()?.unwrap_or(created_at),
        commits: Vec::new(),
    })
}

fn review_event(root: &At<'_>) -> MapResult<Mapped> {
    let pr_at = root.get("pull_request");
    let pr = pull_request_at(&pr_at)?;
    let review_at = root.get("review");
    let author = pr_at.get("user").get("id").opt_i64()?;
    let reviewer = review_at.get("user").get("id").opt_i64()?;
    let (repo, number) = (pr.repo.clone(), pr.number);
    let mut records = vec![Record::PullRequest(pr)];
    if author.is_some() && author == reviewer {
        return Ok(Mapped::records(records));
    }
    if root.get("action").str()? != "dismissed"
        && let Some(review) = review_of(&review_at)?
    {
        records.push(Record::Review {
            repo,
            number,
            review,
        });
    }
    Ok(Mapped::records(records))
}

/// A review object (webhook `review`, REST `GET /pulls/{n}/reviews`; the
/// REST API writes states in capitals). Pending and dismissed reviews give
/// `None`.
pub fn review(review: &Value) -> MapResult<Option<Review>> {
    review_of(&At::root(review))
}

fn review_of(at: &At<'_>) -> MapResult<Option<Review>> {
    at.object()?;
    let state_at = at.get("state");
    let state = match state_at.str()?.to_ascii_lowercase().as_str() {
        "approved" => ReviewState::Approved,
        "changes_requested" => ReviewState::ChangesRequested,
        "commented" => ReviewState::Commented,
        "pending" | "dismissed" => return Ok(None),
        other => {
            return Err(PayloadError::new(
                state_at.path(),
                format!("{other:?} is not a review state"),
            ));
        }
    };
    let Some(submitted_at) = at.get("submitted_at").opt_time()? else {
        return Ok(None);
    };
    Ok(Some(Review {
        review_id: at.get("id").id()?,
        state,
        submitted_at,
    }))
}

fn deployment_event(root: &At<'_>, ctx: &Context<'_>) -> MapResult<Mapped> {
    let repo = repo_of(root)?;
    let d = deployment_at(&root.get("deployment"), &repo, ctx)?;
    Ok(Mapped::records(vec![Record::Deployment(d)]))
}

fn deployment_status_event(root: &At<'_>, ctx: &Context<'_>) -> MapResult<Mapped> {
    let repo = repo_of(root)?;
    match with_status_at(
        &root.get("deployment"),
        &root.get("deployment_status"),
        &repo,
        ctx,
    )? {
        Some(d) => Ok(Mapped::records(vec![Record::Deployment(d)])),
        None => Ok(Mapped::ignored(
            "an inactive status only says a newer deployment replaced this one",
        )),
    }
}

/// A deployment object (webhook `deployment`, REST `GET /deployments`), as
/// just created: in progress. Rollbacks are deployments whose `task` is
/// `rollback` or `deploy:rollback`, or whose payload has `"rollback": true`.
pub fn deployment(d: &Value, repo: &str, ctx: &Context<'_>) -> MapResult<Deployment> {
    deployment_at(&At::root(d), repo, ctx)
}

fn deployment_at(at: &At<'_>, repo: &str, ctx: &Context<'_>) -> MapResult<Deployment> {
    at.object()?;
    let created_at = at.get("created_at").time()?;
    let task = at.get("task").opt_str()?.unwrap_or("deploy");
    let payload_rollback = match at.get("payload").value() {
        Some(Value::Object(o)) => o.get("rollback") == Some(&Value::Bool(true)),
        Some(Value::String(s)) => serde_json::from_str::<Value>(s)
            .ok()
            .is_some_and(|v| v.get("rollback") == Some(&Value::Bool(true))),
        _ => false,
    };
    Ok(Deployment {
        id: (ctx.new_id)(),
        source: SOURCE.to_owned(),
        external_id: at.get("id").id()?,
        project_id: ctx.project_id,
        service: ctx.service_for(repo),
        environment: at.get("environment").str()?.trim().to_lowercase(),
        status: DeploymentStatus::InProgress,
        repo: Some(repo.to_owned()),
        sha: at.get("sha").opt_sha()?,
        is_rollback: matches!(task, "rollback" | "deploy:rollback") || payload_rollback,
        explicit_commits: Vec::new(),
        started_at: created_at,
        finished_at: None,
        created_at: ctx.received_at,
        updated_at: at.get("updated_at").opt_time()?.unwrap_or(created_at),
    })
}

/// A deployment with one of its statuses (webhook `deployment_status`,
/// REST `GET /deployments/{id}/statuses`). `None` for `inactive`, which
/// only says a newer deployment took over.
pub fn deployment_with_status(
    d: &Value,
    status: &Value,
    repo: &str,
    ctx: &Context<'_>,
) -> MapResult<Option<Deployment>> {
    with_status_at(&At::root(d), &At::root(status), repo, ctx)
}

fn with_status_at(
    d: &At<'_>,
    status: &At<'_>,
    repo: &str,
    ctx: &Context<'_>,
) -> MapResult<Option<Deployment>> {
    let mut out = deployment_at(d, repo, ctx)?;
    status.object()?;
    let state_at = status.get("state");
    let state = match state_at.str()? {
        "success" => DeploymentStatus::Success,
        "failure" | "error" => DeploymentStatus::Failure,
        "pending" | "queued" | "in_progress" | "waiting" => DeploymentStatus::InProgress,
        "inactive" => return Ok(None),
        other => {
            return Err(PayloadError::new(
                state_at.path(),
                format!("{other:?} is not a deployment state"),
            ));
        }
    };
    let at = status.get("created_at").time()?;
    out.status = state;
    out.updated_at = status.get("updated_at").opt_time()?.unwrap_or(at);
    if state.is_final() {
        out.finished_at = Some(at.max(out.started_at));
    }
    Ok(Some(out))
}

/// A workflow run (webhook `workflow_run`, REST `GET /actions/runs`).
pub fn workflow_run(run: &Value, repo: &str) -> MapResult<Pipeline> {
    workflow_run_at(&At::root(run), repo)
}

fn workflow_run_at(at: &At<'_>, repo: &str) -> MapResult<Pipeline> {
    at.object()?;
    let status = match at.get("status").str()? {
        "completed" => match at.get("conclusion").opt_str()?.unwrap_or("") {
            "success" | "neutral" => PipelineStatus::Success,
            "failure" | "timed_out" | "startup_failure" => PipelineStatus::Failure,
            "cancelled" | "skipped" | "stale" => PipelineStatus::Cancelled,
            "action_required" => PipelineStatus::InProgress,
            other => {
                return Err(PayloadError::new(
                    at.get("conclusion").path(),
                    format!("{other:?} is not a conclusion"),
                ));
            }
        },
        _ => PipelineStatus::InProgress,
    };
    let created_at = at.get("created_at").time()?;
    let started_at = at.get("run_started_at").opt_time()?.unwrap_or(created_at);
    let updated_at = at.get("updated_at").opt_time()?.unwrap_or(started_at);
    Ok(Pipeline {
        source: SOURCE.to_owned(),
        external_id: at.get("id").id()?,
        repo: repo.to_owned(),
        sha: at.get("head_sha").opt_sha()?,
        branch: at.get("head_branch").opt_str()?.map(str::to_owned),
        status,
        started_at,
        finished_at: status.is_final().then(|| updated_at.max(started_at)),
        coverage: None,
    })
}

/// An issue (webhook `issue`, REST `GET /issues`) as the records its labels
/// call for: an incident (incident label), a bug work item (bug label),
/// both, or none. Pull requests listed by the issues API give none.
pub fn issue(issue: &Value, repo: &str, ctx: &Context<'_>) -> MapResult<Vec<Record>> {
    issue_at(&At::root(issue), repo, ctx)
}

fn issue_at(at: &At<'_>, repo: &str, ctx: &Context<'_>) -> MapResult<Vec<Record>> {
    at.object()?;
    if at.get("pull_request").is_present() {
        return Ok(Vec::new());
    }
    let mut labels = Vec::new();
    for l in at.get("labels").items()? {
        match l.value() {
            Some(Value::String(s)) => labels.push(s.clone()),
            _ => labels.push(l.get("name").str()?.to_owned()),
        }
    }
    let number = at.get("number").i64()?;
    let title = at.get("title").opt_str()?.unwrap_or("").to_owned();
    let created_at = at.get("created_at").time()?;
    let closed_at = at.get("closed_at").opt_time()?;
    let updated_at = at.get("updated_at").opt_time()?.unwrap_or(created_at);
    // Some actions (`pinned`, `unpinned`) send the issue without its state
    // (nor its labels): a closing time then says it is closed.
    let closed = match at.get("state").opt_str()? {
        None => closed_at.is_some(),
        Some("open") => false,
        Some("closed") => true,
        Some(other) => {
            return Err(PayloadError::new(
                at.get("state").path(),
                format!("{other:?} is not open or closed"),
            ));
        }
    };
    let closed_at = if closed {
        Some(closed_at.unwrap_or(updated_at).max(created_at))
    } else {
        None
    };
    let not_planned = at.get("state_reason").opt_str()? == Some("not_planned");
    let key = format!("{repo}#{number}");
    Ok(tracked_issue(
        TrackedIssue {
            source: SOURCE,
            key,
            number,
            title,
            labels,
            severity: None,
            is_incident_type: false,
            created_at,
            closed_at,
            not_planned,
            updated_at,
        },
        repo,
        ctx,
    ))
}

/// An issue from either provider, as read from its payload.
pub(crate) struct TrackedIssue<'s> {
    pub source: &'s str,
    pub key: String,
    pub number: i64,
    pub title: String,
    pub labels: Vec<String>,
    /// A severity field the provider has (GitLab incidents).
    pub severity: Option<String>,
    /// The provider marks it an incident by type (GitLab).
    pub is_incident_type: bool,
    pub created_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub not_planned: bool,
    pub updated_at: DateTime<Utc>,
}

pub(crate) fn tracked_issue(i: TrackedIssue<'_>, repo: &str, ctx: &Context<'_>) -> Vec<Record> {
    let mut records = Vec::new();
    let title: String = {
        let line = i.title.lines().next().unwrap_or("").trim();
        let line: String = line.chars().take(crate::text::SHORT).collect();
        if line.trim().is_empty() {
            format!("Issue #{}", i.number)
        } else {
            line
        }
    };
    if i.is_incident_type || has_label(&i.labels, &ctx.labels.incident) {
        records.push(Record::Incident(Incident {
            id: (ctx.new_id)(),
            source: i.source.to_owned(),
            external_id: i.key.clone(),
            project_id: ctx.project_id,
            service: Some(ctx.service_for(repo)),
            title: title.clone(),
            severity: i
                .severity
                .clone()
                .or_else(|| severity_label(&i.labels))
                .unwrap_or_else(|| "unknown".to_owned()),
            opened_at: i.created_at,
            resolved_at: i.closed_at,
            caused_by: None,
            created_at: ctx.received_at,
            updated_at: i.updated_at,
        }));
    }
    if has_label(&i.labels, &ctx.labels.bug) {
        let (state, started_at, done_at) = match i.closed_at {
            Some(_) if i.not_planned => (WorkState::Cancelled, None, None),
            Some(at) => (WorkState::Done, Some(at), Some(at)),
            None => (WorkState::Todo, None, None),
        };
        records.push(Record::WorkItem(WorkItem {
            id: (ctx.new_id)(),
            team_id: ctx.team_id,
            project_id: Some(ctx.project_id),
            goal_id: None,
            stage_id: None,
            title,
            kind: WorkKind::Bug,
            priority: Priority::P2,
            impact: None,
            complexity: None,
            state,
            context: Default::default(),
            scores: Default::default(),
            external_key: Some(i.key),
            source: i.source.to_owned(),
            created_at: i.created_at,
            started_at,
            done_at,
            updated_at: i.updated_at.max(i.created_at),
        }));
    }
    records
}

fn release_event(root: &At<'_>, ctx: &Context<'_>) -> MapResult<Mapped> {
    let action = root.get("action").str()?;
    if !matches!(action, "published" | "released") {
        return Ok(Mapped::ignored(format!(
            "a release {action} event is not a deployment"
        )));
    }
    let repo = repo_of(root)?;
    match release_at(&root.get("release"), &repo, ctx)? {
        Some(d) => Ok(Mapped::records(vec![Record::Deployment(d)])),
        None => Ok(Mapped::ignored(
            "drafts and pre-releases are not deployments",
        )),
    }
}

/// A published release (webhook `release`, REST `GET /releases`) as a
/// successful deployment to `ctx.release_environment`; drafts and
/// pre-releases give `None`. The commit is known when `target_commitish` is
/// a sha (a branch name says nothing about which commit).
pub fn release(rel: &Value, repo: &str, ctx: &Context<'_>) -> MapResult<Option<Deployment>> {
    release_at(&At::root(rel), repo, ctx)
}

fn release_at(at: &At<'_>, repo: &str, ctx: &Context<'_>) -> MapResult<Option<Deployment>> {
    at.object()?;
    if at.get("draft").bool_or(false)? || at.get("prerelease").bool_or(false)? {
        return Ok(None);
    }
    let created_at = at.get("created_at").time()?;
    let published = at.get("published_at").opt_time()?.unwrap_or(created_at);
    let sha = at
        .get("target_commitish")
        .opt_str()?
        .map(str::to_ascii_lowercase)
        .filter(|s| s.len() == 40 && crate::git::is_sha(s));
    Ok(Some(Deployment {
        id: (ctx.new_id)(),
        source: SOURCE.to_owned(),
        external_id: format!("release:{}", at.get("id").id()?),
        project_id: ctx.project_id,
        service: ctx.service_for(repo),
        environment: ctx.release_environment.to_owned(),
        status: DeploymentStatus::Success,
        repo: Some(repo.to_owned()),
        sha,
        is_rollback: false,
        explicit_commits: Vec::new(),
        started_at: published,
        finished_at: Some(published),
        created_at: ctx.received_at,
        updated_at: published,
    }))
}
