//! Stages of a goal: create and change them. The API (`/api/v1/stages`) and
//! the CLI (`tandem stage`) call these, so both number new stages and refuse
//! bad input the same way.

use chrono::Utc;
use tandem_domain::stage::{NewStage, Stage, StagePatch};
use tandem_store::{ListQuery, Store, StoreError};
use uuid::Uuid;

use crate::paging::all;
use crate::{AppError, AppResult};

/// Every stage of a goal, in position order; an unknown goal is not found.
pub async fn of_goal(store: &Store, goal_id: Uuid) -> AppResult<Vec<Stage>> {
    match store.get_goal(goal_id).await {
        Err(StoreError::NotFound { .. }) => {
            return Err(AppError::NotFound(format!("no goal has the id {goal_id}")));
        }
        other => other?,
    };
    let q = ListQuery {
        goal_id: Some(goal_id),
        ..ListQuery::default()
    };
    let mut stages = all(q, |q| async move { store.list_stages(&q).await }).await?;
    stages.sort_by_key(|s| (s.position, s.id));
    Ok(stages)
}

/// Creates a stage; without a position it goes after the goal's last one.
/// An unknown goal is refused naming `goal_id`.
pub async fn create(store: &Store, input: NewStage) -> AppResult<Stage> {
    let next = store.next_stage_position(input.goal_id).await?;
    let stage = input.into_stage(Uuid::now_v7(), next, Utc::now())?;
    store.create_stage(&stage).await?;
    Ok(stage)
}

/// Changes a stage's name, description, position or dates.
pub async fn update(store: &Store, id: Uuid, patch: StagePatch) -> AppResult<Stage> {
    let mut stage = get(store, id).await?;
    stage.apply(patch, Utc::now())?;
    store.update_stage(&stage).await?;
    Ok(stage)
}

/// One stage.
pub async fn get(store: &Store, id: Uuid) -> AppResult<Stage> {
    match store.get_stage(id).await {
        Err(StoreError::NotFound { .. }) => {
            Err(AppError::NotFound(format!("no stage has the id {id}")))
        }
        other => Ok(other?),
    }
}
