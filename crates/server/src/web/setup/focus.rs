//! `/setup/teams/{key}/focus`: a team's policy for protecting its time (the
//! team's time zone with it, checked against the tz database), its weekly
//! pulse (asked in Slack or not, when, how many answers before a figure
//! shows) and its calendar feeds — add, remove, refresh, and each feed's
//! state (the last error names the line of a malformed feed; the last good
//! data stays in use). The forms call `app::org::update_team`,
//! `app::focus::set_policy`, `app::pulse::set_config`, `add_feed`,
//! `remove_feed` and `refresh_all`, as the API and CLI do.
//! Feed sources are often secret URLs: managers only, like the API.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use tandem_app::{focus, lookup, org, pulse};
use tandem_domain::policy::{ClockTime, Day, TeamPolicy};
use tandem_domain::pulse::PulseConfig;
use tandem_domain::team::{Team, TeamPatch};
use uuid::Uuid;

use super::{absorb, notice};
use crate::AppState;
use crate::http::error::ApiError;
use crate::web::admin::FormErrors;
use crate::web::view::{self, Nav};
use crate::web::{ManagerViewer, PageForm, PageResult, Viewer, render, render_status, see_other};

/// The policy form as typed (kept when it is refused).
#[derive(Debug, Clone, Default)]
pub struct PolicyForm {
    pub timezone: String,
    pub evening_cutoff: String,
    pub incidents_exempt: bool,
    pub focus_start: String,
    pub focus_end: String,
    pub focus_days: Vec<Day>,
    pub max_meeting_hours: String,
    pub no_meeting_day: String,
    pub work_start: String,
    pub work_end: String,
    pub work_days: Vec<Day>,
}

impl PolicyForm {
    fn of(team: &Team, p: &TeamPolicy) -> PolicyForm {
        PolicyForm {
            timezone: team.timezone.clone(),
            evening_cutoff: p.evening_cutoff.to_string(),
            incidents_exempt: p.incidents_exempt,
            focus_start: p.focus_start.to_string(),
            focus_end: p.focus_end.to_string(),
            focus_days: p.focus_days.clone(),
            max_meeting_hours: hours_text(p.max_meeting_minutes_per_day),
            no_meeting_day: p.no_meeting_day.map(|d| d.to_string()).unwrap_or_default(),
            work_start: p.work_start.to_string(),
            work_end: p.work_end.to_string(),
            work_days: p.work_days.clone(),
        }
    }

    fn from_fields(fields: &[(String, String)]) -> PolicyForm {
        let one = |k: &str| {
            fields
                .iter()
                .find(|(f, _)| f == k)
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_default()
        };
        let days = |k: &str| {
            fields
                .iter()
                .filter(|(f, _)| f == k)
                .filter_map(|(_, v)| v.parse::<Day>().ok())
                .collect()
        };
        PolicyForm {
            timezone: one("timezone"),
            evening_cutoff: one("evening_cutoff"),
            incidents_exempt: fields.iter().any(|(f, _)| f == "incidents_exempt"),
            focus_start: one("focus_start"),
            focus_end: one("focus_end"),
            focus_days: days("focus_days"),
            max_meeting_hours: one("max_meeting_hours"),
            no_meeting_day: one("no_meeting_day"),
            work_start: one("work_start"),
            work_end: one("work_end"),
            work_days: days("work_days"),
        }
    }

    /// The policy the form describes, or each unreadable field named.
    fn policy(&self, errors: &mut FormErrors) -> Option<TeamPolicy> {
        let mut time = |field: &str, text: &str| match text.parse::<ClockTime>() {
            Ok(t) => Some(t),
            Err(e) => {
                errors.fields.insert(field.to_owned(), e);
                None
            }
        };
        let evening_cutoff = time("evening_cutoff", &self.evening_cutoff);
        let focus_start = time("focus_start", &self.focus_start);
        let focus_end = time("focus_end", &self.focus_end);
        let work_start = time("work_start", &self.work_start);
        let work_end = time("work_end", &self.work_end);
        let max = match self.max_meeting_hours.replace(',', ".").parse::<f64>() {
            Ok(h) if h.is_finite() && h > 0.0 && h <= 24.0 => Some((h * 60.0).round() as u32),
            _ => {
                errors.fields.insert(
                    "max_meeting_hours".into(),
                    format!(
                        "{:?} is not a number of hours between 0 and 24 (e.g. 4 or 3.5)",
                        self.max_meeting_hours
                    ),
                );
                None
            }
        };
        let no_meeting_day = match self.no_meeting_day.as_str() {
            "" => Some(None),
            d => match d.parse::<Day>() {
                Ok(d) => Some(Some(d)),
                Err(e) => {
                    errors.fields.insert("no_meeting_day".into(), e.to_string());
                    None
                }
            },
        };
        Some(TeamPolicy {
            evening_cutoff: evening_cutoff?,
            incidents_exempt: self.incidents_exempt,
            focus_start: focus_start?,
            focus_end: focus_end?,
            focus_days: self.focus_days.clone(),
            max_meeting_minutes_per_day: max?,
            no_meeting_day: no_meeting_day?,
            work_start: work_start?,
            work_end: work_end?,
            work_days: self.work_days.clone(),
        })
    }
}

