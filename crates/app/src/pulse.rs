//! The team pulse (issue 15, ADR 0028): answers from the web, the API and
//! Slack, stored without identity, and the one definition of a team's pulse
//! figures ([`week`]), which the API, the pages, the CLI and the weekly
//! report all call, so the anonymity threshold is enforced in one place.
//!
//! - A person's answer is found again (to replace it) only through
//!   [`answer_key`]: HMAC-SHA256 of (team, week, user) keyed by the week's
//!   random salt. [`close_ended`] deletes the salts of weeks that ended in
//!   the team's zone and clears their keys: from then on nothing links an
//!   answer to a person, not even with the whole database.
//! - A week is Monday to Sunday in the team's time zone, labelled by its
//!   ISO week (`2026-W49`).
//! - Slack: [`ask`] sends each member (matched by e-mail with
//!   `users.lookupByEmail`) a direct message with buttons; the server
//!   verifies the clicks and hands them to [`slack_click`] and
//!   [`slack_note`], which find the person by `users.info`'s e-mail. The
//!   state of a half-answered message travels in its buttons.
//! - [`ask_loop`] (in `serve`, every `pulse.interval_seconds`) closes ended
//!   weeks and sends each enabled team's pulse once its configured time has
//!   come and the team policy lets a non-urgent message through
//!   (`domain::pulse::ask_at`); sending is claimed per team and week with
//!   a lease (ADR 0006).

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::Value;
use sha2::Sha256;
use tandem_domain::FieldError;
use tandem_domain::pulse::{
    self, Answer, AnswerInput, ButtonValue, Click, PulseConfig, PulseWeek, TrendPoint,
};
use tandem_domain::report::{parse_week, week_label};
use tandem_domain::team::Team;
use tandem_domain::user::User;
use tandem_store::{ListQuery, PulseWrite, Store};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::focus::team_zone;
use crate::settings::Settings;
use crate::slack_api::SlackClient;

/// Weeks in the trend.
pub const TREND_WEEKS: i64 = 12;
/// How long a claim to send a week's messages lasts.
const ASK_LEASE: Duration = Duration::minutes(10);

/// A team's pulse configuration (the defaults until one is set).
pub async fn config(store: &Store, team: &str) -> AppResult<(Team, PulseConfig)> {
    let team = crate::lookup::find_team(store, team).await?;
    let c = store.pulse_config(team.id).await?.unwrap_or_default();
    Ok((team, c))
}

/// Sets a team's pulse configuration after validating it.
pub async fn set_config(
    store: &Store,
    team: &str,
    config: PulseConfig,
    now: DateTime<Utc>,
) -> AppResult<PulseConfig> {
    let team = crate::lookup::find_team(store, team).await?;
    config.validate()?;
    store
        .put_pulse_config(team.id, &config, tandem_domain::time::micros(now))
        .await?;
    Ok(config)
}

/// The Monday of the week holding `now` in the team's zone.
pub fn this_monday(team: &Team, now: DateTime<Utc>) -> NaiveDate {
    crate::focus::which_week(team, None, now)
}

fn label(monday: NaiveDate) -> String {
    week_label(monday.iso_week())
}

/// A week as a person writes it: `2026-W49` or any day of it
/// (`2026-12-02`); its Monday. Anything else is a bad `week`.
pub fn parse_week_text(text: &str) -> AppResult<NaiveDate> {
    if let Ok(d) = text.trim().parse::<NaiveDate>() {
        return Ok(tandem_domain::focus::monday_of(d));
    }
    parse_week(text)
        .map(tandem_domain::report::week_start)
        .map_err(|e| AppError::bad_field("week", e))
}

