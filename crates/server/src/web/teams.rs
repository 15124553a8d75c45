//! `/teams` and `/teams/{key}`: a team's technical view for its members —
//! throughput, cycle time, incidents, the tech-debt share against its
//! budget, and the team's own metric series with 12-week trends. Everything
//! is per team; nothing is per person.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use tandem_domain::team::Team;
use tandem_domain::user::Role;
use tandem_domain::work_item::{WorkItem, WorkKind, WorkState};
use tandem_store::ListQuery;

use super::data::{self, KpiView, strip_xml_declaration};
use super::overview::all_teams;
use super::view::{self, Nav};
use super::{PageResult, Viewer, render};
use crate::AppState;
use crate::api::planning::{debt_budget, find_team};
use crate::charts::{self, Series};
use crate::error::ApiError;

/// A weekly series: (the week's Monday, value).
pub type Weekly = Vec<(NaiveDate, f64)>;

/// Weeks shown in trends.
const WEEKS: i64 = 12;

#[derive(Debug)]
pub struct TeamLink {
    pub key: String,
    pub name: String,
}

#[derive(Debug, Template)]
#[template(path = "teams.html")]
pub struct TeamsPage {
    pub nav: Nav,
    pub teams: Vec<TeamLink>,
}

/// `GET /teams`.
pub async fn list(State(state): State<AppState>, viewer: Viewer) -> PageResult<Response> {
    viewer.require(Role::Member)?;
    let teams = all_teams(&state)
        .await?
        .into_iter()
        .map(|t: Team| TeamLink {
            key: t.key,
            name: t.name,
        })
        .collect();
    render(&TeamsPage {
        nav: viewer.nav("teams"),
        teams,
    })
}

#[derive(Debug)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub note: String,
    pub class: &'static str,
}

#[derive(Debug)]
pub struct Chart {
    pub label: String,
    pub svg: String,
}

#[derive(Debug)]
pub struct DebtRow {
    pub period: String,
    pub done: u32,
    pub debt: u32,
    pub share: String,
    pub class: &'static str,
}

#[derive(Debug, Template)]
#[template(path = "team.html")]
pub struct TeamPage {
    pub nav: Nav,
    pub name: String,
    pub key: String,
    pub flow: Vec<Figure>,
    pub flow_charts: Vec<Chart>,
    pub incidents: Vec<Figure>,
    pub debt_target: String,
    pub debt_message: Option<String>,
    pub debt: Vec<DebtRow>,
    pub metrics: Vec<KpiView>,
    pub goals: Vec<(String, String)>,
}