/// The pulse form as typed (kept when it is refused).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PulseForm {
    pub csrf: String,
    /// A checkbox: present when ticked.
    pub enabled: Option<String>,
    pub day: String,
    pub time: String,
    pub min_answers: String,
}

impl PulseForm {
    fn of(c: &PulseConfig) -> PulseForm {
        PulseForm {
            csrf: String::new(),
            enabled: c.enabled.then(|| "yes".to_owned()),
            day: c.day.to_string(),
            time: c.time.to_string(),
            min_answers: c.min_answers.to_string(),
        }
    }

    /// The configuration the form describes, or each unreadable field named.
    fn config(&self, errors: &mut FormErrors) -> Option<PulseConfig> {
        let day = self
            .day
            .trim()
            .parse::<Day>()
            .map_err(|e| errors.fields.insert("day".into(), e.to_string()))
            .ok();
        let time = self
            .time
            .trim()
            .parse::<ClockTime>()
            .map_err(|e| errors.fields.insert("time".into(), e))
            .ok();
        let min_answers = self
            .min_answers
            .trim()
            .parse::<u32>()
            .map_err(|_| {
                errors.fields.insert(
                    "min_answers".into(),
                    format!("{:?} is not a whole number of answers", self.min_answers),
                )
            })
            .ok();
        Some(PulseConfig {
            enabled: self.enabled.is_some(),
            day: day?,
            time: time?,
            min_answers: min_answers?,
        })
    }
}

fn hours_text(minutes: u32) -> String {
    if minutes.is_multiple_of(60) {
        (minutes / 60).to_string()
    } else {
        format!("{:.2}", f64::from(minutes) / 60.0)
            .trim_end_matches('0')
            .to_owned()
    }
}

/// A day's checkbox.
#[derive(Debug, Clone)]
pub struct DayBox {
    pub value: String,
    pub label: String,
    pub checked: bool,
}

fn day_boxes(days: &[Day]) -> Vec<DayBox> {
    Day::ALL
        .iter()
        .map(|d| DayBox {
            value: d.to_string(),
            label: day_name(*d).to_owned(),
            checked: days.contains(d),
        })
        .collect()
}

fn day_name(d: Day) -> &'static str {
    match d {
        Day::Mon => "Monday",
        Day::Tue => "Tuesday",
        Day::Wed => "Wednesday",
        Day::Thu => "Thursday",
        Day::Fri => "Friday",
        Day::Sat => "Saturday",
        Day::Sun => "Sunday",
    }
}

/// A feed as the page lists it.
#[derive(Debug, Clone)]
pub struct FeedRow {
    pub id: String,
    pub source: String,
    pub person: String,
    pub state: String,
    pub ok: bool,
    pub last_error: Option<String>,
    pub warnings: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FeedForm {
    pub csrf: String,
    pub source: String,
    pub user: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FeedIdForm {
    pub csrf: String,
    pub feed: String,
}

#[derive(Debug, Clone)]
pub struct MemberOption {
    pub username: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Debug, Template)]
#[template(path = "setup_focus.html")]
pub struct FocusSetupPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub key: String,
    pub name: String,
    pub policy: PolicyForm,
    pub focus_days: Vec<DayBox>,
    pub work_days: Vec<DayBox>,
    pub no_meeting_days: Vec<DayBox>,
    pub policy_errors: FormErrors,
    pub pulse: PulseForm,
    pub pulse_days: Vec<DayBox>,
    pub pulse_errors: FormErrors,
    pub feeds: Vec<FeedRow>,
    pub feed_form: FeedForm,
    pub feed_errors: FormErrors,
    pub members: Vec<MemberOption>,
}

#[derive(Default)]
struct Forms {
    policy: Option<PolicyForm>,
    policy_errors: FormErrors,
    pulse: Option<PulseForm>,
    pulse_errors: FormErrors,
    feed: FeedForm,
    feed_errors: FormErrors,
}