/// The key an answer is found again by while its week is open.
pub fn answer_key(salt: &[u8], team: Uuid, week: &str, user: Uuid) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(salt).expect("HMAC takes a key of any length");
    mac.update(b"tandem-pulse\0");
    mac.update(team.as_bytes());
    mac.update(week.as_bytes());
    mac.update(b"\0");
    mac.update(user.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn fresh_salt() -> AppResult<[u8; 32]> {
    let mut salt = [0u8; 32];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    Ok(salt)
}

/// The week's salt; `None` once the week is closed.
async fn salt(store: &Store, team: Uuid, week: &str) -> AppResult<Option<Vec<u8>>> {
    Ok(store.pulse_salt(team, week, &fresh_salt()?).await?)
}

/// Closes every week of the team that ended (in its zone) before `now`.
pub async fn close_ended(store: &Store, team: &Team, now: DateTime<Utc>) -> AppResult<u64> {
    let current = label(this_monday(team, now));
    Ok(store
        .close_pulse_weeks(team.id, &current, tandem_domain::time::micros(now))
        .await?)
}

/// The person must be an enabled member of the team to answer its pulse.
async fn check_member(store: &Store, team: &Team, user: &User) -> AppResult<()> {
    let member = store
        .team_members(team.id)
        .await?
        .iter()
        .any(|u| u.id == user.id && !u.disabled);
    if member {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "{} is not a member of team {}: only its members answer its pulse",
            user.username, team.key
        )))
    }
}

/// What an answer did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = PulseAnswered)]
pub struct Answered {
    pub team: String,
    /// The ISO week the answer counts for.
    pub week: String,
    /// True when it replaced the person's earlier answer of the week.
    pub replaced: bool,
}

async fn store_answer(
    store: &Store,
    team: &Team,
    user: &User,
    monday: NaiveDate,
    answer: &Answer,
    now: DateTime<Utc>,
) -> AppResult<Answered> {
    check_member(store, team, user).await?;
    close_ended(store, team, now).await?;
    let week = label(monday);
    let closed = || {
        AppError::conflict(
            Some("week"),
            format!("the pulse of {week} is closed; answer this week's"),
        )
    };
    if monday > this_monday(team, now) {
        return Err(AppError::invalid("week", format!("{week} has not started")));
    }
    let Some(salt) = salt(store, team.id, &week).await? else {
        return Err(closed());
    };
    let key = answer_key(&salt, team.id, &week, user.id);
    match store.put_pulse_answer(team.id, &week, &key, answer).await? {
        PulseWrite::Closed => Err(closed()),
        w => Ok(Answered {
            team: team.key.clone(),
            week,
            replaced: w == PulseWrite::Replaced,
        }),
    }
}

/// `user`'s answer to the team's pulse of the week holding `now`; a second
/// answer in the week replaces the first.
pub async fn answer(
    store: &Store,
    team: &str,
    user: &User,
    input: &AnswerInput,
    now: DateTime<Utc>,
) -> AppResult<Answered> {
    let team = crate::lookup::find_team(store, team).await?;
    let answer = input.validate()?;
    store_answer(store, &team, user, this_monday(&team, now), &answer, now).await
}

/// Whether `user` answered the team's pulse this week (the one thing known
/// about a person, and only while the week is open).
pub async fn answered(
    store: &Store,
    team: &Team,
    user: &User,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let week = label(this_monday(team, now));
    let Some(salt) = salt(store, team.id, &week).await? else {
        return Ok(false);
    };
    Ok(store
        .has_pulse_answer(team.id, &week, &answer_key(&salt, team.id, &week, user.id))
        .await?)
}

