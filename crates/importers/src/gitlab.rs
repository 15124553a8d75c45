//! Backfill from the GitLab REST API v4: merge requests with their commits,
//! notes (review comments, and the system notes that record approvals) and
//! approval state; deployments; pipelines (with coverage); and issues
//! (incidents by type or label, bugs by label). Objects are mapped by the
//! functions the webhooks use (`tandem_domain::webhook::gitlab`), so a
//! backfilled record and one delivered by a webhook are the same row.
//!
//! The project is addressed by its path, URL-encoded as the `:id`
//! (`group%2Fsubgroup%2Fname`); the token goes in `PRIVATE-TOKEN`.
//!
//! Pages are followed by `Link: <…>; rel="next"` (offset and keyset
//! pagination both send it), else by `x-next-page`. A 429 waits
//! `Retry-After` seconds, else until `RateLimit-Reset`, at most
//! [`GitlabImport::max_wait`], and retries; an answer that says
//! `RateLimit-Remaining: 0` waits until `RateLimit-Reset` before the next
//! request. Any other error status stops the import with the URL and the
//! status. Each page is stored in one transaction.
//!
//! Incremental: per resource (`PATH:merge_requests`, `:deployments`,
//! `:pipelines`, `:issues`) the newest `updated_at` stored is the import
//! cursor (source `gitlab`); a re-run asks for `updated_after` it and skips
//! what is not newer. Listings are newest first (`order_by=updated_at`,
//! `sort=desc`): an object updated while a run pages is seen twice rather
//! than skipped, and the cursor is written once the resource's whole
//! listing is stored.
//!
//! Approval times: the approval state lists who approved, and only newer
//! GitLab versions say when (`approved_at`); the system note "approved this
//! merge request" says when on every version. The earliest of the two is
//! the approval's time; an approver with neither is counted in
//! [`GitlabImportSummary::approvals_without_time`] and not stored (no time
//! is guessed). An instance or token that refuses the approval state (403,
//! 404) leaves the notes as the only source, counted in
//! [`GitlabImportSummary::approval_states_unavailable`].

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use reqwest::RequestBuilder;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, HeaderMap};
use serde::Serialize;
use serde_json::Value;
use tandem_domain::engineering::{Record, Review};
use tandem_domain::project::Project;
use tandem_domain::webhook::{self, Context, PayloadError};
use tandem_store::Store;

use crate::backfill::{self, Backfill, BackfillError, payload};

use crate::rest::{self, Api, RestError};

/// The `import_cursors.source` of GitLab backfills.
pub const CURSOR_SOURCE: &str = "gitlab";

/// The public API.
pub const DEFAULT_API_URL: &str = "https://gitlab.com/api/v4";

/// The options of a Gitlab import (see [`Backfill`]).
pub type GitlabImport = Backfill;

pub type GitlabImportError = BackfillError;

/// What a run did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GitlabImportSummary {
    pub repo: String,
    /// Records stored in this run (new or changed since the last run).
    pub merge_requests: u64,
    /// Review comments (notes by someone other than the author).
    pub review_comments: u64,
    pub approvals: u64,
    /// Approvers the approval state lists with no time anywhere (not
    /// stored).
    pub approvals_without_time: u64,
    /// Merge requests whose approval state the API refused (403 or 404:
    /// an instance or token without the approvals API); their approvals
    /// come from the notes alone.
    pub approval_states_unavailable: u64,
    pub mr_commits: u64,
    pub deployments: u64,
    pub pipelines: u64,
    pub incidents: u64,
    pub bugs: u64,
    /// API requests made, and how many waited for a rate limit.
    pub requests: u64,
    pub rate_limit_waits: u64,
    pub seconds: f64,
}

