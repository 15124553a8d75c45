//! Storage for health checks (issue 16, ADR 0019): definitions with their
//! state, what a probe keeps between runs (`probe_state`: a log check's
//! place in its files), the scheduler's claims, raw results with minute/hour/day
//! rollups, heartbeat pings, the alert outbox with its attempt log, and an
//! incident's acknowledgement.
//!
//! Exactly-once rules kept here:
//! - A due check is claimed by one statement that sets `lease_owner` and
//!   `lease_until` on rows whose lease is free (PostgreSQL: `FOR UPDATE SKIP
//!   LOCKED`, so replicas claim disjoint rows; SQLite: one writer at a
//!   time). Only the lease's owner can finish the run
//!   ([`Store::finish_check_runs`]); a replica that died loses the claim when
//!   the lease runs out.
//! - An alert is inserted once per `dedup_key`; a sender claims it by a
//!   conditional update (pending and due, or sending with a stale claim), so
//!   one sender sends it at a time, and a sent alert is never claimed again.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::types::Json;
use sqlx::{FromRow, QueryBuilder};
use tandem_domain::check::{
    AlertChannel, AlertKind, AlertStatus, CheckSpec, CheckState, GRAINS, Rollup, Severity, bucket,
};
use uuid::Uuid;

use crate::engine::sql;
use crate::{BeginWrite, EngineKind, Result, Store, StoreError, on_pool};

/// A check as stored: its definition, owners, state and schedule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct StoredCheck {
    pub id: Uuid,
    pub name: String,
    pub team_id: Uuid,
    pub project_id: Uuid,
    pub service: String,
    pub spec: CheckSpec,
    /// `api` (API or CLI) or `config` (`[[checks]]` in tandem.toml).
    pub origin: String,
    pub state: CheckState,
    /// Whether a heartbeat token was issued.
    pub has_heartbeat_token: bool,
    pub last_ping_at: Option<DateTime<Utc>>,
    pub silenced_until: Option<DateTime<Utc>>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_ok: Option<bool>,
    pub last_message: String,
    pub next_run_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Switched off: kept, never run.
    pub disabled: bool,
}

#[derive(FromRow)]
struct CheckRow {
    id: Uuid,
    name: String,
    team_id: Uuid,
    project_id: Uuid,
    service: String,
    spec: Json<CheckSpec>,
    origin: String,
    state: Json<CheckState>,
    has_token: bool,
    last_ping_at: Option<DateTime<Utc>>,
    silenced_until: Option<DateTime<Utc>>,
    last_run_at: Option<DateTime<Utc>>,
    last_ok: Option<bool>,
    last_message: String,
    next_run_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    disabled: bool,
}

impl From<CheckRow> for StoredCheck {
    fn from(r: CheckRow) -> Self {
        StoredCheck {
            id: r.id,
            name: r.name,
            team_id: r.team_id,
            project_id: r.project_id,
            service: r.service,
            spec: r.spec.0,
            origin: r.origin,
            state: r.state.0,
            has_heartbeat_token: r.has_token,
            last_ping_at: r.last_ping_at,
            silenced_until: r.silenced_until,
            last_run_at: r.last_run_at,
            last_ok: r.last_ok,
            last_message: r.last_message,
            next_run_at: r.next_run_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            disabled: r.disabled,
        }
    }
}

const CHECK_COLS: &str = "id, name, team_id, project_id, service, spec, origin, state, \
     heartbeat_token_hash IS NOT NULL AS has_token, last_ping_at, silenced_until, last_run_at, \
     last_ok, last_message, next_run_at, created_at, updated_at, disabled";

/// A check to store: its definition resolved to owners.
#[derive(Debug, Clone)]
pub struct CheckWrite<'a> {
    pub spec: &'a CheckSpec,
    pub team_id: Uuid,
    pub project_id: Uuid,
    pub origin: &'a str,
    /// The first run (a new check only; an update keeps its schedule).
    pub first_run_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// One finished run.
#[derive(Debug, Clone)]
pub struct CheckRun {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub latency_ms: i64,
    pub message: String,
    /// The time this run stands for (the check's interval).
    pub covers_ms: i64,
}

