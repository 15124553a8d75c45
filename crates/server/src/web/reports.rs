//! `/reports`: the archive of weekly reports per team, and
//! `/reports/{team}/{week}`: one team's weekly report for an ISO week, as
//! `crate::reporting` assembles it (the same report the API and the CLI
//! give), with its 12-week trends drawn as charts.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{Datelike, Duration, Utc};
use tandem_domain::report;
use tandem_domain::user::Role;

use super::data::strip_xml_declaration;
use super::overview::all_teams;
use super::view::{self, Nav};
use super::{PageError, PageResult, Viewer, render};
use crate::AppState;
use crate::api::planning::find_team;
use crate::charts::{self, Series};
use crate::error::ApiError;

/// How many past weeks the archive lists.
const ARCHIVE_WEEKS: i64 = 12;

#[derive(Debug)]
pub struct WeekLink {
    pub week: String,
    pub label: String,
    pub href: String,
}

#[derive(Debug)]
pub struct TeamReports {
    pub team: String,
    pub weeks: Vec<WeekLink>,
}

#[derive(Debug, Template)]
#[template(path = "reports.html")]
pub struct ArchivePage {
    pub nav: Nav,
    pub teams: Vec<TeamReports>,
}

/// `GET /reports`.
pub async fn archive(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    viewer.require(Role::Stakeholder)?;
    let today = Utc::now().date_naive();
    let teams = all_teams(&state)
        .await?
        .into_iter()
        .map(|t| TeamReports {
            weeks: (0..ARCHIVE_WEEKS)
                .map(|back| {
                    let day = today - Duration::weeks(back);
                    let w = day.iso_week();
                    let week = format!("{}-W{:02}", w.year(), w.week());
                    let monday =
                        day - Duration::days(i64::from(day.weekday().num_days_from_monday()));
                    WeekLink {
                        href: format!("/reports/{}/{week}", t.key),
                        label: if back == 0 {
                            format!("{week} (this week, so far)")
                        } else {
                            format!("{week} (from {})", view::date(monday))
                        },
                        week,
                    }
                })
                .collect(),
            team: t.name,
        })
        .collect();
    render(&ArchivePage {
        nav: viewer.nav("reports"),
        teams,
    })
}

#[derive(Debug)]
pub struct LineView {
    pub text: String,
    pub children: Vec<String>,
}

#[derive(Debug)]
pub struct SectionView {
    pub heading: String,
    pub empty_message: Option<String>,
    pub note: Option<String>,
    pub lines: Vec<LineView>,
}

#[derive(Debug)]
pub struct TrendView {
    pub label: String,
    pub svg: String,
}

#[derive(Debug, Template)]
#[template(path = "report.html")]
pub struct ReportPage {
    pub nav: Nav,
    pub title: String,
    pub team_key: String,
    pub week: String,
    pub sections: Vec<SectionView>,
    pub trends: Vec<TrendView>,
    pub markdown_href: String,
}

/// `GET /reports/{team}/{week}`.
pub async fn preview(
    State(state): State<AppState>,
    viewer: Viewer,
    Path((team, week)): Path<(String, String)>,
) -> PageResult<Response> {
    viewer.require(Role::Stakeholder)?;
    let iso = report::parse_week(&week).map_err(|e| {
        PageError::Status(
            axum::http::StatusCode::NOT_FOUND,
            format!("There is no report for {week:?}: {e}"),
        )
    })?;
    let team = find_team(&state.store, &team)
        .await
        .map_err(ApiError::from)?;
    let r = crate::reporting::weekly(
        &state.store,
        team.id,
        iso,
        &state.settings.planning,
        &state.settings.forecast,
    )
    .await?;
    let mut trends = Vec::new();
    for t in &r.trends {
        let series = Series {
            label: t.label.clone(),
            unit: t.unit.clone(),
            points: t.points.iter().map(|p| (p.date, p.value)).collect(),
        };
        trends.push(TrendView {
            label: format!("12-week trend of {}", series.caption()),
            svg: strip_xml_declaration(
                charts::trend_svg(&series, 420, 180).map_err(ApiError::from)?,
            ),
        });
    }
    render(&ReportPage {
        nav: viewer.nav("reports"),
        markdown_href: format!(
            "/api/v1/teams/{}/reports/weekly?week={}&format=markdown",
            team.key, r.week
        ),
        title: r.title.clone(),
        team_key: team.key,
        week: r.week.clone(),
        sections: r
            .sections
            .into_iter()
            .map(|s| SectionView {
                heading: s.heading,
                empty_message: s.empty_message,
                note: s.note,
                lines: s
                    .lines
                    .into_iter()
                    .map(|l| LineView {
                        text: l.text,
                        children: l.children.into_iter().map(|c| c.text).collect(),
                    })
                    .collect(),
            })
            .collect(),
        trends,
    })
}
