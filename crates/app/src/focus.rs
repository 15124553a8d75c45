//! Focus time (issue 15): a team's policy, its calendar feeds and the weekly
//! figures measured from them. The API, the CLI, the pages and the weekly
//! report call these functions; none computes a figure of its own.
//!
//! - Feeds are `http(s)://` URLs (fetched with `If-None-Match` from the last
//!   good `ETag`; `304` keeps the stored text) or files on the server. A
//!   refresh parses the new text before storing it: a malformed feed records
//!   its error (naming the line) and the last good text stays in use.
//! - Refreshes run every `calendar.refresh_interval_minutes` in `serve`
//!   ([`refresh_loop`]), each feed claimed with a lease so replicas never
//!   fetch one feed twice at once (ADR 0006).
//! - Figures are computed on read from the stored text (nothing derived is
//!   stored): the week is Monday to Sunday in the team's zone.
//! - Privacy: [`team_week`] and [`trend`] are aggregates without names;
//!   [`my_week`] is the one per-person read and takes the person from the
//!   caller's identity, never from a parameter naming someone else.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tandem_domain::calendar::{CalendarFeed, Meeting, assign_owner, parse_feed};
use tandem_domain::focus::{FocusWeek, TrendPoint, evaluate_week, monday_of, week_bounds};
use tandem_domain::policy::TeamPolicy;
use tandem_domain::team::Team;
use tandem_domain::user::User;
use tandem_store::Store;
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::settings::CalendarSettings;

/// Weeks in the trend.
pub const TREND_WEEKS: i64 = 12;
/// How long a refresh claim lasts.
const LEASE: Duration = Duration::minutes(5);

pub fn team_zone(team: &Team) -> chrono_tz::Tz {
    team.timezone.parse().unwrap_or(chrono_tz::UTC)
}

/// A team's policy (the defaults until one is set).
pub async fn policy(store: &Store, team: &str) -> AppResult<(Team, TeamPolicy)> {
    let team = crate::lookup::find_team(store, team).await?;
    let p = store.team_policy(team.id).await?.unwrap_or_default();
    Ok((team, p))
}

/// Sets a team's policy after validating it.
pub async fn set_policy(
    store: &Store,
    team: &str,
    policy: TeamPolicy,
    now: DateTime<Utc>,
) -> AppResult<TeamPolicy> {
    let team = crate::lookup::find_team(store, team).await?;
    policy.validate()?;
    store
        .put_team_policy(team.id, &policy, tandem_domain::time::micros(now))
        .await?;
    Ok(policy)
}

/// Registers a feed for a team, or for one member (`user` is a username).
/// The source is an `http(s)://` URL or an absolute path to a file.
pub async fn add_feed(
    store: &Store,
    team: &str,
    user: Option<&str>,
    source: &str,
    now: DateTime<Utc>,
) -> AppResult<CalendarFeed> {
    let team = crate::lookup::find_team(store, team).await?;
    let source = source.trim();
    let is_url = source.starts_with("http://") || source.starts_with("https://");
    if !is_url && !std::path::Path::new(source).is_absolute() {
        return Err(AppError::Invalid(vec![tandem_domain::FieldError::new(
            "source",
            format!("{source:?} is neither an http(s):// URL nor an absolute file path"),
        )]));
    }
    let user_id = match user {
        None => None,
        Some(name) => {
            let (u, _) = store.find_user_by_username(name).await?.ok_or_else(|| {
                AppError::Invalid(vec![tandem_domain::FieldError::new(
                    "user",
                    format!("no user {name:?}"),
                )])
            })?;
            if u.email.is_none() {
                return Err(AppError::Invalid(vec![tandem_domain::FieldError::new(
                    "user",
                    format!("{name} has no e-mail address: calendars match people by e-mail"),
                )]));
            }
            Some(u.id)
        }
    };
    let feed = CalendarFeed {
        id: Uuid::now_v7(),
        team_id: team.id,
        user_id,
        source: source.to_owned(),
        etag: None,
        warnings: vec![],
        last_error: None,
        fetched_at: None,
        ok_at: None,
        created_at: tandem_domain::time::micros(now),
    };
    store.create_calendar_feed(&feed).await?;
    Ok(feed)
}

pub async fn list_feeds(store: &Store, team: Option<&str>) -> AppResult<Vec<CalendarFeed>> {
    let team_id = match team {
        Some(t) => Some(crate::lookup::find_team(store, t).await?.id),
        None => None,
    };
    Ok(store.list_calendar_feeds(team_id).await?)
}

