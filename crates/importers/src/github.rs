//! Backfill from the GitHub REST API: pull requests with their reviews and
//! commits, deployments with their statuses, and issues (incidents and
//! bugs by label), mapped by the same functions as the webhooks
//! (`tandem_domain::webhook::github`), so a backfilled record and one
//! delivered by a webhook are the same row.
//!
//! Requests follow `Link: <…>; rel="next"` for further pages. A rate limit
//! (429, or 403 with `x-ratelimit-remaining: 0`) waits `Retry-After`
//! seconds or until `x-ratelimit-reset`, at most [`GithubImport::max_wait`],
//! and retries; any other error status stops the import with the URL and
//! status. Each page is stored in one transaction.
//!
//! Incremental: per resource (`OWNER/NAME:pulls`, `:deployments`,
//! `:issues`) the newest `updated_at` stored is the import cursor (source
//! `github`); a re-run skips what is not newer. The cursor is written once
//! the whole listing of a resource is stored (the pull request listing is
//! newest first, so an interrupted run must see its older pages again; they
//! are upserts, so seeing them twice changes nothing).

use std::time::Duration;

use crate::rest::{self, Api, RestError};

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::RequestBuilder;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap};
use serde::Serialize;
use serde_json::Value;
use tandem_domain::engineering::{PrCommit, Record};
use tandem_domain::project::Project;
use tandem_domain::webhook::{self, Context};
use tandem_store::Store;

use crate::backfill::{self, Backfill, BackfillError, payload};

/// The `import_cursors.source` of GitHub backfills.
pub const CURSOR_SOURCE: &str = "github";

/// The public API.
pub const DEFAULT_API_URL: &str = "https://api.github.com";

/// Deployments are listed newest created first, and a status can arrive
/// after newer deployments were created: paging goes this far behind the
/// cursor before it stops.
const DEPLOYMENT_LOOKBACK: chrono::TimeDelta = chrono::TimeDelta::days(1);

/// The options of a Github import (see [`Backfill`]).
pub type GithubImport = Backfill;

pub type GithubImportError = BackfillError;

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GithubImportSummary {
    pub repo: String,
    /// Records stored in this run (new or changed since the last run).
    pub pull_requests: u64,
    pub reviews: u64,
    pub pr_commits: u64,
    pub deployments: u64,
    pub incidents: u64,
    pub bugs: u64,
    /// API requests made, and how many waited for a rate limit.
    pub requests: u64,
    pub rate_limit_waits: u64,
    pub seconds: f64,
}

/// Imports one repository into `project`.
pub async fn import(
    store: &Store,
    project: &Project,
    what: &GithubImport,
    now: DateTime<Utc>,
) -> Result<GithubImportSummary, GithubImportError> {
    if what.repo.split('/').count() != 2 || what.repo.split('/').any(|p| p.trim().is_empty()) {
        return Err(BackfillError::BadRepo {
            repo: what.repo.clone(),
            expected: "OWNER/NAME",
        });
    }
    let api = Github {
        token: what.token.clone(),
    };
    let mut started = backfill::start(store, project, what, api).await?;
    let ctx = backfill::context(project, what, started.scoped.as_deref(), now);
    let mut summary = GithubImportSummary {
        repo: what.repo.clone(),
        ..Default::default()
    };
    let mut run = Run {
        store,
        client: &mut started.client,
        what,
        ctx: &ctx,
        summary: &mut summary,
        now,
    };
    run.pulls().await?;
    run.deployments().await?;
    run.issues().await?;
    (summary.requests, summary.rate_limit_waits, summary.seconds) = started.finish(store).await?;
    Ok(summary)
}

/// One import's state: where it reads and writes, and what it counted.
struct Run<'a> {
    store: &'a Store,
    client: &'a mut Client,
    what: &'a GithubImport,
    ctx: &'a Context<'a>,
    summary: &'a mut GithubImportSummary,
    now: DateTime<Utc>,
}

fn updated_at(v: &Value) -> Option<DateTime<Utc>> {
    v.get("updated_at")
        .and_then(Value::as_str)
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
}

fn is_newer(v: &Value, bound: Option<DateTime<Utc>>) -> bool {
    match (updated_at(v), bound) {
        (Some(at), Some(bound)) => at > bound,
        _ => true,
    }
}