/// A project path as the API's `:id`: every character outside the
/// unreserved set percent-encoded (`acme/billing` → `acme%2Fbilling`).
/// A path with fewer than two segments, an empty segment, or characters
/// GitLab never allows in a path is refused.
pub fn project_id(repo: &str) -> Result<String, GitlabImportError> {
    let bad = || BackfillError::BadRepo {
        repo: repo.to_owned(),
        expected: "a GitLab project path (GROUP/NAME or GROUP/SUBGROUP/…/NAME)",
    };
    let segments: Vec<&str> = repo.split('/').collect();
    if segments.len() < 2 {
        return Err(bad());
    }
    for s in &segments {
        let allowed = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '+');
        if s.is_empty() || !s.chars().all(allowed) || s.starts_with('.') && s.ends_with('.') {
            return Err(bad());
        }
    }
    let mut out = String::with_capacity(repo.len() + 8);
    for b in repo.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    Ok(out)
}

/// Imports one GitLab project into `project`.
pub async fn import(
    store: &Store,
    project: &Project,
    what: &GitlabImport,
    now: DateTime<Utc>,
) -> Result<GitlabImportSummary, GitlabImportError> {
    let id = project_id(&what.repo)?;
    let api = Gitlab {
        token: what.token.clone(),
    };
    let mut started = backfill::start(store, project, what, api).await?;
    let ctx = backfill::context(project, what, started.scoped.as_deref(), now);
    let project_url = format!("{}/projects/{id}", started.client.base);
    let mut summary = GitlabImportSummary {
        repo: what.repo.clone(),
        ..Default::default()
    };
    let mut run = Run {
        store,
        client: &mut started.client,
        what,
        ctx: &ctx,
        project_url: &project_url,
        summary: &mut summary,
        now,
    };
    run.merge_requests().await?;
    run.deployments().await?;
    run.pipelines().await?;
    run.issues().await?;
    (summary.requests, summary.rate_limit_waits, summary.seconds) = started.finish(store).await?;
    Ok(summary)
}

struct Run<'a> {
    store: &'a Store,
    client: &'a mut Client,
    what: &'a GitlabImport,
    ctx: &'a Context<'a>,
    project_url: &'a str,
    summary: &'a mut GitlabImportSummary,
    now: DateTime<Utc>,
}

/// One resource's listing: its cursor scope, the lower bound, the newest
/// `updated_at` seen, and the page to read next.
struct Listing {
    scope: String,
    bound: Option<DateTime<Utc>>,
    newest: Option<DateTime<Utc>>,
    next: Option<String>,
}

impl Listing {
    /// The newest-first listing URL of `path`, from `updated_after` the
    /// bound when there is one.
    fn url(&self, project_url: &str, path: &str, extra: &str) -> String {
        let mut url =
            format!("{project_url}/{path}?{extra}order_by=updated_at&sort=desc&per_page=100");
        if let Some(bound) = self.bound {
            url.push_str("&updated_after=");
            url.push_str(&bound.to_rfc3339_opts(SecondsFormat::Micros, true));
        }
        url
    }

    /// Whether an item is newer than the bound (`updated_after` includes
    /// the instant itself); notes it as seen.
    fn take(&mut self, item: &Value) -> bool {
        let at = updated_at(item);
        let newer = match (at, self.bound) {
            (Some(at), Some(bound)) => at > bound,
            _ => true,
        };
        if newer {
            self.newest = self.newest.max(at);
        }
        newer
    }
}

fn updated_at(v: &Value) -> Option<DateTime<Utc>> {
    v.get("updated_at")
        .and_then(Value::as_str)
        .and_then(webhook::parse_time)
        .map(|t| tandem_domain::time::micros(t.with_timezone(&Utc)))
}