/// Removes one of a team's feeds (its stored text goes with it).
pub async fn remove_feed(store: &Store, team: &str, feed_id: Uuid) -> AppResult<()> {
    let team = crate::lookup::find_team(store, team).await?;
    let feed = store.get_calendar_feed(feed_id).await?;
    if feed.team_id != team.id {
        return Err(AppError::NotFound(format!(
            "team {} has no calendar feed {feed_id}",
            team.key
        )));
    }
    store.delete_calendar_feed(feed_id).await?;
    Ok(())
}

/// What one refresh did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Refreshed {
    pub feed_id: Uuid,
    pub source: String,
    /// `updated`, `not_modified`, `failed` or `busy` (another replica holds the lease).
    pub outcome: String,
    /// Meetings read in the window (for `updated`).
    pub meetings: usize,
    pub warnings: Vec<String>,
    pub error: Option<String>,
}

enum Fetched {
    Body(String, Option<String>),
    NotModified,
}

async fn fetch(source: &str, etag: Option<&str>) -> Result<Fetched, String> {
    if source.starts_with("http://") || source.starts_with("https://") {
        let client = reqwest::Client::builder()
            .timeout(StdDuration::from_secs(30))
            .build()
            .map_err(|e| e.to_string())?;
        let mut req = client.get(source);
        if let Some(tag) = etag {
            req = req.header("If-None-Match", tag);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| format!("fetching {source}: {e}"))?;
        if resp.status().as_u16() == 304 {
            return Ok(Fetched::NotModified);
        }
        if !resp.status().is_success() {
            return Err(format!("fetching {source}: HTTP {}", resp.status()));
        }
        let tag = resp
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .text()
            .await
            .map_err(|e| format!("reading {source}: {e}"))?;
        Ok(Fetched::Body(body, tag))
    } else {
        tokio::fs::read_to_string(source)
            .await
            .map(|b| Fetched::Body(b, None))
            .map_err(|e| format!("reading {source}: {e}"))
    }
}

/// The window a feed is read in: the trend's weeks and the next one.
fn window(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        now - Duration::weeks(TREND_WEEKS + 1),
        now + Duration::weeks(2),
    )
}

/// Refreshes one feed if no other replica holds it.
pub async fn refresh_feed(
    store: &Store,
    feed_id: Uuid,
    owner: &str,
    now: DateTime<Utc>,
) -> AppResult<Refreshed> {
    let feed = store.get_calendar_feed(feed_id).await?;
    let team = store.get_team(feed.team_id).await?;
    let mut out = Refreshed {
        feed_id,
        source: feed.source.clone(),
        outcome: "busy".into(),
        meetings: 0,
        warnings: vec![],
        error: None,
    };
    let now = tandem_domain::time::micros(now);
    if !store
        .claim_calendar_feed(feed_id, owner, now, now + LEASE)
        .await?
    {
        return Ok(out);
    }
    match fetch(&feed.source, feed.etag.as_deref()).await {
        Ok(Fetched::NotModified) => {
            store
                .record_calendar_refresh(feed_id, Ok(None), now)
                .await?;
            out.outcome = "not_modified".into();
        }
        Ok(Fetched::Body(body, etag)) => {
            let (from, to) = window(now);
            match parse_feed(&body, team_zone(&team), from, to) {
                Ok(parsed) => {
                    store
                        .record_calendar_refresh(
                            feed_id,
                            Ok(Some((&body, etag.as_deref(), &parsed.warnings))),
                            now,
                        )
                        .await?;
                    out.outcome = "updated".into();
                    out.meetings = parsed.meetings.len();
                    out.warnings = parsed.warnings;
                }
                Err(e) => {
                    let message = format!("{}: {e}", feed.source);
                    store
                        .record_calendar_refresh(feed_id, Err(&message), now)
                        .await?;
                    out.outcome = "failed".into();
                    out.error = Some(message);
                }
            }
        }
        Err(message) => {
            store
                .record_calendar_refresh(feed_id, Err(&message), now)
                .await?;
            out.outcome = "failed".into();
            out.error = Some(message);
        }
    }
    Ok(out)
}

/// Refreshes every feed (or a team's).
pub async fn refresh_all(
    store: &Store,
    team: Option<&str>,
    owner: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<Refreshed>> {
    let mut out = Vec::new();
    for f in list_feeds(store, team).await? {
        out.push(refresh_feed(store, f.id, owner, now).await?);
    }
    Ok(out)
}

/// The background refresh of `serve`: every `refresh_interval_minutes`.
pub async fn refresh_loop(store: Store, settings: CalendarSettings) {
    if settings.refresh_interval_minutes == 0 {
        return;
    }
    let owner = format!("calendar-{}", Uuid::now_v7());
    let every = StdDuration::from_secs(settings.refresh_interval_minutes * 60);
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match refresh_all(&store, None, &owner, Utc::now()).await {
            Ok(done) => {
                for r in done.iter().filter(|r| r.outcome == "failed") {
                    tracing::warn!(feed = %r.feed_id, error = ?r.error, "calendar feed refresh failed; the last good data stays");
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "calendar refresh failed; retrying at the next interval")
            }
        }
    }
}

