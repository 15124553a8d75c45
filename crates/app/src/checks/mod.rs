//! Health checks (issue 16, ADR 0019): defining them (API, CLI and
//! `[[checks]]` in tandem.toml, one function), silences, heartbeat tokens
//! and pings, running them (`run`: the scheduler's pass and `tandem check
//! run`), the incidents and alerts they raise (`alerts`), and uptime.
//!
//! Rules:
//! - A definition is validated by the domain (`CheckSpec::validate`; a log
//!   check's `pattern` must also compile as a regular expression), its
//!   team must exist and its service must belong to a project (the events
//!   API's rule, `events::owning_project`), and a `depends_on` must name a
//!   check; errors name the field.
//! - A new check's first run is spread over its interval by a hash of its
//!   name (jitter without a random source), so 10,000 checks defined at
//!   once do not all run in the same second.
//! - Heartbeat tokens are random secrets shown once and stored as SHA-256
//!   (`credentials::secret_hash`); a ping looks the hash up.

pub mod alerts;
pub mod probe;
pub mod run;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tandem_domain::check::{CheckKind, CheckSpec, Rollup, uptime as availability};
use tandem_store::{CheckResult, CheckWrite, Store, StoredCheck};

use crate::credentials;
use crate::error::{AppError, AppResult};
use crate::events;
use crate::lookup;
use crate::settings::Settings;

/// Where a definition came from.
pub const ORIGIN_API: &str = "api";
pub const ORIGIN_CONFIG: &str = "config";

/// A stored check, and its heartbeat token when one was just issued (shown
/// once; only its hash is kept).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Defined {
    pub check: StoredCheck,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_token: Option<String>,
}

/// Creates or updates a check from its definition.
pub async fn define(
    store: &Store,
    spec: CheckSpec,
    origin: &str,
    now: DateTime<Utc>,
) -> AppResult<Defined> {
    spec.validate()?;
    if let Some(p) = &spec.pattern
        && let Err(e) = regex::bytes::Regex::new(p)
    {
        return Err(AppError::invalid(
            "pattern",
            format!("not a regular expression: {e}"),
        ));
    }
    let team = lookup::team(store, &spec.team)
        .await
        .map_err(|_| AppError::invalid("team", format!("no team has the key {:?}", spec.team)))?;
    let project = events::owning_project(store, "", &spec.service, spec.project.as_deref()).await?;
    if let Some(parent) = &spec.depends_on
        && store.get_check(parent).await?.is_none()
    {
        return Err(AppError::invalid(
            "depends_on",
            format!("no check is named {parent:?}; define the parent first"),
        ));
    }
    let stored = store
        .upsert_check(&CheckWrite {
            spec: &spec,
            team_id: team.id,
            project_id: project.id,
            origin,
            first_run_at: now + first_offset(&spec.name, spec.interval_seconds),
            now,
        })
        .await?;
    let heartbeat_token = if spec.kind == CheckKind::Heartbeat && !stored.has_heartbeat_token {
        Some(new_heartbeat_token(store, &spec.name).await?)
    } else {
        None
    };
    let check = get(store, &spec.name).await?;
    Ok(Defined {
        check,
        heartbeat_token,
    })
}

/// A check by name.
pub async fn get(store: &Store, name: &str) -> AppResult<StoredCheck> {
    store
        .get_check(name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no check is named {name:?}")))
}

/// A check by its name, or by its id when no check has that name (what
/// `tandem check disable|enable` accept).
pub async fn find(store: &Store, name_or_id: &str) -> AppResult<StoredCheck> {
    if let Some(c) = store.get_check(name_or_id).await? {
        return Ok(c);
    }
    if let Ok(id) = uuid::Uuid::try_parse(name_or_id)
        && let Some(c) = store.get_check_by_id(id).await?
    {
        return Ok(c);
    }
    Err(AppError::NotFound(format!(
        "no check has the name or id {name_or_id:?}; `tandem check list` shows them"
    )))
}

/// Switches a check off (kept with its history, never run, so it opens no
/// incident and sends no alert) or back on; by name or id.
pub async fn set_disabled(
    store: &Store,
    name_or_id: &str,
    disabled: bool,
) -> AppResult<StoredCheck> {
    let check = find(store, name_or_id).await?;
    if !store.set_check_disabled(&check.name, disabled).await? {
        return Err(AppError::NotFound(format!(
            "no check is named {:?}",
            check.name
        )));
    }
    get(store, &check.name).await
}

/// Every check, by name.
pub async fn list(store: &Store) -> AppResult<Vec<StoredCheck>> {
    Ok(store.list_checks().await?)
}

/// Deletes a check (its results and rollups go with it; its incidents
/// stay).
pub async fn delete(store: &Store, name: &str) -> AppResult<()> {
    if store.delete_check(name).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!("no check is named {name:?}")))
    }
}

