//! The weekly report's schedule: per team a 5-field cron expression
//! (**minute first**: `minute hour day-of-month month day-of-week`; the
//! default `0 16 * * 5` is Fridays at 16:00) read in the team's time zone.
//!
//! Each [`tick`] (run by [`run`], which `serve` spawns, every
//! `report.scheduler_interval_seconds`):
//! - creates the draft of the next due report once it is less than
//!   `report.draft_ahead_hours` away, so managers can edit it ahead of time;
//! - for the latest due time at or before now (within the last 7 days, so
//!   after a restart a missed send is caught up once), once the team's
//!   policy lets a non-urgent message through (`crate::notify`: a due time
//!   in the focus block or outside working hours waits for the next moment
//!   inside them, in the team's zone), claims the run of that
//!   team and ISO week in the database (`report_runs`, unique per team and
//!   week, with a lease) and either sends the report (`auto_send`, or the
//!   draft was approved) or holds it for approval. A finished run is never
//!   run again; a run whose deliveries partly failed is left unfinished and
//!   retried once its lease runs out (recipients already served are
//!   skipped, see `report::send`). The scheduler decides on the `AppError`
//!   it gets: a `Conflict` (nowhere to send) finishes the run as failed, any
//!   other error leaves it for the next lease.
//!
//! With several replicas on one database, each scheduled send happens
//! exactly once: only the replica whose claim inserted (or took over an
//! expired lease on) the run row sends.

use chrono::{DateTime, Datelike, Duration, TimeZone, Utc};
use croner::Cron;
use tandem_domain::policy::Urgency;
use tandem_domain::report::{self, DraftStatus};
use tandem_store::{ListQuery, ReportSchedule, Store};
use uuid::Uuid;

use crate::Settings;
pub use crate::cron::{parse_cron, parse_tz};
use crate::error::{AppError, AppResult};
use crate::paging::all;

/// How long a replica holds a claimed run before another may take it over.
pub const RUN_LEASE_MINUTES: i64 = 10;

/// A team's effective schedule: its own, or the configured default.
pub fn effective(
    team_id: Uuid,
    own: Option<ReportSchedule>,
    settings: &Settings,
) -> ReportSchedule {
    own.unwrap_or_else(|| ReportSchedule {
        team_id,
        cron: settings.report.schedule.clone(),
        auto_send: settings.report.auto_send,
        email_to: settings.report.email_to.clone(),
        updated_at: None,
    })
}

/// The latest due time at or before `now`, and the next one after it, in UTC.
pub fn due_times(
    cron: &Cron,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
) -> (Option<DateTime<Utc>>, Option<DateTime<Utc>>) {
    let local = tz.from_utc_datetime(&now.naive_utc());
    let prev = cron
        .find_previous_occurrence(&local, true)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    let next = cron
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    (prev, next)
}

/// The ISO week a report due at `due` covers: the week of the due date in
/// the team's time zone.
pub fn week_of(due: DateTime<Utc>, tz: chrono_tz::Tz) -> chrono::IsoWeek {
    due.with_timezone(&tz).date_naive().iso_week()
}

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct TickReport {
    pub drafts_created: usize,
    pub sent: usize,
    pub held: usize,
    pub failed: usize,
}

/// Runs the schedule of every team once, as replica `owner`, at `now`.
/// Tests drive it with any `now`; `serve` calls it with the clock.
pub async fn tick(
    store: &Store,
    settings: &Settings,
    owner: &str,
    now: DateTime<Utc>,
) -> anyhow::Result<TickReport> {
    let mut out = TickReport::default();
    let teams = all(ListQuery::default(), |q| async move {
        store.list_teams(&q).await
    })
    .await?;
    for team in teams {
        let schedule = effective(team.id, store.report_schedule(team.id).await?, settings);
        let cron = match parse_cron(&schedule.cron) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(team = %team.key, error = %e, "skipping a team with a bad report schedule");
                continue;
            }
        };
        let tz = parse_tz(&team.timezone).unwrap_or_else(|e| {
            tracing::warn!(team = %team.key, error = %e, "using UTC for the report schedule");
            chrono_tz::UTC
        });
        let (prev, next) = due_times(&cron, tz, now);
        if let Some(next) = next
            && next - now <= Duration::hours(i64::from(settings.report.draft_ahead_hours))
        {
            let week = report::week_label(week_of(next, tz));
            if store.find_draft(team.id, &week).await?.is_none() {
                store.draft(team.id, &week, now).await?;
                out.drafts_created += 1;
            }
        }
        let Some(due) = prev.filter(|p| now - *p < Duration::days(7)) else {
            continue;
        };
        // A report is not urgent: a due time outside the team's working
        // hours, or inside its focus block, waits for the next moment the
        // policy allows (`crate::notify`, the one rule).
        let send_at =
            crate::notify::due_for_team(store, settings, &team, Urgency::Normal, due).await?;
        if now < send_at {
            continue;
        }
        let week = week_of(due, tz);
        let label = report::week_label(week);
        let lease = now + Duration::minutes(RUN_LEASE_MINUTES);
        if !store
            .claim_report_run(team.id, &label, due, owner, now, lease)
            .await?
        {
            continue;
        }
        let draft = store.draft(team.id, &label, now).await?;
        if !schedule.auto_send && draft.status != DraftStatus::Approved {
            tracing::info!(team = %team.key, week = %label, "weekly report held for approval");
            store
                .finish_report_run(team.id, &label, owner, "held", now)
                .await?;
            out.held += 1;
            continue;
        }
        match crate::report::send_week(store, settings, team.id, week).await {
            Ok(result) if crate::report::send::all_delivered(&result.outcomes) => {
                store
                    .finish_report_run(team.id, &label, owner, "sent", Utc::now())
                    .await?;
                out.sent += 1;
            }
            Ok(result) => {
                // Left unfinished: retried when the lease runs out.
                tracing::warn!(team = %team.key, week = %label, outcomes = ?result.outcomes, "some deliveries failed; retrying after the lease");
                out.failed += 1;
            }
            Err(e @ crate::error::AppError::Conflict { .. }) => {
                // Nothing to send to (no channel configured): retrying cannot
                // help until the configuration changes and `serve` restarts.
                tracing::warn!(team = %team.key, week = %label, error = %e, "the scheduled report has nowhere to go");
                store
                    .finish_report_run(team.id, &label, owner, "failed", Utc::now())
                    .await?;
                out.failed += 1;
            }
            Err(e) => {
                tracing::warn!(team = %team.key, week = %label, error = %e, "the scheduled report could not be sent; retrying after the lease");
                out.failed += 1;
            }
        }
    }
    Ok(out)
}

