//! Engineering records: pull requests with their commits and reviews,
//! deployments, incidents, CI pipelines, and the raw deliveries (webhooks,
//! events API) they were derived from.
//!
//! Sources report the same object many times and not always in order (a
//! webhook can be retried after a newer one arrived; a backfill re-reads old
//! state). Each record therefore has a `merge` rule that folds a newly
//! reported value into the stored one so that replays change nothing and an
//! older report never undoes a newer one. Storage applies these rules.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::string_enum;
use crate::text;

string_enum! {
    /// A pull request's (merge request's) state.
    PrState {
        Open => "open",
        Closed => "closed",
        Merged => "merged",
    }
}

string_enum! {
    /// What a review said.
    ReviewState {
        Approved => "approved",
        ChangesRequested => "changes_requested",
        Commented => "commented",
    }
}

string_enum! {
    /// Where a deployment stands. `success`, `failure` and `cancelled` are
    /// final.
    DeploymentStatus {
        InProgress => "in_progress",
        Success => "success",
        Failure => "failure",
        Cancelled => "cancelled",
    }
}

string_enum! {
    /// Where a CI pipeline stands. `success`, `failure` and `cancelled` are
    /// final.
    PipelineStatus {
        InProgress => "in_progress",
        Success => "success",
        Failure => "failure",
        Cancelled => "cancelled",
    }
}

string_enum! {
    /// Who sent a delivery.
    Provider {
        Github => "github",
        Gitlab => "gitlab",
        Api => "api",
    }
}

string_enum! {
    /// What became of a delivery: its records were stored (`applied`), it
    /// carried nothing Tandem uses (`ignored`), it could not be read
    /// (`invalid`), or storing it failed (`failed`, retried by `reprocess`).
    Outcome {
        Applied => "applied",
        Ignored => "ignored",
        Invalid => "invalid",
        Failed => "failed",
    }
}

impl DeploymentStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, DeploymentStatus::InProgress)
    }
}

impl PipelineStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, PipelineStatus::InProgress)
    }
}

/// A commit named by repository and sha.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct CommitRef {
    /// The repository's full name (`acme/payments`).
    pub repo: String,
    /// Hexadecimal commit id.
    pub sha: String,
}

/// One commit of a pull request, with its authored time (kept so a squash or
/// rebase merge does not lose when the work was written).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrCommit {
    pub sha: String,
    pub authored_at: DateTime<Utc>,
}

/// A GitHub pull request or GitLab merge request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PullRequest {
    /// The repository's full name.
    pub repo: String,
    /// The number within the repository (GitLab: the `iid`).
    pub number: i64,
    /// `github`, `gitlab`, ...
    pub source: String,
    pub title: String,
    pub state: PrState,
    pub draft: bool,
    /// The branch it merges into.
    pub base_branch: String,
    pub head_sha: Option<String>,
    /// The commit the merge produced on the base branch (merge, squash or
    /// rebase); only set once merged.
    pub merge_commit_sha: Option<String>,
    pub created_at: DateTime<Utc>,
    /// When it was first ready for review (created, or left draft).
    pub ready_at: Option<DateTime<Utc>>,
    /// The earliest authored time of its commits.
    pub first_commit_at: Option<DateTime<Utc>>,
    /// The first review or review comment by someone else (derived from the
    /// stored reviews).
    pub first_review_at: Option<DateTime<Utc>>,
    /// The first approval (derived from the stored reviews).
    pub approved_at: Option<DateTime<Utc>>,
    pub merged_at: Option<DateTime<Utc>>,
    pub closed_at: Option<DateTime<Utc>>,
    /// When the source last changed it; decides which of two reports is newer.
    pub updated_at: DateTime<Utc>,
    /// Its commits, when the source lists them (merged into what is stored).
    #[serde(default)]
    pub commits: Vec<PrCommit>,
}

/// A review, or a review comment, on a pull request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Review {
    /// The source's id of the review or note (unique within the pull request).
    pub review_id: String,
    pub state: ReviewState,
    pub submitted_at: DateTime<Utc>,
}