async fn page_of(
    state: &AppState,
    viewer: &Viewer,
    team: &Team,
    notice: Option<String>,
    f: Forms,
) -> PageResult<FocusSetupPage> {
    let store = &state.store;
    let id = team.id.to_string();
    let (_, current) = focus::policy(store, &id).await.map_err(ApiError::from)?;
    let policy = f.policy.unwrap_or_else(|| PolicyForm::of(team, &current));
    let pulse = match f.pulse {
        Some(p) => p,
        None => PulseForm::of(&pulse::config(store, &id).await.map_err(ApiError::from)?.1),
    };
    let members = store.team_members(team.id).await?;
    let names: HashMap<Uuid, String> = members.iter().map(|u| (u.id, u.username.clone())).collect();
    let feeds = focus::list_feeds(store, Some(&id))
        .await
        .map_err(ApiError::from)?
        .into_iter()
        .map(|feed| FeedRow {
            id: feed.id.to_string(),
            person: match feed.user_id {
                None => "the team".to_owned(),
                Some(u) => names
                    .get(&u)
                    .cloned()
                    .unwrap_or_else(|| "a former member".into()),
            },
            state: match (feed.fetched_at, feed.ok_at) {
                (None, _) => "not read yet: refresh".to_owned(),
                (Some(f), Some(ok)) if ok >= f => format!("read {}", view::instant(ok)),
                (Some(f), Some(ok)) => format!(
                    "failed {}; using the data read {}",
                    view::instant(f),
                    view::instant(ok)
                ),
                (Some(f), None) => format!("failed {}; no good data yet", view::instant(f)),
            },
            ok: feed.last_error.is_none(),
            last_error: feed.last_error,
            warnings: feed.warnings,
            source: feed.source,
        })
        .collect();
    let members = members
        .into_iter()
        .filter(|u| !u.disabled && u.email.is_some())
        .map(|u| MemberOption {
            selected: u.username == f.feed.user,
            label: format!("{} ({})", u.username, u.email.clone().unwrap_or_default()),
            username: u.username,
        })
        .collect();
    let no_meeting = policy
        .no_meeting_day
        .parse::<Day>()
        .map(|d| vec![d])
        .unwrap_or_default();
    Ok(FocusSetupPage {
        nav: viewer.nav("setup"),
        notice,
        key: team.key.clone(),
        name: team.name.clone(),
        focus_days: day_boxes(&policy.focus_days),
        work_days: day_boxes(&policy.work_days),
        no_meeting_days: day_boxes(&no_meeting),
        policy,
        policy_errors: f.policy_errors,
        pulse_days: day_boxes(
            &pulse
                .day
                .parse::<Day>()
                .map(|d| vec![d])
                .unwrap_or_default(),
        ),
        pulse,
        pulse_errors: f.pulse_errors,
        feeds,
        feed_form: f.feed,
        feed_errors: f.feed_errors,
        members,
    })
}

/// The success message of a focus form (`?done=` code).
pub fn done_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "policy-saved" => "Policy saved. The team's focus figures use it from now on.",
        "pulse-saved" => "Pulse settings saved.",
        "feed-added" => "Calendar feed added. Refresh to read it.",
        "feed-removed" => "Calendar feed removed.",
        "feeds-refreshed" => "Calendar feeds refreshed; each feed's state is below.",
        _ => return None,
    })
}

/// `GET /setup/teams/{key}/focus`.
pub async fn page(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let page = page_of(
        &state,
        &viewer,
        &team,
        notice(query.as_deref()),
        Forms::default(),
    );
    render(&page.await?)
}

/// `POST /setup/teams/{key}/focus/policy`: the time zone and the policy,
/// both checked before either is stored.
pub async fn save_policy(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(fields): PageForm<Vec<(String, String)>>,
) -> PageResult<Response> {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    viewer.check_csrf(csrf)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let form = PolicyForm::from_fields(&fields);
    let mut errors = FormErrors::default();
    if form.timezone.parse::<chrono_tz::Tz>().is_err() {
        errors.fields.insert(
            "timezone".into(),
            format!(
                "{:?} is not an IANA time zone name known to the tz database, such as \"Europe/Berlin\" or \"UTC\"",
                form.timezone
            ),
        );
    }
    let policy = form.policy(&mut errors);
    if let Some(p) = &policy
        && let Err(e) = p.validate()
    {
        absorb(&mut errors, tandem_app::AppError::from(e))?;
    }
    let status = if errors.is_empty()
        && let Some(p) = policy
    {
        let id = team.id.to_string();
        let patch = TeamPatch {
            name: None,
            timezone: Some(form.timezone.clone()),
        };
        let saved = match org::update_team(&state.store, &id, patch).await {
            Ok(_) => focus::set_policy(&state.store, &id, p, Utc::now()).await,
            Err(e) => Err(e),
        };
        match saved {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/setup/teams/{}/focus?done=policy-saved",
                    team.key
                )));
            }
            Err(e) => absorb(&mut errors, e)?,
        }
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let f = Forms {
        policy: Some(form),
        policy_errors: errors,
        ..Forms::default()
    };
    let page = page_of(&state, &viewer, &team, None, f).await?;
    render_status(status, &page)
}