impl Run<'_> {
    /// The later of the stored cursor and `--since`: only what was updated
    /// after it is imported.
    async fn lower_bound(
        &self,
        resource: &str,
    ) -> Result<(String, Option<DateTime<Utc>>), GithubImportError> {
        let scope = format!("{}:{resource}", self.what.repo);
        let cursor = self
            .store
            .import_cursor(CURSOR_SOURCE, &scope)
            .await?
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&Utc));
        Ok((scope, cursor.max(self.what.since)))
    }

    async fn save_cursor(
        &self,
        scope: &str,
        newest: Option<DateTime<Utc>>,
    ) -> Result<(), GithubImportError> {
        if let Some(newest) = newest {
            let text = newest.to_rfc3339_opts(SecondsFormat::Micros, true);
            self.store
                .set_import_cursor(CURSOR_SOURCE, scope, &text, self.now)
                .await?;
        }
        Ok(())
    }

    async fn pulls(&mut self) -> Result<(), GithubImportError> {
        let (scope, bound) = self.lower_bound("pulls").await?;
        let mut newest = None;
        let mut next = Some(format!(
            "{}/repos/{}/pulls?state=all&sort=updated&direction=desc&per_page=100",
            self.client.base, self.what.repo
        ));
        while let Some(url) = next.take() {
            let page = self.client.get(&url).await?;
            let items = page.array(&url, Github::NAME)?;
            let mut records = Vec::new();
            let mut shas = Vec::new();
            let mut done = false;
            for item in items {
                if !is_newer(item, bound) {
                    // Newest first: everything after this is older still.
                    done = true;
                    break;
                }
                newest = newest.max(updated_at(item));
                // `ready_at` stays unknown: the object does not say when a draft
                // became ready (metrics then count from creation), and a time the
                // webhooks recorded must not be replaced by an earlier guess.
                let mut pr = webhook::github::pull_request(item).map_err(|e| payload(&url, e))?;
                let author = item.pointer("/user/id").and_then(Value::as_i64);
                let base = format!(
                    "{}/repos/{}/pulls/{}",
                    self.client.base, self.what.repo, pr.number
                );
                pr.commits = pull_commits(self.client, &self.what.repo, pr.number).await?;
                pr.first_commit_at = pr.commits.iter().map(|c| c.authored_at).min();
                self.summary.pr_commits += pr.commits.len() as u64;
                shas.extend(pr.merge_commit_sha.iter().cloned());
                shas.extend(pr.commits.iter().map(|c| c.sha.clone()));
                let (repo, number) = (pr.repo.clone(), pr.number);
                records.push(Record::PullRequest(pr));
                let reviews_url = format!("{base}/reviews?per_page=100");
                for r in self.client.get_all(&reviews_url).await? {
                    let reviewer = r.pointer("/user/id").and_then(Value::as_i64);
                    if author.is_some() && author == reviewer {
                        continue;
                    }
                    if let Some(review) =
                        webhook::github::review(&r).map_err(|e| payload(&reviews_url, e))?
                    {
                        self.summary.reviews += 1;
                        records.push(Record::Review {
                            repo: repo.clone(),
                            number,
                            review,
                        });
                    }
                }
                self.summary.pull_requests += 1;
            }
            self.store.upsert_records(&records).await?;
            if !shas.is_empty() {
                self.store
                    .invalidate_attribution(&self.what.repo, &shas)
                    .await?;
            }
            if !done {
                next = page.next;
            }
        }
        self.save_cursor(&scope, newest).await
    }

    async fn deployments(&mut self) -> Result<(), GithubImportError> {
        let (scope, bound) = self.lower_bound("deployments").await?;
        let stop_before = bound.map(|b| b - DEPLOYMENT_LOOKBACK);
        let mut newest = None;
        let mut next = Some(format!(
            "{}/repos/{}/deployments?per_page=100",
            self.client.base, self.what.repo
        ));
        while let Some(url) = next.take() {
            let page = self.client.get(&url).await?;
            let items = page.array(&url, Github::NAME)?;
            let mut records = Vec::new();
            let mut done = false;
            for item in items {
                let created = item
                    .get("created_at")
                    .and_then(Value::as_str)
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
                if let (Some(created), Some(stop)) = (created, stop_before)
                    && created < stop
                {
                    done = true;
                    break;
                }
                if !is_newer(item, bound) {
                    continue;
                }
                newest = newest.max(updated_at(item));
                let id = item
                    .get("id")
                    .and_then(Value::as_i64)
                    .ok_or_else(|| body_error(url.clone(), "a deployment without an id"))?;
                let statuses_url = format!(
                    "{}/repos/{}/deployments/{id}/statuses?per_page=100",
                    self.client.base, self.what.repo
                );
                // Newest first: the first status that is not `inactive` is the
                // deployment's outcome.
                let statuses = self.client.get_all(&statuses_url).await?;
                let mut deployment = None;
                for s in &statuses {
                    if let Some(d) =
                        webhook::github::deployment_with_status(item, s, &self.what.repo, self.ctx)
                            .map_err(|e| payload(&statuses_url, e))?
                    {
                        deployment = Some(d);
                        break;
                    }
                }
                let deployment = match deployment {
                    Some(d) => d,
                    None => webhook::github::deployment(item, &self.what.repo, self.ctx)
                        .map_err(|e| payload(&url, e))?,
                };
                self.summary.deployments += 1;
                records.push(Record::Deployment(deployment));
            }
            self.store.upsert_records(&records).await?;
            if !done {
                next = page.next;
            }
        }
        self.save_cursor(&scope, newest).await
    }

    async fn issues(&mut self) -> Result<(), GithubImportError> {
        let (scope, bound) = self.lower_bound("issues").await?;
        let mut newest = None;
        let mut url = format!(
            "{}/repos/{}/issues?state=all&sort=updated&direction=desc&per_page=100",
            self.client.base, self.what.repo
        );
        if let Some(bound) = bound {
            url.push_str("&since=");
            url.push_str(&bound.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let page = self.client.get(&url).await?;
            let items = page.array(&url, Github::NAME)?;
            let mut records = Vec::new();
            for item in items {
                // `since` includes the instant itself.
                if !is_newer(item, bound) {
                    continue;
                }
                newest = newest.max(updated_at(item));
                for r in webhook::github::issue(item, &self.what.repo, self.ctx)
                    .map_err(|e| payload(&url, e))?
                {
                    match r {
                        Record::Incident(_) => self.summary.incidents += 1,
                        Record::WorkItem(_) => self.summary.bugs += 1,
                        _ => {}
                    }
                    records.push(r);
                }
            }
            self.store.upsert_records(&records).await?;
            next = page.next;
        }
        self.save_cursor(&scope, newest).await
    }
}

