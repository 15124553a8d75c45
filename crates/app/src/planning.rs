//! Planning views over the store: a team's backlog in the order to work it,
//! its tech-debt budget, a goal's plan, a work item's context. The domain
//! (`tandem_domain::planning`) computes them; this gathers their inputs.
//! The API, the pages and the CLI show these same views.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::planning::{
    self, BacklogEntry, DebtBudget, GoalPlan, PriorityInflation, TaskContext,
};
use tandem_domain::team::Team;
use tandem_domain::work_item::WorkItem;
use tandem_store::{Store, StoreError};
use uuid::Uuid;

use crate::settings::PlanningSettings;

/// The team a view is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamRef {
    pub id: Uuid,
    pub key: String,
    pub name: String,
}

impl From<&Team> for TeamRef {
    fn from(t: &Team) -> Self {
        TeamRef {
            id: t.id,
            key: t.key.clone(),
            name: t.name.clone(),
        }
    }
}

/// A team's open work in the order to do it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BacklogView {
    pub team: TeamRef,
    pub generated_at: DateTime<Utc>,
    /// Open items: todo, in progress and blocked.
    pub open_items: u32,
    /// Present when more than a quarter of the open items are P0 or P1.
    pub inflation: Option<PriorityInflation>,
    /// The share of throughput spent on tech debt.
    pub debt: DebtBudget,
    pub entries: Vec<BacklogEntry>,
}

/// A team's tech-debt budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TeamDebt {
    pub team: TeamRef,
    pub debt: DebtBudget,
}

/// The tech-debt budget of a team over the last periods, ending today in the
/// team's time zone (its periods are local days: docs/metrics.md).
pub async fn debt_budget(
    store: &Store,
    team: &Team,
    planning: &PlanningSettings,
    now: DateTime<Utc>,
) -> Result<DebtBudget, StoreError> {
    let tz = team.zone();
    let today = tandem_domain::time::local_date(now, tz);
    let start = planning::debt_window_start(today, planning::DEBT_PERIODS);
    let since = tandem_domain::time::local_midnight(start, tz);
    let done = store.list_done_work_items(team.id, since).await?;
    Ok(planning::debt_budget(
        &done,
        today,
        planning::DEBT_PERIODS,
        planning.debt_target_percent,
        tz,
    ))
}

/// The backlog view of a team.
pub async fn backlog_view(
    store: &Store,
    team: &Team,
    planning: &PlanningSettings,
    now: DateTime<Utc>,
) -> Result<BacklogView, StoreError> {
    let open = store.list_open_work_items(team.id).await?;
    let entries = planning::backlog(&open, &planning.matrix, now);
    Ok(BacklogView {
        team: team.into(),
        generated_at: now,
        open_items: u32::try_from(entries.len()).unwrap_or(u32::MAX),
        inflation: planning::priority_inflation(&open),
        debt: debt_budget(store, team, planning, now).await?,
        entries,
    })
}

/// The plan of a goal: its stages with length, flag and progress, and its
/// small wins.
pub async fn goal_plan(
    store: &Store,
    goal_id: Uuid,
    planning: &PlanningSettings,
) -> Result<GoalPlan, StoreError> {
    let goal = store.get_goal(goal_id).await?;
    let stages = store.list_goal_stages(goal.id).await?;
    let items = store.list_goal_work_items(goal.id).await?;
    Ok(planning::goal_plan(
        &goal,
        &stages,
        &items,
        planning.max_stage_days,
    ))
}

/// The context of a work item: its goal's business goal, the expected
/// impact, current and target value of the goal's success metric, and the
/// priority explanation.
pub async fn task_context(
    store: &Store,
    item: &WorkItem,
    settings: &crate::Settings,
) -> Result<TaskContext, crate::AppError> {
    let goal = match item.goal_id {
        Some(id) => Some(store.get_goal(id).await?),
        None => None,
    };
    let key = goal
        .as_ref()
        .and_then(planning::context_metric)
        .and_then(|m| m.metric_key.clone());
    // The same figure as the goal's card and the overview (`kpis::current`):
    // a bound KPI's computed value, or a typed series' latest point.
    let latest = match key {
        Some(key) => match store.get_metric_by_key(&key).await {
            Ok(metric) => {
                crate::kpis::current(store, settings, &metric, chrono::Utc::now().date_naive())
                    .await?
                    .map(|f| tandem_domain::metric::MetricPoint {
                        metric_id: metric.id,
                        at: f.as_of,
                        value: f.value,
                    })
            }
            // A success metric may name a series that is not recorded yet.
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    Ok(planning::task_context(
        item,
        goal.as_ref(),
        latest.as_ref(),
        &settings.planning.matrix,
    ))
}
