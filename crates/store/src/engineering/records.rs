//! Engineering records: pull requests and their commits and reviews,
//! deployments, incidents, pipelines, bugs reported through an issue
//! tracker, raw deliveries and webhook secrets.
//!
//! Every write is an upsert on the record's natural key and folds the new
//! report into the stored one with the domain's `merge` rule, so a replay
//! changes nothing and an older report never undoes a newer one. A row that
//! may be updated is inserted first (`ON CONFLICT DO NOTHING`) and otherwise
//! read with a row lock (PostgreSQL `FOR UPDATE`; SQLite's write transaction
//! already excludes other writers), so two concurrent reports of one record
//! cannot lose either. Every write that changes a deployment marks it
//! `attributed = FALSE` so its shipped commits are computed again.
//!
//! [`Store::ingest`] stores a batch of deliveries with their records in one
//! transaction (the webhook receivers' group commit): a delivery whose id is
//! already stored is a replay and its records are skipped.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{FromRow, PgPool, QueryBuilder, SqlitePool};
use tandem_domain::engineering::{
    CommitRef, Deployment, DeploymentStatus, Incident, Outcome, Pipeline, PipelineStatus, PrCommit,
    PrState, Provider, PullRequest, Record, Review, ReviewState, review_times,
};
use tandem_domain::project::Project;
use tandem_domain::work_item::WorkItem;
use uuid::Uuid;

use crate::engine::{Engine, Tx, sql};
use crate::rows::ProjectRow;
use crate::{BeginWrite, Page, Result, Store, StoreError, on_pool, page};

/// One delivery and the records derived from it, for [`Store::ingest`].
#[derive(Debug, Clone)]
pub struct Ingest {
    pub delivery: tandem_domain::engineering::RawDelivery,
    pub records: Vec<Record>,
}

/// Which stored deliveries to list (for `tandem reprocess`).
#[derive(Debug, Clone, Default)]
pub struct RawDeliveryFilter {
    pub provider: Option<Provider>,
    /// Received at or after this instant.
    pub since: Option<DateTime<Utc>>,
    /// The sender's delivery id.
    pub delivery_id: Option<String>,
    /// Deliveries with an id greater than this (ids grow with arrival).
    pub after: Option<Uuid>,
    /// At most this many (1..=500; 0 means 100).
    pub limit: u32,
}

/// The batch statements of [`Store::ingest`], which differ in shape
/// between the engines: multi-row `VALUES` on SQLite; column arrays through
/// `UNNEST` on PostgreSQL, whose statement text does not change with the
/// number of rows, so it is prepared once per connection and its planning
/// does not grow with the batch. Everything else engine-specific (row locks,
/// `BEGIN IMMEDIATE`) comes from [`crate::engine::Db`].
trait IngestSql {
    type Db: crate::engine::Db;
    type Conn;

    /// Inserts the deliveries whose `(provider, delivery_id)` is not
    /// stored (nor earlier in the slice); returns the ids of those inserted.
    async fn insert_deliveries(
        &self,
        conn: &mut Self::Conn,
        items: &[&tandem_domain::engineering::RawDelivery],
    ) -> Result<HashSet<Uuid>>;

    /// Inserts pull requests (one report per key) unless stored; returns
    /// the keys inserted.
    async fn insert_new_prs(
        &self,
        conn: &mut Self::Conn,
        prs: &[&PullRequest],
    ) -> Result<HashSet<PrKey>>;

    /// The stored rows of these pull requests, locked for update.
    async fn stored_prs(&self, conn: &mut Self::Conn, keys: &[PrKey]) -> Result<Vec<PrRow>>;

    /// The stored reviews of these pull requests.
    async fn reviews_of(&self, conn: &mut Self::Conn, keys: &[PrKey]) -> Result<Vec<ReviewRow>>;

    /// Inserts pull request commits not stored yet.
    async fn insert_pr_commits(
        &self,
        conn: &mut Self::Conn,
        rows: &[(&str, i64, &PrCommit)],
    ) -> Result<()>;
}

/// Rows per multi-row statement on SQLite (at most 17 columns: 8,500
/// parameters, well under SQLite's 32,766).
const SQLITE_ROWS: usize = 500;

/// Pushes `(repo, number) IN (VALUES (?, ?), …)` for SQLite.
fn push_pr_keys(qb: &mut QueryBuilder<sqlx::Sqlite>, keys: &[PrKey]) {
    qb.push("(repo, number) IN (VALUES ");
    for (i, (repo, number)) in keys.iter().enumerate() {
        if i > 0 {
            qb.push(", ");
        }
        qb.push("(");
        qb.push_bind(repo.clone());
        qb.push(", ");
        qb.push_bind(*number);
        qb.push(")");
    }
    qb.push(")");
}

impl IngestSql for SqlitePool {
    type Db = sqlx::Sqlite;
    type Conn = sqlx::SqliteConnection;

    async fn insert_deliveries(
        &self,
        conn: &mut Self::Conn,
        items: &[&tandem_domain::engineering::RawDelivery],
    ) -> Result<HashSet<Uuid>> {
        let mut inserted = HashSet::new();
        for chunk in items.chunks(SQLITE_ROWS) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO deliveries (id, provider, delivery_id, event, project_id, received_at, \
                 headers, body, outcome, detail) ",
            );
            qb.push_values(chunk, |mut b, d| {
                b.push_bind(d.id)
                    .push_bind(d.provider.as_str())
                    .push_bind(&d.delivery_id)
                    .push_bind(&d.event)
                    .push_bind(d.project_id)
                    .push_bind(d.received_at)
                    .push_bind(Json(&d.headers))
                    .push_bind(&d.body)
                    .push_bind(d.outcome.as_str())
                    .push_bind(&d.detail);
            });
            qb.push(" ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id");
            let ids: Vec<(Uuid,)> = qb.build_query_as().fetch_all(&mut *conn).await?;
            inserted.extend(ids.into_iter().map(|(id,)| id));
        }
        Ok(inserted)
    }

    async fn insert_new_prs(
        &self,
        conn: &mut Self::Conn,
        prs: &[&PullRequest],
    ) -> Result<HashSet<PrKey>> {
        let mut inserted = HashSet::new();
        for chunk in prs.chunks(SQLITE_ROWS) {
            let mut qb = QueryBuilder::new(format!("INSERT INTO pull_requests ({PR_COLS}) "));
            qb.push_values(chunk, |mut b, pr| {
                b.push_bind(&pr.repo)
                    .push_bind(pr.number)
                    .push_bind(&pr.source)
                    .push_bind(&pr.title)
                    .push_bind(pr.state.as_str())
                    .push_bind(pr.draft)
                    .push_bind(&pr.base_branch)
                    .push_bind(&pr.head_sha)
                    .push_bind(&pr.merge_commit_sha)
                    .push_bind(pr.created_at)
                    .push_bind(pr.ready_at)
                    .push_bind(pr.first_commit_at)
                    .push_bind(pr.first_review_at)
                    .push_bind(pr.approved_at)
                    .push_bind(pr.merged_at)
                    .push_bind(pr.closed_at)
                    .push_bind(pr.updated_at);
            });
            qb.push(" ON CONFLICT (repo, number) DO NOTHING RETURNING repo, number");
            let keys: Vec<PrKey> = qb.build_query_as().fetch_all(&mut *conn).await?;
            inserted.extend(keys);
        }
        Ok(inserted)
    }

    async fn stored_prs(&self, conn: &mut Self::Conn, keys: &[PrKey]) -> Result<Vec<PrRow>> {
        let mut rows = Vec::new();
        for chunk in keys.chunks(SQLITE_ROWS) {
            let mut qb = QueryBuilder::new(format!("SELECT {PR_COLS} FROM pull_requests WHERE "));
            push_pr_keys(&mut qb, chunk);
            rows.extend(qb.build_query_as::<PrRow>().fetch_all(&mut *conn).await?);
        }
        Ok(rows)
    }

    async fn reviews_of(&self, conn: &mut Self::Conn, keys: &[PrKey]) -> Result<Vec<ReviewRow>> {
        let mut rows = Vec::new();
        for chunk in keys.chunks(SQLITE_ROWS) {
            let mut qb = QueryBuilder::new(
                "SELECT repo, number, review_id, state, submitted_at FROM reviews WHERE ",
            );
            push_pr_keys(&mut qb, chunk);
            rows.extend(
                qb.build_query_as::<ReviewRow>()
                    .fetch_all(&mut *conn)
                    .await?,
            );
        }
        Ok(rows)
    }

    async fn insert_pr_commits(
        &self,
        conn: &mut Self::Conn,
        rows: &[(&str, i64, &PrCommit)],
    ) -> Result<()> {
        for chunk in rows.chunks(SQLITE_ROWS) {
            let mut qb = QueryBuilder::new(
                "INSERT INTO pull_request_commits (repo, number, sha, authored_at) ",
            );
            qb.push_values(chunk, |mut b, (repo, number, c)| {
                b.push_bind(*repo)
                    .push_bind(*number)
                    .push_bind(&c.sha)
                    .push_bind(c.authored_at);
            });
            qb.push(" ON CONFLICT (repo, number, sha) DO NOTHING");
            qb.build().execute(&mut *conn).await?;
        }
        Ok(())
    }
}

