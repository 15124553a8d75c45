//! What several pages gather from the store: KPI series, goals with their
//! forecasts, open risks. Forecasts come from `tandem_app::forecasting`.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use tandem_domain::forecast::{Forecast, TargetForecast};
use tandem_domain::goal::{Goal, GoalStatus};
use tandem_domain::metric::{Direction, Metric};
use tandem_domain::risk::{Risk, RiskStatus};
use tandem_store::{ListQuery, Store};
use uuid::Uuid;

use super::cache::PageCache;
use super::figures;
use super::view::{self, ForecastCell};
use crate::AppState;
use crate::http::error::ApiResult;
use tandem_app::charts::{self, Series};
use tandem_app::forecasting::{self, TeamForecast};
use tandem_app::kpis;
use tandem_app::paging;
use tandem_app::settings::Settings;

/// Every page of a list, at most `cap` items.
pub async fn all_goals(store: &Store, base: ListQuery) -> ApiResult<Vec<Goal>> {
    Ok(paging::all(base, |q| async move { store.list_goals(&q).await }).await?)
}

/// Open (not closed) risks matching `base`, heaviest first.
pub async fn open_risks(store: &Store, base: ListQuery) -> ApiResult<Vec<Risk>> {
    let mut out = paging::all(base, |q| async move { store.list_risks(&q).await }).await?;
    out.retain(|r| r.status != RiskStatus::Closed);
    out.sort_by_key(|r| std::cmp::Reverse(view::risk_weight(r)));
    Ok(out)
}

/// Goals being worked on (in progress, then agreed), earliest deadline first.
pub async fn active_goals(store: &Store, team_id: Option<Uuid>) -> ApiResult<Vec<Goal>> {
    let mut goals = Vec::new();
    for status in [GoalStatus::InProgress, GoalStatus::Agreed] {
        goals.extend(
            all_goals(
                store,
                ListQuery {
                    team_id,
                    status: Some(status.to_string()),
                    ..ListQuery::default()
                },
            )
            .await?,
        );
    }
    goals.sort_by_key(|g| (g.timeline.deadline.is_none(), g.timeline.deadline, g.id));
    Ok(goals)
}

/// A team's forecast of `today` (`forecasting::forecast_team`), made once
/// and shared by the pages that show it (overview, agenda, the asks) for
/// the cache's TTL; forms that change goals clear it.
pub async fn team_forecast(
    state: &AppState,
    cache: &PageCache,
    team_id: Uuid,
    today: NaiveDate,
) -> ApiResult<Arc<TeamForecast>> {
    cache
        .get_or_try(format!("forecast:{team_id}:{today}"), || async {
            Ok::<_, crate::http::error::ApiError>(
                forecasting::forecast_team(&state.store, team_id, today, &state.settings.forecast)
                    .await?,
            )
        })
        .await
}

/// Team forecasts, made once per team for a page.
#[derive(Debug, Default)]
pub struct Forecasts {
    by_team: HashMap<Uuid, Arc<TeamForecast>>,
}

impl Forecasts {
    /// Forecasts the teams of `goals` ([`team_forecast`]).
    pub async fn for_goals(
        state: &AppState,
        cache: &PageCache,
        goals: &[Goal],
        today: NaiveDate,
    ) -> ApiResult<Self> {
        let mut teams: Vec<Uuid> = goals.iter().map(|g| g.team_id).collect();
        teams.sort();
        teams.dedup();
        // The teams at once: each Monte Carlo runs on a blocking thread, so
        // a first (uncached) page uses every core instead of one at a time.
        let made = futures_util::future::try_join_all(
            teams.iter().map(|t| team_forecast(state, cache, *t, today)),
        )
        .await?;
        Ok(Forecasts {
            by_team: teams.into_iter().zip(made).collect(),
        })
    }

    /// The forecasts of one team already made.
    pub fn of(tf: Arc<TeamForecast>) -> Self {
        let mut by_team = HashMap::new();
        by_team.insert(tf.team.id, tf);
        Forecasts { by_team }
    }

    /// The goal's own forecast, when its team could be forecast.
    pub fn target(&self, goal: &Goal) -> Option<&TargetForecast> {
        let key = goal.id.to_string();
        self.by_team
            .get(&goal.team_id)?
            .forecast
            .targets()?
            .iter()
            .find(|t| t.key == key)
    }

    /// The goal's forecast cell.
    pub fn cell(&self, goal: &Goal) -> ForecastCell {
        if let Some(t) = self.target(goal) {
            return ForecastCell::from_forecast(t.p50, t.p85, goal.timeline.deadline);
        }
        match self.by_team.get(&goal.team_id).map(|tf| &tf.forecast) {
            Some(Forecast::TooLittleHistory { .. }) => ForecastCell::unknown(
                "too little history",
                "the team finished too few items recently to forecast from",
            ),
            _ => ForecastCell::unknown("no forecast", "the goal is not being worked on"),
        }
    }

    pub fn team(&self, team_id: Uuid) -> Option<&TeamForecast> {
        self.by_team.get(&team_id).map(|t| &**t)
    }
}

/// A metric's weekly values over the pages' window (`kpis::window`), keyed
/// by the week's Monday (weeks without data are left out: a gap stays a
/// gap), and its current figure, both from `tandem_app::kpis` through the
/// shared cache entry (`web::figures::kpi`), so the card, the team page and
/// the CSV feeds show one computation.
pub async fn weekly_series(
    state: &AppState,
    cache: &PageCache,
    metric: &Metric,
    now: DateTime<Utc>,
    version: i64,
) -> ApiResult<(Vec<(NaiveDate, f64)>, Option<kpis::Figure>)> {
    let f = figures::kpi(state, cache, metric, now.date_naive(), version).await?;
    Ok((f.weekly.clone(), f.current))
}