/// A deployment of a service to an environment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Deployment {
    /// Tandem's id; kept from the first report of the deployment.
    pub id: Uuid,
    /// `github`, `gitlab`, `api`.
    pub source: String,
    /// The sender's id of the deployment, unique within the source.
    pub external_id: String,
    pub project_id: Uuid,
    pub service: String,
    pub environment: String,
    pub status: DeploymentStatus,
    /// The repository and commit deployed, when known.
    pub repo: Option<String>,
    pub sha: Option<String>,
    /// A rollback (or revert) deployment: counts as a change failure signal.
    pub is_rollback: bool,
    /// Commits the sender says the deployment shipped.
    #[serde(default)]
    pub explicit_commits: Vec<CommitRef>,
    pub started_at: DateTime<Utc>,
    /// When it reached a final status.
    pub finished_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// When this report of it was made (a status change, a retry).
    pub updated_at: DateTime<Utc>,
}

/// A production incident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Incident {
    pub id: Uuid,
    pub source: String,
    pub external_id: String,
    pub project_id: Uuid,
    pub service: Option<String>,
    pub title: String,
    /// As the sender names it (`sev1`, `critical`, ...).
    pub severity: String,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    /// The external id of the deployment the sender says caused it.
    pub caused_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A CI pipeline (GitHub workflow run, GitLab pipeline).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pipeline {
    pub source: String,
    pub external_id: String,
    pub repo: String,
    pub sha: Option<String>,
    pub branch: Option<String>,
    pub status: PipelineStatus,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// Test coverage in percent, when the pipeline reports it.
    pub coverage: Option<f64>,
}

string_enum! {
    /// Where a pull request's commit fetch stands: waiting (`queued`),
    /// stored (`done`), or given up after its last attempt (`failed`).
    FetchState {
        Queued => "queued",
        Done => "done",
        Failed => "failed",
    }
}

/// A merged pull (merge) request whose own commits are fetched from the
/// provider's API, queued by the webhook that reported the merge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PrCommitFetch {
    pub provider: Provider,
    pub repo: String,
    pub number: i64,
    pub project_id: Uuid,
    pub state: FetchState,
    /// Failed attempts so far (waits for a rate limit are not failures).
    pub attempts: i32,
    /// Not tried before this instant (a backoff or a rate limit's reset).
    pub not_before: DateTime<Utc>,
    /// What the last failed attempt said.
    pub last_error: String,
    pub enqueued_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A delivery as received: kept byte for byte so its records can be derived
/// again after a fix (`tandem reprocess`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RawDelivery {
    pub id: Uuid,
    pub provider: Provider,
    /// The sender's id of the delivery (`X-GitHub-Delivery`,
    /// `X-Gitlab-Event-UUID`, ...), unique per provider.
    pub delivery_id: String,
    /// The event name (`pull_request`, `Merge Request Hook`, ...).
    pub event: String,
    pub project_id: Option<Uuid>,
    pub received_at: DateTime<Utc>,
    /// The request headers worth keeping (never the signature or token).
    pub headers: BTreeMap<String, String>,
    /// The body exactly as received.
    #[serde(with = "body_text")]
    #[schema(value_type = String)]
    pub body: Vec<u8>,
    pub outcome: Outcome,
    /// What was stored, or what was wrong.
    pub detail: String,
}

/// A record derived from a delivery, ready to store.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    PullRequest(PullRequest),
    Review {
        repo: String,
        number: i64,
        review: Review,
    },
    Deployment(Deployment),
    Incident(Incident),
    Pipeline(Pipeline),
    /// A bug (or other item) reported through an issue tracker, keyed on
    /// `(source, external_key)`.
    WorkItem(crate::work_item::WorkItem),
}