/// The two key columns of pull requests, as arrays for `UNNEST`.
fn pr_key_columns(keys: &[PrKey]) -> (Vec<&str>, Vec<i64>) {
    keys.iter().map(|(r, n)| (r.as_str(), *n)).unzip()
}

impl IngestSql for PgPool {
    type Db = sqlx::Postgres;
    type Conn = sqlx::PgConnection;

    async fn insert_deliveries(
        &self,
        conn: &mut Self::Conn,
        items: &[&tandem_domain::engineering::RawDelivery],
    ) -> Result<HashSet<Uuid>> {
        let headers = items
            .iter()
            .map(|d| serde_json::to_string(&d.headers))
            .collect::<std::result::Result<Vec<String>, _>>()
            .map_err(|e| StoreError::Corrupt(format!("deliveries.headers: {e}")))?;
        let ids: Vec<(Uuid,)> = sqlx::query_as(
            "INSERT INTO deliveries (id, provider, delivery_id, event, project_id, received_at, headers, \
             body, outcome, detail) \
             SELECT id, provider, delivery_id, event, project_id, received_at, headers::jsonb, body, outcome, \
             detail FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::text[], $5::uuid[], \
             $6::timestamptz[], $7::text[], $8::bytea[], $9::text[], $10::text[]) \
             AS t(id, provider, delivery_id, event, project_id, received_at, headers, body, outcome, detail) \
             ON CONFLICT (provider, delivery_id) DO NOTHING RETURNING id",
        )
        .bind(items.iter().map(|d| d.id).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.provider.as_str()).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.delivery_id.as_str()).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.event.as_str()).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.project_id).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.received_at).collect::<Vec<_>>())
        .bind(headers)
        .bind(items.iter().map(|d| d.body.as_slice()).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.outcome.as_str()).collect::<Vec<_>>())
        .bind(items.iter().map(|d| d.detail.as_str()).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    async fn insert_new_prs(
        &self,
        conn: &mut Self::Conn,
        prs: &[&PullRequest],
    ) -> Result<HashSet<PrKey>> {
        let text = |f: fn(&PullRequest) -> &str| prs.iter().map(|p| f(p)).collect::<Vec<&str>>();
        let opt_text = |f: fn(&PullRequest) -> Option<&str>| {
            prs.iter().map(|p| f(p)).collect::<Vec<Option<&str>>>()
        };
        let time = |f: fn(&PullRequest) -> Option<DateTime<Utc>>| {
            prs.iter().map(|p| f(p)).collect::<Vec<_>>()
        };
        let keys: Vec<PrKey> = sqlx::query_as(sql(format!(
            "INSERT INTO pull_requests ({PR_COLS}) SELECT * FROM UNNEST($1::text[], $2::int8[], \
             $3::text[], $4::text[], $5::text[], $6::bool[], $7::text[], $8::text[], $9::text[], \
             $10::timestamptz[], $11::timestamptz[], $12::timestamptz[], $13::timestamptz[], \
             $14::timestamptz[], $15::timestamptz[], $16::timestamptz[], $17::timestamptz[]) \
             ON CONFLICT (repo, number) DO NOTHING RETURNING repo, number"
        )))
        .bind(text(|p| &p.repo))
        .bind(prs.iter().map(|p| p.number).collect::<Vec<_>>())
        .bind(text(|p| &p.source))
        .bind(text(|p| &p.title))
        .bind(text(|p| p.state.as_str()))
        .bind(prs.iter().map(|p| p.draft).collect::<Vec<_>>())
        .bind(text(|p| &p.base_branch))
        .bind(opt_text(|p| p.head_sha.as_deref()))
        .bind(opt_text(|p| p.merge_commit_sha.as_deref()))
        .bind(prs.iter().map(|p| p.created_at).collect::<Vec<_>>())
        .bind(time(|p| p.ready_at))
        .bind(time(|p| p.first_commit_at))
        .bind(time(|p| p.first_review_at))
        .bind(time(|p| p.approved_at))
        .bind(time(|p| p.merged_at))
        .bind(time(|p| p.closed_at))
        .bind(prs.iter().map(|p| p.updated_at).collect::<Vec<_>>())
        .fetch_all(&mut *conn)
        .await?;
        Ok(keys.into_iter().collect())
    }

    async fn stored_prs(&self, conn: &mut Self::Conn, keys: &[PrKey]) -> Result<Vec<PrRow>> {
        let (repos, numbers) = pr_key_columns(keys);
        // Locked in key order, so two writers cannot wait on each other.
        Ok(sqlx::query_as(sql(format!(
            "SELECT {PR_COLS} FROM pull_requests WHERE (repo, number) IN \
             (SELECT * FROM UNNEST($1::text[], $2::int8[])) ORDER BY repo, number FOR UPDATE"
        )))
        .bind(repos)
        .bind(numbers)
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn reviews_of(&self, conn: &mut Self::Conn, keys: &[PrKey]) -> Result<Vec<ReviewRow>> {
        let (repos, numbers) = pr_key_columns(keys);
        Ok(sqlx::query_as(
            "SELECT repo, number, review_id, state, submitted_at FROM reviews WHERE (repo, number) IN \
             (SELECT * FROM UNNEST($1::text[], $2::int8[]))",
        )
        .bind(repos)
        .bind(numbers)
        .fetch_all(&mut *conn)
        .await?)
    }

    async fn insert_pr_commits(
        &self,
        conn: &mut Self::Conn,
        rows: &[(&str, i64, &PrCommit)],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO pull_request_commits (repo, number, sha, authored_at) \
             SELECT * FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::timestamptz[]) \
             ON CONFLICT (repo, number, sha) DO NOTHING",
        )
        .bind(rows.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.1).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.2.sha.as_str()).collect::<Vec<_>>())
        .bind(rows.iter().map(|r| r.2.authored_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
        Ok(())
    }
}

