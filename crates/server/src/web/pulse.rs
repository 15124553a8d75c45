//! `/pulse` (issue 15, ADR 0028): the signed-in member answers their teams'
//! weekly pulse (workload and focus 1–5, optionally what got in their way);
//! the answer is stored without them (`tandem_app::pulse::answer`). The page
//! says whether they answered this week, nothing more about them.
//!
//! Also the pulse section of a team's page: this week's figures and the
//! 12-week trend from `tandem_app::pulse::week_and_trend` (the one
//! definition, which shows nothing below the threshold). It is computed on
//! every request, outside the team page's cache, so an answer shows at once
//! (one query for the twelve weeks' answers; the drawn charts are cached
//! under the numbers they draw).

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use tandem_domain::pulse::{AnswerInput, Distribution, PulseWeek};
use tandem_domain::team::Team;

use super::cache::PageCache;
use super::teams::Chart;
use super::view::Nav;
use super::{MemberViewer, PageResult, render_status, see_other};
use crate::AppState;
use crate::http::error::ApiError;
use crate::web::admin::FormErrors;
use crate::web::setup::absorb;

/// One team's form on the page.
#[derive(Debug)]
pub struct TeamForm {
    pub key: String,
    pub name: String,
    pub week: String,
    pub answered: bool,
    /// The answer just stored ("Thank you…"), if this is that team.
    pub thanked: bool,
    pub errors: FormErrors,
    pub note: String,
}

