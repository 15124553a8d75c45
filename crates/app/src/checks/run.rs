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
//! run) only if it still holds the claim: the scheduler's runs through
//! [`Finisher`], which commits the runs finishing within a few
//! milliseconds of each other together (ADR 0042); a run asked for alone.
//! The incident and alert writes are keyed by cause (`check:<name>:<n>`, alert dedup keys), so a run repeated
//! after a crash writes nothing twice.
//!
//! Tuning: a claim's lease is [`LEASE`] (longer than the longest timeout,
//! 300 s); the next run is one interval after the scheduled one, or one
//! interval from now when the schedule fell behind.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use tandem_domain::check::{
    AlertKind, CheckKind, CheckState, CheckStatus, Hold, LogState, Reminders, Transition,
    incident_external_id,
};
use tandem_store::{CheckRun, FINISH_ROWS, FinishedRun, Store, StoredCheck};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::time::Instant;

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
    /// The scheduler's group commit, started by the first [`run_due`].
    finisher: Arc<OnceLock<Finisher>>,
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
            finisher: Arc::new(OnceLock::new()),
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
    let finisher = runner
        .finisher
        .get_or_init(|| Finisher::spawn(store.clone()))
        .clone();
    for check in claimed {
        let permit = Arc::clone(&runner.slots)
            .acquire_owned()
            .await
            .map_err(|e| AppError::Unexpected(e.into()))?;
        let (store, settings, runner) = (store.clone(), Arc::clone(settings), runner.clone());
        let finisher = finisher.clone();
        tokio::spawn(async move {
            let name = check.name.clone();
            let next = next_run(&check, Utc::now());
            let finish = Finish::Grouped(&finisher);
            if let Err(e) =
                run_claimed(&store, &settings, &runner, check, next, Utc::now(), finish).await
            {
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
    let verdict = run_claimed(store, settings, runner, claimed, next, now, Finish::Alone).await?;
    Ok((super::get(store, name).await?, verdict))
}

/// When a check runs next: one interval after its scheduled run, or one
/// interval from now when that is already past.
fn next_run(check: &StoredCheck, now: DateTime<Utc>) -> DateTime<Utc> {
    let every = TimeDelta::seconds(i64::from(check.spec.interval_seconds));
    let next = check.next_run_at + every;
    if next > now { next } else { now + every }
}

/// How a run's result is written: at once in a transaction of its own (a
/// run asked for, `run_now`), or with the runs finishing beside it (the
/// scheduler's, [`Finisher`]).
#[derive(Clone, Copy)]
enum Finish<'a> {
    Alone,
    Grouped(&'a Finisher),
}

/// Probes a claimed check and records everything the run changes.
async fn run_claimed(
    store: &Store,
    settings: &Settings,
    runner: &Runner,
    check: StoredCheck,
    next_run_at: DateTime<Utc>,
    now: DateTime<Utc>,
    finish: Finish<'_>,
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
    let result: AppResult<()> = async {
        let (run, state) = record(store, settings, &check, &verdict, now).await?;
        let finished = FinishedRun {
            check_id: check.id,
            owner: runner.owner.clone(),
            run,
            state,
            next_run_at,
            probe_state,
        };
        let done = match finish {
            Finish::Alone => finish_alone(store, &finished).await?,
            Finish::Grouped(finisher) => finisher.finish(finished).await?,
        };
        if !done {
            tracing::warn!(check = %check.name, "the claim ran out before the run finished; its result was dropped");
        }
        Ok(())
    }
    .await;
    if result.is_err() {
        store.release_check(check.id, &runner.owner).await?;
    }
    result.map(|()| verdict)
}

/// Finishes one run in a transaction of its own; false when its claim was
/// lost.
async fn finish_alone(store: &Store, run: &FinishedRun) -> AppResult<bool> {
    let done = store.finish_check_runs(std::slice::from_ref(run)).await?;
    Ok(done.first().copied().unwrap_or(false))
}

/// Folds a verdict into the check's state and writes the incident and
/// alert its transition calls for; returns the run's result and the new
/// state, for the caller to finish the run with.
async fn record(
    store: &Store,
    settings: &Settings,
    check: &StoredCheck,
    verdict: &Verdict,
    now: DateTime<Utc>,
) -> AppResult<(CheckRun, CheckState)> {
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
    Ok((run, state))
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

/// The scheduler's group commit: runs that finish within a few
/// milliseconds of each other (a pass starts its claimed checks together,
/// and local targets answer together) are finished in one transaction of
/// multi-row statements ([`Store::finish_check_runs`]) instead of one
/// transaction of five statements each. One task writes; each run waits
/// for its answer, so a run's permit is held until its result is stored.
/// If a shared transaction fails, each run is finished alone, so one run's
/// fault cannot drop the others.
#[derive(Debug, Clone)]
pub struct Finisher {
    tx: mpsc::Sender<FinishJob>,
}

struct FinishJob {
    run: FinishedRun,
    reply: oneshot::Sender<AppResult<bool>>,
}

/// The writer waits this long after the last run for another before it
/// commits, ...
const GAP: Duration = Duration::from_millis(3);
/// ... and never longer than this after the first.
const LINGER: Duration = Duration::from_millis(25);

impl Finisher {
    /// Starts the writer task (on the current runtime).
    pub fn spawn(store: Store) -> Finisher {
        let (tx, rx) = mpsc::channel(2 * FINISH_ROWS);
        tokio::spawn(write_finished(store, rx));
        Finisher { tx }
    }

    /// Finishes one run with whatever finishes beside it; true when it was
    /// stored, false when its claim was lost. Returns after the commit.
    pub async fn finish(&self, run: FinishedRun) -> AppResult<bool> {
        let (reply, answer) = oneshot::channel();
        let stopped =
            || AppError::Unexpected(anyhow::anyhow!("the check result writer has stopped"));
        self.tx
            .send(FinishJob { run, reply })
            .await
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

async fn write_finished(store: Store, mut rx: mpsc::Receiver<FinishJob>) {
    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        let deadline = Instant::now() + LINGER;
        while jobs.len() < FINISH_ROWS {
            let until = deadline.min(Instant::now() + GAP);
            match tokio::time::timeout_at(until, rx.recv()).await {
                Ok(Some(job)) => jobs.push(job),
                _ => break,
            }
        }
        let (runs, replies): (Vec<FinishedRun>, Vec<_>) =
            jobs.into_iter().map(|j| (j.run, j.reply)).unzip();
        match store.finish_check_runs(&runs).await {
            Ok(done) => {
                for (reply, d) in replies.into_iter().zip(done) {
                    let _ = reply.send(Ok(d));
                }
            }
            Err(e) if runs.len() == 1 => {
                if let Some(reply) = replies.into_iter().next() {
                    let _ = reply.send(Err(e.into()));
                }
            }
            Err(_) => {
                for (run, reply) in runs.iter().zip(replies) {
                    let _ = reply.send(finish_alone(&store, run).await);
                }
            }
        }
    }
}