impl Record {
    /// What kind of record this is, for delivery details.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::PullRequest(_) => "pull request",
            Record::Review { .. } => "review",
            Record::Deployment(_) => "deployment",
            Record::Incident(_) => "incident",
            Record::Pipeline(_) => "pipeline",
            Record::WorkItem(_) => "work item",
        }
    }

    /// Checks the record as storage will: a mapper returns only records
    /// that pass, so a payload with a value no record may hold (a negative
    /// number, an over-long title) is refused as the payload's fault.
    pub fn validate(&self) -> Result<(), DomainError> {
        match self {
            Record::PullRequest(pr) => pr.validate(),
            Record::Review {
                repo,
                number,
                review,
            } => {
                let mut p = Problems::new();
                check_repo(&mut p, "repo", repo);
                if *number < 1 {
                    p.push("number", "must be a positive number");
                }
                if let Err(DomainError::Invalid(errors)) = review.validate() {
                    for e in errors {
                        p.push(e.field, e.message);
                    }
                }
                p.into_result()
            }
            Record::Deployment(d) => d.validate(),
            Record::Incident(i) => i.validate(),
            Record::Pipeline(p) => p.validate(),
            Record::WorkItem(w) => w.validate(),
        }
    }
}

/// Bodies serialise as text when they are UTF-8 (every JSON body is).
mod body_text {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(body: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&String::from_utf8_lossy(body))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        Ok(String::deserialize(d)?.into_bytes())
    }
}

/// Whether `s` looks like a git object id: 4 to 64 lower-case hex digits.
fn is_sha(s: &str) -> bool {
    (4..=64).contains(&s.len()) && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn check_sha(p: &mut Problems, field: &str, sha: &str) {
    if !is_sha(sha) {
        p.push(
            field,
            format!("{sha:?} is not a commit id (4 to 64 lower-case hexadecimal digits)"),
        );
    }
}

fn check_repo(p: &mut Problems, field: &str, repo: &str) {
    p.check(text::required(field, repo));
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl CommitRef {
    pub fn check(&self, p: &mut Problems, field: &str) {
        check_repo(p, &format!("{field}.repo"), &self.repo);
        check_sha(p, &format!("{field}.sha"), &self.sha);
    }
}

/// The key [`PullRequest::merge`] orders reports by: merged, `updated_at`,
/// state rank, head, title, base branch, closing time.
type Precedence<'a> = (
    bool,
    DateTime<Utc>,
    u8,
    Option<&'a str>,
    &'a str,
    &'a str,
    Option<DateTime<Utc>>,
);

impl PullRequest {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        check_repo(&mut p, "repo", &self.repo);
        if self.number < 1 {
            p.push("number", "must be a positive number");
        }
        p.check(text::key("source", &self.source));
        p.check(text::bounded("title", &self.title, text::LONG));
        p.check(text::line("base_branch", &self.base_branch, text::SHORT));
        if let Some(sha) = &self.head_sha {
            check_sha(&mut p, "head_sha", sha);
        }
        if let Some(sha) = &self.merge_commit_sha {
            check_sha(&mut p, "merge_commit_sha", sha);
        }
        if self.state == PrState::Merged && self.merged_at.is_none() {
            p.push("merged_at", "is required when the state is merged");
        }
        if self.state != PrState::Merged && self.merged_at.is_some() {
            p.push(
                "merged_at",
                format!("is set but the state is {}", self.state),
            );
        }
        for (i, c) in self.commits.iter().enumerate() {
            check_sha(&mut p, &format!("commits[{i}].sha"), &c.sha);
        }
        p.into_result()
    }

    /// How far along a report says the pull request is: an open draft, open
    /// and ready, closed, merged. Terminal states rank highest, merged above
    /// closed.
    pub fn state_rank(&self) -> u8 {
        match (self.state, self.draft) {
            (PrState::Open, true) => 0,
            (PrState::Open, false) => 1,
            (PrState::Closed, _) => 2,
            (PrState::Merged, _) => 3,
        }
    }

    /// The order in which reports of one pull request say its current state
    /// (ADR 0018), highest wins: a merged report over any other (a merge is
    /// final); then the newer `updated_at`; between reports with the same
    /// `updated_at` (GitHub sends several in one second: `closed`, `edited`,
    /// `labeled`…), the higher [`state_rank`](Self::state_rank); then, so
    /// that any two reports are ordered, their head, title, base branch and
    /// closing time. Being a total order, the fold of any set of reports is
    /// the same whatever order they arrive in.
    fn precedence(&self) -> Precedence<'_> {
        (
            self.state == PrState::Merged,
            self.updated_at,
            self.state_rank(),
            self.head_sha.as_deref(),
            &self.title,
            &self.base_branch,
            self.closed_at,
        )
    }

    /// Folds a newly reported version into the stored one. Facts that only
    /// ever happen once keep their earliest value (created, ready, first
    /// commit, first review, approval, merge); current state (title, state,
    /// draft, branches, head, closing time, `updated_at`) comes from the
    /// report of highest [`precedence`](Self::precedence), so a merged pull
    /// request stays merged and reports with the same `updated_at` settle on
    /// the same state in any order. Commits are the union, by sha (the
    /// earliest authored time of each), in authored order.
    pub fn merge(&self, newer: &PullRequest) -> PullRequest {
        let (current, other) = if newer.precedence() >= self.precedence() {
            (newer, self)
        } else {
            (self, newer)
        };
        let mut out = current.clone();
        out.created_at = self.created_at.min(newer.created_at);
        out.ready_at = earliest(self.ready_at, newer.ready_at);
        out.first_review_at = earliest(self.first_review_at, newer.first_review_at);
        out.approved_at = earliest(self.approved_at, newer.approved_at);
        out.merged_at = earliest(self.merged_at, newer.merged_at);
        out.merge_commit_sha = current
            .merge_commit_sha
            .clone()
            .or_else(|| other.merge_commit_sha.clone());
        out.closed_at = if out.state == PrState::Open {
            None
        } else {
            current.closed_at.or(other.closed_at)
        };
        let mut commits: Vec<PrCommit> = Vec::new();
        for c in self.commits.iter().chain(&newer.commits) {
            match commits.iter_mut().find(|k| k.sha == c.sha) {
                Some(k) => k.authored_at = k.authored_at.min(c.authored_at),
                None => commits.push(c.clone()),
            }
        }
        commits.sort_by(|a, b| (a.authored_at, &a.sha).cmp(&(b.authored_at, &b.sha)));
        out.first_commit_at = earliest(
            earliest(self.first_commit_at, newer.first_commit_at),
            commits.iter().map(|c| c.authored_at).min(),
        );
        out.commits = commits;
        out
    }
}

