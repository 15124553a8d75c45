//! Goal lifecycle: agree, start, complete, drop. The API
//! (`POST /api/v1/goals/{id}/{transition}`) and `tandem goal
//! agree|start|complete|drop` both come here; the domain decides which
//! transition a status allows and what an agreement needs.

use chrono::Utc;
use tandem_domain::goal::{Goal, GoalTransition};
use tandem_store::Store;
use uuid::Uuid;

use crate::AppResult;

/// Moves goal `id` through `action` as `actor`, recording a version when
/// the domain says so. Refused (nothing stored) when the goal's status does
/// not allow it (`Conflict`), when agreeing a goal with missing parts
/// (`Invalid`, every part named), or when someone changed the goal since it
/// was read (`Conflict`).
pub async fn transition(
    store: &Store,
    id: Uuid,
    action: GoalTransition,
    actor: &str,
) -> AppResult<Goal> {
    let goal = store.get_goal(id).await?;
    let change = goal.transition(action, actor, Utc::now())?;
    store.save_goal_change(&change, goal.version).await?;
    Ok(change.goal)
}