fn parse<T: std::str::FromStr<Err = String>>(column: &str, value: &str) -> Result<T> {
    value
        .parse()
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

const PR_COLS: &str = "repo, number, source, title, state, draft, base_branch, head_sha, \
     merge_commit_sha, created_at, ready_at, first_commit_at, first_review_at, approved_at, \
     merged_at, closed_at, updated_at";

#[derive(FromRow)]
struct PrRow {
    repo: String,
    number: i64,
    source: String,
    title: String,
    state: String,
    draft: bool,
    base_branch: String,
    head_sha: Option<String>,
    merge_commit_sha: Option<String>,
    created_at: DateTime<Utc>,
    ready_at: Option<DateTime<Utc>>,
    first_commit_at: Option<DateTime<Utc>>,
    first_review_at: Option<DateTime<Utc>>,
    approved_at: Option<DateTime<Utc>>,
    merged_at: Option<DateTime<Utc>>,
    closed_at: Option<DateTime<Utc>>,
    updated_at: DateTime<Utc>,
}

impl PrRow {
    fn into_pr(self, commits: Vec<PrCommit>) -> Result<PullRequest> {
        Ok(PullRequest {
            state: parse::<PrState>("pull_requests.state", &self.state)?,
            repo: self.repo,
            number: self.number,
            source: self.source,
            title: self.title,
            draft: self.draft,
            base_branch: self.base_branch,
            head_sha: self.head_sha,
            merge_commit_sha: self.merge_commit_sha,
            created_at: self.created_at,
            ready_at: self.ready_at,
            first_commit_at: self.first_commit_at,
            first_review_at: self.first_review_at,
            approved_at: self.approved_at,
            merged_at: self.merged_at,
            closed_at: self.closed_at,
            updated_at: self.updated_at,
            commits,
        })
    }
}

pub(crate) const DEPLOYMENT_COLS: &str = "id, source, external_id, project_id, service, environment, status, \
     repo, sha, is_rollback, explicit_commits, started_at, finished_at, created_at, updated_at";

/// A stored deployment as read (attribution reads it whole too).
#[derive(FromRow, Clone)]
pub(crate) struct DeploymentRow {
    pub(crate) id: Uuid,
    pub(crate) source: String,
    pub(crate) external_id: String,
    pub(crate) project_id: Uuid,
    pub(crate) service: String,
    pub(crate) environment: String,
    pub(crate) status: String,
    pub(crate) repo: Option<String>,
    pub(crate) sha: Option<String>,
    pub(crate) is_rollback: bool,
    pub(crate) explicit_commits: Json<Vec<CommitRef>>,
    pub(crate) started_at: DateTime<Utc>,
    pub(crate) finished_at: Option<DateTime<Utc>>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) updated_at: DateTime<Utc>,
}

