//! `/`: the business overview. One screen at 1366×768 for up to 8 KPIs and
//! 10 goals: each KPI with value, target, 12-week trend and arrow; each goal
//! with status, progress to target, forecast (P85 against the deadline) and
//! its top risk; links to the latest weekly reports.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Duration, Utc};
use tandem_domain::metric::Audience;
use tandem_domain::team::Team;
use tandem_store::ListQuery;

use super::cache::PageCache;
use super::data::{self, Forecasts, KpiView};
use super::view::{self, ForecastCell, Nav};
use super::{PageResult, Viewer, render};
use crate::AppState;
use axum::Extension;
use tandem_app::paging;

/// At most this many KPIs and goals fit on one screen.
pub const MAX_KPIS: usize = 8;
pub const MAX_GOALS: usize = 10;

#[derive(Debug, Clone)]
pub struct GoalRow {
    pub id: String,
    pub title: String,
    pub team: String,
    pub status: String,
    /// 0–100 for the bar; words for people.
    pub progress_pct: u32,
    pub progress_text: String,
    pub has_progress: bool,
    pub deadline: String,
    pub forecast: ForecastCell,
    pub top_risk: Option<String>,
    pub risk_count: usize,
}

#[derive(Debug, Clone)]
pub struct ReportLink {
    pub team: String,
    pub href: String,
}

#[derive(Debug, Clone, Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    pub nav: Nav,
    pub kpis: Vec<KpiView>,
    pub more_kpis: usize,
    pub goals: Vec<GoalRow>,
    pub more_goals: usize,
    pub week: String,
    pub reports: Vec<ReportLink>,
}

/// `GET /`.
pub async fn page(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    viewer: Viewer,
) -> PageResult<Response> {
    // The same for every viewer but the header: computed once per TTL.
    let cached = cache
        .get_or_try("overview".into(), || build(&state))
        .await?;
    let mut page = (*cached).clone();
    page.nav = viewer.nav("overview");
    render(&page)
}

async fn build(state: &AppState) -> PageResult<OverviewPage> {
    let store = &state.store;
    let now = Utc::now();
    let today = now.date_naive();
    let goals = data::active_goals(store, None).await?;
    let metrics = store
        .list_metrics(&ListQuery {
            audience: Some(Audience::Business.to_string()),
            limit: ListQuery::MAX_LIMIT,
            ..ListQuery::default()
        })
        .await?
        .items;
    let mut kpis = Vec::new();
    for m in metrics.iter().take(MAX_KPIS) {
        kpis.push(data::kpi(store, m, &goals, now, (160, 100)).await?);
    }
    let shown: Vec<_> = goals.iter().take(MAX_GOALS).cloned().collect();
    let forecasts = Forecasts::for_goals(store, &shown, today, &state.settings.forecast).await?;
    let risks = data::open_risks(store, ListQuery::default()).await?;
    let teams = all_teams(state).await?;
    let mut rows = Vec::new();
    for g in &shown {
        let progress = data::goal_progress(store, g).await?;
        let goal_risks: Vec<_> = risks.iter().filter(|r| r.goal_id == Some(g.id)).collect();
        rows.push(GoalRow {
            id: g.id.to_string(),
            title: g.title.clone(),
            team: teams
                .iter()
                .find(|t| t.id == g.team_id)
                .map_or_else(String::new, |t| t.name.clone()),
            status: view::words(g.status),
            has_progress: progress.is_some(),
            progress_pct: progress
                .as_ref()
                .map_or(0, |(s, _)| (s.clamp(0.0, 1.0) * 100.0).round() as u32),
            progress_text: progress.map_or_else(
                || "no measured success metric yet".to_owned(),
                |(s, words)| format!("{} of the way: {words}", view::percent(s)),
            ),
            deadline: view::maybe_date(g.timeline.deadline),
            forecast: forecasts.cell(g),
            top_risk: goal_risks.first().map(|r| r.title.clone()),
            risk_count: goal_risks.len(),
        });
    }
    let last_week = (today - Duration::days(7)).iso_week();
    let week = format!("{}-W{:02}", last_week.year(), last_week.week());
    let reports = teams
        .iter()
        .map(|t| ReportLink {
            team: t.name.clone(),
            href: format!("/reports/{}/{week}", t.key),
        })
        .collect();
    Ok(OverviewPage {
        nav: Nav::placeholder(),
        more_kpis: metrics.len().saturating_sub(MAX_KPIS),
        kpis,
        more_goals: goals.len().saturating_sub(MAX_GOALS),
        goals: rows,
        week,
        reports,
    })
}

/// Every team, by key.
pub async fn all_teams(state: &AppState) -> PageResult<Vec<Team>> {
    let store = &state.store;
    let mut out = paging::all(ListQuery::default(), |q| async move {
        store.list_teams(&q).await
    })
    .await?;
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}