/// A claimed run to finish ([`Store::finish_check_runs`]).
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub check_id: Uuid,
    /// Who claimed it: the run is finished only while this owner holds it.
    pub owner: String,
    pub run: CheckRun,
    /// The check's state after the run.
    pub state: CheckState,
    pub next_run_at: DateTime<Utc>,
    /// What the probe keeps for the next run (`None`: unchanged).
    pub probe_state: Option<serde_json::Value>,
}

/// Most runs in one group of [`Store::finish_check_runs`]: its rollup
/// statement binds 24 values per run (6,144 here), well under both engines'
/// limits.
pub const FINISH_ROWS: usize = 256;

/// `runs` split, in order, into groups of at most [`FINISH_ROWS`] indexes
/// with no check twice in a group (a multi-row upsert may not touch a row
/// twice, and the update joins each check to one row).
fn distinct_groups(runs: &[FinishedRun]) -> Vec<Vec<usize>> {
    let mut groups: Vec<Vec<usize>> = Vec::new();
    let mut seen: HashSet<Uuid> = HashSet::new();
    for (i, r) in runs.iter().enumerate() {
        let full = groups.last().is_none_or(|g| g.len() >= FINISH_ROWS);
        if full || seen.contains(&r.check_id) {
            groups.push(Vec::new());
            seen.clear();
        }
        seen.insert(r.check_id);
        if let Some(g) = groups.last_mut() {
            g.push(i);
        }
    }
    groups
}

/// One raw result.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct CheckResult {
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub latency_ms: i64,
    pub message: String,
}

/// An alert to enqueue.
#[derive(Debug, Clone)]
pub struct NewAlert {
    pub dedup_key: String,
    /// The incident it tells of; `None` for a P0 request's page.
    pub incident_id: Option<Uuid>,
    /// The business request a page tells of (one of the two is set).
    pub request_id: Option<Uuid>,
    pub check_id: Option<Uuid>,
    pub team_id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    pub channel: AlertChannel,
    pub destination: String,
    pub message: serde_json::Value,
    pub due_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// An alert in the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Alert {
    pub id: Uuid,
    pub dedup_key: String,
    /// The incident it tells of; `None` for a P0 request's page.
    pub incident_id: Option<Uuid>,
    /// The business request a page tells of.
    pub request_id: Option<Uuid>,
    pub check_id: Option<Uuid>,
    pub team_id: Uuid,
    pub kind: AlertKind,
    pub severity: Severity,
    pub channel: AlertChannel,
    /// The route it follows (`[[alerts.routes]]` name).
    pub destination: String,
    #[schema(value_type = Object)]
    pub message: serde_json::Value,
    pub status: AlertStatus,
    pub attempts: i32,
    pub due_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct AlertRow {
    id: Uuid,
    dedup_key: String,
    incident_id: Option<Uuid>,
    request_id: Option<Uuid>,
    check_id: Option<Uuid>,
    team_id: Uuid,
    kind: String,
    severity: String,
    channel: String,
    destination: String,
    message: Json<serde_json::Value>,
    status: String,
    attempts: i32,
    due_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
    last_error: Option<String>,
    created_at: DateTime<Utc>,
}

impl TryFrom<AlertRow> for Alert {
    type Error = StoreError;