impl Run<'_> {
    /// The listing of `resource` (its path under the project, and its
    /// cursor scope) from the later of the stored cursor and `--since`,
    /// with `extra` query parameters.
    async fn listing(&self, resource: &str, extra: &str) -> Result<Listing, GitlabImportError> {
        let scope = format!("{}:{resource}", self.what.repo);
        let cursor = self
            .store
            .import_cursor(CURSOR_SOURCE, &scope)
            .await?
            .and_then(|c| DateTime::parse_from_rfc3339(&c).ok())
            .map(|c| c.with_timezone(&Utc));
        let mut listing = Listing {
            scope,
            bound: cursor.max(self.what.since),
            newest: None,
            next: None,
        };
        listing.next = Some(listing.url(self.project_url, resource, extra));
        Ok(listing)
    }

    /// Reads the listing's next page: its URL and the items on it not yet
    /// imported, `None` once the listing is done. Listings are newest
    /// first, so the first item not newer than the bound ends it.
    async fn next_page(
        &mut self,
        listing: &mut Listing,
    ) -> Result<Option<(String, Vec<Value>)>, GitlabImportError> {
        let Some(url) = listing.next.take() else {
            return Ok(None);
        };
        let page = self.client.get(&url).await?;
        let items = page.array(&url, Gitlab::NAME)?;
        let new = items.iter().take_while(|item| listing.take(item)).count();
        if new == items.len() {
            listing.next = page.next;
        }
        let mut items = match page.body {
            Value::Array(items) => items,
            _ => Vec::new(),
        };
        items.truncate(new);
        Ok(Some((url, items)))
    }

    async fn finish(&self, listing: Listing) -> Result<(), GitlabImportError> {
        if let Some(newest) = listing.newest {
            let text = newest.to_rfc3339_opts(SecondsFormat::Micros, true);
            self.store
                .set_import_cursor(CURSOR_SOURCE, &listing.scope, &text, self.now)
                .await?;
        }
        Ok(())
    }

    async fn merge_requests(&mut self) -> Result<(), GitlabImportError> {
        let mut listing = self
            .listing("merge_requests", "state=all&scope=all&")
            .await?;
        while let Some((url, items)) = self.next_page(&mut listing).await? {
            let mut records = Vec::new();
            let mut shas = Vec::new();
            for item in &items {
                self.merge_request(&url, item, &mut records, &mut shas)
                    .await?;
            }
            self.store.upsert_records(&records).await?;
            if !shas.is_empty() {
                self.store
                    .invalidate_attribution(&self.what.repo, &shas)
                    .await?;
            }
        }
        self.finish(listing).await
    }

    /// One merge request with its commits, review comments and approvals.
    async fn merge_request(
        &mut self,
        url: &str,
        item: &Value,
        records: &mut Vec<Record>,
        shas: &mut Vec<String>,
    ) -> Result<(), GitlabImportError> {
        let repo = &self.what.repo;
        // `ready_at` stays unknown: the object does not say when a draft
        // became ready, and a time the webhooks recorded must not be
        // replaced by a guess.
        let mut mr = webhook::gitlab::merge_request(item, repo).map_err(|e| payload(url, e))?;
        let author = webhook::gitlab::merge_request_author(item).map_err(|e| payload(url, e))?;
        let base = format!("{}/merge_requests/{}", self.project_url, mr.number);

        mr.commits = merge_request_commits(self.client, self.project_url, mr.number).await?;
        mr.first_commit_at = mr.commits.iter().map(|c| c.authored_at).min();
        self.summary.mr_commits += mr.commits.len() as u64;
        shas.extend(mr.merge_commit_sha.iter().cloned());
        shas.extend(mr.commits.iter().map(|c| c.sha.clone()));
        let number = mr.number;
        records.push(Record::PullRequest(mr));

        let mut reviews: Vec<Review> = Vec::new();
        // The earliest approval time per approver, from the system notes.
        let mut approved: BTreeMap<String, Review> = BTreeMap::new();
        let notes_url = format!("{base}/notes?sort=asc&order_by=created_at&per_page=100");
        for n in self.client.get_all(&notes_url).await? {
            if let Some(r) =
                webhook::gitlab::note(&n, author).map_err(|e| payload(&notes_url, e))?
            {
                reviews.push(r);
            } else if let Some(r) =
                webhook::gitlab::approval_note(&n, author).map_err(|e| payload(&notes_url, e))?
            {
                keep_earliest(&mut approved, r);
            }
        }
        self.summary.review_comments += reviews.len() as u64;

        let approvals_url = format!("{base}/approvals");
        let state = match self.client.get(&approvals_url).await {
            Ok(page) => page.body,
            // An instance or token without the approvals API: the notes
            // still time the approvals.
            Err(RestError::Status { status, .. })
                if matches!(status, StatusCode::NOT_FOUND | StatusCode::FORBIDDEN) =>
            {
                tracing::warn!(url = approvals_url, %status, "no approval state; approvals come from notes only");
                self.summary.approval_states_unavailable += 1;
                Value::Object(Default::default())
            }
            Err(e) => return Err(e.into()),
        };
        for a in
            webhook::gitlab::approvals(&state, author).map_err(|e| payload(&approvals_url, e))?
        {
            match a.approved_at {
                Some(at) => keep_earliest(
                    &mut approved,
                    webhook::gitlab::approval_review(a.user_id, at),
                ),
                None if approved.contains_key(&format!("approval:{}", a.user_id)) => {}
                None => {
                    tracing::warn!(
                        repo,
                        number,
                        approver = a.user_id,
                        "an approval with no time (no approved_at, no system note) is not stored"
                    );
                    self.summary.approvals_without_time += 1;
                }
            }
        }
        self.summary.approvals += approved.len() as u64;
        reviews.extend(approved.into_values());
        for review in reviews {
            records.push(Record::Review {
                repo: repo.clone(),
                number,
                review,
            });
        }
        self.summary.merge_requests += 1;
        Ok(())
    }

    /// Pages through a listing newest first, mapping each item not yet
    /// imported to records with `map` and storing each page in one
    /// transaction; the cursor is saved once the listing is done.
    async fn each_new(
        &mut self,
        resource: &str,
        extra: &str,
        map: impl Fn(&Value, &Context<'_>, &str) -> Result<Vec<Record>, PayloadError>,
    ) -> Result<(), GitlabImportError> {
        let mut listing = self.listing(resource, extra).await?;
        while let Some((url, items)) = self.next_page(&mut listing).await? {
            let mut records = Vec::new();
            for item in &items {
                for r in map(item, self.ctx, &self.what.repo).map_err(|e| payload(&url, e))? {
                    match r {
                        Record::Deployment(_) => self.summary.deployments += 1,
                        Record::Incident(_) => self.summary.incidents += 1,
                        Record::WorkItem(_) => self.summary.bugs += 1,
                        _ => {}
                    }
                    records.push(r);
                }
            }
            self.store.upsert_records(&records).await?;
        }
        self.finish(listing).await
    }

    async fn deployments(&mut self) -> Result<(), GitlabImportError> {
        self.each_new("deployments", "", |item, ctx, repo| {
            Ok(vec![Record::Deployment(webhook::gitlab::deployment(
                item, repo, ctx,
            )?)])
        })
        .await
    }

    /// Pipelines: the listing has neither times nor coverage, so each new
    /// one is read whole (`GET …/pipelines/:id`).
    async fn pipelines(&mut self) -> Result<(), GitlabImportError> {
        let mut listing = self.listing("pipelines", "").await?;
        while let Some((url, items)) = self.next_page(&mut listing).await? {
            let mut records = Vec::new();
            for item in &items {
                let id = item.get("id").and_then(Value::as_i64).ok_or_else(|| {
                    GitlabImportError::from(RestError::Body {
                        method: reqwest::Method::GET,
                        url: url.clone(),
                        provider: Gitlab::NAME,
                        reason: "a pipeline without an id".to_owned(),
                    })
                })?;
                let detail_url = format!("{}/pipelines/{id}", self.project_url);
                let detail = self.client.get(&detail_url).await?.body;
                let p = webhook::gitlab::pipeline(&detail, &self.what.repo)
                    .map_err(|e| payload(&detail_url, e))?;
                self.summary.pipelines += 1;
                records.push(Record::Pipeline(p));
            }
            self.store.upsert_records(&records).await?;
        }
        self.finish(listing).await
    }

    async fn issues(&mut self) -> Result<(), GitlabImportError> {
        self.each_new("issues", "scope=all&", |item, ctx, repo| {
            webhook::gitlab::issue(item, repo, ctx)
        })
        .await
    }
}

