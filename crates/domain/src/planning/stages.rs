//! Stages: done work against all work of each stage, from the items that name
//! it; over-long stages flagged.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

/// Done work against all work of a stage (cancelled items do not count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StageProgress {
    pub done: u32,
    /// Items of the stage that are not cancelled.
    pub total: u32,
    /// 100 × done ÷ total, rounded to a whole number; none without items.
    pub percent: Option<u32>,
}

/// The progress of one stage from the items that name it.
pub fn stage_progress(stage_id: Uuid, items: &[WorkItem]) -> StageProgress {
    count_progress(items.iter().filter(|w| w.stage_id == Some(stage_id)))
}

/// Done against total of `items`, cancelled items left out.
pub(super) fn count_progress<'a>(items: impl Iterator<Item = &'a WorkItem>) -> StageProgress {
    let (mut done, mut total) = (0usize, 0usize);
    for w in items.filter(|w| w.state != WorkState::Cancelled) {
        total += 1;
        if w.state == WorkState::Done {
            done += 1;
        }
    }
    StageProgress {
        done: u32::try_from(done).unwrap_or(u32::MAX),
        total: u32::try_from(total).unwrap_or(u32::MAX),
        percent: (total > 0)
            .then(|| u32::try_from((100 * done + total / 2) / total).unwrap_or(u32::MAX)),
    }
}

/// One stage of a goal's plan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StagePlan {
    pub id: Uuid,
    pub name: String,
    pub position: i32,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    /// Calendar days from start to end, both included, when both are set.
    pub length_days: Option<i64>,
    /// Longer than the limit (14 days unless configured).
    pub too_long: bool,
    /// What to do about a stage that is too long.
    pub suggestion: Option<String>,
    pub progress: StageProgress,
    /// Every counted item is done (and there is at least one).
    pub completed: bool,
}

/// A completed stage: something to show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SmallWin {
    pub stage_id: Uuid,
    pub name: String,
    pub items_done: u32,
    /// The day (UTC) its last item was done.
    pub completed_on: Option<NaiveDate>,
}

/// A goal broken into stages, for the business: lengths, flags, progress and
/// small wins. Work counts only, never who did it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GoalPlan {
    pub goal_id: Uuid,
    pub title: String,
    pub status: GoalStatus,
    /// Stages longer than this are flagged.
    pub max_stage_days: i64,
    /// In position order.
    pub stages: Vec<StagePlan>,
    /// Completed stages, in position order.
    pub small_wins: Vec<SmallWin>,
    /// Progress of the goal's items that belong to no stage.
    pub unstaged: StageProgress,
}

/// The plan of `goal` from its stages and items (items of other goals are
/// ignored).
pub fn goal_plan(
    goal: &Goal,
    stages: &[Stage],
    items: &[WorkItem],
    max_stage_days: i64,
) -> GoalPlan {
    let items: Vec<&WorkItem> = items
        .iter()
        .filter(|w| w.goal_id == Some(goal.id))
        .collect();
    let mut stages: Vec<&Stage> = stages.iter().filter(|s| s.goal_id == goal.id).collect();
    stages.sort_by_key(|s| (s.position, s.id));
    let mut plans = Vec::new();
    let mut wins = Vec::new();
    for s in stages {
        let length = s.length_days();
        let too_long = length.is_some_and(|d| d > max_stage_days);
        let progress = count_progress(items.iter().copied().filter(|w| w.stage_id == Some(s.id)));
        let completed = progress.total > 0 && progress.done == progress.total;
        if completed {
            wins.push(SmallWin {
                stage_id: s.id,
                name: s.name.clone(),
                items_done: progress.done,
                completed_on: items
                    .iter()
                    .filter(|w| w.stage_id == Some(s.id))
                    .filter_map(|w| w.done_at)
                    .max()
                    .map(|d| d.date_naive()),
            });
        }
        plans.push(StagePlan {
            id: s.id,
            name: s.name.clone(),
            position: s.position,
            starts_on: s.starts_on,
            ends_on: s.ends_on,
            length_days: length,
            too_long,
            suggestion: match length {
                Some(days) if too_long => Some(format!(
                    "{days} days is longer than {max_stage_days}: split it into stages of at most \
                     {max_stage_days} days, each ending in something the business can see"
                )),
                _ => None,
            },
            progress,
            completed,
        });
    }
    GoalPlan {
        goal_id: goal.id,
        title: goal.title.clone(),
        status: goal.status,
        max_stage_days,
        stages: plans,
        small_wins: wins,
        unstaged: count_progress(items.iter().copied().filter(|w| w.stage_id.is_none())),
    }
}
