//! When Tandem may tell someone something (issue 15 §4, issue 16 §2): the
//! one rule every sender follows — the alert outbox (`checks::alerts`), the
//! requests outbox (`requests`, delivered by `intake::deliver_pending`) and
//! the weekly report's schedule (`report::schedule`).
//!
//! - The rule itself is the domain's `policy::delivery_time`: urgent things
//!   (a P0 request, a critical alert, i.e. a production incident) go at
//!   once; anything else waits for the next instant inside the recipient
//!   team's working hours, before its evening cutoff and outside its focus
//!   block, in that team's time zone.
//! - The recipient's policy is their team's own ([`policy_of`]); a team
//!   without one follows [`default_policy`]: the domain's defaults, except
//!   that the deprecated `[alerts] working_days|working_start|working_end`,
//!   when set to something other than their defaults, still give its working
//!   days and hours (and its evening cutoff, so they are not cut at 18:00).
//!   `serve` logs a warning naming them ([`deprecated_settings`]).
//! - Who the recipient is: an alert's team is the check's (or the
//!   request's) team; a requester who is a Tandem user member of a team
//!   follows that team's policy, anyone else the request's team's (the only
//!   zone Tandem knows for them); a report's recipients are its team's
//!   stakeholders: the team's policy.

use chrono::{DateTime, Utc};
use tandem_domain::policy::{ClockTime, Day, TeamPolicy, Urgency, delivery_time};
use tandem_domain::team::Team;
use tandem_store::Store;
use uuid::Uuid;

use crate::error::AppResult;
use crate::settings::{AlertSettings, Settings};

/// A team's zone, UTC when the stored name is unreadable.
pub fn zone(team: &Team) -> chrono_tz::Tz {
    team.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// The policy of a team without its own.
pub fn default_policy(settings: &Settings) -> TeamPolicy {
    let mut p = TeamPolicy::default();
    let a = &settings.alerts;
    if !uses_deprecated_hours(a) {
        return p;
    }
    let (Ok(days), Ok(start), Ok(end)) = (
        a.working_days
            .iter()
            .map(|d| d.parse::<Day>())
            .collect::<Result<Vec<_>, _>>(),
        a.working_start.parse::<ClockTime>(),
        a.working_end.parse::<ClockTime>(),
    ) else {
        // `Settings::validate` refuses these; keep the defaults regardless.
        return p;
    };
    p.work_days = days;
    p.work_start = start;
    p.work_end = end;
    p.evening_cutoff = end.max(start);
    p
}

/// True when `[alerts] working_*` differ from their defaults.
fn uses_deprecated_hours(a: &AlertSettings) -> bool {
    let d = AlertSettings::default();
    a.working_days != d.working_days
        || a.working_start != d.working_start
        || a.working_end != d.working_end
}

/// The warning `serve` logs when the deprecated settings are used.
pub fn deprecated_settings(settings: &Settings) -> Option<String> {
    uses_deprecated_hours(&settings.alerts).then(|| {
        "[alerts] working_days, working_start and working_end are deprecated: Tandem's \
         notifications follow each team's policy (`tandem policy set`, the team's focus page \
         or PUT /api/v1/teams/{team}/policy); they still give the working days and hours of \
         teams without a policy of their own"
            .to_owned()
    })
}

/// A team's policy as notifications read it: its own, or [`default_policy`].
pub async fn policy_of(store: &Store, settings: &Settings, team: &Team) -> AppResult<TeamPolicy> {
    Ok(match store.team_policy(team.id).await? {
        Some(p) => p,
        None => default_policy(settings),
    })
}

/// When a notification of `urgency` for the team `team` may go, raised at
/// `now`.
pub async fn due_for_team(
    store: &Store,
    settings: &Settings,
    team: &Team,
    urgency: Urgency,
    now: DateTime<Utc>,
) -> AppResult<DateTime<Utc>> {
    if urgency == Urgency::Urgent {
        return Ok(now);
    }
    let policy = policy_of(store, settings, team).await?;
    Ok(delivery_time(&policy, zone(team), now, urgency))
}

/// The team whose policy a person follows: the first team (in the order
/// teams were created) they are a member of, else `fallback`.
pub async fn team_of_user(store: &Store, user_id: Option<Uuid>, fallback: Uuid) -> AppResult<Team> {
    if let Some(user) = user_id {
        let mut teams: Vec<Uuid> = store
            .list_memberships()
            .await?
            .into_iter()
            .filter(|(_, u)| *u == user)
            .map(|(t, _)| t)
            .collect();
        teams.sort();
        if let Some(t) = teams.first() {
            return Ok(store.get_team(*t).await?);
        }
    }
    Ok(store.get_team(fallback).await?)
}