impl Review {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("review_id", &self.review_id));
        p.into_result()
    }
}

impl Deployment {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("source", &self.source));
        p.check(text::required("external_id", &self.external_id));
        p.check(text::required("service", &self.service));
        p.check(text::required("environment", &self.environment));
        if let Some(repo) = &self.repo {
            check_repo(&mut p, "repo", repo);
        }
        if let Some(sha) = &self.sha {
            check_sha(&mut p, "sha", sha);
        }
        if self.explicit_commits.len() > 10_000 {
            p.push(
                "commits",
                format!(
                    "lists {} commits; the limit is 10000",
                    self.explicit_commits.len()
                ),
            );
        }
        for (i, c) in self.explicit_commits.iter().enumerate() {
            c.check(&mut p, &format!("commits[{i}]"));
        }
        if let Some(finished) = self.finished_at
            && finished < self.started_at
        {
            p.push("finished_at", "is before started_at");
        }
        p.into_result()
    }

    /// Folds a newly reported version into the stored one: the stored id,
    /// project and creation time stay; a final status is never replaced by
    /// `in_progress`, and between two reports the newer (`updated_at`) wins;
    /// facts known from either report are kept (sha, commits, rollback).
    pub fn merge(&self, newer: &Deployment) -> Deployment {
        let newer_wins = if self.status.is_final() && !newer.status.is_final() {
            false
        } else if !self.status.is_final() && newer.status.is_final() {
            true
        } else {
            newer.updated_at >= self.updated_at
        };
        let (current, other) = if newer_wins {
            (newer, self)
        } else {
            (self, newer)
        };
        let mut out = current.clone();
        out.id = self.id;
        out.project_id = self.project_id;
        out.created_at = self.created_at;
        out.repo = current.repo.clone().or_else(|| other.repo.clone());
        out.sha = current.sha.clone().or_else(|| other.sha.clone());
        if out.explicit_commits.is_empty() {
            out.explicit_commits = other.explicit_commits.clone();
        }
        out.is_rollback = self.is_rollback || newer.is_rollback;
        out.started_at = self.started_at.min(newer.started_at);
        out.finished_at = if out.status.is_final() {
            current.finished_at.or(other.finished_at)
        } else {
            None
        };
        out.updated_at = self.updated_at.max(newer.updated_at);
        out
    }
}

