//! `/teams/{key}/focus` and `/teams/{key}/focus/me` (issue 15): a team's
//! week of meetings against its policy, and the signed-in person's own.
//!
//! - The team page shows aggregates only, from `app::focus::team_week` and
//!   `app::focus::trend` (the API's figures): meeting hours per person-day
//!   as a distribution of person-days (never names), focus hours kept
//!   against the protected block, breaches by rule and by meeting series
//!   with the move that fixes each, and the 12-week trend as charts with
//!   the same numbers in a table.
//! - "My focus" is `app::focus::my_week` for the viewer: there is no way to
//!   ask for someone else's figures (the person comes from the session).
//! - Both need the member role; `?week=YYYY-MM-DD` (any day of the week)
//!   picks the week, which is the team's Monday to Sunday in its zone.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{Duration, NaiveDate, Utc};
use serde::Deserialize;
use tandem_app::charts::{self, Series};
use tandem_app::{AppError, focus, lookup};
use tandem_domain::focus::{FocusWeek, TrendPoint};

use super::data::strip_xml_declaration;
use super::view::{self, Nav};
use super::{MemberViewer, PageError, PageResult, render};
use crate::AppState;
use crate::http::error::ApiError;

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct WeekQuery {
    pub week: Option<String>,
}

fn week_param(q: &WeekQuery) -> PageResult<Option<NaiveDate>> {
    match q.week.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => s.parse::<NaiveDate>().map(Some).map_err(|_| {
            PageError::Status(
                axum::http::StatusCode::BAD_REQUEST,
                format!("{s:?} is not a day written YYYY-MM-DD"),
            )
        }),
    }
}

/// One row of a small table: a label, a count and its share.
#[derive(Debug, Clone)]
pub struct Row {
    pub label: String,
    pub count: u32,
    pub share: String,
    /// Share in whole percent, for the bar.
    pub pct: u32,
}

/// One series breaking a rule, in words.
#[derive(Debug, Clone)]
pub struct SeriesRow {
    pub text: String,
    pub rule: String,
    pub breaches: u32,
}

/// A week's figures as the pages show them.
#[derive(Debug, Clone)]
pub struct WeekView {
    pub monday: String,
    pub title: String,
    pub prev: String,
    pub next: String,
    pub people: u32,
    pub person_days: u32,
    pub hours_per_day: String,
    pub kept: String,
    pub kept_percent: String,
    pub breaches_total: u32,
    pub distribution: Vec<Row>,
    pub rules: Vec<Row>,
    pub series: Vec<SeriesRow>,
}

fn share(n: u32, of: u32) -> (String, u32) {
    if of == 0 {
        return ("–".into(), 0);
    }
    let p = f64::from(n) * 100.0 / f64::from(of);
    (format!("{p:.0} %"), p.round() as u32)
}

fn hours(minutes: f64) -> String {
    let h = (minutes / 60.0 * 10.0).round() / 10.0;
    if h.fract() == 0.0 {
        format!("{h:.0} h")
    } else {
        format!("{h:.1} h")
    }
}

fn rule_label(rule: tandem_domain::focus::Rule) -> &'static str {
    use tandem_domain::focus::Rule;
    match rule {
        Rule::Evening => "Meetings after the evening cutoff",
        Rule::FocusBlock => "Meetings in the focus block",
        Rule::MeetingLoad => "Days over the meeting-hours limit",
        Rule::NoMeetingDay => "Meetings on the no-meeting day",
    }
}

pub fn week_view(w: &FocusWeek) -> WeekView {
    let d = &w.distribution;
    let days = [
        ("No meetings", d.none),
        ("Up to 1 h", d.up_to_1h),
        ("1–2 h", d.up_to_2h),
        ("2–3 h", d.up_to_3h),
        ("3–4 h", d.up_to_4h),
        ("Over 4 h", d.over_4h),
    ];
    let total_days: u32 = days.iter().map(|(_, n)| n).sum();
    let row = |label: &str, count: u32, of: u32| {
        let (share, pct) = share(count, of);
        Row {
            label: label.to_owned(),
            count,
            share,
            pct,
        }
    };
    let b = &w.breaches;
    use tandem_domain::focus::Rule;
    let rules = [
        (Rule::Evening, b.evening),
        (Rule::FocusBlock, b.focus_block),
        (Rule::MeetingLoad, b.meeting_load),
        (Rule::NoMeetingDay, b.no_meeting_day),
    ];
    let people = f64::from(w.people.max(1));
    WeekView {
        monday: w.week_start.to_string(),
        title: format!("Week of {}", view::date(w.week_start)),
        prev: (w.week_start - Duration::weeks(1)).to_string(),
        next: (w.week_start + Duration::weeks(1)).to_string(),
        people: w.people,
        person_days: w.person_days,
        hours_per_day: format!("{:.2} h", w.meeting_hours_per_person_day),
        kept: format!(
            "{} of {}",
            hours(f64::from(w.focus_kept_minutes) / people),
            hours(f64::from(w.focus_block_minutes) / people)
        ),
        kept_percent: format!("{:.1} %", w.focus_kept_percent),
        breaches_total: w.breaches_total,
        distribution: days.iter().map(|(l, n)| row(l, *n, total_days)).collect(),
        rules: rules
            .iter()
            .map(|(r, n)| row(rule_label(*r), *n, w.breaches_total))
            .collect(),
        series: w
            .series
            .iter()
            .map(|s| SeriesRow {
                text: s.text.clone(),
                rule: rule_label(s.rule).to_owned(),
                breaches: s.breaches,
            })
            .collect(),
    }
}