/// A team's meetings in `[from, to)` from the last good text of its feeds,
/// and the lower-case e-mail addresses of its members.
async fn meetings(
    store: &Store,
    team: &Team,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<(Vec<Meeting>, Vec<String>)> {
    let tz = team_zone(team);
    let mut all = Vec::new();
    for (feed, body) in store.calendar_bodies(team.id).await? {
        // The stored text parsed when it was stored; a window far from that
        // one may still find a problem, which is then the feed's error.
        let mut parsed = match parse_feed(&body, tz, from, to) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(feed = %feed.id, error = %e, "stored calendar text no longer parses");
                continue;
            }
        };
        if let Some(uid) = feed.user_id
            && let Some(mail) = store.get_user(uid).await?.email
        {
            assign_owner(&mut parsed.meetings, &mail);
        }
        all.extend(parsed.meetings);
    }
    let people = store
        .team_members(team.id)
        .await?
        .into_iter()
        .filter(|u| !u.disabled)
        .filter_map(|u| u.email.map(|e| e.to_ascii_lowercase()))
        .collect();
    Ok((all, people))
}

/// The week holding `now` in the team's zone, or the week of `week` (any day of it).
pub fn which_week(team: &Team, week: Option<NaiveDate>, now: DateTime<Utc>) -> NaiveDate {
    monday_of(week.unwrap_or_else(|| now.with_timezone(&team_zone(team)).date_naive()))
}

/// A team's week against its policy: aggregates only.
pub async fn team_week(
    store: &Store,
    team: &str,
    week: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<FocusWeek> {
    let (team, policy) = policy(store, team).await?;
    let monday = which_week(&team, week, now);
    let (from, to) = week_bounds(monday, team_zone(&team));
    let (all, people) = meetings(store, &team, from, to).await?;
    Ok(evaluate_week(
        &policy,
        team_zone(&team),
        monday,
        &people,
        &all,
    ))
}

/// The person's own week (same rules, only their meetings). The person is
/// the caller: there is no way to ask for someone else's figures.
pub async fn my_week(
    store: &Store,
    team: &str,
    me: &User,
    week: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<FocusWeek> {
    let (team, policy) = policy(store, team).await?;
    let Some(mail) = me.email.as_ref().map(|e| e.to_ascii_lowercase()) else {
        return Err(AppError::Invalid(vec![tandem_domain::FieldError::new(
            "email",
            "your account has no e-mail address: calendars match people by e-mail",
        )]));
    };
    let monday = which_week(&team, week, now);
    let (from, to) = week_bounds(monday, team_zone(&team));
    let (all, _) = meetings(store, &team, from, to).await?;
    Ok(evaluate_week(
        &policy,
        team_zone(&team),
        monday,
        &[mail],
        &all,
    ))
}

/// The last [`TREND_WEEKS`] weeks up to the week holding `now`, oldest first.
pub async fn trend(store: &Store, team: &str, now: DateTime<Utc>) -> AppResult<Vec<TrendPoint>> {
    let (team, policy) = policy(store, team).await?;
    let tz = team_zone(&team);
    let last = which_week(&team, None, now);
    let first = last - Duration::weeks(TREND_WEEKS - 1);
    let (from, _) = week_bounds(first, tz);
    let (_, to) = week_bounds(last, tz);
    let (all, people) = meetings(store, &team, from, to).await?;
    Ok((0..TREND_WEEKS)
        .map(|i| {
            let w = evaluate_week(&policy, tz, first + Duration::weeks(i), &people, &all);
            TrendPoint::from(&w)
        })
        .collect())
}

/// The weekly report's focus line for a team's week (any day of it), if
/// the team has calendars: `domain::focus::report_line` over [`team_week`].
pub async fn report_line(
    store: &Store,
    team: &Team,
    week: NaiveDate,
    now: DateTime<Utc>,
) -> AppResult<Option<String>> {
    if store.list_calendar_feeds(Some(team.id)).await?.is_empty() {
        return Ok(None);
    }
    let w = team_week(store, &team.id.to_string(), Some(week), now).await?;
    Ok(tandem_domain::focus::report_line(&w))
}