fn keep_earliest(approved: &mut BTreeMap<String, Review>, r: Review) {
    match approved.get(&r.review_id) {
        Some(old) if old.submitted_at <= r.submitted_at => {}
        _ => {
            approved.insert(r.review_id.clone(), r);
        }
    }
}

/// The commits of one merge request (`iid`) of the project at
/// `project_url`, with their authored times.
pub(crate) async fn merge_request_commits(
    client: &mut Client,
    project_url: &str,
    iid: i64,
) -> Result<Vec<tandem_domain::engineering::PrCommit>, GitlabImportError> {
    let url = format!("{project_url}/merge_requests/{iid}/commits?per_page=100");
    let mut commits = Vec::new();
    for c in client.get_all(&url).await? {
        commits.push(webhook::gitlab::merge_request_commit(&c).map_err(|e| payload(&url, e))?);
    }
    Ok(commits)
}

// ---- HTTP ----------------------------------------------------------------

pub(crate) type Client = rest::Client<Gitlab>;

/// GitLab's REST API v4: `PRIVATE-TOKEN`, `Link` or `x-next-page` pages,
/// 429 with `Retry-After` or `RateLimit-Reset`, and a window used up told
/// by `RateLimit-Remaining: 0` on a successful answer.
pub(crate) struct Gitlab {
    pub token: Option<String>,
}