async fn members(store: &Store, team: &Team) -> AppResult<u32> {
    let n = store
        .team_members(team.id)
        .await?
        .iter()
        .filter(|u| !u.disabled)
        .count();
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

async fn week_of(
    store: &Store,
    team: &Team,
    config: &PulseConfig,
    monday: NaiveDate,
    members: u32,
) -> AppResult<PulseWeek> {
    let week = label(monday);
    let answers = store.pulse_answers(team.id, &week).await?;
    Ok(pulse::summarise(
        &team.key,
        &week,
        monday,
        &answers,
        members,
        config.threshold(),
    ))
}

/// A team's pulse figures for a week (default: this week in its zone):
/// aggregates only, and none below the team's threshold (never below 3).
/// The one definition: every caller shows what this returns.
pub async fn week(
    store: &Store,
    team: &str,
    week: Option<NaiveDate>,
    now: DateTime<Utc>,
) -> AppResult<PulseWeek> {
    let (team, config) = config(store, team).await?;
    let monday = week.map_or_else(|| this_monday(&team, now), tandem_domain::focus::monday_of);
    let n = members(store, &team).await?;
    week_of(store, &team, &config, monday, n).await
}

/// The last [`TREND_WEEKS`] weeks up to this one, oldest first, each under
/// the same threshold.
pub async fn trend(store: &Store, team: &str, now: DateTime<Utc>) -> AppResult<Vec<TrendPoint>> {
    let (team, config) = config(store, team).await?;
    let last = this_monday(&team, now);
    let n = members(store, &team).await?;
    let mut out = Vec::new();
    for back in (0..TREND_WEEKS).rev() {
        let w = week_of(store, &team, &config, last - Duration::weeks(back), n).await?;
        out.push(TrendPoint::from(&w));
    }
    Ok(out)
}

/// This week's figures and the [`TREND_WEEKS`]-week trend, as [`week`]
/// and [`trend`] give them, with one lookup of the team, its configuration
/// and members and one query for the answers of all the weeks (the team
/// page asks for both on every request).
pub async fn week_and_trend(
    store: &Store,
    team: &Team,
    now: DateTime<Utc>,
) -> AppResult<(PulseWeek, Vec<TrendPoint>)> {
    let config = store.pulse_config(team.id).await?.unwrap_or_default();
    let last = this_monday(team, now);
    let n = members(store, team).await?;
    let mondays: Vec<NaiveDate> = (0..TREND_WEEKS)
        .rev()
        .map(|back| last - Duration::weeks(back))
        .collect();
    let labels: Vec<String> = mondays.iter().map(|m| label(*m)).collect();
    let mut by_week: std::collections::HashMap<String, Vec<tandem_domain::pulse::Answer>> =
        std::collections::HashMap::new();
    for (week, a) in store.pulse_answers_of_weeks(team.id, &labels).await? {
        by_week.entry(week).or_default().push(a);
    }
    let weeks: Vec<PulseWeek> = mondays
        .iter()
        .zip(&labels)
        .map(|(monday, week)| {
            pulse::summarise(
                &team.key,
                week,
                *monday,
                by_week.get(week).map_or(&[][..], Vec::as_slice),
                n,
                config.threshold(),
            )
        })
        .collect();
    let trend = weeks.iter().map(TrendPoint::from).collect();
    let this = weeks.into_iter().last().expect("TREND_WEEKS > 0");
    Ok((this, trend))
}

/// The weekly report's line for a team's week: `None` when the team has
/// neither a pulse configuration nor any answer that week.
pub async fn report_line(
    store: &Store,
    team: &Team,
    monday: NaiveDate,
) -> AppResult<Option<String>> {
    let configured = store.pulse_config(team.id).await?.is_some();
    let w = week(store, &team.id.to_string(), Some(monday), Utc::now()).await?;
    if !configured && w.answers == 0 {
        return Ok(None);
    }
    Ok(Some(pulse::report_line(&w)))
}

// ---------------------------------------------------------------------------
// Slack
// ---------------------------------------------------------------------------

/// What [`ask`] did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = PulseAsked)]
pub struct Asked {
    pub team: String,
    pub week: String,
    /// Direct messages sent.
    pub asked: u32,
    /// Members Tandem could not reach in Slack (no e-mail, or no Slack
    /// account with it), by username, for the manager to fix.
    pub not_in_slack: Vec<String>,
    /// False when another replica was sending this week's messages, or
    /// they went out already (without `force`).
    pub sent: bool,
}

/// Sends the team's members this week's pulse in Slack. Without `force`
/// only once per week (claimed, so replicas never send it twice); with it
/// (a manager's "ask now") again.
pub async fn ask(
    store: &Store,
    settings: &Settings,
    team: &str,
    owner: &str,
    force: bool,
    now: DateTime<Utc>,
) -> AppResult<Asked> {
    let team = crate::lookup::find_team(store, team).await?;
    let client = SlackClient::new(&settings.slack)?;
    close_ended(store, &team, now).await?;
    let week = label(this_monday(&team, now));
    let mut out = Asked {
        team: team.key.clone(),
        week: week.clone(),
        asked: 0,
        not_in_slack: vec![],
        sent: false,
    };
    let now = tandem_domain::time::micros(now);
    let claimed = store
        .claim_pulse_ask(team.id, &week, &fresh_salt()?, owner, now, now + ASK_LEASE)
        .await?;
    if !claimed && !force {
        return Ok(out);
    }
    let (text, blocks) = pulse::ask_message(&team.name, &week, team.id);
    let result = async {
        for u in store.team_members(team.id).await? {
            if u.disabled {
                continue;
            }
            let slack_user = match &u.email {
                Some(mail) => client.lookup_by_email(mail).await?,
                None => None,
            };
            match slack_user {
                Some(id) => {
                    client.post_blocks(&id, &text, &blocks).await?;
                    out.asked += 1;
                }
                None => out.not_in_slack.push(u.username.clone()),
            }
        }
        AppResult::Ok(())
    }
    .await;
    if claimed {
        let asked = result.is_ok().then_some(now);
        store.finish_pulse_ask(team.id, &week, owner, asked).await?;
    }
    result?;
    out.sent = true;
    Ok(out)
}

/// The Tandem user behind a Slack user id (by the e-mail `users.info`
/// gives), who must be an enabled member of `team`.
async fn slack_person(
    store: &Store,
    client: &SlackClient,
    slack_user: &str,
    team: &Team,
) -> AppResult<User> {
    let email = match client.user_profile(slack_user).await {
        Ok((email, _)) => email,
        Err(e) => {
            tracing::warn!(error = %e, slack_user, "Slack users.info failed; the pulse answer is refused");
            None
        }
    };
    let not_known = || {
        AppError::Forbidden(format!(
            "Slack user {slack_user} is not a member of team {} in Tandem (matched by e-mail)",
            team.key
        ))
    };
    let email = email.ok_or_else(not_known)?;
    let user = store
        .team_members(team.id)
        .await?
        .into_iter()
        .find(|u| {
            !u.disabled
                && u.email
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(&email))
        })
        .ok_or_else(not_known)?;
    Ok(user)
}

