//! Storage for the front line (issue 16, items 4, 5 and 7; ADR 0031):
//! switching a check off, an incident's post-incident note and business
//! updates, the last deployment of a service before an incident, and KPI
//! sources with their scheduler claims.
//!
//! Exactly-once rule kept here: a due KPI source is claimed by one
//! statement setting `lease_owner`/`lease_until` on rows whose lease is
//! free (PostgreSQL: `FOR UPDATE SKIP LOCKED`); only the lease's owner can
//! finish the run ([`Store::finish_kpi_run`]), which writes the point and
//! the source's outcome in one transaction.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use tandem_domain::engineering::Deployment;
use tandem_domain::frontline::{KpiSourceKind, KpiSourceSpec};
use uuid::Uuid;

use crate::engine::sql;
use crate::{BeginWrite, EngineKind, Result, Store, StoreError, on_pool};

/// An incident's post-incident note.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct IncidentNote {
    pub incident_id: Uuid,
    /// Markdown.
    pub body: String,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

/// A business update as stored, with where it was posted.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct BusinessUpdate {
    pub id: Uuid,
    pub incident_id: Uuid,
    pub project_id: Uuid,
    pub service: Option<String>,
    pub affected: String,
    pub doing: String,
    pub next_update_at: Option<DateTime<Utc>>,
    pub posted_by: String,
    pub created_at: DateTime<Utc>,
    /// The Slack channel it goes to; `null` when none is configured.
    pub slack_channel: Option<String>,
    /// `pending` (in the outbox, not posted yet), `posted`, `failed` (every
    /// attempt failed; `slack_error` says why) or `not configured`; updates
    /// stored before the outbox may say `failed: …`.
    pub slack_outcome: String,
    /// Attempts to post it so far.
    pub slack_attempts: i32,
    /// Why the last attempt failed; `null` after a success.
    pub slack_error: Option<String>,
    /// When Slack took it.
    pub slack_posted_at: Option<DateTime<Utc>>,
}

/// The Slack outcome of a business update waiting in the outbox.
pub const UPDATE_PENDING: &str = "pending";
/// The Slack outcome of a business update Slack took.
pub const UPDATE_POSTED: &str = "posted";
/// The Slack outcome of a business update whose every attempt failed.
pub const UPDATE_FAILED: &str = "failed";

const UPDATE_COLS: &str = "id, incident_id, project_id, service, affected, doing, next_update_at, \
     posted_by, created_at, slack_channel, slack_outcome, slack_attempts, slack_error, \
     slack_posted_at";