impl TryFrom<DeploymentRow> for Deployment {
    type Error = StoreError;
    fn try_from(r: DeploymentRow) -> Result<Self> {
        Ok(Deployment {
            status: parse::<DeploymentStatus>("deployments.status", &r.status)?,
            id: r.id,
            source: r.source,
            external_id: r.external_id,
            project_id: r.project_id,
            service: r.service,
            environment: r.environment,
            repo: r.repo,
            sha: r.sha,
            is_rollback: r.is_rollback,
            explicit_commits: r.explicit_commits.0,
            started_at: r.started_at,
            finished_at: r.finished_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const INCIDENT_COLS: &str = "id, source, external_id, project_id, service, title, severity, \
     opened_at, resolved_at, caused_by, created_at, updated_at";

#[derive(FromRow)]
struct IncidentRow {
    id: Uuid,
    source: String,
    external_id: String,
    project_id: Uuid,
    service: Option<String>,
    title: String,
    severity: String,
    opened_at: DateTime<Utc>,
    resolved_at: Option<DateTime<Utc>>,
    caused_by: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<IncidentRow> for Incident {
    fn from(r: IncidentRow) -> Self {
        Incident {
            id: r.id,
            source: r.source,
            external_id: r.external_id,
            project_id: r.project_id,
            service: r.service,
            title: r.title,
            severity: r.severity,
            opened_at: r.opened_at,
            resolved_at: r.resolved_at,
            caused_by: r.caused_by,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const PIPELINE_COLS: &str =
    "source, external_id, repo, sha, branch, status, started_at, finished_at, coverage";

#[derive(FromRow)]
struct PipelineRow {
    source: String,
    external_id: String,
    repo: String,
    sha: Option<String>,
    branch: Option<String>,
    status: String,
    started_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
    coverage: Option<f64>,
}

impl TryFrom<PipelineRow> for Pipeline {
    type Error = StoreError;
    fn try_from(r: PipelineRow) -> Result<Self> {
        Ok(Pipeline {
            status: parse::<PipelineStatus>("pipelines.status", &r.status)?,
            source: r.source,
            external_id: r.external_id,
            repo: r.repo,
            sha: r.sha,
            branch: r.branch,
            started_at: r.started_at,
            finished_at: r.finished_at,
            coverage: r.coverage,
        })
    }
}

const DELIVERY_COLS: &str =
    "id, provider, delivery_id, event, project_id, received_at, headers, body, outcome, detail";

#[derive(FromRow)]
pub(crate) struct DeliveryRow {
    id: Uuid,
    provider: String,
    delivery_id: String,
    event: String,
    project_id: Option<Uuid>,
    received_at: DateTime<Utc>,
    headers: Json<std::collections::BTreeMap<String, String>>,
    body: Vec<u8>,
    outcome: String,
    detail: String,
}

impl TryFrom<DeliveryRow> for tandem_domain::engineering::RawDelivery {
    type Error = StoreError;
    fn try_from(r: DeliveryRow) -> Result<Self> {
        Ok(tandem_domain::engineering::RawDelivery {
            provider: parse("deliveries.provider", &r.provider)?,
            outcome: parse("deliveries.outcome", &r.outcome)?,
            id: r.id,
            delivery_id: r.delivery_id,
            event: r.event,
            project_id: r.project_id,
            received_at: r.received_at,
            headers: r.headers.0,
            body: r.body,
            detail: r.detail,
        })
    }
}

/// Inserts the delivery unless its `(provider, delivery_id)` is stored;
/// returns true when it was new.
async fn insert_delivery<D: crate::engine::Db>(
    conn: &mut sqlx::pool::PoolConnection<D>,
    d: &tandem_domain::engineering::RawDelivery,
) -> Result<bool> {
    let q = D::bind_delivery(
        sqlx::query(sql(format!(
            "INSERT INTO deliveries ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (provider, delivery_id) DO NOTHING",
            crate::engine::DELIVERY_COLS
        ))),
        d,
    );
    Ok(D::execute(conn, q).await? == 1)
}

fn earliest(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// A pull request's first review and approval times.
type ReviewTimes = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// A pull request's natural key.
type PrKey = (String, i64);

/// A review row with its pull request's key.
type ReviewRow = (String, i64, String, String, DateTime<Utc>);

/// The reports as they are stored: validated, with `first_commit_at`
/// brought forward to their commits' earliest authored time.
fn pr_reports<'a>(prs: impl IntoIterator<Item = &'a PullRequest>) -> Result<Vec<PullRequest>> {
    prs.into_iter()
        .map(|pr| {
            pr.validate()?;
            Ok(PullRequest {
                first_commit_at: pr
                    .first_commit_at
                    .into_iter()
                    .chain(pr.commits.iter().map(|c| c.authored_at))
                    .min(),
                ..pr.clone()
            })
        })
        .collect()
}

/// What a batch of pull request reports does to each row, in key order:
/// `(row before, row after)`. `inserted` are the keys whose first report
/// was just inserted (its row is that report); `stored` the rows that
/// existed before. Later reports (and every report of a row that existed)
/// are folded in with `merge`, then the review times are brought forward to
/// the stored reviews'.
fn fold_pull_requests(
    reports: &[PullRequest],
    inserted: &std::collections::HashSet<PrKey>,
    mut stored: std::collections::HashMap<PrKey, PullRequest>,
    reviews: Vec<ReviewRow>,
) -> Result<Vec<(PullRequest, PullRequest)>> {
    let mut rows: std::collections::BTreeMap<PrKey, (PullRequest, PullRequest)> =
        std::collections::BTreeMap::new();
    for report in reports {
        let key = (report.repo.clone(), report.number);
        let report = PullRequest {
            commits: Vec::new(),
            ..report.clone()
        };
        match rows.get_mut(&key) {
            Some((_, after)) => *after = after.merge(&report),
            None if inserted.contains(&key) => {
                rows.insert(key, (report.clone(), report));
            }
            None => {
                let before = stored.remove(&key).ok_or_else(|| {
                    StoreError::Corrupt(format!(
                        "pull request {}#{} was neither inserted nor found",
                        key.0, key.1
                    ))
                })?;
                let after = before.merge(&report);
                rows.insert(key, (before, after));
            }
        }
    }
    let mut by_pr: std::collections::HashMap<PrKey, Vec<Review>> = std::collections::HashMap::new();
    for (repo, number, review_id, state, submitted_at) in reviews {
        by_pr.entry((repo, number)).or_default().push(Review {
            review_id,
            state: parse::<ReviewState>("reviews.state", &state)?,
            submitted_at,
        });
    }
    for (key, (_, after)) in rows.iter_mut() {
        if let Some(reviews) = by_pr.get(key) {
            let (first, approved) = review_times(reviews);
            after.first_review_at = earliest(after.first_review_at, first);
            after.approved_at = earliest(after.approved_at, approved);
        }
    }
    Ok(rows.into_values().collect())
}

/// Stores pull request reports (with their commits) in the caller's
/// transaction, batch-shaped: the first report of each pull request is
/// inserted with one statement (`ON CONFLICT DO NOTHING RETURNING` tells
/// which were new), the rows that existed are read with one statement (row
/// locks on PostgreSQL), the reviews of all of them with one more; every
/// row is then folded in memory with `merge` and the review times, and only
/// a row that changed is updated. Commits are inserted with one statement.
async fn write_pull_requests<'a, P>(
    tx: &mut sqlx::Transaction<'_, P::Db>,
    dialect: &P,
    prs: impl IntoIterator<Item = &'a PullRequest>,
) -> Result<()>
where
    P: IngestSql<Conn = <<P as IngestSql>::Db as sqlx::Database>::Connection>,
    P::Db: RecordsDb,
{
    let conn: &mut P::Conn = tx;
    let reports = pr_reports(prs)?;
    if reports.is_empty() {
        return Ok(());
    }
    let mut seen = std::collections::HashSet::new();
    let firsts: Vec<&PullRequest> = reports
        .iter()
        .filter(|r| seen.insert((r.repo.as_str(), r.number)))
        .collect();
    let inserted = dialect.insert_new_prs(&mut *conn, &firsts).await?;
    let existing: Vec<PrKey> = firsts
        .iter()
        .map(|r| (r.repo.clone(), r.number))
        .filter(|k| !inserted.contains(k))
        .collect();
    let mut stored = std::collections::HashMap::new();
    if !existing.is_empty() {
        for row in dialect.stored_prs(&mut *conn, &existing).await? {
            let pr = row.into_pr(Vec::new())?;
            stored.insert((pr.repo.clone(), pr.number), pr);
        }
    }
    let keys: Vec<PrKey> = firsts.iter().map(|r| (r.repo.clone(), r.number)).collect();
    let reviews = dialect.reviews_of(&mut *conn, &keys).await?;
    for (before, after) in fold_pull_requests(&reports, &inserted, stored, reviews)? {
        if after != before {
            P::Db::update_pull_request(&mut *conn, &after).await?;
        }
    }
    let commits: Vec<(&str, i64, &PrCommit)> = reports
        .iter()
        .flat_map(|r| {
            r.commits
                .iter()
                .map(move |c| (r.repo.as_str(), r.number, c))
        })
        .collect();
    if !commits.is_empty() {
        dialect.insert_pr_commits(&mut *conn, &commits).await?;
    }
    Ok(())
}

/// The engineering writes that bind plain values on any engine: the sqlx
/// bounds they need are stated once, on the blanket impl below, so generic
/// callers ask only for `D: RecordsDb`.
trait RecordsDb: crate::engine::Db {
    /// Stores a review of a pull request (an upsert on its id), then brings
    /// the pull request's first review and approval times forward to its
    /// stored reviews' (a time reported with the pull request itself, e.g.
    /// by a backfill, is kept when earlier); the pull request is written
    /// only on a change.
    async fn write_review(
        tx: &mut sqlx::Transaction<'_, Self>,
        repo: &str,
        number: i64,
        review: &Review,
    ) -> Result<()>;

    /// Writes a merged pull request row over the stored one.
    async fn update_pull_request(conn: &mut Self::Connection, pr: &PullRequest) -> Result<()>;
}

impl<D> RecordsDb for D
where
    D: crate::engine::Db,
    D::Arguments: sqlx::IntoArguments<D>,
    for<'c> &'c mut D::Connection: sqlx::Executor<'c, Database = D>,
    for<'r> (String, String, DateTime<Utc>): FromRow<'r, D::Row>,
    for<'r> ReviewTimes: FromRow<'r, D::Row>,
    for<'e> String: sqlx::Encode<'e, D> + sqlx::Type<D>,
    for<'e> Option<String>: sqlx::Encode<'e, D> + sqlx::Type<D>,
    for<'e> i64: sqlx::Encode<'e, D> + sqlx::Type<D>,
    for<'e> bool: sqlx::Encode<'e, D> + sqlx::Type<D>,
    for<'e> Option<DateTime<Utc>>: sqlx::Encode<'e, D> + sqlx::Type<D>,
    for<'e> DateTime<Utc>: sqlx::Encode<'e, D> + sqlx::Type<D>,
{
    async fn update_pull_request(conn: &mut D::Connection, pr: &PullRequest) -> Result<()> {
        sqlx::query(
            "UPDATE pull_requests SET source = $3, title = $4, state = $5, draft = $6, base_branch = $7, \
             head_sha = $8, merge_commit_sha = $9, created_at = $10, ready_at = $11, first_commit_at = $12, \
             first_review_at = $13, approved_at = $14, merged_at = $15, closed_at = $16, updated_at = $17 \
             WHERE repo = $1 AND number = $2",
        )
        .bind(pr.repo.clone())
        .bind(pr.number)
        .bind(pr.source.clone())
        .bind(pr.title.clone())
        .bind(pr.state.as_str().to_owned())
        .bind(pr.draft)
        .bind(pr.base_branch.clone())
        .bind(pr.head_sha.clone())
        .bind(pr.merge_commit_sha.clone())
        .bind(pr.created_at)
        .bind(pr.ready_at)
        .bind(pr.first_commit_at)
        .bind(pr.first_review_at)
        .bind(pr.approved_at)
        .bind(pr.merged_at)
        .bind(pr.closed_at)
        .bind(pr.updated_at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    async fn write_review(
        tx: &mut sqlx::Transaction<'_, D>,
        repo: &str,
        number: i64,
        review: &Review,
    ) -> Result<()> {
        review.validate()?;
        let conn: &mut D::Connection = tx;
        sqlx::query(
        "INSERT INTO reviews (repo, number, review_id, state, submitted_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (repo, number, review_id) DO UPDATE SET state = excluded.state, \
         submitted_at = excluded.submitted_at \
         WHERE reviews.state <> excluded.state OR reviews.submitted_at <> excluded.submitted_at",
    )
    .bind(repo.to_owned())
    .bind(number)
    .bind(review.review_id.clone())
    .bind(review.state.as_str().to_owned())
    .bind(review.submitted_at)
    .execute(&mut *conn)
    .await?;

        let rows: Vec<(String, String, DateTime<Utc>)> = sqlx::query_as(
            "SELECT review_id, state, submitted_at FROM reviews WHERE repo = $1 AND number = $2",
        )
        .bind(repo.to_owned())
        .bind(number)
        .fetch_all(&mut *conn)
        .await?;
        let reviews = rows
            .into_iter()
            .map(|(review_id, state, submitted_at)| {
                Ok(Review {
                    review_id,
                    state: parse::<ReviewState>("reviews.state", &state)?,
                    submitted_at,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let known: Option<ReviewTimes> = sqlx::query_as(
        "SELECT first_review_at, approved_at FROM pull_requests WHERE repo = $1 AND number = $2",
    )
    .bind(repo.to_owned())
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?;
        if let Some((first, approved)) = known {
            let (r_first, r_approved) = review_times(&reviews);
            let target = (earliest(first, r_first), earliest(approved, r_approved));
            if target != (first, approved) {
                sqlx::query(
                    "UPDATE pull_requests SET first_review_at = $3, approved_at = $4 \
                 WHERE repo = $1 AND number = $2",
                )
                .bind(repo.to_owned())
                .bind(number)
                .bind(target.0)
                .bind(target.1)
                .execute(&mut *conn)
                .await?;
            }
        }
        Ok(())
    }
}

/// A record stored on its natural key `(source, external_id)` by insert or
/// merge; [`write_merged`] is its one write path. What differs per record
/// (its SQL, bind lists and row) is in `impl_merged!`, written once per
/// record for both engines.
trait Merged: Sized + PartialEq {
    /// What a write returns: the stored row's id (pipelines have none).
    type Id;
    /// The table, and the columns of the record's row type.
    const TABLE: &'static str;
    const COLS: &'static str;
    /// `INSERT … ON CONFLICT (source, external_id) DO NOTHING`.
    const INSERT: &'static str;
    /// `UPDATE` of a merged row.
    const UPDATE: &'static str;

    fn check(&self) -> Result<()>;
    fn key(&self) -> (&str, &str);
    fn merged(&self, newer: &Self) -> Self;
    fn id(&self) -> Self::Id;

    /// The error of a failed insert (a missing project, for records that
    /// reference one).
    fn insert_failed(&self, e: sqlx::Error) -> StoreError;
}

/// The engine-typed half of [`Merged`]: its bind lists and row read.
trait MergedOn<D: crate::engine::Db>: Merged {
    /// Binds [`Merged::INSERT`].
    fn bind_insert<'q>(q: crate::engine::Query<'q, D>, r: &'q Self) -> crate::engine::Query<'q, D>;
    /// Binds [`Merged::UPDATE`].
    fn bind_update<'q>(q: crate::engine::Query<'q, D>, r: &'q Self) -> crate::engine::Query<'q, D>;
    /// The stored record of `key`, with `suffix` (a row lock) appended.
    async fn find(
        conn: &mut D::Connection,
        key: (&str, &str),
        suffix: &str,
    ) -> Result<Option<Self>>;
}

/// Implements [`MergedOn`] for `$ty` on both engines: `$row` is read with
/// [`Merged::COLS`] and becomes the record by `$from`; `$bind_insert` and
/// `$bind_update` bind `$q` from `$r`.
macro_rules! impl_merged {
    ($ty:ty, $row:ty, $from:expr, table: $table:expr, cols: $cols:expr,
     id: $id_ty:ty = |$ridf:ident| $id:expr,
     insert_failed: |$rf:ident, $e:ident| $failed:expr,
     insert: $insert:expr, update: $update:expr,
     bind_insert: |$qi:ident, $ri:ident| $bind_insert:expr,
     bind_update: |$qu:ident, $ru:ident| $bind_update:expr) => {
        impl Merged for $ty {
            type Id = $id_ty;
            const TABLE: &'static str = $table;
            const COLS: &'static str = $cols;
            const INSERT: &'static str = $insert;
            const UPDATE: &'static str = $update;

            fn check(&self) -> Result<()> {
                Ok(self.validate()?)
            }
            fn key(&self) -> (&str, &str) {
                (&self.source, &self.external_id)
            }
            fn merged(&self, newer: &Self) -> Self {
                self.merge(newer)
            }
            #[allow(clippy::unused_unit)]
            fn id(&self) -> $id_ty {
                let $ridf = self;
                $id
            }
            fn insert_failed(&self, $e: sqlx::Error) -> StoreError {
                let $rf = self;
                $failed
            }
        }
        impl_merged!(@on sqlx::Sqlite, $ty, $row, $from, $qi, $ri, $bind_insert, $qu, $ru, $bind_update);
        impl_merged!(@on sqlx::Postgres, $ty, $row, $from, $qi, $ri, $bind_insert, $qu, $ru, $bind_update);
    };
    (@on $db:ty, $ty:ty, $row:ty, $from:expr, $qi:ident, $ri:ident, $bind_insert:expr,
     $qu:ident, $ru:ident, $bind_update:expr) => {
        impl MergedOn<$db> for $ty {
            fn bind_insert<'q>(
                $qi: crate::engine::Query<'q, $db>,
                $ri: &'q Self,
            ) -> crate::engine::Query<'q, $db> {
                $bind_insert
            }

            fn bind_update<'q>(
                $qu: crate::engine::Query<'q, $db>,
                $ru: &'q Self,
            ) -> crate::engine::Query<'q, $db> {
                $bind_update
            }

            async fn find(
                conn: &mut <$db as sqlx::Database>::Connection,
                (source, external_id): (&str, &str),
                suffix: &str,
            ) -> Result<Option<Self>> {
                let row: Option<$row> = sqlx::query_as(sql(format!(
                    "SELECT {} FROM {} WHERE source = $1 AND external_id = $2{suffix}",
                    <$ty as Merged>::COLS,
                    <$ty as Merged>::TABLE,
                )))
                .bind(source)
                .bind(external_id)
                .fetch_optional(&mut *conn)
                .await?;
                row.map($from).transpose()
            }
        }
    };
}

/// Writes a record's row: inserted when its key is new, else read with a
/// row lock, merged with the report, and updated only on a change.
/// Returns the stored row's id.
async fn write_merged<D, R>(tx: &mut sqlx::Transaction<'_, D>, r: &R) -> Result<R::Id>
where
    D: crate::engine::Db,
    R: MergedOn<D>,
{
    r.check()?;
    let conn: &mut D::Connection = tx;
    let inserted = D::execute(conn, R::bind_insert(sqlx::query(R::INSERT), r))
        .await
        .map_err(|e| r.insert_failed(e))?
        == 1;
    if inserted {
        return Ok(r.id());
    }
    let stored = R::find(conn, r.key(), D::FOR_UPDATE)
        .await?
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
    let merged = stored.merged(r);
    if merged != stored {
        D::execute(conn, R::bind_update(sqlx::query(R::UPDATE), &merged)).await?;
    }
    Ok(stored.id())
}

/// Reads a record by its key.
async fn find_merged<D, R>(pool: &sqlx::Pool<D>, key: (&str, &str)) -> Result<Option<R>>
where
    D: crate::engine::Db,
    R: MergedOn<D>,
{
    let mut conn = pool.acquire().await?;
    R::find(&mut conn, key, "").await
}

impl_merged!(Deployment, DeploymentRow, Deployment::try_from,
    table: "deployments",
    cols: DEPLOYMENT_COLS,
    id: Uuid = |r| r.id,
    insert_failed: |r, e| missing_project("project_id", r.project_id)(e),
    insert: "INSERT INTO deployments (id, source, external_id, project_id, service, \
         environment, status, repo, sha, is_rollback, explicit_commits, started_at, finished_at, attributed, \
         created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, FALSE, $14, $15) \
         ON CONFLICT (source, external_id) DO NOTHING",
    update: "UPDATE deployments SET service = $2, environment = $3, status = $4, \
         repo = $5, sha = $6, is_rollback = $7, explicit_commits = $8, started_at = $9, finished_at = $10, \
         updated_at = $11, attributed = FALSE WHERE id = $1",
    bind_insert: |q, d| q
        .bind(d.id)
        .bind(&d.source)
        .bind(&d.external_id)
        .bind(d.project_id)
        .bind(&d.service)
        .bind(&d.environment)
        .bind(d.status.as_str())
        .bind(&d.repo)
        .bind(&d.sha)
        .bind(d.is_rollback)
        .bind(Json(&d.explicit_commits))
        .bind(d.started_at)
        .bind(d.finished_at)
        .bind(d.created_at)
        .bind(d.updated_at),
    bind_update: |q, m| q
        .bind(m.id)
        .bind(&m.service)
        .bind(&m.environment)
        .bind(m.status.as_str())
        .bind(&m.repo)
        .bind(&m.sha)
        .bind(m.is_rollback)
        .bind(Json(&m.explicit_commits))
        .bind(m.started_at)
        .bind(m.finished_at)
        .bind(m.updated_at)
);

impl_merged!(Incident, IncidentRow, |r| Ok::<_, StoreError>(Incident::from(r)),
    table: "incidents",
    cols: INCIDENT_COLS,
    id: Uuid = |r| r.id,
    insert_failed: |r, e| missing_project("project_id", r.project_id)(e),
    insert: "INSERT INTO incidents (id, source, external_id, project_id, service, \
         title, severity, opened_at, resolved_at, caused_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (source, external_id) DO NOTHING",
    update: "UPDATE incidents SET service = $2, title = $3, severity = $4, \
         opened_at = $5, resolved_at = $6, caused_by = $7, updated_at = $8 WHERE id = $1",
    bind_insert: |q, i| q
        .bind(i.id)
        .bind(&i.source)
        .bind(&i.external_id)
        .bind(i.project_id)
        .bind(&i.service)
        .bind(&i.title)
        .bind(&i.severity)
        .bind(i.opened_at)
        .bind(i.resolved_at)
        .bind(&i.caused_by)
        .bind(i.created_at)
        .bind(i.updated_at),
    bind_update: |q, m| q
        .bind(m.id)
        .bind(&m.service)
        .bind(&m.title)
        .bind(&m.severity)
        .bind(m.opened_at)
        .bind(m.resolved_at)
        .bind(&m.caused_by)
        .bind(m.updated_at)
);

impl_merged!(Pipeline, PipelineRow, Pipeline::try_from,
    table: "pipelines",
    cols: PIPELINE_COLS,
    id: () = |_r| (),
    insert_failed: |_r, e| StoreError::from(e),
    insert: "INSERT INTO pipelines (source, external_id, repo, sha, branch, status, \
         started_at, finished_at, coverage) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
         ON CONFLICT (source, external_id) DO NOTHING",
    update: "UPDATE pipelines SET repo = $3, sha = $4, branch = $5, status = $6, \
         started_at = $7, finished_at = $8, coverage = $9 WHERE source = $1 AND external_id = $2",
    bind_insert: |q, p| q
        .bind(&p.source)
        .bind(&p.external_id)
        .bind(&p.repo)
        .bind(&p.sha)
        .bind(&p.branch)
        .bind(p.status.as_str())
        .bind(p.started_at)
        .bind(p.finished_at)
        .bind(p.coverage),
    // The update binds what the insert does: every column, keyed by $1, $2.
    bind_update: |q, p| <Pipeline as MergedOn<_>>::bind_insert(q, p)
);

/// A work item reported by a tracker (a bug from an issue): inserted, or its
/// title, state and times updated from a report at least as new as the
/// stored one. Planning fields set in Tandem (priority, goal, ...) stay.
async fn write_tracked_item<D: crate::engine::Db>(
    tx: &mut sqlx::Transaction<'_, D>,
    w: &WorkItem,
) -> Result<()> {
    w.validate()?;
    if w.external_key.is_none() {
        return Err(StoreError::Domain(tandem_domain::DomainError::invalid(
            "external_key",
            "a tracked work item needs the key it has in its tracker",
        )));
    }
    let q = crate::engine::bind_row(
        sqlx::query(sql(format!(
            "INSERT INTO work_items ({}) {} \
             ON CONFLICT (source, external_key) DO UPDATE SET title = excluded.title, state = excluded.state, \
             kind = excluded.kind, started_at = excluded.started_at, done_at = excluded.done_at, \
             updated_at = excluded.updated_at \
             WHERE work_items.updated_at <= excluded.updated_at AND (work_items.title <> excluded.title \
             OR work_items.state <> excluded.state OR work_items.kind <> excluded.kind)",
            crate::engine::ITEM_COLS,
            crate::engine::ITEM_VALUES
        ))),
        w,
    );
    D::execute(tx, q)
        .await
        .map_err(missing_project("team_id", w.team_id))?;
    Ok(())
}

/// Writes records in the caller's transaction: the pull requests among
/// them as one batch (`write_pull_requests`), then the others in order. A
/// review written after its pull request brings the pull request's review
/// times forward, as it does when the pull request comes second.
async fn write_records<'a, P>(
    tx: &mut sqlx::Transaction<'_, P::Db>,
    dialect: &P,
    records: impl IntoIterator<Item = &'a Record>,
) -> Result<()>
where
    P: IngestSql<Conn = <<P as IngestSql>::Db as sqlx::Database>::Connection>,
    P::Db: RecordsDb,
    Deployment: MergedOn<P::Db>,
    Incident: MergedOn<P::Db>,
    Pipeline: MergedOn<P::Db>,
{
    let records: Vec<&Record> = records.into_iter().collect();
    let prs = records.iter().filter_map(|r| match r {
        Record::PullRequest(pr) => Some(pr),
        _ => None,
    });
    write_pull_requests(tx, dialect, prs).await?;
    for record in records {
        match record {
            // Written above, as one batch.
            Record::PullRequest(_) => {}
            Record::Review {
                repo,
                number,
                review,
            } => P::Db::write_review(tx, repo, *number, review).await?,
            Record::Deployment(d) => {
                write_merged(tx, d).await?;
            }
            Record::Incident(i) => {
                write_merged(tx, i).await?;
            }
            Record::Pipeline(p) => write_merged(tx, p).await?,
            Record::WorkItem(w) => write_tracked_item(tx, w).await?,
        }
    }
    Ok(())
}

/// A foreign-key failure becomes a missing reference naming `field`.
pub(crate) fn missing_project(
    field: &'static str,
    id: Uuid,
) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference {
                field: field.to_owned(),
                message: format!("{} {id} does not exist", field.trim_end_matches("_id")),
            }
        }
        _ => StoreError::Database(e),
    }
}

impl Store {
    /// Stores a pull request with its commits, folding it into the stored
    /// one (see `PullRequest::merge`). Its review times are recomputed from
    /// the stored reviews, which may have arrived first.
    pub async fn upsert_pull_request(&self, pr: &PullRequest) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            write_pull_requests(&mut tx, pool, std::slice::from_ref(pr)).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// A pull request with its commits (ordered by authored time, then sha).
    pub async fn get_pull_request(&self, repo: &str, number: i64) -> Result<Option<PullRequest>> {
        on_pool!(self, |pool| {
            let row: Option<PrRow> = sqlx::query_as(sql(format!(
                "SELECT {PR_COLS} FROM pull_requests WHERE repo = $1 AND number = $2"
            )))
            .bind(repo)
            .bind(number)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else {
                return Ok(None);
            };
            let commits: Vec<(String, DateTime<Utc>)> = sqlx::query_as(
                "SELECT sha, authored_at FROM pull_request_commits WHERE repo = $1 AND number = $2 \
                 ORDER BY authored_at, sha",
            )
            .bind(repo)
            .bind(number)
            .fetch_all(pool)
            .await?;
            let commits = commits
                .into_iter()
                .map(|(sha, authored_at)| PrCommit { sha, authored_at })
                .collect();
            Ok(Some(row.into_pr(commits)?))
        })
    }

    /// Stores a review (or review comment) of a pull request and recomputes
    /// the pull request's first review and approval times. The pull request
    /// need not be stored yet: its times are computed when it arrives.
    pub async fn upsert_review(&self, repo: &str, number: i64, review: &Review) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            RecordsDb::write_review(&mut tx, repo, number, review).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The reviews of a pull request, oldest first.
    pub async fn list_reviews(&self, repo: &str, number: i64) -> Result<Vec<Review>> {
        let rows: Vec<(String, String, DateTime<Utc>)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT review_id, state, submitted_at FROM reviews WHERE repo = $1 AND number = $2 \
                 ORDER BY submitted_at, review_id",
            )
            .bind(repo)
            .bind(number)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(review_id, state, submitted_at)| {
                Ok(Review {
                    review_id,
                    state: parse("reviews.state", &state)?,
                    submitted_at,
                })
            })
            .collect()
    }

    /// Stores a deployment on `(source, external_id)`, folding a later
    /// report (a status change) into the stored one; returns the stored id.
    /// A change marks it for attribution again.
    pub async fn upsert_deployment(&self, d: &Deployment) -> Result<Uuid> {
        let id = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = write_merged(&mut tx, d).await?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn get_deployment(
        &self,
        source: &str,
        external_id: &str,
    ) -> Result<Option<Deployment>> {
        on_pool!(self, |pool| find_merged(pool, (source, external_id)).await)
    }

    /// Whether the deployment's shipped commits are current (false after
    /// any change to it, until attribution runs).
    pub async fn deployment_attributed(&self, id: Uuid) -> Result<bool> {
        let row: Option<(bool,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT attributed FROM deployments WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(|(a,)| a)
            .ok_or_else(|| StoreError::not_found("deployment", id))
    }

    /// Stores an incident on `(source, external_id)`; returns the stored id.
    pub async fn upsert_incident(&self, i: &Incident) -> Result<Uuid> {
        let id = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let id = write_merged(&mut tx, i).await?;
            tx.commit().await?;
            id
        });
        Ok(id)
    }

    pub async fn get_incident(&self, source: &str, external_id: &str) -> Result<Option<Incident>> {
        on_pool!(self, |pool| find_merged(pool, (source, external_id)).await)
    }

    /// Stores a CI pipeline on `(source, external_id)`.
    pub async fn upsert_pipeline(&self, p: &Pipeline) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            write_merged(&mut tx, p).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_pipeline(&self, source: &str, external_id: &str) -> Result<Option<Pipeline>> {
        on_pool!(self, |pool| find_merged(pool, (source, external_id)).await)
    }

    /// Stores a work item reported by a tracker, keyed on
    /// `(source, external_key)` (see `write_tracked_item`).
    pub async fn upsert_tracked_work_item(&self, w: &WorkItem) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            write_tracked_item(&mut tx, w).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores records of any kind in one transaction.
    pub async fn upsert_records(&self, records: &[Record]) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            write_records(&mut tx, pool, records).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Stores a raw delivery unless `(provider, delivery_id)` is stored;
    /// true when it was new.
    pub async fn record_delivery(
        &self,
        d: &tandem_domain::engineering::RawDelivery,
    ) -> Result<bool> {
        let new = on_pool!(self, |pool| {
            let mut conn = pool.acquire().await?;
            insert_delivery(&mut conn, d).await?
        });
        Ok(new)
    }

    /// Whether a delivery with this id from this provider is stored.
    pub async fn delivery_seen(&self, provider: Provider, delivery_id: &str) -> Result<bool> {
        let (n,): (i64,) = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT COUNT(*) FROM deliveries WHERE provider = $1 AND delivery_id = $2",
            )
            .bind(provider.as_str())
            .bind(delivery_id)
            .fetch_one(pool)
            .await?
        });
        Ok(n > 0)
    }

    /// Stores deliveries with their records, all in one transaction (a
    /// group commit). A delivery already stored is a replay: its records are
    /// not written again. Returns, for each, whether it was new.
    ///
    /// Batch-shaped: the deliveries are inserted with one statement
    /// (`RETURNING` which were new, so a copy earlier in the same batch also
    /// makes a replay), then the records of the new ones are written
    /// together (`write_records`: pull requests in a few statements for the
    /// whole batch, read-fold-write only for rows that existed).
    pub async fn ingest(&self, batch: &[Ingest]) -> Result<Vec<bool>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.write_tx().await?;
        let fresh = self.ingest_tx(&mut tx, batch).await?;
        tx.commit().await?;
        Ok(fresh)
    }

