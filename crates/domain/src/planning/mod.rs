//! Planning views, computed from stored work: the ordered backlog (with a
//! flag when priorities inflate), a goal's stages (too-long stages, progress,
//! small wins), the tech-debt budget, and the context of a single task.
//!
//! Every definition here is spelled out in `docs/metrics.md`. Nothing here
//! ranks or scores people: every view is about work, stages and teams.
//!
//! The code: `backlog`, `stages`, `debt` (the tech-debt budget) and
//! `context` (context on every task); their public items are re-exported
//! here, so paths stay `planning::…`.

use std::cmp::Ordering;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::goal::{Goal, GoalStatus, SuccessMetric};
use crate::metric::MetricPoint;
use crate::priority::{Matrix, PriorityExplanation, explain};
use crate::stage::Stage;
use crate::string_enum;
use crate::work_item::{Priority, WorkItem, WorkKind, WorkState};

mod backlog;
mod context;
mod debt;
mod stages;
#[cfg(test)]
mod tests;

pub use self::backlog::*;
pub use self::context::*;
pub use self::debt::*;
pub use self::stages::*;

/// Stages longer than this many calendar days are flagged (the essay: two
/// weeks at most).
pub const MAX_STAGE_DAYS: i64 = 14;
/// The length of a tech-debt budget period: four weeks.
pub const DEBT_PERIOD_DAYS: i64 = 28;
/// How many periods the tech-debt budget shows.
pub const DEBT_PERIODS: u32 = 6;
/// The default share of throughput for tech debt, in percent (the essay: 20 %
/// of the time on technical debt).
pub const DEFAULT_DEBT_TARGET_PERCENT: f64 = 20.0;
/// Consecutive periods below target that raise the debt flag.
pub const DEBT_FLAG_PERIODS: u32 = 2;

/// Open work: to do, in progress or blocked.
pub fn is_open(state: WorkState) -> bool {
    matches!(
        state,
        WorkState::Todo | WorkState::InProgress | WorkState::Blocked
    )
}

fn round1(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}