fn button_week(value: &ButtonValue) -> AppResult<NaiveDate> {
    parse_week(&value.week)
        .map(tandem_domain::report::week_start)
        .map_err(|e| AppError::bad_field("week", e))
}

/// A click on a pulse button in Slack (a verified `block_actions` payload):
/// the workload asks for focus, the focus stores the answer, "what got in
/// your way" opens the note modal. The message is replaced through the
/// payload's `response_url` after each step.
pub async fn slack_click(store: &Store, settings: &Settings, payload: &Value) -> AppResult<()> {
    let client = SlackClient::new(&settings.slack)?;
    let click = pulse::parse_click(payload).map_err(|e| AppError::bad_field("payload", e))?;
    let response_url = payload["response_url"].as_str().unwrap_or_default();
    let slack_user = payload["user"]["id"].as_str().unwrap_or_default();
    match click {
        Click::Workload(value, workload) => {
            let (text, blocks) = pulse::focus_message(&value, workload);
            client.replace_message(response_url, &text, &blocks).await
        }
        Click::Focus(value, focus) => {
            let workload = value.workload.unwrap_or(0);
            let team = store.get_team(value.team).await?;
            let now = Utc::now();
            let (text, blocks) = match slack_person(store, &client, slack_user, &team).await {
                Ok(user) => {
                    let answer = Answer {
                        workload,
                        focus,
                        note: None,
                    };
                    match store_answer(store, &team, &user, button_week(&value)?, &answer, now)
                        .await
                    {
                        Ok(_) => pulse::thanks_message(&value, workload, focus),
                        Err(e) => (e.to_string(), Value::Array(vec![])),
                    }
                }
                Err(e) => (e.to_string(), Value::Array(vec![])),
            };
            client.replace_message(response_url, &text, &blocks).await
        }
        Click::Note(value) => {
            let trigger = payload["trigger_id"].as_str().unwrap_or_default();
            client.views_open(trigger, &pulse::note_modal(&value)).await
        }
    }
}