    /// [`Store::ingest`] in `tx`.
    async fn ingest_tx(&self, tx: &mut Tx, batch: &[Ingest]) -> Result<Vec<bool>> {
        let deliveries: Vec<&tandem_domain::engineering::RawDelivery> =
            batch.iter().map(|item| &item.delivery).collect();
        let inserted = match (&self.engine, &mut *tx) {
            (Engine::Sqlite(pool), Tx::Sqlite(t)) => pool.insert_deliveries(t, &deliveries).await?,
            (Engine::Postgres(pool), Tx::Postgres(t)) => {
                pool.insert_deliveries(t, &deliveries).await?
            }
            _ => unreachable!("a transaction of the store's own engine"),
        };
        let mut fresh = Vec::with_capacity(batch.len());
        let mut records = Vec::new();
        for item in batch {
            let new = inserted.contains(&item.delivery.id);
            if new {
                records.extend(item.records.iter());
            }
            fresh.push(new);
        }
        match (&self.engine, tx) {
            (Engine::Sqlite(pool), Tx::Sqlite(t)) => write_records(t, pool, records).await?,
            (Engine::Postgres(pool), Tx::Postgres(t)) => write_records(t, pool, records).await?,
            _ => unreachable!("a transaction of the store's own engine"),
        }
        Ok(fresh)
    }