impl Incident {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("source", &self.source));
        p.check(text::required("external_id", &self.external_id));
        if let Some(service) = &self.service {
            p.check(text::required("service", service));
        }
        p.check(text::bounded("title", &self.title, text::LONG));
        p.check(text::required("severity", &self.severity));
        if let Some(caused_by) = &self.caused_by {
            p.check(text::required("caused_by_deployment", caused_by));
        }
        if let Some(resolved) = self.resolved_at
            && resolved < self.opened_at
        {
            p.push("resolved_at", "is before opened_at");
        }
        p.into_result()
    }

    /// Folds a newly reported version into the stored one: the newer report
    /// (`updated_at`) wins, the stored id, project and creation time stay,
    /// and a link to a causing deployment is never dropped.
    pub fn merge(&self, newer: &Incident) -> Incident {
        let mut out = if newer.updated_at >= self.updated_at {
            newer.clone()
        } else {
            self.clone()
        };
        out.id = self.id;
        out.project_id = self.project_id;
        out.created_at = self.created_at;
        out.service = out.service.or_else(|| self.service.clone());
        out.caused_by = out
            .caused_by
            .or_else(|| newer.caused_by.clone())
            .or_else(|| self.caused_by.clone());
        out.updated_at = self.updated_at.max(newer.updated_at);
        out
    }
}

impl Pipeline {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("source", &self.source));
        p.check(text::required("external_id", &self.external_id));
        check_repo(&mut p, "repo", &self.repo);
        if let Some(sha) = &self.sha {
            check_sha(&mut p, "sha", sha);
        }
        if let Some(c) = self.coverage
            && !(c.is_finite() && (0.0..=100.0).contains(&c))
        {
            p.push("coverage", format!("{c} is not a percentage (0 to 100)"));
        }
        if let Some(finished) = self.finished_at
            && finished < self.started_at
        {
            p.push("finished_at", "is before started_at");
        }
        p.into_result()
    }

    /// Folds a newly reported version into the stored one: a final status is
    /// never replaced by `in_progress`; coverage, once reported, is kept
    /// unless a newer report has its own.
    pub fn merge(&self, newer: &Pipeline) -> Pipeline {
        let newer_wins = !self.status.is_final() || newer.status.is_final();
        let (current, other) = if newer_wins {
            (newer, self)
        } else {
            (self, newer)
        };
        let mut out = current.clone();
        out.sha = current.sha.clone().or_else(|| other.sha.clone());
        out.branch = current.branch.clone().or_else(|| other.branch.clone());
        out.coverage = current.coverage.or(other.coverage);
        out.started_at = self.started_at.min(newer.started_at);
        out.finished_at = if out.status.is_final() {
            current.finished_at.or(other.finished_at)
        } else {
            None
        };
        out
    }
}