/// The Monday of `d`'s week.
fn monday(d: NaiveDate) -> NaiveDate {
    d - Duration::days(i64::from(d.weekday().num_days_from_monday()))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

fn days_between(a: DateTime<Utc>, b: DateTime<Utc>) -> f64 {
    (b - a).num_seconds() as f64 / 86_400.0
}

/// Items done per week and the median cycle time (start → done, days) of
/// each week, for the last [`WEEKS`] weeks including this one.
pub fn weekly_flow(items: &[WorkItem], today: NaiveDate) -> (Weekly, Weekly) {
    let this_week = monday(today);
    let mut throughput = Vec::new();
    let mut cycle = Vec::new();
    for back in (0..WEEKS).rev() {
        let week = this_week - Duration::weeks(back);
        let done: Vec<&WorkItem> = items
            .iter()
            .filter(|i| i.state == WorkState::Done)
            .filter(|i| i.done_at.is_some_and(|d| monday(d.date_naive()) == week))
            .collect();
        throughput.push((week, done.len() as f64));
        let times: Vec<f64> = done
            .iter()
            .filter_map(|i| Some(days_between(i.started_at?, i.done_at?)))
            .collect();
        if let Some(m) = median(times) {
            cycle.push((week, m));
        }
    }
    (throughput, cycle)
}

fn chart(label: &str, unit: &str, points: Vec<(NaiveDate, f64)>) -> PageResult<Chart> {
    let series = Series {
        label: label.to_owned(),
        unit: unit.to_owned(),
        points,
    };
    Ok(Chart {
        label: format!("12-week trend of {}", series.caption()),
        svg: strip_xml_declaration(charts::trend_svg(&series, 420, 180).map_err(ApiError::from)?),
    })
}

/// `GET /teams/{key}`.
pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(key): Path<String>,
) -> PageResult<Response> {
    viewer.require(Role::Member)?;
    let store = &state.store;
    let team = find_team(store, &key).await.map_err(ApiError::from)?;
    let now = Utc::now();
    let today = now.date_naive();
    let items = store.team_work_items(team.id).await?;

    let (throughput, cycle) = weekly_flow(&items, today);
    let last4: f64 = throughput
        .iter()
        .rev()
        .skip(1)
        .take(4)
        .map(|p| p.1)
        .sum::<f64>()
        / 4.0;
    let recent_since = now - Duration::weeks(4);
    let recent: Vec<f64> = items
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| d >= recent_since))
        .filter_map(|i| Some(days_between(i.started_at?, i.done_at?)))
        .collect();
    let open = items
        .iter()
        .filter(|i| tandem_domain::planning::is_open(i.state))
        .count();
    let in_progress = items
        .iter()
        .filter(|i| i.state == WorkState::InProgress)
        .count();
    let blocked = items
        .iter()
        .filter(|i| i.state == WorkState::Blocked)
        .count();
    let flow = vec![
        Figure {
            label: "Throughput".into(),
            value: format!("{} items a week", view::number(last4)),
            note: "mean of the last four full weeks".into(),
            class: "flat",
        },
        Figure {
            label: "Cycle time".into(),
            value: median(recent.clone())
                .map_or_else(|| "–".to_owned(), |m| format!("{} days", view::number(m))),
            note: format!(
                "median from start to done, {} items done in the last 4 weeks",
                recent.len()
            ),
            class: "flat",
        },
        Figure {
            label: "Work in progress".into(),
            value: format!("{in_progress} in progress"),
            note: format!("{open} open items, {blocked} blocked"),
            class: if blocked > 0 { "bad" } else { "flat" },
        },
    ];
    let flow_charts = vec![
        chart("Items done per week", "items", throughput)?,
        chart("Median cycle time", "days", cycle)?,
    ];

    let incidents_all: Vec<&WorkItem> = items
        .iter()
        .filter(|i| i.kind == WorkKind::Incident)
        .collect();
    let since = now - Duration::weeks(WEEKS);
    let restored: Vec<f64> = incidents_all
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| d >= since))
        .filter_map(|i| Some(days_between(i.created_at, i.done_at?) * 24.0))
        .collect();
    let open_incidents = incidents_all
        .iter()
        .filter(|i| tandem_domain::planning::is_open(i.state))
        .count();
    let incidents = vec![
        Figure {
            label: "Open incidents".into(),
            value: open_incidents.to_string(),
            note: "incident work items not done".into(),
            class: if open_incidents > 0 { "bad" } else { "good" },
        },
        Figure {
            label: "Incidents resolved".into(),
            value: restored.len().to_string(),
            note: format!("in the last {WEEKS} weeks"),
            class: "flat",
        },
        Figure {
            label: "Time to restore".into(),
            value: median(restored)
                .map_or_else(|| "–".to_owned(), |h| format!("{} hours", view::number(h))),
            note: "median from report to resolution".into(),
            class: "flat",
        },
    ];

    let budget = debt_budget(store, &team, &state.settings.planning, now).await?;
    let debt = budget
        .periods
        .iter()
        .map(|p| DebtRow {
            period: format!("{} – {}", view::date(p.starts_on), view::date(p.ends_on)),
            done: p.done_items,
            debt: p.debt_items,
            share: p.debt_percent.map_or_else(
                || "no items done".to_owned(),
                |s| format!("{} %", view::number(s)),
            ),
            class: if p.below_target { "bad" } else { "good" },
        })
        .collect();

    let metric_list = store
        .list_metrics(&ListQuery {
            limit: ListQuery::MAX_LIMIT,
            ..ListQuery::default()
        })
        .await?
        .items;
    let goals = data::active_goals(store, Some(team.id)).await?;
    let mut metrics = Vec::new();
    for m in metric_list.iter().filter(|m| m.team_id == Some(team.id)) {
        metrics.push(data::kpi(store, m, &goals, now, (300, 130)).await?);
    }
    render(&TeamPage {
        nav: viewer.nav("teams"),
        name: team.name.clone(),
        key: team.key.clone(),
        flow,
        flow_charts,
        incidents,
        debt_target: format!("{} %", view::number(budget.target_percent)),
        debt_message: budget.message.clone(),
        debt,
        metrics,
        goals: goals
            .iter()
            .map(|g| (g.id.to_string(), g.title.clone()))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::median;

    #[test]
    fn medians() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