    /// What a webhook receiver's batch writes, in **one transaction**: the
    /// pushed commits and the refs they move, the deliveries with their
    /// records ([`Store::ingest`]), and the attribution of deployments that
    /// the new commits and pull requests can change marked stale
    /// ([`Store::invalidate_attribution`]). Returns, for each delivery,
    /// whether it was new. Nothing is stored when any part fails, so an
    /// acknowledged delivery has all of its rows and an unacknowledged one
    /// none (its retry writes them).
    ///
    /// One commit per batch: on PostgreSQL each commit waits for its own
    /// flush, and these were four. The attribution inputs of the
    /// repositories named by the batch (its commits and pull requests) are
    /// bumped first, before any other row is written, so the transaction
    /// locks in the order an attribution refresh does (inputs, then
    /// deployments) and the two cannot deadlock; a batch of replays bumps
    /// them too, which at most sends a concurrent refresh round back.
    ///
    /// Commits and refs are validated before anything is written (errors
    /// name `commits[i]`, `refs[i]`); refs are set in the order given.
    pub async fn ingest_with_git(
        &self,
        batch: &[Ingest],
        commits: &[tandem_domain::git::Commit],
        refs: &[tandem_domain::git::GitRef],
    ) -> Result<Vec<bool>> {
        crate::engineering::git::check_refs(refs)?;
        let mut repos: Vec<&str> = commits.iter().map(|c| c.repo.as_str()).collect();
        for item in batch {
            for r in &item.records {
                if let Record::PullRequest(pr) = r {
                    repos.push(pr.repo.as_str());
                }
            }
        }
        let mut tx = self.write_tx().await?;
        if !repos.is_empty() {
            crate::metrics::bump_inputs_tx(&mut tx, &repos).await?;
        }
        let fresh_commits = if commits.is_empty() {
            Vec::new()
        } else {
            crate::engineering::git::write_commits_tx(&mut tx, commits).await?
        };
        if !refs.is_empty() {
            crate::engineering::git::set_refs_tx(&mut tx, refs).await?;
        }
        let fresh = self.ingest_tx(&mut tx, batch).await?;

        // The new shas by repository: new commits, and those of new pull
        // requests (their merge commit and commits).
        let repo_of: HashMap<&str, &str> = commits
            .iter()
            .map(|c| (c.sha.as_str(), c.repo.as_str()))
            .collect();
        let mut new_shas: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for sha in fresh_commits {
            if let Some(repo) = repo_of.get(sha.as_str()) {
                new_shas.entry(*repo).or_default().push(sha);
            }
        }
        for (item, new) in batch.iter().zip(&fresh) {
            if !*new {
                continue;
            }
            for r in &item.records {
                if let Record::PullRequest(pr) = r {
                    let shas = new_shas.entry(pr.repo.as_str()).or_default();
                    shas.extend(pr.merge_commit_sha.iter().cloned());
                    shas.extend(pr.commits.iter().map(|c| c.sha.clone()));
                }
            }
        }
        for (repo, shas) in new_shas.iter().filter(|(_, s)| !s.is_empty()) {
            crate::metrics::invalidate_tx(&mut tx, repo, shas).await?;
        }
        tx.commit().await?;
        let records: usize = batch.iter().map(|i| i.records.len()).sum();
        self.note_growth((commits.len() + batch.len() + records) as u64);
        Ok(fresh)
    }