/// The review-derived times of a pull request: the first review or comment,
/// and the first approval.
pub fn review_times(reviews: &[Review]) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let first = reviews.iter().map(|r| r.submitted_at).min();
    let approved = reviews
        .iter()
        .filter(|r| r.state == ReviewState::Approved)
        .map(|r| r.submitted_at)
        .min();
    (first, approved)
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone};

    use super::*;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn pr() -> PullRequest {
        PullRequest {
            repo: "acme/payments".into(),
            number: 7,
            source: "github".into(),
            title: "Cache users".into(),
            state: PrState::Open,
            draft: false,
            base_branch: "main".into(),
            head_sha: Some("a".repeat(40)),
            merge_commit_sha: None,
            created_at: t(0),
            ready_at: Some(t(0)),
            first_commit_at: None,
            first_review_at: None,
            approved_at: None,
            merged_at: None,
            closed_at: None,
            updated_at: t(0),
            commits: vec![],
        }
    }

    fn deployment(status: DeploymentStatus, updated: i64) -> Deployment {
        Deployment {
            id: Uuid::nil(),
            source: "github".into(),
            external_id: "42".into(),
            project_id: Uuid::nil(),
            service: "payments".into(),
            environment: "production".into(),
            status,
            repo: Some("acme/payments".into()),
            sha: Some("b".repeat(40)),
            is_rollback: false,
            explicit_commits: vec![],
            started_at: t(0),
            finished_at: status.is_final().then(|| t(updated)),
            created_at: t(0),
            updated_at: t(updated),
        }
    }

    #[test]
    fn an_older_report_does_not_undo_a_merge() {
        let merged = PullRequest {
            state: PrState::Merged,
            merged_at: Some(t(30)),
            closed_at: Some(t(30)),
            merge_commit_sha: Some("c".repeat(40)),
            updated_at: t(30),
            ..pr()
        };
        let stale = PullRequest {
            title: "Old title".into(),
            ..pr()
        };
        let out = merged.merge(&stale);
        assert_eq!(out.state, PrState::Merged);
        assert_eq!(out.merged_at, Some(t(30)));
        assert_eq!(out.title, "Cache users");
        assert_eq!(out.merge_commit_sha, Some("c".repeat(40)));
        // The other way round gives the same result.
        assert_eq!(stale.merge(&merged), out);
        // A replay changes nothing.
        assert_eq!(out.merge(&out), out);
    }

    #[test]
    fn commits_are_a_union_and_set_the_first_commit_time() {
        let a = PullRequest {
            commits: vec![PrCommit {
                sha: "1".repeat(40),
                authored_at: t(-50),
            }],
            ..pr()
        };
        let b = PullRequest {
            commits: vec![
                PrCommit {
                    sha: "2".repeat(40),
                    authored_at: t(-90),
                },
                PrCommit {
                    sha: "1".repeat(40),
                    authored_at: t(-50),
                },
            ],
            updated_at: t(5),
            ..pr()
        };
        let out = a.merge(&b);
        assert_eq!(out.commits.len(), 2);
        assert_eq!(out.first_commit_at, Some(t(-90)));
    }

    #[test]
    fn a_final_deployment_status_is_not_replaced_by_in_progress() {
        let done = deployment(DeploymentStatus::Success, 10);
        let late_progress = deployment(DeploymentStatus::InProgress, 20);
        let out = done.merge(&late_progress);
        assert_eq!(out.status, DeploymentStatus::Success);
        assert_eq!(out.finished_at, Some(t(10)));
        let out = late_progress.merge(&done);
        assert_eq!(out.status, DeploymentStatus::Success);
        // Between final statuses the newer wins (a redeploy that failed).
        let failed = deployment(DeploymentStatus::Failure, 30);
        assert_eq!(done.merge(&failed).status, DeploymentStatus::Failure);
        assert_eq!(failed.merge(&done).status, DeploymentStatus::Failure);
        assert_eq!(done.merge(&done), done);
    }

    #[test]
    fn validation_names_fields() {
        let d = Deployment {
            sha: Some("xyz".into()),
            explicit_commits: vec![CommitRef {
                repo: "".into(),
                sha: "abc".into(),
            }],
            finished_at: Some(t(-1)),
            ..deployment(DeploymentStatus::Success, 0)
        };
        assert_eq!(
            d.validate().unwrap_err().fields(),
            vec!["sha", "commits[0].repo", "commits[0].sha", "finished_at"]
        );
        let p = PullRequest {
            state: PrState::Merged,
            number: 0,
            ..pr()
        };
        assert_eq!(
            p.validate().unwrap_err().fields(),
            vec!["number", "merged_at"]
        );
    }

    #[test]
    fn review_times_are_the_earliest() {
        let r = |id: &str, state, m| Review {
            review_id: id.into(),
            state,
            submitted_at: t(m),
        };
        let reviews = vec![
            r("1", ReviewState::Commented, 20),
            r("2", ReviewState::Approved, 40),
            r("3", ReviewState::Approved, 30),
            r("4", ReviewState::ChangesRequested, 10),
        ];
        assert_eq!(review_times(&reviews), (Some(t(10)), Some(t(30))));
        assert_eq!(review_times(&[]), (None, None));
    }
}