/// Silences a check for `minutes` from `now` (0 lifts the silence): its
/// runs are recorded, but it does not go failing meanwhile.
pub async fn silence(
    store: &Store,
    name: &str,
    minutes: u32,
    now: DateTime<Utc>,
) -> AppResult<StoredCheck> {
    if minutes > 60 * 24 * 30 {
        return Err(AppError::invalid(
            "minutes",
            "at most 30 days (43200 minutes)",
        ));
    }
    let until = (minutes > 0).then(|| now + TimeDelta::minutes(i64::from(minutes)));
    if !store.silence_check(name, until).await? {
        return Err(AppError::NotFound(format!("no check is named {name:?}")));
    }
    get(store, name).await
}

/// Issues a new heartbeat token for a check (the old one stops working).
pub async fn new_heartbeat_token(store: &Store, name: &str) -> AppResult<String> {
    let token = credentials::new_secret()?;
    if !store
        .set_heartbeat_token(name, &credentials::secret_hash(&token))
        .await?
    {
        return Err(AppError::NotFound(format!("no check is named {name:?}")));
    }
    Ok(token)
}

/// Records a ping; the check's name. An unknown token is `NotFound`.
pub async fn ping(store: &Store, token: &str, now: DateTime<Utc>) -> AppResult<String> {
    store
        .record_ping(&credentials::secret_hash(token), now)
        .await?
        .ok_or_else(|| AppError::NotFound("no check has this heartbeat token".into()))
}

/// Stores every `[[checks]]` of the configuration (at `serve` start).
/// Checks defined through the API are left alone.
pub async fn sync_config(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> AppResult<Vec<Defined>> {
    let mut out = Vec::new();
    // Parents first, so `depends_on` finds them.
    let mut pending: Vec<CheckSpec> = settings.checks.clone();
    while !pending.is_empty() {
        let before = pending.len();
        let mut later = Vec::new();
        for spec in pending {
            let parent_ready = match &spec.depends_on {
                Some(p) => store.get_check(p).await?.is_some(),
                None => true,
            };
            if parent_ready {
                out.push(define(store, spec, ORIGIN_CONFIG, now).await?);
            } else {
                later.push(spec);
            }
        }
        if later.len() == before {
            // The remaining parents do not exist: the error names them.
            define(store, later.remove(0), ORIGIN_CONFIG, now).await?;
        }
        pending = later;
    }
    Ok(out)
}

/// A check's newest raw results.
pub async fn results(store: &Store, name: &str, limit: i64) -> AppResult<Vec<CheckResult>> {
    let check = get(store, name).await?;
    Ok(store.check_results(check.id, limit.clamp(1, 1000)).await?)
}

/// Availability of a check over `[from, to)`.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Uptime {
    pub check: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// The rollup grain read: `minute` (up to a day), `hour` (up to 100
    /// days), else `day`.
    pub grain: String,
    /// Up time over observed time, 0 to 1; `null` with no runs.
    pub availability: Option<f64>,
    pub runs: i64,
    pub failed_runs: i64,
    /// Mean latency of the runs, in milliseconds.
    pub mean_latency_ms: Option<f64>,
}