    fn try_from(r: AlertRow) -> Result<Self> {
        Ok(Alert {
            id: r.id,
            dedup_key: r.dedup_key,
            incident_id: r.incident_id,
            request_id: r.request_id,
            check_id: r.check_id,
            team_id: r.team_id,
            kind: r.kind.parse().map_err(StoreError::Corrupt)?,
            severity: r.severity.parse().map_err(StoreError::Corrupt)?,
            channel: r.channel.parse().map_err(StoreError::Corrupt)?,
            destination: r.destination,
            message: r.message.0,
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            attempts: r.attempts,
            due_at: r.due_at,
            sent_at: r.sent_at,
            last_error: r.last_error,
            created_at: r.created_at,
        })
    }
}

/// Inserts one alert (the binds of [`bind_new_alert!`]) unless its key is
/// taken.
pub(crate) fn insert_alert_sql() -> String {
    format!(
        "INSERT INTO alerts ({ALERT_COLS}, claimed_by, claimed_at) VALUES \
         ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', 0, $11, NULL, NULL, $12, $13, NULL, NULL) \
         ON CONFLICT (dedup_key) DO NOTHING"
    )
}

/// Binds a [`NewAlert`] to [`insert_alert_sql`].
macro_rules! bind_new_alert {
    ($q:expr, $a:expr) => {{
        let a: &$crate::NewAlert = $a;
        $q.bind(uuid::Uuid::now_v7())
            .bind(&a.dedup_key)
            .bind(a.incident_id)
            .bind(a.check_id)
            .bind(a.team_id)
            .bind(a.kind.as_str())
            .bind(a.severity.as_str())
            .bind(a.channel.as_str())
            .bind(&a.destination)
            .bind(sqlx::types::Json(&a.message))
            .bind(a.due_at)
            .bind(a.now)
            .bind(a.request_id)
    }};
}
pub(crate) use bind_new_alert;

const ALERT_COLS: &str = "id, dedup_key, incident_id, check_id, team_id, kind, severity, channel, \
     destination, message, status, attempts, due_at, sent_at, last_error, created_at, request_id";

/// One delivery attempt of an alert.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct AlertAttempt {
    pub alert_id: Uuid,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// `sent` or `failed`.
    pub outcome: String,
    pub message: String,
}

/// An incident with its acknowledgement, as `incident list` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct IncidentEntry {
    pub id: Uuid,
    pub source: String,
    /// The sender's id; `check:<name>:<n>` for a check's incident.
    pub external_id: String,
    pub project_id: Uuid,
    pub service: Option<String>,
    pub title: String,
    pub severity: String,
    pub opened_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
}

const INCIDENT_ENTRY_COLS: &str = "id, source, external_id, project_id, service, title, severity, \
     opened_at, acknowledged_at, acknowledged_by, resolved_at";

/// `FOR UPDATE SKIP LOCKED` where the engine has it (PostgreSQL); SQLite
/// has one writer at a time, so the claim statement is already exclusive.
fn skip_locked(engine: EngineKind) -> &'static str {
    match engine {
        EngineKind::Sqlite => "",
        EngineKind::Postgres => " FOR UPDATE SKIP LOCKED",
    }
}

impl Store {
    // ---- definitions -------------------------------------------------------

