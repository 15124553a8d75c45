//! `/`: the business overview. It opens with what the business is asked to
//! decide this week (from the teams' agendas, `/agenda`), then up to 10
//! goals — status, progress to target, forecast in words ("85 % likely by
//! Mon 7 Dec") against the deadline, with a caveat when a blocked item makes
//! it promise too much, and the top risk — then up to 8 KPIs with value,
//! "as of" date, target, 12-week trend and arrow; links to the latest
//! weekly reports.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{Datelike, Duration, Utc};
use futures_util::future::try_join_all;
use tandem_domain::metric::Audience;
use tandem_domain::risk_check::forecast_caveat;
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

/// A decision the business owes, in one plain sentence.
#[derive(Debug, Clone)]
pub struct Ask {
    pub team: String,
    pub text: String,
    pub href: String,
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
    pub week_words: String,
    pub reports: Vec<ReportLink>,
    pub asks: Vec<Ask>,
    pub more_asks: usize,
}

/// At most this many asks open the overview; the rest are on `/agenda`.
pub const MAX_ASKS: usize = 5;

/// `GET /`.
pub async fn page(
    State(state): State<AppState>,
    Extension(cache): Extension<PageCache>,
    viewer: Viewer,
) -> PageResult<Response> {
    // The same for every viewer but the header: computed once per TTL and
    // delivery data version (web::figures).
    let version = super::figures::version(&state).await?;
    let cached = cache
        .get_or_try(format!("overview:{version}"), || {
            build(&state, &cache, version)
        })
        .await?;
    let mut page = (*cached).clone();
    page.nav = viewer.nav("overview");
    render(&page)
}

async fn build(state: &AppState, cache: &PageCache, version: i64) -> PageResult<OverviewPage> {
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
    let shown: Vec<_> = goals.iter().take(MAX_GOALS).cloned().collect();
    // What the page needs, fetched and computed side by side (the forecasts
    // on blocking threads, the queries on the pool): a first, uncached
    // render costs the longest of them, not their sum.
    let kpis = async {
        PageResult::Ok(
            try_join_all(
                metrics
                    .iter()
                    .take(MAX_KPIS)
                    .map(|m| data::kpi(state, cache, version, m, &goals, now, (160, 100))),
            )
            .await?,
        )
    };
    let per_goal = try_join_all(shown.iter().map(|g| async move {
        let progress = data::goal_progress(store, &state.settings, g, today).await?;
        let items = store.list_goal_work_items(g.id).await?;
        PageResult::Ok((progress, items))
    }));
    let (kpis, forecasts, risks, teams, per_goal) = tokio::try_join!(
        kpis,
        async { PageResult::Ok(Forecasts::for_goals(state, cache, &shown, today).await?) },
        async { PageResult::Ok(data::open_risks(store, ListQuery::default()).await?) },
        all_teams(state),
        per_goal,
    )?;
    let mut rows = Vec::new();
    for (g, (progress, items)) in shown.iter().zip(per_goal) {
        let goal_risks: Vec<_> = risks.iter().filter(|r| r.goal_id == Some(g.id)).collect();
        let mut forecast = forecasts.cell(g);
        let owned: Vec<_> = goal_risks.iter().map(|r| (*r).clone()).collect();
        if let Some((caveat, likely_risk)) = forecast_caveat(&items, &owned) {
            forecast = forecast.with_caveat(&caveat);
            if likely_risk && forecast.class == "warn" {
                forecast
                    .detail
                    .push_str("; a high-likelihood risk is open on this goal");
            }
        }
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
                .map_or(0, |(p, _)| p.percent.clamp(0, 100) as u32),
            progress_text: progress.map_or_else(
                || "no measured success metric yet".to_owned(),
                |(p, words)| format!("{} of the way: {words}", view::percent(p.share)),
            ),
            deadline: view::maybe_date(g.timeline.deadline),
            forecast,
            top_risk: goal_risks.first().map(|r| r.title.clone()),
            risk_count: goal_risks.len(),
        });
    }
    let last_week = (today - Duration::days(7)).iso_week();
    let week = format!("{}-W{:02}", last_week.year(), last_week.week());
    let week_words = view::week_of(tandem_app::kpis::monday(today - Duration::days(7)));
    let asks_by_team = try_join_all(
        teams
            .iter()
            .map(|t| super::agenda::asks(state, cache, t, today)),
    )
    .await?;
    let mut asks: Vec<_> = asks_by_team.into_iter().flat_map(|(_, a)| a).collect();
    let more_asks = asks.len().saturating_sub(MAX_ASKS);
    asks.truncate(MAX_ASKS);
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
        week_words,
        reports,
        asks,
        more_asks,
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
