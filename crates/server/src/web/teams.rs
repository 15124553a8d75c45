//! `/teams` and `/teams/{key}`: a team's technical view for its members —
//! the DORA four keys with their levels and weekly trends and code review
//! time (both from `tandem_app::delivery_metrics`), throughput, cycle time,
//! incident work items, the tech-debt share against its budget, and the
//! team's own metric series with 12-week trends. Everything is per team;
//! nothing is per person.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use tandem_domain::team::Team;
use tandem_domain::work_item::{WorkItem, WorkKind, WorkState};
use tandem_store::ListQuery;

use super::MemberViewer;
use super::cache::PageCache;
use super::data::{self, KpiView, strip_xml_declaration};
use super::figures;
use super::overview::all_teams;
use super::view::{self, Nav};
use super::{PageResult, render};
use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use axum::Extension;
use std::sync::Arc;
use tandem_app::AppError;
use tandem_app::charts::{self, Series};
use tandem_app::delivery_metrics::{self, DeliveryQuery};
use tandem_app::lookup;
use tandem_app::planning::debt_budget;
use tandem_domain::dora::{ExplainMetric, Level};

pub use super::figures::Weekly;

/// The size of a DORA key's trend chart.
const DORA_CHART: (u32, u32) = (240, 120);

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
pub async fn list(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
) -> PageResult<Response> {
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

#[derive(Debug, Clone)]
pub struct Figure {
    pub label: String,
    pub value: String,
    pub note: String,
    pub class: &'static str,
    /// The explain page behind the figure (an `ExplainMetric` slug), and
    /// its definition in a sentence.
    pub explain: Option<(&'static str, &'static str)>,
}

/// The explain page of `metric` and its one-sentence definition.
fn explained(metric: ExplainMetric) -> Option<(&'static str, &'static str)> {
    Some((metric.as_str(), metric.definition()))
}

#[derive(Debug, Clone)]
pub struct Chart {
    pub label: String,
    pub svg: String,
    /// The numbers behind the chart, as its text alternative: (week, value).
    pub table: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct DebtRow {
    pub period: String,
    pub done: u32,
    pub debt: u32,
    pub share: String,
    pub class: &'static str,
}

/// One of the DORA four keys: its value, level and weekly trend.
#[derive(Debug, Clone)]
pub struct DoraKey {
    pub label: String,
    pub value: String,
    pub note: String,
    /// `elite`, `high`, `medium`, `low`, or none without data.
    pub level: Option<String>,
    pub class: &'static str,
    pub chart: Chart,
    /// The explain page (an `ExplainMetric` slug).
    pub explain: &'static str,
    /// How the figure is computed, in a sentence.
    pub definition: &'static str,
}

#[derive(Debug, Clone, Template)]
#[template(path = "team.html")]
pub struct TeamPage {
    pub nav: Nav,
    pub name: String,
    pub key: String,
    pub dora: Vec<DoraKey>,
    /// Why there is no DORA panel, when there is none.
    pub dora_note: Option<String>,
    pub dora_basis: String,
    pub review: Vec<Figure>,
    pub flow: Vec<Figure>,
    pub flow_charts: Vec<Chart>,
    pub incidents: Vec<Figure>,
    pub debt_target: String,
    pub debt_message: Option<String>,
    pub debt: Vec<DebtRow>,
    pub metrics: Vec<KpiView>,
    pub goals: Vec<(String, String)>,
    /// The team pulse (`web::pulse`), filled per request outside the cache.
    pub pulse: Option<super::pulse::PulseSection>,
    /// Items done per week and median cycle time per week (days), as the
    /// flow charts show them: the team CSV feed writes these.
    pub throughput: Weekly,
    pub cycle: Weekly,
    /// The delivery data version the figures were computed at.
    pub version: i64,
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
/// each week, for the last [`WEEKS`] weeks including this one. Weeks are
/// the team's (`tz`; `today` is its local date): docs/metrics.md, "Time zones".
pub fn weekly_flow(items: &[WorkItem], today: NaiveDate, tz: chrono_tz::Tz) -> (Weekly, Weekly) {
    let this_week = monday(today);
    let mut throughput = Vec::new();
    let mut cycle = Vec::new();
    for back in (0..WEEKS).rev() {
        let week = this_week - Duration::weeks(back);
        let done: Vec<&WorkItem> = items
            .iter()
            .filter(|i| i.state == WorkState::Done)
            .filter(|i| {
                i.done_at
                    .is_some_and(|d| monday(tandem_domain::time::local_date(d, tz)) == week)
            })
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

pub(crate) fn chart(label: &str, unit: &str, points: Vec<(NaiveDate, f64)>) -> ApiResult<Chart> {
    chart_sized(label, unit, points, (420, 180))
}

fn chart_sized(
    label: &str,
    unit: &str,
    points: Vec<(NaiveDate, f64)>,
    (width, height): (u32, u32),
) -> ApiResult<Chart> {
    let table = points
        .iter()
        .map(|(w, v)| (view::week_of(*w), view::with_unit(*v, unit)))
        .collect();
    let series = Series {
        label: label.to_owned(),
        unit: unit.to_owned(),
        points,
    };
    Ok(Chart {
        table,
        label: format!("12-week trend of {}", series.caption()),
        svg: strip_xml_declaration(
            charts::trend_svg(&series, width, height).map_err(ApiError::from)?,
        ),
    })
}

/// `GET /teams/{key}`.
pub async fn page(
    State(state): State<AppState>,
    MemberViewer(viewer): MemberViewer,
    Extension(cache): Extension<PageCache>,
    Path(key): Path<String>,
) -> PageResult<Response> {
    let team = lookup::team(&state.store, &key)
        .await
        .map_err(ApiError::from)?;
    let cached = cached(&state, &cache, &team).await?;
    let mut page = (*cached).clone();
    page.nav = viewer.nav("teams");
    page.pulse = Some(super::pulse::section(&state, &cache, &team).await?);
    render(&page)
}

/// The team page's figures, as the page shows them and the team CSV feed
/// writes them: one cache entry per team and delivery data version
/// (`web::figures`).
pub async fn cached(state: &AppState, cache: &PageCache, team: &Team) -> ApiResult<Arc<TeamPage>> {
    let version = figures::version(state).await?;
    cache
        .get_or_try(format!("team:{}:{version}", team.id), || {
            build(state, cache, team.clone(), version)
        })
        .await
}

async fn build(
    state: &AppState,
    cache: &PageCache,
    team: Team,
    version: i64,
) -> ApiResult<TeamPage> {
    let store = &state.store;
    let now = Utc::now();
    let today = tandem_domain::time::local_date(now, team.zone());
    let items = store.team_work_items(team.id).await?;

    let (throughput, cycle) = weekly_flow(&items, today, team.zone());
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
            explain: explained(ExplainMetric::Throughput),
            value: format!("{} items a week", view::number(last4)),
            note: "mean of the last four full weeks".into(),
            class: "flat",
        },
        Figure {
            label: "Cycle time".into(),
            explain: explained(ExplainMetric::CycleTime),
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
            explain: None,
            value: format!("{in_progress} in progress"),
            note: format!("{open} open items, {blocked} blocked"),
            class: if blocked > 0 { "bad" } else { "flat" },
        },
    ];
    let flow_charts = vec![
        chart("Items done per week", "items", throughput.clone())?,
        chart("Median cycle time", "days", cycle.clone())?,
    ];

    let incidents_all: Vec<&WorkItem> = items
        .iter()
        .filter(|i| i.kind == WorkKind::Incident)
        .collect();
    let since = now - Duration::weeks(WEEKS);
    let resolved = incidents_all
        .iter()
        .filter(|i| i.done_at.is_some_and(|d| d >= since))
        .count();
    let open_incidents = incidents_all
        .iter()
        .filter(|i| tandem_domain::planning::is_open(i.state))
        .count();
    let incidents = vec![
        Figure {
            label: "Open incidents".into(),
            explain: None,
            value: open_incidents.to_string(),
            note: "incident work items not done".into(),
            class: if open_incidents > 0 { "bad" } else { "good" },
        },
        Figure {
            label: "Incident items done".into(),
            explain: None,
            value: resolved.to_string(),
            note: format!(
                "in the last {WEEKS} weeks; time to restore is the DORA figure above, from the incidents themselves"
            ),
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
        metrics.push(data::kpi(state, cache, version, m, &goals, now, (300, 130)).await?);
    }
    let (dora, dora_note, dora_basis, review) =
        delivery_panels(state, cache, &team, today, version).await?;
    Ok(TeamPage {
        nav: Nav::placeholder(),
        name: team.name.clone(),
        key: team.key.clone(),
        dora,
        dora_note,
        dora_basis,
        review,
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
        pulse: None,
        throughput,
        cycle,
        version,
    })
}

fn level_class(level: Option<Level>) -> &'static str {
    match level {
        Some(Level::Elite | Level::High) => "good",
        Some(Level::Medium) => "warn",
        Some(Level::Low) => "bad",
        None => "unknown",
    }
}

/// The unit [`hours`] writes `h` in, and the divisor from hours to it.
fn hours_unit(h: Option<f64>) -> (&'static str, f64) {
    match h {
        Some(h) if h >= 48.0 => ("days", 24.0),
        _ => ("hours", 1.0),
    }
}

fn hours(h: Option<f64>) -> String {
    match h {
        None => "–".to_owned(),
        Some(h) if h < 48.0 => format!("{} hours", view::number(h)),
        Some(h) => format!("{} days", view::number(h / 24.0)),
    }
}

/// The DORA four keys and code review time of the team's last
/// [`WEEKS`] weeks, from `tandem_app::delivery_metrics` (the engine behind
/// `/api/v1/delivery/*`). A team without projects or delivery data gets a
/// note instead of numbers.
async fn delivery_panels(
    state: &AppState,
    cache: &PageCache,
    team: &Team,
    today: NaiveDate,
    version: i64,
) -> ApiResult<(Vec<DoraKey>, Option<String>, String, Vec<Figure>)> {
    // The window a bound KPI's card uses too (`kpis::window`): one number.
    let (since, until) = tandem_app::kpis::window(today);
    let q = DeliveryQuery {
        team: Some(team.key.clone()),
        since: Some(since),
        until: Some(until),
        bucket: Some("week".into()),
        ..DeliveryQuery::default()
    };
    // The entry bound KPIs' cards read too (web::figures): one number.
    let cached = figures::team_dora(state, cache, team.id, today, version).await?;
    let report = match cached.as_ref() {
        Ok(r) => r,
        Err(message) => {
            return Ok((Vec::new(), Some(message.clone()), String::new(), Vec::new()));
        }
    };
    let weekly = |f: &dyn Fn(&tandem_domain::dora::DoraBucket) -> Option<f64>| -> Weekly {
        report
            .buckets
            .iter()
            .filter_map(|b| Some((b.start, f(b)?)))
            .collect()
    };
    let df = &report.deployment_frequency;
    let lt = &report.lead_time;
    let cfr = &report.change_failure_rate;
    let ttr = &report.time_to_restore;
    let dora = vec![
        DoraKey {
            label: "Deployment frequency".into(),
            explain: ExplainMetric::DeploymentFrequency.as_str(),
            definition: ExplainMetric::DeploymentFrequency.definition(),
            value: format!("{} a week", view::number(df.per_week)),
            note: format!(
                "{} deployments on {} of {} days",
                df.deployments, df.deploy_days, df.days
            ),
            level: df.level.map(|l| l.to_string()),
            class: level_class(df.level),
            chart: chart_sized(
                "Deployments per week",
                "",
                weekly(&|b| Some(b.deployments as f64)),
                DORA_CHART,
            )?,
        },
        DoraKey {
            label: "Lead time for changes".into(),
            explain: ExplainMetric::LeadTime.as_str(),
            definition: ExplainMetric::LeadTime.definition(),
            value: hours(lt.median_hours),
            note: format!(
                "median over {} commits; P85 {}",
                lt.commits,
                hours(lt.p85_hours)
            ),
            level: lt.level.map(|l| l.to_string()),
            class: level_class(lt.level),
            chart: {
                // The chart speaks the unit of the figure above it.
                let (unit, div) = hours_unit(lt.median_hours);
                chart_sized(
                    "Median lead time",
                    unit,
                    weekly(&|b| b.lead_time_median_hours.map(|h| h / div)),
                    DORA_CHART,
                )?
            },
        },
        DoraKey {
            label: "Change failure rate".into(),
            explain: ExplainMetric::ChangeFailureRate.as_str(),
            definition: ExplainMetric::ChangeFailureRate.definition(),
            value: cfr.rate.map_or_else(|| "–".to_owned(), view::percent),
            note: format!("{} of {} changes failed", cfr.failed, cfr.changes),
            level: cfr.level.map(|l| l.to_string()),
            class: level_class(cfr.level),
            chart: chart_sized(
                "Change failure rate",
                "%",
                weekly(&|b| b.change_failure_rate.map(|r| r * 100.0)),
                DORA_CHART,
            )?,
        },
        DoraKey {
            label: "Time to restore".into(),
            explain: ExplainMetric::TimeToRestore.as_str(),
            definition: ExplainMetric::TimeToRestore.definition(),
            value: hours(ttr.median_hours),
            note: format!(
                "median; {} incidents, {} resolved",
                ttr.incidents, ttr.resolved
            ),
            level: ttr.level.map(|l| l.to_string()),
            class: level_class(ttr.level),
            chart: {
                let (unit, div) = hours_unit(ttr.median_hours);
                chart_sized(
                    "Median time to restore",
                    unit,
                    weekly(&|b| b.restore_median_hours.map(|h| h / div)),
                    DORA_CHART,
                )?
            },
        },
    ];
    let basis = format!(
        "{} to {}, environment {}; levels from the {} State of DevOps thresholds.",
        view::date(report.since),
        view::date(report.until),
        report.environment,
        report.thresholds_year
    );
    let review = match delivery_metrics::review_time(&state.store, &state.settings, &q).await {
        Ok(r) => vec![
            Figure {
                label: "Ready to first review".into(),
                explain: explained(ExplainMetric::ReviewTime),
                value: hours(r.ready_to_first_review.median_hours),
                note: format!(
                    "median over {} pull requests",
                    r.ready_to_first_review.pull_requests
                ),
                class: "flat",
            },
            Figure {
                label: "Ready to approval".into(),
                explain: explained(ExplainMetric::ReviewTime),
                value: hours(r.ready_to_approval.median_hours),
                note: format!(
                    "median over {} pull requests",
                    r.ready_to_approval.pull_requests
                ),
                class: "flat",
            },
            Figure {
                label: "Ready to merge".into(),
                explain: explained(ExplainMetric::ReviewTime),
                value: hours(r.ready_to_merge.median_hours),
                note: format!("median over {} merged pull requests", r.pull_requests),
                class: "flat",
            },
        ],
        Err(AppError::BadInput { .. }) => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok((dora, None, basis, review))
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