/// The note modal's submission (a verified `view_submission`): the note is
/// checked (the errors Slack shows in the modal come back as `Err`), then
/// set on the person's answer of that week.
pub fn check_slack_note(view: &Value) -> Result<(ButtonValue, Option<String>), (String, String)> {
    let (value, note) = pulse::parse_note(view).map_err(|e| ("note".to_owned(), e))?;
    let mut p = tandem_domain::error::Problems::new();
    let note = pulse::check_note(&mut p, note.as_deref());
    match p.into_result() {
        Ok(()) => Ok((value, note)),
        Err(e) => Err((
            "note".to_owned(),
            match e {
                tandem_domain::DomainError::Invalid(v) => v
                    .first()
                    .map(|f: &FieldError| f.message.clone())
                    .unwrap_or_default(),
                other => other.to_string(),
            },
        )),
    }
}

/// Sets the note of `slack_user`'s answer (after [`check_slack_note`]).
pub async fn slack_note(
    store: &Store,
    settings: &Settings,
    slack_user: &str,
    value: &ButtonValue,
    note: Option<&str>,
) -> AppResult<()> {
    let client = SlackClient::new(&settings.slack)?;
    let team = store.get_team(value.team).await?;
    let user = slack_person(store, &client, slack_user, &team).await?;
    close_ended(store, &team, Utc::now()).await?;
    let week = label(button_week(value)?);
    let Some(salt) = salt(store, team.id, &week).await? else {
        return Err(AppError::conflict(
            Some("week"),
            format!("the pulse of {week} is closed"),
        ));
    };
    let key = answer_key(&salt, team.id, &week, user.id);
    if !store.set_pulse_note(team.id, &week, &key, note).await? {
        return Err(AppError::conflict(
            Some("note"),
            format!("there is no answer of {week} to add the note to"),
        ));
    }
    Ok(())
}

/// The background pulse of `serve`: every `pulse.interval_seconds`, closes
/// ended weeks and asks each enabled team once its time has come.
pub async fn ask_loop(store: Store, settings: Arc<Settings>) {
    let every = StdDuration::from_secs(settings.pulse.interval_seconds.max(1));
    let owner = format!("pulse-{}", Uuid::now_v7());
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = ask_due(&store, &settings, &owner, Utc::now()).await {
            tracing::warn!(error = %e, "the pulse pass failed; retrying at the next interval");
        }
    }
}

/// One pass of [`ask_loop`].
pub async fn ask_due(
    store: &Store,
    settings: &Settings,
    owner: &str,
    now: DateTime<Utc>,
) -> AppResult<Vec<Asked>> {
    let teams = crate::paging::all(ListQuery::default(), |q| async move {
        store.list_teams(&q).await
    })
    .await?;
    let mut out = Vec::new();
    for team in teams {
        close_ended(store, &team, now).await?;
        let Some(config) = store.pulse_config(team.id).await? else {
            continue;
        };
        if !config.enabled || settings.slack.bot_token.is_none() {
            continue;
        }
        let monday = this_monday(&team, now);
        if store
            .pulse_asked_at(team.id, &label(monday))
            .await?
            .is_some()
        {
            continue;
        }
        let policy = store.team_policy(team.id).await?.unwrap_or_default();
        if now < pulse::ask_at(&config, &policy, team_zone(&team), monday) {
            continue;
        }
        match ask(store, settings, &team.id.to_string(), owner, false, now).await {
            Ok(a) => out.push(a),
            Err(e) => tracing::warn!(team = %team.key, error = %e, "asking the pulse failed"),
        }
    }
    Ok(out)
}