/// Sets a team's own schedule, checking the cron expression, the team's
/// time zone and every e-mail address (each broken rule is `Invalid`,
/// naming the field).
pub async fn set(
    store: &Store,
    team: &tandem_domain::team::Team,
    cron: &str,
    auto_send: bool,
    email_to: Vec<String>,
    now: DateTime<Utc>,
) -> AppResult<ReportSchedule> {
    parse_cron(cron).map_err(|e| AppError::invalid("cron", e))?;
    parse_tz(&team.timezone)
        .map_err(|e| AppError::invalid("timezone", format!("the team's time zone: {e}")))?;
    for (i, to) in email_to.iter().enumerate() {
        to.parse::<lettre::message::Mailbox>().map_err(|e| {
            AppError::invalid(
                format!("email_to[{i}]"),
                format!("{to:?} is not an e-mail address: {e}"),
            )
        })?;
    }
    let s = ReportSchedule {
        team_id: team.id,
        cron: cron.split_whitespace().collect::<Vec<_>>().join(" "),
        auto_send,
        email_to,
        updated_at: Some(tandem_domain::time::micros(now)),
    };
    store.put_report_schedule(&s).await?;
    Ok(s)
}

/// Runs [`tick`] every `report.scheduler_interval_seconds` until dropped;
/// returns at once when that is 0 (never). `launch` spawns it.
pub async fn run(store: Store, settings: std::sync::Arc<Settings>) {
    let seconds = settings.report.scheduler_interval_seconds;
    if seconds == 0 {
        return;
    }
    let owner = format!("replica-{}", Uuid::now_v7());
    let mut tick_every = tokio::time::interval(std::time::Duration::from_secs(seconds));
    tick_every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick_every.tick().await;
        let result = tick(&store, &settings, &owner, Utc::now()).await;
        crate::telemetry::record_job("report_schedule", result.is_ok());
        match result {
            Ok(r) if r != TickReport::default() => tracing::info!(?r, "report schedule ran"),
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the report schedule failed; retrying at the next tick")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_fields_minute_first() {
        assert!(parse_cron("0 16 * * 5").is_ok());
        let e = parse_cron("0 0 16 * * 5").unwrap_err();
        assert!(e.contains("6 fields") && e.contains("minute first"), "{e}");
        assert!(
            parse_cron("61 16 * * 5")
                .unwrap_err()
                .contains("not a valid")
        );
        assert!(parse_tz("Mars/Olympus").unwrap_err().contains("IANA"));
    }

    #[test]
    fn friday_four_pm_in_the_teams_time_zone() {
        let cron = parse_cron("0 16 * * 5").unwrap();
        let tz = parse_tz("Europe/Berlin").unwrap();
        // Thursday 2026-11-19 12:00 UTC: the next one is Friday 15:00 UTC
        // (16:00 in Berlin, UTC+1), the previous one a week before.
        let now = Utc.with_ymd_and_hms(2026, 11, 19, 12, 0, 0).unwrap();
        let (prev, next) = due_times(&cron, tz, now);
        assert_eq!(
            next,
            Some(Utc.with_ymd_and_hms(2026, 11, 20, 15, 0, 0).unwrap())
        );
        assert_eq!(
            prev,
            Some(Utc.with_ymd_and_hms(2026, 11, 13, 15, 0, 0).unwrap())
        );
        assert_eq!(report::week_label(week_of(next.unwrap(), tz)), "2026-W47");
    }
}