/// `POST /setup/teams/{key}/focus/pulse`: whether and when the weekly pulse
/// is asked in Slack, and how many answers a week needs before any figure
/// is shown (never fewer than three: `PulseConfig::validate`).
pub async fn save_pulse(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<PulseForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let mut errors = FormErrors::default();
    let status = match form.config(&mut errors) {
        Some(config) if errors.is_empty() => {
            match pulse::set_config(&state.store, &team.id.to_string(), config, Utc::now()).await {
                Ok(_) => {
                    return Ok(see_other(&format!(
                        "/setup/teams/{}/focus?done=pulse-saved",
                        team.key
                    )));
                }
                Err(e) => absorb(&mut errors, e)?,
            }
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let f = Forms {
        pulse: Some(form),
        pulse_errors: errors,
        ..Forms::default()
    };
    let page = page_of(&state, &viewer, &team, None, f).await?;
    render_status(status, &page)
}

/// `POST /setup/teams/{key}/focus/feeds`: adds a feed (team or one member's).
pub async fn add_feed(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<FeedForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let user = Some(form.user.trim()).filter(|u| !u.is_empty());
    let mut f = Forms::default();
    let status = if form.source.trim().is_empty() {
        f.feed_errors.fields.insert(
            "source".into(),
            "Give the calendar's address (https://…) or a file path on the server.".into(),
        );
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        match focus::add_feed(
            &state.store,
            &team.id.to_string(),
            user,
            &form.source,
            Utc::now(),
        )
        .await
        {
            Ok(_) => {
                return Ok(see_other(&format!(
                    "/setup/teams/{}/focus?done=feed-added",
                    team.key
                )));
            }
            Err(e) => absorb(&mut f.feed_errors, e)?,
        }
    };
    f.feed = form;
    let page = page_of(&state, &viewer, &team, None, f).await?;
    render_status(status, &page)
}

/// `POST /setup/teams/{key}/focus/feeds/remove`.
pub async fn remove_feed(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<FeedIdForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let Ok(id) = form.feed.trim().parse::<Uuid>() else {
        return Err(crate::web::PageError::Status(
            StatusCode::BAD_REQUEST,
            "The form names no calendar feed.".into(),
        ));
    };
    focus::remove_feed(&state.store, &team.id.to_string(), id)
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!(
        "/setup/teams/{}/focus?done=feed-removed",
        team.key
    )))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CsrfOnly {
    pub csrf: String,
}

/// `POST /setup/teams/{key}/focus/feeds/refresh`: reads every feed of the
/// team now; the page then shows each one's state and last error.
pub async fn refresh(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<CsrfOnly>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let owner = format!("web-{}", viewer.user.username);
    focus::refresh_all(&state.store, Some(&team.id.to_string()), &owner, Utc::now())
        .await
        .map_err(ApiError::from)?;
    Ok(see_other(&format!(
        "/setup/teams/{}/focus?done=feeds-refreshed",
        team.key
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_form_reads_every_rule_and_names_bad_fields() {
        let f = PolicyForm::from_fields(&fields(&[
            ("timezone", "Australia/Sydney"),
            ("evening_cutoff", "17:30"),
            ("focus_start", "08:00"),
            ("focus_end", "11:00"),
            ("focus_days", "mon"),
            ("focus_days", "wed"),
            ("max_meeting_hours", "3.5"),
            ("no_meeting_day", "thu"),
            ("work_start", "08:00"),
            ("work_end", "17:00"),
            ("work_days", "mon"),
            ("work_days", "tue"),
        ]));
        let mut errors = FormErrors::default();
        let p = f.policy(&mut errors).unwrap();
        assert!(errors.is_empty());
        assert!(!p.incidents_exempt);
        assert_eq!(p.focus_days, [Day::Mon, Day::Wed]);
        assert_eq!(p.max_meeting_minutes_per_day, 210);
        assert_eq!(p.no_meeting_day, Some(Day::Thu));
        assert_eq!(hours_text(210), "3.5");
        assert_eq!(hours_text(240), "4");

        let bad = PolicyForm::from_fields(&fields(&[
            ("evening_cutoff", "6pm"),
            ("focus_start", "09:00"),
            ("focus_end", "12:00"),
            ("max_meeting_hours", "lots"),
            ("work_start", "09:00"),
            ("work_end", "18:00"),
        ]));
        let mut errors = FormErrors::default();
        assert!(bad.policy(&mut errors).is_none());
        assert!(errors.get("evening_cutoff").unwrap().contains("HH:MM"));
        assert!(errors.get("max_meeting_hours").is_some());
    }
}