/// A trend chart of one figure.
#[derive(Debug, Clone)]
pub struct Chart {
    pub label: String,
    pub svg: String,
}

#[derive(Debug, Clone)]
pub struct TrendRow {
    pub week: String,
    pub hours: String,
    pub kept: String,
    pub breaches: u32,
}

/// A trend chart's label, unit and the figure it draws.
type TrendFigure = (&'static str, &'static str, fn(&TrendPoint) -> f64);

fn trend_charts(points: &[TrendPoint]) -> PageResult<Vec<Chart>> {
    let series: [TrendFigure; 3] = [
        ("Meeting hours per person-day", "h", |p| {
            p.meeting_hours_per_person_day
        }),
        ("Focus block kept", "%", |p| p.focus_kept_percent),
        ("Policy breaches", "", |p| f64::from(p.breaches_total)),
    ];
    series
        .iter()
        .map(|(label, unit, f)| {
            let s = Series {
                label: (*label).to_owned(),
                unit: (*unit).to_owned(),
                points: points.iter().map(|p| (p.week_start, f(p))).collect(),
            };
            Ok(Chart {
                label: format!("12-week trend of {}", s.caption()),
                svg: strip_xml_declaration(
                    charts::trend_svg(&s, 360, 170).map_err(ApiError::from)?,
                ),
            })
        })
        .collect()
}

#[derive(Debug, Template)]
#[template(path = "focus.html")]
pub struct FocusPage {
    pub nav: Nav,
    pub key: String,
    pub name: String,
    pub timezone: String,
    pub has_feeds: bool,
    pub w: WeekView,
    pub charts: Vec<Chart>,
    pub trend: Vec<TrendRow>,
}

/// `GET /teams/{key}/focus`.
pub async fn team_page(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(key): Path<String>,
    Query(q): Query<WeekQuery>,
) -> PageResult<Response> {
    let week = week_param(&q)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let store = &state.store;
    let now = Utc::now();
    let id = team.id.to_string();
    let w = focus::team_week(store, &id, week, now)
        .await
        .map_err(ApiError::from)?;
    let points = focus::trend(store, &id, now)
        .await
        .map_err(ApiError::from)?;
    let has_feeds = !focus::list_feeds(store, Some(&id))
        .await
        .map_err(ApiError::from)?
        .is_empty();
    let page = FocusPage {
        nav: viewer.nav("teams"),
        key: team.key.clone(),
        name: team.name.clone(),
        timezone: team.timezone.clone(),
        has_feeds,
        w: week_view(&w),
        charts: trend_charts(&points)?,
        trend: points
            .iter()
            .map(|p| TrendRow {
                week: view::week_of(p.week_start),
                hours: format!("{:.2}", p.meeting_hours_per_person_day),
                kept: format!("{:.1} %", p.focus_kept_percent),
                breaches: p.breaches_total,
            })
            .collect(),
    };
    render(&page)
}

#[derive(Debug, Template)]
#[template(path = "focus_me.html")]
pub struct MyFocusPage {
    pub nav: Nav,
    pub key: String,
    pub name: String,
    pub timezone: String,
    /// Why there are no figures (no e-mail address), if so.
    pub problem: Option<String>,
    pub w: Option<WeekView>,
}

/// `GET /teams/{key}/focus/me`: the viewer's own week.
pub async fn my_page(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Path(key): Path<String>,
    Query(q): Query<WeekQuery>,
) -> PageResult<Response> {
    let week = week_param(&q)?;
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let (w, problem) = match focus::my_week(
        &state.store,
        &team.id.to_string(),
        &viewer.user,
        week,
        Utc::now(),
    )
    .await
    {
        Ok(w) => (Some(week_view(&w)), None),
        Err(AppError::Invalid(list)) if list.iter().any(|e| e.field == "email") => (
            None,
            Some(
                "Your account has no e-mail address, and calendars match people by e-mail. \
                 An admin can add one under Users."
                    .to_owned(),
            ),
        ),
        Err(e) => return Err(ApiError::from(e).into()),
    };
    let page = MyFocusPage {
        nav: viewer.nav("teams"),
        key: team.key.clone(),
        name: team.name.clone(),
        timezone: team.timezone.clone(),
        problem,
        w,
    };
    render(&page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_drop_a_zero_decimal() {
        assert_eq!(hours(900.0), "15 h");
        assert_eq!(hours(846.0), "14.1 h");
        assert_eq!(share(0, 0), ("–".to_owned(), 0));
        assert_eq!(share(1, 3), ("33 %".to_owned(), 33));
    }
}
