//! Work items: create and change them. The API (`/api/v1/work-items`) and
//! the CLI (`tandem item create|update|set`) call these, so an item gets the
//! same default priority and the same refusals from either.

use chrono::Utc;
use tandem_domain::priority::default_priority;
use tandem_domain::work_item::{NewWorkItem, WorkItem, WorkItemPatch};
use tandem_store::{Store, StoreError};
use uuid::Uuid;

use crate::settings::PlanningSettings;
use crate::{AppError, AppResult};

/// Creates a work item. Without a priority the organisation's rules set it
/// (P0 for a critical production bug, else the impact × complexity matrix,
/// else P2). Its project and goal must be its team's, its stage its goal's;
/// a taken external key is a conflict naming `external_key`.
pub async fn create(
    store: &Store,
    planning: &PlanningSettings,
    mut input: NewWorkItem,
) -> AppResult<WorkItem> {
    input.priority = default_priority(&input, &planning.matrix);
    let item = input.into_item(Uuid::now_v7(), Utc::now())?;
    check_links(store, &item).await?;
    store.create_work_item(&item).await?;
    Ok(item)
}

/// Changes a work item (`id` as stored); the state change stamps its start
/// and finish times.
pub async fn update(store: &Store, id: Uuid, patch: WorkItemPatch) -> AppResult<WorkItem> {
    let mut item = store.get_work_item(id).await?;
    item.apply(patch, Utc::now())?;
    check_links(store, &item).await?;
    store.update_work_item(&item).await?;
    Ok(item)
}

/// Refuses an item whose project or goal belongs to another team, or whose
/// stage belongs to another goal. A link to nothing is left to the store,
/// which names the missing reference.
async fn check_links(store: &Store, item: &WorkItem) -> AppResult<()> {
    if let Some(id) = item.project_id
        && let Some(p) = found(store.get_project(id).await)?
        && p.team_id != item.team_id
    {
        return Err(AppError::invalid(
            "project_id",
            format!("project {} belongs to another team than the item", p.key),
        ));
    }
    if let Some(id) = item.goal_id
        && let Some(g) = found(store.get_goal(id).await)?
        && g.team_id != item.team_id
    {
        return Err(AppError::invalid(
            "goal_id",
            format!("goal {:?} belongs to another team than the item", g.title),
        ));
    }
    if let (Some(id), Some(goal)) = (item.stage_id, item.goal_id)
        && let Some(s) = found(store.get_stage(id).await)?
        && s.goal_id != goal
    {
        return Err(AppError::invalid(
            "stage_id",
            format!(
                "stage {:?} is a stage of another goal than the item's",
                s.name
            ),
        ));
    }
    Ok(())
}

fn found<T>(r: Result<T, StoreError>) -> AppResult<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}
