//! Running checks: the scheduler's pass (`run_due`, called by
//! `jobs::checks` every `[monitor] scheduler_interval_ms`) and one check at
//! once (`run_now`, `tandem check run`, `POST /api/v1/checks/{name}/run`).
//!
//! A pass claims due checks (one replica each, a lease in the database;
//! `Store::claim_due_checks`), at most as many as free slots of the
//! replica's semaphore (`[monitor] concurrency`), and runs each in its own
//! task; it never waits for them, so a hanging target (bounded by its
//! timeout anyway) blocks nothing else. Each run then folds its verdict
//! into the check's state (domain rules), writes the incident and alerts a
//! transition calls for, and finishes the run (result, rollups, state, next
//! run) only if it still holds the claim. The incident and alert writes are
//! keyed by cause (`check:<name>:<n>`, alert dedup keys), so a run repeated
//! after a crash writes nothing twice.
//!
//! Tuning: a claim's lease is [`LEASE`] (longer than the longest timeout,
//! 300 s); the next run is one interval after the scheduled one, or one
//! interval from now when the schedule fell behind.

use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use tandem_domain::check::{
    AlertKind, CheckKind, CheckStatus, Hold, LogState, Reminders, Transition, incident_external_id,
};
use tandem_store::{CheckRun, Store, StoredCheck};
use tokio::sync::Semaphore;

use super::alerts;
use super::probe::{self, Pings, Probes, Verdict};
use crate::error::{AppError, AppResult};
use crate::events::{self, IncidentEvent};
use crate::settings::Settings;

/// How long a claim holds a check.
pub const LEASE: TimeDelta = TimeDelta::seconds(330);

/// The incidents' `source`.
pub const SOURCE: &str = "check";

/// One replica's runner: its name in claims, what the probes share (the
/// HTTP client, TLS roots, S3), and its concurrency bound.
#[derive(Debug, Clone)]
pub struct Runner {
    pub owner: String,
    pub probes: Probes,
    pub slots: Arc<Semaphore>,
}

impl Runner {
    /// A runner with the default `[monitor]` settings.
    pub fn new(owner: String, concurrency: usize) -> AppResult<Runner> {
        Runner::for_settings(
            owner,
            concurrency,
            &crate::settings::MonitorSettings::default(),
        )
    }