    /// Writes records derived again from a stored delivery and its new
    /// outcome, in one transaction (`tandem reprocess`).
    pub async fn reapply_delivery(
        &self,
        id: Uuid,
        project_id: Option<Uuid>,
        records: &[Record],
        outcome: Outcome,
        detail: &str,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            write_records(&mut tx, pool, records).await?;
            let n = sqlx::query(
                "UPDATE deliveries SET outcome = $2, detail = $3, project_id = COALESCE($4, project_id) \
                 WHERE id = $1",
            )
            .bind(id)
            .bind(outcome.as_str())
            .bind(detail)
            .bind(project_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n == 0 {
                return Err(StoreError::not_found("delivery", id));
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_delivery(&self, id: Uuid) -> Result<tandem_domain::engineering::RawDelivery> {
        let row: Option<DeliveryRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {DELIVERY_COLS} FROM deliveries WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or_else(|| StoreError::not_found("delivery", id))?
            .try_into()
    }

    /// Stored deliveries in arrival order, filtered, one page at a time.
    pub async fn list_deliveries(
        &self,
        f: &RawDeliveryFilter,
    ) -> Result<Page<tandem_domain::engineering::RawDelivery>> {
        let limit = i64::from(if f.limit == 0 { 100 } else { f.limit.min(500) });
        let rows: Vec<DeliveryRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {DELIVERY_COLS} FROM deliveries WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR provider = $2) AND ($3 IS NULL OR received_at >= $3) \
                 AND ($4 IS NULL OR delivery_id = $4) ORDER BY id LIMIT $5"
            )))
            .bind(f.after)
            .bind(f.provider.map(|p| p.as_str()))
            .bind(f.since)
            .bind(&f.delivery_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        let items = rows
            .into_iter()
            .map(tandem_domain::engineering::RawDelivery::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit, |d| d.id))
    }

    /// How many deliveries are stored with each outcome.
    pub async fn count_deliveries(&self) -> Result<Vec<(Outcome, i64)>> {
        let rows: Vec<(String, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT outcome, COUNT(*) FROM deliveries GROUP BY outcome ORDER BY outcome",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(o, n)| Ok((parse("deliveries.outcome", &o)?, n)))
            .collect()
    }

    /// Sets (or replaces) a project's webhook secret for a provider.
    pub async fn set_webhook_secret(
        &self,
        project_id: Uuid,
        provider: Provider,
        secret: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO webhook_secrets (project_id, provider, secret, created_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (project_id, provider) DO UPDATE SET secret = excluded.secret, \
                 created_at = excluded.created_at",
            )
            .bind(project_id)
            .bind(provider.as_str())
            .bind(secret)
            .bind(tandem_domain::time::micros(now))
            .execute(pool)
            .await
            .map_err(missing_project("project_id", project_id))?;
        });
        Ok(())
    }

    pub async fn webhook_secret(
        &self,
        project_id: Uuid,
        provider: Provider,
    ) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT secret FROM webhook_secrets WHERE project_id = $1 AND provider = $2",
            )
            .bind(project_id)
            .bind(provider.as_str())
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(s,)| s))
    }

    /// When each of a project's webhook secrets was set, by provider (the
    /// secrets themselves stay in the store: pages show only the dates).
    pub async fn webhook_secret_dates(
        &self,
        project_id: Uuid,
    ) -> Result<Vec<(Provider, DateTime<Utc>)>> {
        let rows: Vec<(String, DateTime<Utc>)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT provider, created_at FROM webhook_secrets WHERE project_id = $1 \
                 ORDER BY provider",
            )
            .bind(project_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|(p, at)| Ok((parse("webhook_secrets.provider", &p)?, at)))
            .collect()
    }

    /// Every project's secret for a provider, as `(project_id, secret)`.
    pub async fn webhook_secrets(&self, provider: Provider) -> Result<Vec<(Uuid, String)>> {
        let rows = on_pool!(self, |pool| {
            sqlx::query_as("SELECT project_id, secret FROM webhook_secrets WHERE provider = $1 ORDER BY project_id")
                .bind(provider.as_str())
                .fetch_all(pool)
                .await?
        });
        Ok(rows)
    }

    /// Every project with a secret for the provider, with that secret, in
    /// one query (the receivers' per-delivery lookup).
    pub async fn webhook_targets(&self, provider: Provider) -> Result<Vec<(Project, String)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            project: ProjectRow,
            secret: String,
        }
        let rows: Vec<Row> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT p.id, p.team_id, p.key, p.name, p.repositories, p.services, p.created_at, \
                 p.updated_at, w.secret FROM webhook_secrets w JOIN projects p ON p.id = w.project_id \
                 WHERE w.provider = $1 ORDER BY p.id",
            )
            .bind(provider.as_str())
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (Project::from(r.project), r.secret))
            .collect())
    }

    /// The projects that list `repo` (a full name such as `acme/payments`)
    /// among their repositories, compared without regard to case.
    pub async fn projects_with_repository(&self, repo: &str) -> Result<Vec<Project>> {
        self.projects_where(|p| p.repositories.iter().any(|r| r.eq_ignore_ascii_case(repo)))
            .await
    }

    /// The projects that list `service` among their services.
    pub async fn projects_with_service(&self, service: &str) -> Result<Vec<Project>> {
        self.projects_where(|p| p.services.iter().any(|s| s == service))
            .await
    }

    /// Every project that `keep` keeps, by id.
    async fn projects_where(&self, keep: impl Fn(&Project) -> bool) -> Result<Vec<Project>> {
        let rows: Vec<ProjectRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, team_id, key, name, repositories, services, created_at, updated_at \
                 FROM projects ORDER BY id",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(Project::from)
            .filter(|p| keep(p))
            .collect())
    }

    /// The services a project scopes to a repository (`service_scopes`).
    pub async fn services_in_repository(
        &self,
        project_id: Uuid,
        repo: &str,
    ) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT service FROM service_scopes WHERE project_id = $1 AND repo = $2 ORDER BY service",
            )
            .bind(project_id)
            .bind(repo)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(s,)| s).collect())
    }
}