#[derive(Debug, Template)]
#[template(path = "pulse.html")]
pub struct PulsePage {
    pub nav: Nav,
    pub teams: Vec<TeamForm>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AnswerForm {
    pub csrf: String,
    pub team: String,
    pub workload: String,
    pub focus: String,
    pub note: String,
}

async fn my_teams(state: &AppState, user: uuid::Uuid) -> PageResult<Vec<Team>> {
    let mut out = Vec::new();
    for (team_id, user_id) in state.store.list_memberships().await? {
        if user_id == user {
            out.push(state.store.get_team(team_id).await?);
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

async fn page_for(
    state: &AppState,
    viewer: &MemberViewer,
    thanked: Option<&str>,
    failed: Option<(&str, FormErrors, String)>,
) -> PageResult<PulsePage> {
    let now = Utc::now();
    let mut teams = Vec::new();
    let mut failed = failed;
    for team in my_teams(state, viewer.user.id).await? {
        let week = tandem_domain::report::week_label(chrono::Datelike::iso_week(
            &tandem_app::pulse::this_monday(&team, now),
        ));
        let answered = tandem_app::pulse::answered(&state.store, &team, &viewer.user, now).await?;
        let (errors, note) = match failed.take() {
            Some((key, errors, note)) if key == team.key => (errors, note),
            other => {
                failed = other;
                (FormErrors::default(), String::new())
            }
        };
        teams.push(TeamForm {
            thanked: thanked == Some(team.key.as_str()),
            key: team.key,
            name: team.name,
            week,
            answered,
            errors,
            note,
        });
    }
    Ok(PulsePage {
        nav: viewer.nav("pulse"),
        teams,
    })
}

/// `GET /pulse`.
pub async fn page(
    State(state): State<AppState>,
    viewer: MemberViewer,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let thanked: Option<String> =
        serde_urlencoded::from_str::<Vec<(String, String)>>(query.as_deref().unwrap_or(""))
            .ok()
            .and_then(|q| q.into_iter().find(|(k, _)| k == "answered").map(|(_, v)| v));
    let page = page_for(&state, &viewer, thanked.as_deref(), None).await?;
    render_status(StatusCode::OK, &page)
}

/// A rating field of the form: a whole number, else the field's error.
fn rating(errors: &mut FormErrors, field: &str, raw: &str) -> i64 {
    match raw.trim().parse::<i64>() {
        Ok(v) => v,
        Err(_) => {
            errors
                .fields
                .insert(field.into(), "Choose a number from 1 to 5.".into());
            0
        }
    }
}

/// `POST /pulse`: one team's answer.
pub async fn submit(
    State(state): State<AppState>,
    viewer: MemberViewer,
    super::PageForm(form): super::PageForm<AnswerForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let mut errors = FormErrors::default();
    let workload = rating(&mut errors, "workload", &form.workload);
    let focus = rating(&mut errors, "focus", &form.focus);
    let mut status = StatusCode::UNPROCESSABLE_ENTITY;
    if errors.is_empty() {
        let input = AnswerInput {
            workload,
            focus,
            note: Some(form.note.clone()),
        };
        match tandem_app::pulse::answer(&state.store, &form.team, &viewer.user, &input, Utc::now())
            .await
        {
            Ok(a) => return Ok(see_other(&format!("/pulse?answered={}", a.team))),
            Err(tandem_app::AppError::NotFound(m)) => {
                return Err(ApiError::NotFound(m).into());
            }
            Err(e) => status = absorb(&mut errors, e)?,
        }
    }
    let page = page_for(
        &state,
        &viewer,
        None,
        Some((form.team.as_str(), errors, form.note.clone())),
    )
    .await?;
    render_status(status, &page)
}

// ---------------------------------------------------------------------------
// The team page's section
// ---------------------------------------------------------------------------

/// One question's figures as the page shows them.
#[derive(Debug, Clone)]
pub struct Question {
    pub label: String,
    pub mean: String,
    /// "1: 0 · 2: 1 · 3: 2 · 4: 0 · 5: 0".
    pub counts: String,
}

/// The pulse on a team's page.
#[derive(Debug, Clone)]
pub struct PulseSection {
    pub week: String,
    pub answers: u32,
    pub members: u32,
    pub min_answers: u32,
    pub shown: bool,
    pub questions: Vec<Question>,
    pub notes: Vec<String>,
    pub charts: Vec<Chart>,
}

fn question(label: &str, d: &Option<Distribution>) -> Option<Question> {
    let d = d.as_ref()?;
    Some(Question {
        label: label.to_owned(),
        mean: format!("{:.1} / 5", d.mean),
        counts: d
            .counts
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}: {n}", i + 1))
            .collect::<Vec<_>>()
            .join(" · "),
    })
}

/// The section for `team` now.
pub async fn section(state: &AppState, cache: &PageCache, team: &Team) -> PageResult<PulseSection> {
    let now = Utc::now();
    let (w, trend): (PulseWeek, _) =
        tandem_app::pulse::week_and_trend(&state.store, team, now).await?;
    let series = |f: fn(&tandem_domain::pulse::TrendPoint) -> Option<f64>| {
        trend
            .iter()
            .filter_map(|p| f(p).map(|v| (p.starts_on, v)))
            .collect::<Vec<_>>()
    };
    let (workload, focus) = (series(|p| p.workload_mean), series(|p| p.focus_mean));
    // Drawing the charts is most of the section's cost; they are a function
    // of the numbers alone, so they are kept under the numbers: an answer
    // changes the key and shows at once.
    let charts = cache
        .get_or_try(format!("pulse-charts:{workload:?}:{focus:?}"), || async {
            Ok::<_, ApiError>(vec![
                super::teams::chart("Pulse workload (mean, 1–5)", "", workload.clone())?,
                super::teams::chart("Pulse focus (mean, 1–5)", "", focus.clone())?,
            ])
        })
        .await?;
    let charts = (*charts).clone();
    Ok(PulseSection {
        week: w.week.clone(),
        answers: w.answers,
        members: w.members,
        min_answers: w.min_answers,
        shown: w.shown,
        questions: [
            question("Workload", &w.workload),
            question("Focus", &w.focus),
        ]
        .into_iter()
        .flatten()
        .collect(),
        notes: w.notes,
        charts,
    })
}