    /// Creates a check, or updates the definition of the one with its name
    /// (its state, schedule and token stay).
    pub async fn upsert_check(&self, w: &CheckWrite<'_>) -> Result<StoredCheck> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO checks (id, name, team_id, project_id, service, spec, origin, state, \
                 next_run_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
                 ON CONFLICT (name) DO UPDATE SET team_id = excluded.team_id, \
                 project_id = excluded.project_id, service = excluded.service, spec = excluded.spec, \
                 origin = excluded.origin, updated_at = excluded.updated_at",
            )
            .bind(Uuid::now_v7())
            .bind(&w.spec.name)
            .bind(w.team_id)
            .bind(w.project_id)
            .bind(&w.spec.service)
            .bind(Json(w.spec))
            .bind(w.origin)
            .bind(Json(CheckState::default()))
            .bind(w.first_run_at)
            .bind(w.now)
            .execute(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::MissingReference {
                        field: "team".into(),
                        message: "the team or project does not exist".into(),
                    }
                }
                _ => StoreError::Database(e),
            })?;
        });
        self.get_check(&w.spec.name)
            .await?
            .ok_or_else(|| StoreError::not_found("check", &w.spec.name))
    }

    pub async fn get_check(&self, name: &str) -> Result<Option<StoredCheck>> {
        let row: Option<CheckRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {CHECK_COLS} FROM checks WHERE name = $1"
            )))
            .bind(name)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(StoredCheck::from))
    }

    /// A check by its id.
    pub async fn get_check_by_id(&self, id: Uuid) -> Result<Option<StoredCheck>> {
        let row: Option<CheckRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {CHECK_COLS} FROM checks WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(StoredCheck::from))
    }

    /// Every check, by name.
    pub async fn list_checks(&self) -> Result<Vec<StoredCheck>> {
        let rows: Vec<CheckRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {CHECK_COLS} FROM checks ORDER BY name"
            )))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(StoredCheck::from).collect())
    }

    /// Deletes a check with its results and rollups; true when it existed.
    pub async fn delete_check(&self, name: &str) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM checks WHERE name = $1")
                .bind(name)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Silences a check until `until` (`None`: lifts the silence).
    pub async fn silence_check(&self, name: &str, until: Option<DateTime<Utc>>) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE checks SET silenced_until = $2 WHERE name = $1")
                .bind(name)
                .bind(until)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Stores the hash of a check's heartbeat token (replacing any).
    pub async fn set_heartbeat_token(&self, name: &str, token_hash: &str) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query("UPDATE checks SET heartbeat_token_hash = $2 WHERE name = $1")
                .bind(name)
                .bind(token_hash)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Records a heartbeat ping for the check whose token hashes to
    /// `token_hash`; the check's name, or `None` for an unknown token.
    pub async fn record_ping(&self, token_hash: &str, at: DateTime<Utc>) -> Result<Option<String>> {
        let row: Option<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "UPDATE checks SET last_ping_at = $2 WHERE heartbeat_token_hash = $1 RETURNING name",
            )
            .bind(token_hash)
            .bind(at)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|(n,)| n))
    }

    // ---- the scheduler -----------------------------------------------------

    /// Claims up to `limit` checks due at `now` whose lease is free, for
    /// `owner` until `lease_until`; returns them.
    pub async fn claim_due_checks(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<StoredCheck>> {
        let lock = skip_locked(self.engine());
        let rows: Vec<CheckRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "UPDATE checks SET lease_owner = $1, lease_until = $2 \
                 WHERE id IN (SELECT id FROM checks WHERE next_run_at <= $3 AND NOT disabled \
                   AND (lease_until IS NULL OR lease_until < $3) ORDER BY next_run_at LIMIT $4{lock}) \
                 AND (lease_until IS NULL OR lease_until < $3) \
                 RETURNING {CHECK_COLS}"
            )))
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(StoredCheck::from).collect())
    }

    /// Claims one check for a run now (`tandem check run`), whatever its
    /// schedule, unless another run holds it; `None` when it is held.
    pub async fn claim_check(
        &self,
        name: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<StoredCheck>> {
        let row: Option<CheckRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "UPDATE checks SET lease_owner = $2, lease_until = $3 \
                 WHERE name = $1 AND (lease_until IS NULL OR lease_until < $4) \
                 RETURNING {CHECK_COLS}"
            )))
            .bind(name)
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(StoredCheck::from))
    }

    /// Finishes a claimed run in one transaction: the raw result, the three
    /// rollups, the new state, the next run; and frees the lease. False (and
    /// nothing written) when `owner` no longer holds the claim. One run of
    /// [`Store::finish_check_runs`].
    pub async fn finish_check_run(
        &self,
        check_id: Uuid,
        owner: &str,
        run: &CheckRun,
        state: &CheckState,
        next_run_at: DateTime<Utc>,
        probe_state: Option<&serde_json::Value>,
    ) -> Result<bool> {
        let finished = FinishedRun {
            check_id,
            owner: owner.to_owned(),
            run: run.clone(),
            state: state.clone(),
            next_run_at,
            probe_state: probe_state.cloned(),
        };
        let done = self
            .finish_check_runs(std::slice::from_ref(&finished))
            .await?;
        Ok(done.first().copied().unwrap_or(false))
    }

    /// Finishes claimed runs in one transaction (the scheduler's group
    /// commit): for each run whose owner still holds the claim, the raw
    /// result, the three rollups, the new state and the next run, and the
    /// lease freed. Multi-row statements, three per group of at most
    /// [`FINISH_ROWS`] runs of distinct checks (a check finished twice in
    /// one call is finished in order, in a later group). Returns, in the
    /// order given, whether each run was finished (false: its claim was
    /// lost, nothing of it written).
    pub async fn finish_check_runs(&self, runs: &[FinishedRun]) -> Result<Vec<bool>> {
        let mut done = vec![false; runs.len()];
        if runs.is_empty() {
            return Ok(done);
        }
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for group in distinct_groups(runs) {
                let mut qb = QueryBuilder::new(
                    "UPDATE checks SET state = v.column3, last_run_at = v.column4, \
                     last_ok = v.column5, last_message = v.column6, next_run_at = v.column7, \
                     lease_owner = NULL, lease_until = NULL, \
                     probe_state = COALESCE(v.column8, probe_state) FROM (",
                );
                qb.push_values(group.iter().map(|&i| &runs[i]), |mut b, r| {
                    b.push_bind(r.check_id)
                        .push_bind(r.owner.as_str())
                        .push_bind(Json(&r.state))
                        .push_bind(r.run.at)
                        .push_bind(r.run.ok)
                        .push_bind(r.run.message.as_str())
                        .push_bind(r.next_run_at)
                        .push_bind(r.probe_state.as_ref().map(Json));
                });
                qb.push(
                    ") AS v WHERE checks.id = v.column1 AND checks.lease_owner = v.column2 \
                     RETURNING id",
                );
                let updated: Vec<(Uuid,)> = qb.build_query_as().fetch_all(&mut *tx).await?;
                let updated: HashSet<Uuid> = updated.into_iter().map(|(id,)| id).collect();
                let mut kept: Vec<&FinishedRun> = Vec::with_capacity(group.len());
                for &i in &group {
                    if updated.contains(&runs[i].check_id) {
                        done[i] = true;
                        kept.push(&runs[i]);
                    }
                }
                if kept.is_empty() {
                    continue;
                }
                let mut qb = QueryBuilder::new(
                    "INSERT INTO check_results (check_id, at, ok, latency_ms, message) ",
                );
                qb.push_values(&kept, |mut b, r| {
                    b.push_bind(r.check_id)
                        .push_bind(r.run.at)
                        .push_bind(r.run.ok)
                        .push_bind(r.run.latency_ms)
                        .push_bind(r.run.message.as_str());
                });
                qb.push(" ON CONFLICT (check_id, at) DO NOTHING");
                qb.build().execute(&mut *tx).await?;
                let mut qb = QueryBuilder::new(
                    "INSERT INTO check_rollups (check_id, grain, bucket, runs, ok_runs, up_ms, \
                     down_ms, latency_ms_sum) ",
                );
                let rows = kept
                    .iter()
                    .flat_map(|r| GRAINS.iter().map(move |g| (*r, *g)));
                qb.push_values(rows, |mut b, (r, (grain, seconds))| {
                    let (up, down) = if r.run.ok {
                        (r.run.covers_ms, 0)
                    } else {
                        (0, r.run.covers_ms)
                    };
                    b.push_bind(r.check_id)
                        .push_bind(grain)
                        .push_bind(bucket(r.run.at, seconds))
                        .push_bind(1i64)
                        .push_bind(i64::from(r.run.ok))
                        .push_bind(up)
                        .push_bind(down)
                        .push_bind(r.run.latency_ms);
                });
                qb.push(
                    " ON CONFLICT (check_id, grain, bucket) DO UPDATE SET \
                     runs = check_rollups.runs + 1, ok_runs = check_rollups.ok_runs + excluded.ok_runs, \
                     up_ms = check_rollups.up_ms + excluded.up_ms, \
                     down_ms = check_rollups.down_ms + excluded.down_ms, \
                     latency_ms_sum = check_rollups.latency_ms_sum + excluded.latency_ms_sum",
                );
                qb.build().execute(&mut *tx).await?;
            }
            tx.commit().await?;
        });
        Ok(done)
    }

    /// What the probe of a check kept after its last run (a log check's
    /// place in its files), if anything.
    pub async fn check_probe_state(&self, check_id: Uuid) -> Result<Option<serde_json::Value>> {
        let row: Option<(Option<Json<serde_json::Value>>,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT probe_state FROM checks WHERE id = $1")
                .bind(check_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|(v,)| v).map(|j| j.0))
    }

    /// Frees a claim without a result (a run that could not start).
    pub async fn release_check(&self, check_id: Uuid, owner: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE checks SET lease_owner = NULL, lease_until = NULL \
                 WHERE id = $1 AND lease_owner = $2",
            )
            .bind(check_id)
            .bind(owner)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The newest raw results of a check, newest first.
    pub async fn check_results(&self, check_id: Uuid, limit: i64) -> Result<Vec<CheckResult>> {
        let rows: Vec<CheckResult> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT at, ok, latency_ms, message FROM check_results WHERE check_id = $1 \
                 ORDER BY at DESC LIMIT $2",
            )
            .bind(check_id)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// A check's rollups of `grain` whose bucket starts in `[from, to)`.
    pub async fn check_rollups(
        &self,
        check_id: Uuid,
        grain: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Rollup>> {
        let rows: Vec<(i64, i64, i64, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT runs, ok_runs, up_ms, down_ms, latency_ms_sum FROM check_rollups \
                 WHERE check_id = $1 AND grain = $2 AND bucket >= $3 AND bucket < $4 ORDER BY bucket",
            )
            .bind(check_id)
            .bind(grain)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(runs, ok_runs, up_ms, down_ms, latency_ms_sum)| Rollup {
                runs,
                ok_runs,
                up_ms,
                down_ms,
                latency_ms_sum,
            })
            .collect())
    }

    /// The latency of every check's last run, by check id (checks that
    /// ran and whose result is still kept).
    pub async fn last_check_latencies(&self) -> Result<Vec<(Uuid, i64)>> {
        let rows: Vec<(Uuid, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT c.id, r.latency_ms FROM checks c \
                 JOIN check_results r ON r.check_id = c.id AND r.at = c.last_run_at",
            )
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Every check's rollups of `grain` with a bucket in `[from, to)`,
    /// summed per check: (check id, totals).
    pub async fn check_rollup_totals(
        &self,
        grain: &str,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, Rollup)>> {
        let rows: Vec<(Uuid, i64, i64, i64, i64, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT check_id, CAST(SUM(runs) AS BIGINT), CAST(SUM(ok_runs) AS BIGINT), \
                 CAST(SUM(up_ms) AS BIGINT), CAST(SUM(down_ms) AS BIGINT), \
                 CAST(SUM(latency_ms_sum) AS BIGINT) FROM check_rollups \
                 WHERE grain = $1 AND bucket >= $2 AND bucket < $3 GROUP BY check_id",
            )
            .bind(grain)
            .bind(from)
            .bind(to)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(id, runs, ok_runs, up_ms, down_ms, latency_ms_sum)| {
                (
                    id,
                    Rollup {
                        runs,
                        ok_runs,
                        up_ms,
                        down_ms,
                        latency_ms_sum,
                    },
                )
            })
            .collect())
    }

    /// Deletes raw results before `results_before` (none when `None`) and
    /// rollups of each grain before its bound; the number of rows deleted.
    pub async fn prune_check_data(
        &self,
        results_before: Option<DateTime<Utc>>,
        rollups_before: &[(&str, DateTime<Utc>)],
    ) -> Result<u64> {
        let mut n = 0;
        if let Some(before) = results_before {
            n += on_pool!(self, |pool| {
                sqlx::query("DELETE FROM check_results WHERE at < $1")
                    .bind(before)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        for (grain, before) in rollups_before {
            n += on_pool!(self, |pool| {
                sqlx::query("DELETE FROM check_rollups WHERE grain = $1 AND bucket < $2")
                    .bind(*grain)
                    .bind(*before)
                    .execute(pool)
                    .await?
                    .rows_affected()
            });
        }
        Ok(n)
    }

    // ---- alerts --------------------------------------------------------------

    /// Enqueues an alert unless one with its key exists; true when new.
    pub async fn enqueue_alert(&self, a: &NewAlert) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            bind_new_alert!(sqlx::query(sql(insert_alert_sql())), a)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(n > 0)
    }

    /// Claims up to `limit` alerts due at `now` for `owner`: pending ones,
    /// and sending ones whose claim is older than `stale_before` (their
    /// sender died).
    pub async fn claim_due_alerts(
        &self,
        owner: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Alert>> {
        let lock = skip_locked(self.engine());
        let due =
            "((status = 'pending' AND due_at <= $2) OR (status = 'sending' AND claimed_at < $3))";
        let rows: Vec<AlertRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "UPDATE alerts SET status = 'sending', claimed_by = $1, claimed_at = $2 \
                 WHERE id IN (SELECT id FROM alerts WHERE {due} ORDER BY due_at LIMIT $4{lock}) \
                 AND {due} RETURNING {ALERT_COLS}"
            )))
            .bind(owner)
            .bind(now)
            .bind(stale_before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Alert::try_from).collect()
    }

    /// Logs an attempt of a claimed alert and sets its outcome: `sent`, or
    /// back to `pending` at `retry_at`, or `failed` without one. False when
    /// `owner` no longer holds the claim (nothing written).
    pub async fn finish_alert_attempt(
        &self,
        alert_id: Uuid,
        owner: &str,
        at: DateTime<Utc>,
        error: Option<&str>,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool> {
        let (status, outcome) = match (error, retry_at) {
            (None, _) => (AlertStatus::Sent, "sent"),
            (Some(_), Some(_)) => (AlertStatus::Pending, "failed"),
            (Some(_), None) => (AlertStatus::Failed, "failed"),
        };
        let ok = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let row: Option<(i32,)> = sqlx::query_as(
                "UPDATE alerts SET status = $3, attempts = attempts + 1, due_at = COALESCE($4, due_at), \
                 sent_at = CASE WHEN $3 = 'sent' THEN $5 ELSE NULL END, last_error = $6, \
                 claimed_by = NULL, claimed_at = NULL \
                 WHERE id = $1 AND claimed_by = $2 AND status = 'sending' RETURNING attempts",
            )
            .bind(alert_id)
            .bind(owner)
            .bind(status.as_str())
            .bind(retry_at)
            .bind(at)
            .bind(error)
            .fetch_optional(&mut *tx)
            .await?;
            match row {
                None => false,
                Some((attempt,)) => {
                    sqlx::query(
                        "INSERT INTO alert_attempts (alert_id, attempt, at, outcome, message) \
                         VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(alert_id)
                    .bind(attempt)
                    .bind(at)
                    .bind(outcome)
                    .bind(error.unwrap_or("delivered"))
                    .execute(&mut *tx)
                    .await?;
                    tx.commit().await?;
                    true
                }
            }
        });
        Ok(ok)
    }

    /// Alerts, oldest first; of one incident when given.
    pub async fn list_alerts(&self, incident_id: Option<Uuid>) -> Result<Vec<Alert>> {
        let rows: Vec<AlertRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ALERT_COLS} FROM alerts WHERE ($1 IS NULL OR incident_id = $1) \
                 ORDER BY created_at, id"
            )))
            .bind(incident_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Alert::try_from).collect()
    }

    /// The alerts paging the on-call path for a business request, oldest
    /// first.
    pub async fn list_request_alerts(&self, request_id: Uuid) -> Result<Vec<Alert>> {
        let rows: Vec<AlertRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ALERT_COLS} FROM alerts WHERE request_id = $1 ORDER BY created_at, id"
            )))
            .bind(request_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Alert::try_from).collect()
    }

    /// An alert's attempts, in order.
    pub async fn alert_attempts(&self, alert_id: Uuid) -> Result<Vec<AlertAttempt>> {
        let rows: Vec<AlertAttempt> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT alert_id, attempt, at, outcome, message FROM alert_attempts \
                 WHERE alert_id = $1 ORDER BY attempt",
            )
            .bind(alert_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    // ---- incidents -----------------------------------------------------------

    /// Incidents, newest first; only unresolved ones with `open_only`.
    pub async fn list_incident_entries(
        &self,
        open_only: bool,
        limit: i64,
    ) -> Result<Vec<IncidentEntry>> {
        let rows: Vec<IncidentEntry> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {INCIDENT_ENTRY_COLS} FROM incidents \
                 WHERE ($1 = FALSE OR resolved_at IS NULL) ORDER BY opened_at DESC, id LIMIT $2"
            )))
            .bind(open_only)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// One incident by its id or its sender's id (any source).
    pub async fn find_incident_entry(&self, id_or_external: &str) -> Result<Option<IncidentEntry>> {
        let id = Uuid::try_parse(id_or_external).ok();
        let row: Option<IncidentEntry> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {INCIDENT_ENTRY_COLS} FROM incidents WHERE id = $1 OR external_id = $2 \
                 ORDER BY (source = 'api') DESC, id LIMIT 1"
            )))
            .bind(id)
            .bind(id_or_external)
            .fetch_optional(pool)
            .await?
        });
        Ok(row)
    }

    /// Acknowledges an incident (the first acknowledgement stays); false
    /// when there is no such incident.
    pub async fn acknowledge_incident(
        &self,
        id: Uuid,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE incidents SET acknowledged_at = COALESCE(acknowledged_at, $2), \
                 acknowledged_by = COALESCE(acknowledged_by, $3) WHERE id = $1",
            )
            .bind(id)
            .bind(at)
            .bind(by)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }
}