/// A KPI series' source as stored, with its last outcome.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct KpiSource {
    pub metric_id: Uuid,
    pub spec: KpiSourceSpec,
    pub next_run_at: DateTime<Utc>,
    /// Consecutive failures (0 after a success).
    pub failures: i32,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_value: Option<f64>,
    /// The last run's error; `null` after a success.
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct KpiSourceRow {
    metric_id: Uuid,
    kind: String,
    url: String,
    query: String,
    interval_seconds: i32,
    next_run_at: DateTime<Utc>,
    failures: i32,
    last_run_at: Option<DateTime<Utc>>,
    last_success_at: Option<DateTime<Utc>>,
    last_value: Option<f64>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<KpiSourceRow> for KpiSource {
    type Error = StoreError;

    fn try_from(r: KpiSourceRow) -> Result<Self> {
        let kind: KpiSourceKind = r
            .kind
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("kpi_sources.kind: {e}")))?;
        Ok(KpiSource {
            metric_id: r.metric_id,
            spec: KpiSourceSpec {
                kind,
                url: r.url,
                query: r.query,
                interval_seconds: u32::try_from(r.interval_seconds).unwrap_or(3600),
            },
            next_run_at: r.next_run_at,
            failures: r.failures,
            last_run_at: r.last_run_at,
            last_success_at: r.last_success_at,
            last_value: r.last_value,
            last_error: r.last_error,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const SOURCE_COLS: &str = "metric_id, kind, url, query, interval_seconds, next_run_at, failures, \
     last_run_at, last_success_at, last_value, last_error, created_at, updated_at";

/// How a claimed KPI run ended.
#[derive(Debug, Clone, PartialEq)]
pub enum KpiRunOutcome {
    /// The value, written as the point at `point_at`.
    Collected {
        point_at: DateTime<Utc>,
        value: f64,
    },
    Failed(String),
}

fn skip_locked(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Sqlite => "",
        EngineKind::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}

impl Store {
    // ---- checks ---------------------------------------------------------------

    /// Switches a check off (never claimed again) or on; false when there
    /// is no such check.
    pub async fn set_check_disabled(&self, name: &str, disabled: bool) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE checks SET disabled = $2 WHERE name = $1")
                .bind(name)
                .bind(disabled)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// The names of the disabled checks.
    pub async fn disabled_checks(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT name FROM checks WHERE disabled = TRUE ORDER BY name")
                .fetch_all(pool)
                .await?
        });
        Ok(rows.into_iter().map(|(n,)| n).collect())
    }

    // ---- incidents ------------------------------------------------------------

    /// The stored incident with this Tandem id.
    pub async fn incident_by_id(
        &self,
        id: Uuid,
    ) -> Result<Option<tandem_domain::engineering::Incident>> {
        let row: Option<(String, String)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT source, external_id FROM incidents WHERE id = $1")
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        match row {
            Some((source, external_id)) => self.get_incident(&source, &external_id).await,
            None => Ok(None),
        }
    }

    /// The newest deployment of `service` in `project_id` that started
    /// before `at` (any environment, any status).
    pub async fn last_deployment_before(
        &self,
        project_id: Uuid,
        service: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<Deployment>> {
        let row: Option<(String, String)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT source, external_id FROM deployments \
                 WHERE project_id = $1 AND service = $2 AND started_at <= $3 \
                 ORDER BY started_at DESC, id DESC LIMIT 1",
            )
            .bind(project_id)
            .bind(service)
            .bind(at)
            .fetch_optional(pool)
            .await?
        });
        match row {
            Some((source, external_id)) => self.get_deployment(&source, &external_id).await,
            None => Ok(None),
        }
    }

    /// An incident's post-incident note.
    pub async fn incident_note(&self, incident_id: Uuid) -> Result<Option<IncidentNote>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT incident_id, body, updated_by, updated_at FROM incident_notes \
                 WHERE incident_id = $1",
            )
            .bind(incident_id)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Stores (or replaces) an incident's post-incident note.
    pub async fn save_incident_note(&self, note: &IncidentNote) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO incident_notes (incident_id, body, updated_by, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (incident_id) DO UPDATE SET \
                 body = excluded.body, updated_by = excluded.updated_by, \
                 updated_at = excluded.updated_at",
            )
            .bind(note.incident_id)
            .bind(&note.body)
            .bind(&note.updated_by)
            .bind(note.updated_at)
            .execute(pool)
            .await
            .map_err(|e| missing_incident(e, note.incident_id))?;
        });
        Ok(())
    }

    /// Stores a business update.
    pub async fn add_business_update(&self, u: &BusinessUpdate) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(sql(format!(
                "INSERT INTO business_updates ({UPDATE_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            )))
            .bind(u.id)
            .bind(u.incident_id)
            .bind(u.project_id)
            .bind(&u.service)
            .bind(&u.affected)
            .bind(&u.doing)
            .bind(u.next_update_at)
            .bind(&u.posted_by)
            .bind(u.created_at)
            .bind(&u.slack_channel)
            .bind(&u.slack_outcome)
            .bind(u.slack_attempts)
            .bind(&u.slack_error)
            .bind(u.slack_posted_at)
            .execute(pool)
            .await
            .map_err(|e| missing_incident(e, u.incident_id))?;
        });
        Ok(())
    }

    /// Claims the oldest business update waiting for Slack that nobody
    /// holds (no claim, or one whose lease ended before `now`) until
    /// `lease_until`, counting an attempt. One statement: two replicas
    /// never hold the same update.
    pub async fn claim_business_update(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<BusinessUpdate>> {
        let now = tandem_domain::time::micros(now);
        let lease_until = tandem_domain::time::micros(lease_until);
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "UPDATE business_updates SET slack_claimed_until = $3, \
                 slack_attempts = slack_attempts + 1 \
                 WHERE id = (SELECT id FROM business_updates WHERE slack_outcome = $1 \
                   AND (slack_claimed_until IS NULL OR slack_claimed_until < $2) \
                   ORDER BY created_at, id LIMIT 1) \
                 AND slack_outcome = $1 \
                 AND (slack_claimed_until IS NULL OR slack_claimed_until < $2) \
                 RETURNING {UPDATE_COLS}"
            )))
            .bind(UPDATE_PENDING)
            .bind(now)
            .bind(lease_until)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records an attempt at posting a claimed update: `posted_at` when
    /// Slack took it; else its error, and `give_up` marks it failed for
    /// good (otherwise it is claimed again once its lease ends).
    pub async fn finish_business_update(
        &self,
        id: Uuid,
        posted_at: Option<DateTime<Utc>>,
        error: Option<&str>,
        give_up: bool,
    ) -> Result<()> {
        let outcome = match (posted_at, give_up) {
            (Some(_), _) => UPDATE_POSTED,
            (None, true) => UPDATE_FAILED,
            (None, false) => UPDATE_PENDING,
        };
        let n = on_pool!(self, |pool| {
            // A failed attempt keeps its lease: the next waits for it to end.
            sqlx::query(if outcome == UPDATE_PENDING {
                "UPDATE business_updates SET slack_outcome = $2, slack_posted_at = $3, \
                 slack_error = $4 WHERE id = $1"
            } else {
                "UPDATE business_updates SET slack_outcome = $2, slack_posted_at = $3, \
                 slack_error = $4, slack_claimed_until = NULL WHERE id = $1"
            })
            .bind(id)
            .bind(outcome)
            .bind(posted_at.map(tandem_domain::time::micros))
            .bind(if posted_at.is_some() { None } else { error })
            .execute(pool)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound {
                entity: "business update",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Business updates, newest first: of one incident when given, else
    /// every incident's since `since`; at most `limit`.
    pub async fn business_updates(
        &self,
        incident_id: Option<Uuid>,
        since: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<BusinessUpdate>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {UPDATE_COLS} FROM business_updates \
                 WHERE ($1 IS NULL OR incident_id = $1) AND created_at >= $2 \
                 ORDER BY created_at DESC, id DESC LIMIT $3"
            )))
            .bind(incident_id)
            .bind(since)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    // ---- KPI sources ----------------------------------------------------------

    /// Sets a series' source (replacing any; the outcome of the old one is
    /// forgotten), first run at `next_run_at`.
    pub async fn set_kpi_source(
        &self,
        metric_id: Uuid,
        spec: &KpiSourceSpec,
        next_run_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO kpi_sources (metric_id, kind, url, query, interval_seconds, next_run_at, \
                 failures, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $7) \
                 ON CONFLICT (metric_id) DO UPDATE SET kind = excluded.kind, url = excluded.url, \
                 query = excluded.query, interval_seconds = excluded.interval_seconds, \
                 next_run_at = excluded.next_run_at, failures = 0, last_error = NULL, \
                 updated_at = excluded.updated_at",
            )
            .bind(metric_id)
            .bind(spec.kind.as_str())
            .bind(spec.url.trim())
            .bind(&spec.query)
            .bind(i32::try_from(spec.interval_seconds).unwrap_or(i32::MAX))
            .bind(next_run_at)
            .bind(now)
            .execute(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::not_found("metric", metric_id)
                }
                _ => StoreError::Database(e),
            })?;
        });
        Ok(())
    }

    /// Removes a series' source; false when it had none.
    pub async fn remove_kpi_source(&self, metric_id: Uuid) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM kpi_sources WHERE metric_id = $1")
                .bind(metric_id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    pub async fn kpi_source(&self, metric_id: Uuid) -> Result<Option<KpiSource>> {
        let row: Option<KpiSourceRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {SOURCE_COLS} FROM kpi_sources WHERE metric_id = $1"
            )))
            .bind(metric_id)
            .fetch_optional(pool)
            .await?
        });
        row.map(KpiSource::try_from).transpose()
    }

    /// Every source.
    pub async fn list_kpi_sources(&self) -> Result<Vec<KpiSource>> {
        let rows: Vec<KpiSourceRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {SOURCE_COLS} FROM kpi_sources ORDER BY metric_id"
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(KpiSource::try_from).collect()
    }

    /// Claims up to `limit` sources due at `now` (all of them, whatever
    /// their schedule, with `force`; one series' with `only`) whose lease is
    /// free, for `owner` until `lease_until`.
    pub async fn claim_due_kpi_sources(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        only: Option<Uuid>,
        limit: i64,
    ) -> Result<Vec<KpiSource>> {
        let lock = skip_locked(self.engine());
        let due = "(lease_until IS NULL OR lease_until < $3) \
                   AND (($5 IS NULL AND next_run_at <= $3) OR metric_id = $5)";
        let rows: Vec<KpiSourceRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "UPDATE kpi_sources SET lease_owner = $1, lease_until = $2 \
                 WHERE metric_id IN (SELECT metric_id FROM kpi_sources WHERE {due} \
                   ORDER BY next_run_at LIMIT $4{lock}) AND {due} \
                 RETURNING {SOURCE_COLS}"
            )))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .bind(only)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(KpiSource::try_from).collect()
    }

    /// Finishes a claimed run in one transaction: the point (after a
    /// success), the outcome, the next run; frees the lease. False (nothing
    /// written) when `owner` no longer holds the claim.
    pub async fn finish_kpi_run(
        &self,
        metric_id: Uuid,
        owner: &str,
        at: DateTime<Utc>,
        outcome: &KpiRunOutcome,
        next_run_at: DateTime<Utc>,
    ) -> Result<bool> {
        let ok = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = match outcome {
                KpiRunOutcome::Collected { value, .. } => sqlx::query(
                    "UPDATE kpi_sources SET failures = 0, last_run_at = $3, last_success_at = $3, \
                     last_value = $4, last_error = NULL, next_run_at = $5, lease_owner = NULL, \
                     lease_until = NULL WHERE metric_id = $1 AND lease_owner = $2",
                )
                .bind(metric_id)
                .bind(owner)
                .bind(at)
                .bind(*value)
                .bind(next_run_at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
                KpiRunOutcome::Failed(error) => sqlx::query(
                    "UPDATE kpi_sources SET failures = failures + 1, last_run_at = $3, \
                     last_error = $4, next_run_at = $5, lease_owner = NULL, lease_until = NULL \
                     WHERE metric_id = $1 AND lease_owner = $2",
                )
                .bind(metric_id)
                .bind(owner)
                .bind(at)
                .bind(error)
                .bind(next_run_at)
                .execute(&mut *tx)
                .await?
                .rows_affected(),
            };
            if n == 0 {
                false
            } else {
                if let KpiRunOutcome::Collected { point_at, value } = outcome {
                    sqlx::query(
                        "INSERT INTO metric_points (metric_id, at, value) VALUES ($1, $2, $3) \
                         ON CONFLICT (metric_id, at) DO UPDATE SET value = excluded.value",
                    )
                    .bind(metric_id)
                    .bind(*point_at)
                    .bind(*value)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                true
            }
        });
        Ok(ok)
    }
}

fn missing_incident(e: sqlx::Error, id: Uuid) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::not_found("incident", id)
        }
        _ => StoreError::Database(e),
    }
}