    /// A runner whose probes use `[monitor]` (`ca_path`, `s3`, …).
    pub fn for_settings(
        owner: String,
        concurrency: usize,
        monitor: &crate::settings::MonitorSettings,
    ) -> AppResult<Runner> {
        Ok(Runner {
            owner,
            probes: Probes::new(monitor)?,
            slots: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }
}

/// Claims due checks and starts a task for each; returns how many were
/// started (their results land as they finish).
pub async fn run_due(
    store: &Store,
    settings: &Arc<Settings>,
    runner: &Runner,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let free = runner.slots.available_permits();
    if free == 0 {
        return Ok(0);
    }
    let limit = settings
        .monitor
        .batch
        .min(i64::try_from(free).unwrap_or(i64::MAX));
    let claimed = store
        .claim_due_checks(&runner.owner, now, now + LEASE, limit)
        .await?;
    let n = claimed.len();
    for check in claimed {
        let permit = Arc::clone(&runner.slots)
            .acquire_owned()
            .await
            .map_err(|e| AppError::Unexpected(e.into()))?;
        let (store, settings, runner) = (store.clone(), Arc::clone(settings), runner.clone());
        tokio::spawn(async move {
            let name = check.name.clone();
            let next = next_run(&check, Utc::now());
            if let Err(e) = run_claimed(&store, &settings, &runner, check, next, Utc::now()).await {
                tracing::warn!(check = %name, error = %e, "a check run failed to finish");
            }
            drop(permit);
        });
    }
    Ok(n)
}

/// Runs one check now, whatever its schedule (its schedule stays), unless
/// a run of it is under way or it is disabled (`Conflict`). Returns the check after the run.
pub async fn run_now(
    store: &Store,
    settings: &Settings,
    runner: &Runner,
    name: &str,
    now: DateTime<Utc>,
) -> AppResult<(StoredCheck, Verdict)> {
    let check = super::get(store, name).await?;
    if check.disabled {
        return Err(AppError::Conflict {
            field: Some("name".into()),
            message: format!(
                "check {name:?} is disabled and does not run; enable it first \
                 (`tandem check enable {name}`)"
            ),
        });
    }
    let Some(claimed) = store
        .claim_check(&check.name, &runner.owner, now, now + LEASE)
        .await?
    else {
        return Err(AppError::Conflict {
            field: Some("name".into()),
            message: format!("check {name:?} is running right now; try again in a moment"),
        });
    };
    let next = claimed.next_run_at;
    let verdict = run_claimed(store, settings, runner, claimed, next, now).await?;
    Ok((super::get(store, name).await?, verdict))
}

/// When a check runs next: one interval after its scheduled run, or one
/// interval from now when that is already past.
fn next_run(check: &StoredCheck, now: DateTime<Utc>) -> DateTime<Utc> {
    let every = TimeDelta::seconds(i64::from(check.spec.interval_seconds));
    let next = check.next_run_at + every;
    if next > now { next } else { now + every }
}

/// Probes a claimed check and records everything the run changes.
async fn run_claimed(
    store: &Store,
    settings: &Settings,
    runner: &Runner,
    check: StoredCheck,
    next_run_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> AppResult<Verdict> {
    let spec = &check.spec;
    let log = if spec.kind == CheckKind::Log {
        // A state that no longer reads (an older layout) starts afresh.
        store
            .check_probe_state(check.id)
            .await?
            .and_then(|v| serde_json::from_value::<LogState>(v).ok())
    } else {
        None
    };
    let (verdict, log) = probe::run(
        &runner.probes,
        spec,
        Pings {
            last_ping_at: check.last_ping_at,
            created_at: check.created_at,
        },
        log,
        now,
    )
    .await;
    let probe_state = log
        .map(|l| serde_json::to_value(l).map_err(|e| AppError::Unexpected(e.into())))
        .transpose()?;
    let result = record(
        store,
        settings,
        &runner.owner,
        &check,
        &verdict,
        next_run_at,
        probe_state.as_ref(),
        now,
    )
    .await;
    if result.is_err() {
        store.release_check(check.id, &runner.owner).await?;
    }
    result.map(|()| verdict)
}

#[allow(clippy::too_many_arguments)]
async fn record(
    store: &Store,
    settings: &Settings,
    owner: &str,
    check: &StoredCheck,
    verdict: &Verdict,
    next_run_at: DateTime<Utc>,
    probe_state: Option<&serde_json::Value>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let spec = &check.spec;
    let m = &settings.monitor;
    let reminders = Reminders {
        base: TimeDelta::minutes(i64::from(m.reminder_minutes.max(1))),
        max: TimeDelta::minutes(i64::from(
            m.reminder_max_minutes.max(m.reminder_minutes).max(1),
        )),
    };
    let hold = hold(store, check, now).await?;
    let flap = TimeDelta::minutes(i64::from(m.flap_window_minutes));
    let (mut state, transition) = check
        .state
        .next(verdict.ok, spec, hold, now, flap, reminders);
    let external_id = incident_external_id(&check.name, state.incident_seq);
    match transition {
        Transition::Opened | Transition::Reopened => {
            let opened_at = match transition {
                Transition::Opened => state.streak_since.unwrap_or(now),
                _ => store
                    .get_incident(SOURCE, &external_id)
                    .await?
                    .map_or(now, |i| i.opened_at),
            };
            let event = IncidentEvent {
                id: external_id.clone(),
                service: spec.service.clone(),
                severity: spec.severity.to_string(),
                opened_at,
                resolved_at: None,
                caused_by_deployment: None,
                title: Some(format!("{} failing: {}", check.name, verdict.message)),
                project: Some(check.project_id.to_string()),
            };
            let reported = (transition == Transition::Reopened).then_some(now);
            let incident =
                events::record_incident_from(store, SOURCE, event, reported, now).await?;
            alerts::enqueue(
                store,
                settings,
                check,
                &incident,
                AlertKind::Opened,
                &format!("{}", state.reopens),
                &verdict.message,
                now,
            )
            .await?;
        }
        Transition::Recovered => {
            if let Some(stored) = store.get_incident(SOURCE, &external_id).await? {
                let mut event = IncidentEvent::of(&stored);
                event.resolved_at = Some(state.streak_since.unwrap_or(now));
                let incident =
                    events::record_incident_from(store, SOURCE, event, Some(now), now).await?;
                alerts::enqueue(
                    store,
                    settings,
                    check,
                    &incident,
                    AlertKind::Resolved,
                    &format!("{}", check.state.reopens),
                    &verdict.message,
                    now,
                )
                .await?;
            }
        }
        Transition::None => {
            if state.status == CheckStatus::Failing
                && let Some(next) = state.reminder_due(now, reminders)
                && let Some(incident) = store.get_incident(SOURCE, &external_id).await?
            {
                state = next;
                alerts::enqueue(
                    store,
                    settings,
                    check,
                    &incident,
                    AlertKind::Reminder,
                    &format!("{}.{}", state.reopens, state.reminders_sent),
                    &verdict.message,
                    now,
                )
                .await?;
            }
        }
    }
    let run = CheckRun {
        at: tandem_domain::time::micros(now),
        ok: verdict.ok,
        latency_ms: verdict.latency_ms,
        message: verdict.message.chars().take(1000).collect(),
        covers_ms: i64::from(spec.interval_seconds) * 1000,
    };
    if !store
        .finish_check_run(check.id, owner, &run, &state, next_run_at, probe_state)
        .await?
    {
        tracing::warn!(check = %check.name, "the claim ran out before the run finished; its result was dropped");
    }
    Ok(())
}

/// What holds the check from going failing right now.
async fn hold(store: &Store, check: &StoredCheck, now: DateTime<Utc>) -> AppResult<Hold> {
    if check.silenced_until.is_some_and(|u| u > now) {
        return Ok(Hold::Silenced);
    }
    if check.spec.in_maintenance(now) {
        return Ok(Hold::Maintenance);
    }
    if let Some(parent) = &check.spec.depends_on
        && let Some(p) = store.get_check(parent).await?
        && p.state.status == CheckStatus::Failing
    {
        return Ok(Hold::ParentFailing);
    }
    Ok(Hold::None)
}