/// The commits of one pull request, as the API lists them (paged; GitHub
/// lists at most 250), with their authored times.
pub(crate) async fn pull_commits(
    client: &mut Client,
    repo: &str,
    number: i64,
) -> Result<Vec<PrCommit>, GithubImportError> {
    let url = format!(
        "{}/repos/{repo}/pulls/{number}/commits?per_page=100",
        client.base
    );
    let mut commits = Vec::new();
    for c in client.get_all(&url).await? {
        let sha = c.get("sha").and_then(Value::as_str).unwrap_or_default();
        let date = c
            .pointer("/commit/author/date")
            .and_then(Value::as_str)
            .and_then(|s| DateTime::parse_from_rfc3339(s).ok());
        match date {
            Some(date) if tandem_domain::git::is_sha(sha) => commits.push(PrCommit {
                sha: sha.to_ascii_lowercase(),
                authored_at: date.with_timezone(&Utc),
            }),
            _ => {
                return Err(body_error(
                    url,
                    "a commit without sha or commit.author.date",
                ));
            }
        }
    }
    Ok(commits)
}

// ---- HTTP ----------------------------------------------------------------

pub(crate) type Client = rest::Client<Github>;

pub(crate) fn body_error(url: String, reason: &str) -> GithubImportError {
    RestError::Body {
        method: reqwest::Method::GET,
        url,
        provider: Github::NAME,
        reason: reason.to_owned(),
    }
    .into()
}

/// GitHub's REST API: a bearer token, `Link` pages, rate limits told by
/// 429 or by 403 with `x-ratelimit-remaining: 0`.
pub(crate) struct Github {
    pub token: Option<String>,
}

impl Api for Github {
    const NAME: &'static str = "GitHub";

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        let request = request
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28");
        match &self.token {
            Some(token) => request.header(AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        }
    }

    fn rate_limited(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        rate_limit_wait(status, headers, now)
    }

    fn next_page(&self, _url: &str, headers: &HeaderMap) -> Option<String> {
        rest::next_link(headers)
    }

    fn explain(&self, status: StatusCode, body: &str) -> (String, &'static str) {
        let hint = match status {
            StatusCode::UNAUTHORIZED => {
                " (the token is missing, wrong or expired: pass --token-file or set GITHUB_TOKEN)"
            }
            StatusCode::FORBIDDEN => " (the token lacks access to this repository)",
            StatusCode::NOT_FOUND => " (no such repository, or the token cannot see it)",
            _ => "",
        };
        (rest::error_message(body), hint)
    }
}

/// How long a rate-limited answer asks to wait; `None` when it is not one.
fn rate_limit_wait(
    status: StatusCode,
    headers: &HeaderMap,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let header = |name: &str| rest::header(headers, name);
    let exhausted = header("x-ratelimit-remaining") == Some("0");
    let limited = status == StatusCode::TOO_MANY_REQUESTS
        || (status == StatusCode::FORBIDDEN && (exhausted || header("retry-after").is_some()));
    if !limited {
        return None;
    }
    if let Some(secs) = header("retry-after").and_then(|s| s.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if let Some(reset) = header("x-ratelimit-reset").and_then(|s| s.parse::<i64>().ok()) {
        let secs = (reset - now.timestamp()).max(0) as u64;
        return Some(Duration::from_secs(secs + 1));
    }
    // Secondary limits without a hint: GitHub asks for at least a minute.
    Some(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn reads_rate_limits() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        assert_eq!(rate_limit_wait(StatusCode::FORBIDDEN, &h, now), None);
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = (now.timestamp() + 30).to_string();
        h.insert("x-ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        assert_eq!(
            rate_limit_wait(StatusCode::FORBIDDEN, &h, now),
            Some(Duration::from_secs(31))
        );
        h.insert("retry-after", HeaderValue::from_static("2"));
        assert_eq!(
            rate_limit_wait(StatusCode::TOO_MANY_REQUESTS, &h, now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(rate_limit_wait(StatusCode::OK, &h, now), None);
    }
}