/// A KPI as the overview and the team page show it.
#[derive(Debug, Clone)]
pub struct KpiView {
    pub key: String,
    pub name: String,
    pub value: String,
    pub target: Option<String>,
    /// ▲, ▼ or ▶.
    pub arrow: &'static str,
    /// `good`, `bad`, `flat` or `unknown`.
    pub trend_class: &'static str,
    pub trend_text: String,
    /// The change in a few words: "+14 % in 11 weeks".
    pub trend_short: String,
    pub chart_svg: String,
    /// "as of 6 Dec 2026" or "mean of 30 Nov 2026 – 6 Dec 2026".
    pub as_of: String,
    /// How the figure is computed, for a bound KPI.
    pub definition: Option<String>,
    /// The weeks behind the chart, as a text alternative: "week of 7 Sep: 3".
    pub table: Vec<(String, String)>,
}

/// Builds the KPI view: value, target (from the active goals that measure
/// it), 12-week trend chart and the arrow for its change over the period.
pub async fn kpi(
    state: &AppState,
    cache: &PageCache,
    version: i64,
    metric: &Metric,
    goals: &[Goal],
    now: DateTime<Utc>,
    size: (u32, u32),
) -> ApiResult<KpiView> {
    let (series, latest) = weekly_series(state, cache, metric, now, version).await?;
    let today = now.date_naive();
    let table = series
        .iter()
        .map(|(w, v)| (view::week_of(*w), view::with_unit(*v, &metric.unit)))
        .collect();
    let target = goals
        .iter()
        .flat_map(|g| g.success_metrics.iter())
        .find(|m| m.metric_key.as_deref() == Some(metric.key.as_str()) && m.target.is_some())
        .and_then(|m| {
            Some(match m.deadline {
                Some(d) => format!(
                    "target {} by {}",
                    view::with_unit(m.target?, &metric.unit),
                    view::date(d)
                ),
                None => format!("target {}", view::with_unit(m.target?, &metric.unit)),
            })
        });
    let (arrow, trend_class, trend_text, trend_short) = match (series.first(), series.last()) {
        (Some((_, first)), Some((_, last))) if series.len() > 1 => {
            let change = last - first;
            // A change of a percentage is in points, never relative.
            let is_pct = view::is_percent_unit(&metric.unit);
            let rel = if *first != 0.0 && !is_pct {
                format!(" ({:+.0} %)", change / first.abs() * 100.0)
            } else {
                String::new()
            };
            let short = if *first != 0.0 && !is_pct {
                format!(
                    "{:+.0} % in {} weeks",
                    change / first.abs() * 100.0,
                    series.len() - 1
                )
            } else {
                format!(
                    "{}{} in {} weeks",
                    if change >= 0.0 { "+" } else { "" },
                    view::change_with_unit(change, &metric.unit),
                    series.len() - 1
                )
            };
            let text = format!(
                "{}{}{rel} over {} weeks",
                if change >= 0.0 { "+" } else { "" },
                view::change_with_unit(change, &metric.unit),
                series.len() - 1
            );
            let eps = first.abs().max(last.abs()) * 1e-3;
            if change.abs() <= eps {
                ("▶", "flat", text, short)
            } else {
                let better = match metric.direction {
                    Direction::Up => change > 0.0,
                    Direction::Down => change < 0.0,
                };
                (
                    if change > 0.0 { "▲" } else { "▼" },
                    if better { "good" } else { "bad" },
                    text,
                    short,
                )
            }
        }
        _ => (
            "–",
            "unknown",
            "not enough data for a trend".to_owned(),
            "no trend yet".to_owned(),
        ),
    };
    let chart_svg = charts::trend_svg(
        &Series {
            label: metric.name.clone(),
            unit: metric.unit.clone(),
            points: series,
        },
        size.0,
        size.1,
    )?;
    Ok(KpiView {
        key: metric.key.clone(),
        name: metric.name.clone(),
        value: latest.map_or_else(
            || "no data".to_owned(),
            |f| view::with_unit(f.value, &metric.unit),
        ),
        as_of: match (metric.computed_from, latest) {
            (_, None) => String::new(),
            (Some(_), Some(_)) => {
                let (since, until) = kpis::window(today);
                format!(
                    "a week, mean of {} – {}",
                    view::date(since),
                    view::date(until)
                )
            }
            (None, Some(f)) => format!("as of {}", view::date(f.as_of.date_naive())),
        },
        definition: metric.computed_from.map(|c| c.definition().to_owned()),
        table,
        target,
        arrow,
        trend_class,
        trend_text,
        trend_short,
        chart_svg: strip_xml_declaration(chart_svg),
    })
}

/// An SVG document ready to inline in HTML.
pub fn strip_xml_declaration(svg: String) -> String {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(svg.clone(), |(_, body)| body.trim_start().to_owned()),
        None => svg,
    }
}

/// How far a goal is towards its first measurable success metric's target
/// (`tandem_app::kpis::goal_progress`: one figure, one rounding), with words.
pub async fn goal_progress(
    store: &Store,
    settings: &Settings,
    goal: &Goal,
    today: NaiveDate,
) -> ApiResult<Option<(kpis::GoalProgress, String)>> {
    Ok(kpis::goal_progress(store, settings, goal, today)
        .await?
        .map(|p| {
            let words = format!(
                "{}: {} now, target {}",
                p.metric,
                view::with_unit(p.current.value, &p.unit),
                view::with_unit(p.target, &p.unit)
            );
            (p, words)
        }))
}