impl Api for Gitlab {
    const NAME: &'static str = "GitLab";

    fn authorize(&self, request: RequestBuilder) -> RequestBuilder {
        let request = request.header(ACCEPT, "application/json");
        match &self.token {
            Some(token) => request.header("PRIVATE-TOKEN", token),
            None => request,
        }
    }

    fn rate_limited(
        &self,
        status: StatusCode,
        headers: &HeaderMap,
        now: DateTime<Utc>,
    ) -> Option<Duration> {
        (status == StatusCode::TOO_MANY_REQUESTS).then(|| retry_wait(headers, now))
    }

    fn exhausted(&self, headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
        exhausted_wait(headers, now)
    }

    fn next_page(&self, url: &str, headers: &HeaderMap) -> Option<String> {
        next_page(url, headers)
    }

    fn explain(&self, status: StatusCode, body: &str) -> (String, &'static str) {
        // GitLab answers `{"message": "401 Unauthorized"}`, `{"error": "…"}`,
        // or (from a proxy) HTML.
        let hint = match status {
            StatusCode::UNAUTHORIZED => {
                " (the token is missing, wrong or expired: pass --token-file or set GITLAB_TOKEN; it is sent as PRIVATE-TOKEN)"
            }
            StatusCode::FORBIDDEN => " (the token lacks access to this project: it needs read_api)",
            StatusCode::NOT_FOUND => {
                " (no such project, or the token cannot see it: --repo is the project's full path)"
            }
            _ => "",
        };
        (rest::error_message(body), hint)
    }
}

/// Seconds until `RateLimit-Reset` (a Unix time), one more for the clock
/// difference; none when the reset has passed.
fn until_reset(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    let reset = rest::header(headers, "ratelimit-reset")?
        .parse::<i64>()
        .ok()?;
    let secs = reset - now.timestamp();
    Some(if secs > 0 {
        Duration::from_secs(secs as u64 + 1)
    } else {
        Duration::ZERO
    })
}

/// How long a 429 asks to wait: `Retry-After` seconds, else until
/// `RateLimit-Reset`, else a minute.
fn retry_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Duration {
    if let Some(secs) = rest::header(headers, "retry-after").and_then(|s| s.parse::<u64>().ok()) {
        return Duration::from_secs(secs);
    }
    until_reset(headers, now).unwrap_or(Duration::from_secs(60))
}

/// A successful answer that used the last request of the window: wait until
/// the window resets before the next request.
fn exhausted_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if rest::header(headers, "ratelimit-remaining")? != "0" {
        return None;
    }
    Some(until_reset(headers, now).unwrap_or(Duration::from_secs(60)))
}

