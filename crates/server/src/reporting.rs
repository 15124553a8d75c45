//! The weekly status report: gathers one team's data for one ISO week from
//! the store and lets the domain (`tandem_domain::report`) assemble it. The
//! API and the CLI both call [`weekly`], so they show the same report.
//!
//! Forecasts are the team's current ones (as of today, whatever the week),
//! so a report read later shows the forecast of the day it is read.

use chrono::IsoWeek;
use tandem_domain::goal::Goal;
use tandem_domain::metric::{Audience, Metric, MetricPoint};
use tandem_domain::report::{self, ReportInput, WeeklyReport};
use tandem_domain::risk::{Risk, RiskStatus};
use tandem_domain::stage::Stage;
use tandem_store::{ListQuery, Page, Store, StoreError};
use uuid::Uuid;

use crate::error::ApiResult;
use crate::settings::PlanningSettings;

/// Every page of a list.
async fn all<T, F, Fut>(base: ListQuery, mut list: F) -> Result<Vec<T>, StoreError>
where
    F: FnMut(ListQuery) -> Fut,
    Fut: std::future::Future<Output = Result<Page<T>, StoreError>>,
{
    let mut q = ListQuery {
        limit: ListQuery::MAX_LIMIT,
        ..base
    };
    let mut out = Vec::new();
    loop {
        let page = list(q.clone()).await?;
        out.extend(page.items);
        match page.next_cursor {
            Some(c) => q.after = Some(c),
            None => return Ok(out),
        }
    }
}

/// The weekly report of a team for an ISO week.
pub async fn weekly(
    store: &Store,
    team_id: Uuid,
    week: IsoWeek,
    planning: &PlanningSettings,
    forecast: &crate::settings::ForecastSettings,
) -> ApiResult<WeeklyReport> {
    let team = store.get_team(team_id).await?;
    let by_team = ListQuery {
        team_id: Some(team_id),
        ..ListQuery::default()
    };
    let items = store.team_work_items(team_id).await?;
    let goals: Vec<Goal> = all(
        by_team.clone(),
        |q| async move { store.list_goals(&q).await },
    )
    .await?;
    let stages: Vec<Stage> = all(
        by_team.clone(),
        |q| async move { store.list_stages(&q).await },
    )
    .await?;
    let risks: Vec<Risk> = all(by_team, |q| async move { store.list_risks(&q).await })
        .await?
        .into_iter()
        .filter(|r| r.status != RiskStatus::Closed)
        .collect();
    let goal_keys: Vec<&str> = goals
        .iter()
        .flat_map(|g| g.success_metrics.iter())
        .filter_map(|m| m.metric_key.as_deref())
        .collect();
    let metrics: Vec<Metric> = all(ListQuery::default(), |q| async move {
        store.list_metrics(&q).await
    })
    .await?
    .into_iter()
    .filter(|m| {
        m.audience == Audience::Business
            || m.team_id == Some(team_id)
            || goal_keys.contains(&m.key.as_str())
    })
    .collect();
    // The report needs each metric's value at the week's start and end only.
    let (start, end) = report::week_bounds(week);
    let mut points: Vec<MetricPoint> = Vec::new();
    for m in &metrics {
        for t in [start, end] {
            if let Some(p) = store.latest_point(m.id, Some(t)).await?
                && !points.contains(&p)
            {
                points.push(p);
            }
        }
    }
    Ok(report::assemble(&ReportInput {
        team,
        week,
        items,
        goals,
        stages,
        risks,
        metrics,
        points,
        forecasts: forecasts(store, team_id, forecast).await?,
        debt_target_percent: planning.debt_target_percent,
    }))
}

/// The team's current forecast of each goal in flight, in the report's terms.
async fn forecasts(
    store: &Store,
    team_id: Uuid,
    cfg: &crate::settings::ForecastSettings,
) -> ApiResult<Vec<report::GoalForecastSummary>> {
    let today = chrono::Utc::now().date_naive();
    let tf = crate::forecasting::forecast_team(store, team_id, today, cfg).await?;
    let Some(targets) = tf.forecast.targets() else {
        return Ok(Vec::new());
    };
    Ok(targets
        .iter()
        .filter_map(|t| {
            let goal_id = Uuid::try_parse(&t.key).ok()?;
            let cut_line = match (t.deadline, t.cut_line) {
                (Some(deadline), Some(cut)) if cut < t.remaining => Some(format!(
                    "{cut} of the {} remaining items fit by {deadline} at 85 % confidence",
                    t.remaining
                )),
                _ => None,
            };
            Some(report::GoalForecastSummary {
                goal_id,
                p85: t.p85,
                on_time_probability: t.on_time_probability,
                cut_line,
            })
        })
        .collect())
}