/// Time-weighted availability of a check from its rollups (each run
/// stands for its interval; see docs/metrics.md). What the API and the CLI
/// show; the status page's per-service figure is the same function over
/// the service's checks ([`availability_over`]).
pub async fn uptime(
    store: &Store,
    name: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Uptime> {
    let check = get(store, name).await?;
    availability_over(store, &check.name, &[check.id], from, to).await
}

/// The one definition of uptime: time-weighted availability over
/// `[from, to)` of the rollups of `checks` together (up time over observed
/// time), labelled `label`. The grain read: `minute` up to a day, `hour`
/// up to 100 days, else `day`.
pub async fn availability_over(
    store: &Store,
    label: &str,
    checks: &[uuid::Uuid],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Uptime> {
    if to <= from {
        return Err(AppError::invalid("to", "must be after from"));
    }
    let span = to - from;
    let grain = if span <= TimeDelta::days(1) {
        "minute"
    } else if span <= TimeDelta::days(100) {
        "hour"
    } else {
        "day"
    };
    let mut rollups = Vec::new();
    for id in checks {
        rollups.extend(store.check_rollups(*id, grain, from, to).await?);
    }
    let total = rollups.iter().fold(Rollup::default(), |a, r| Rollup {
        runs: a.runs + r.runs,
        ok_runs: a.ok_runs + r.ok_runs,
        up_ms: a.up_ms + r.up_ms,
        down_ms: a.down_ms + r.down_ms,
        latency_ms_sum: a.latency_ms_sum + r.latency_ms_sum,
    });
    Ok(Uptime {
        check: label.to_owned(),
        from,
        to,
        grain: grain.to_owned(),
        availability: availability(&rollups),
        runs: total.runs,
        failed_runs: total.runs - total.ok_runs,
        mean_latency_ms: (total.runs > 0).then(|| total.latency_ms_sum as f64 / total.runs as f64),
    })
}

/// A check with the figures `GET /metrics` exports for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckFigures {
    pub check: StoredCheck,
    /// The last run's latency (while its raw result is kept).
    pub last_latency_ms: Option<i64>,
    /// Time-weighted availability over the last [`AVAILABILITY_DAYS`]
    /// days, from the hour rollups (as [`uptime`] computes it).
    pub availability: Option<f64>,
}

/// The span of [`CheckFigures::availability`].
pub const AVAILABILITY_DAYS: i64 = 30;

/// Every check with its last latency and recent availability, in three
/// queries whatever the number of checks.
pub async fn figures(store: &Store, now: DateTime<Utc>) -> AppResult<Vec<CheckFigures>> {
    let checks = store.list_checks().await?;
    let latencies: std::collections::HashMap<uuid::Uuid, i64> =
        store.last_check_latencies().await?.into_iter().collect();
    let totals: std::collections::HashMap<uuid::Uuid, Rollup> = store
        .check_rollup_totals("hour", now - TimeDelta::days(AVAILABILITY_DAYS), now)
        .await?
        .into_iter()
        .collect();
    Ok(checks
        .into_iter()
        .map(|check| CheckFigures {
            last_latency_ms: latencies.get(&check.id).copied(),
            availability: totals
                .get(&check.id)
                .and_then(|r| availability(std::slice::from_ref(r))),
            check,
        })
        .collect())
}

/// Deletes raw results and rollups past their retention.
pub async fn prune(store: &Store, settings: &Settings, now: DateTime<Utc>) -> AppResult<u64> {
    let raw_before = now - TimeDelta::hours(i64::from(settings.monitor.raw_retention_hours));
    Ok(store
        .prune_check_data(Some(raw_before), &rollup_bounds(settings, now))
        .await?)
}

/// Deletes the rollups past their retention, not the raw results (which
/// the archive writes and deletes itself: `crate::archive`).
pub async fn prune_rollups(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> AppResult<u64> {
    Ok(store
        .prune_check_data(None, &rollup_bounds(settings, now))
        .await?)
}

/// Each rollup grain with the instant before which it is deleted.
fn rollup_bounds(settings: &Settings, now: DateTime<Utc>) -> [(&'static str, DateTime<Utc>); 3] {
    let m = &settings.monitor;
    let days = |d: u32| now - TimeDelta::days(i64::from(d));
    [
        ("minute", days(m.minute_retention_days)),
        ("hour", days(m.hour_retention_days)),
        ("day", days(m.day_retention_days)),
    ]
}

/// A stable offset in `[0, interval)` from the check's name (FNV-1a).
fn first_offset(name: &str, interval_seconds: u32) -> TimeDelta {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    let ms = u64::from(interval_seconds) * 1000;
    TimeDelta::milliseconds(i64::try_from(h % ms.max(1)).unwrap_or(0))
}