/// The next page: the `rel="next"` target of `Link`, else the current URL
/// with `page` set to `x-next-page` (empty on the last page).
fn next_page(url: &str, headers: &HeaderMap) -> Option<String> {
    if let Some(next) = rest::next_link(headers) {
        return Some(next);
    }
    let page = rest::header(headers, "x-next-page").filter(|p| !p.is_empty())?;
    if !page.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let mut params: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty() && !p.starts_with("page="))
        .map(str::to_owned)
        .collect();
    params.push(format!("page={page}"));
    Some(format!("{path}?{}", params.join("&")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn project_paths_become_ids() {
        assert_eq!(project_id("acme/payments").unwrap(), "acme%2Fpayments");
        assert_eq!(
            project_id("acme/billing/pay.ments-v2").unwrap(),
            "acme%2Fbilling%2Fpay.ments-v2"
        );
        for bad in [
            "payments", "acme//x", "/acme/x", "acme/x/", "acme/x y", "acme/x?y", "",
        ] {
            let err = project_id(bad).unwrap_err().to_string();
            assert!(err.starts_with("--repo:") && err.contains(bad), "{err}");
        }
    }

    #[test]
    fn follows_link_then_next_page() {
        let url = "https://gl/api/v4/projects/a%2Fb/issues?scope=all&per_page=100&page=1";
        let mut h = HeaderMap::new();
        h.insert("x-next-page", HeaderValue::from_static("2"));
        assert_eq!(
            next_page(url, &h).as_deref(),
            Some("https://gl/api/v4/projects/a%2Fb/issues?scope=all&per_page=100&page=2")
        );
        h.insert(
            "link",
            HeaderValue::from_static(
                "<https://gl/api/v4/projects/1/issues?cursor=eyJpZCI6MX0&per_page=100>; rel=\"next\", \
                 <https://gl/api/v4/projects/1/issues?page=1>; rel=\"first\"",
            ),
        );
        assert_eq!(
            next_page(url, &h).as_deref(),
            Some("https://gl/api/v4/projects/1/issues?cursor=eyJpZCI6MX0&per_page=100")
        );
        let mut last = HeaderMap::new();
        last.insert("x-next-page", HeaderValue::from_static(""));
        assert_eq!(next_page(url, &last), None);
    }

    #[test]
    fn reads_rate_limits() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        assert_eq!(retry_wait(&h, now), Duration::from_secs(60));
        assert_eq!(exhausted_wait(&h, now), None);
        let reset = (now.timestamp() + 30).to_string();
        h.insert("ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        h.insert("ratelimit-remaining", HeaderValue::from_static("12"));
        assert_eq!(retry_wait(&h, now), Duration::from_secs(31));
        assert_eq!(exhausted_wait(&h, now), None);
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        assert_eq!(exhausted_wait(&h, now), Some(Duration::from_secs(31)));
        h.insert("retry-after", HeaderValue::from_static("0"));
        assert_eq!(retry_wait(&h, now), Duration::ZERO);
        let past = (now.timestamp() - 5).to_string();
        h.insert("ratelimit-reset", HeaderValue::from_str(&past).unwrap());
        assert_eq!(exhausted_wait(&h, now), Some(Duration::ZERO));
    }

    #[test]
    fn errors_name_url_status_and_message() {
        let error = |status: StatusCode, body: &str| {
            let (message, hint) = Gitlab { token: None }.explain(status, body);
            RestError::Status {
                method: reqwest::Method::GET,
                url: "https://gl/x".into(),
                status,
                message,
                hint,
            }
            .to_string()
        };
        let e = error(
            StatusCode::UNAUTHORIZED,
            r#"{"message":"401 Unauthorized"}"#,
        );
        assert!(
            e.contains("GET https://gl/x answered 401 Unauthorized: 401 Unauthorized"),
            "{e}"
        );
        assert!(e.contains("GITLAB_TOKEN"), "{e}");
        let e = error(
            StatusCode::BAD_GATEWAY,
            "<html><body><h1>502 Bad Gateway</h1></body></html>",
        );
        assert!(e.contains("502 Bad Gateway") && e.contains("<h1>"), "{e}");
    }
}
