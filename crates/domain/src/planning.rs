//! Planning views, computed from stored work: the ordered backlog (with a
//! flag when priorities inflate), a goal's stages (too-long stages, progress,
//! small wins), the tech-debt budget, and the context of a single task.
//!
//! Every definition here is spelled out in `docs/metrics.md`. Nothing here
//! ranks or scores people: every view is about work, stages and teams.

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

// ---- backlog ----------------------------------------------------------------

string_enum! {
    /// Which score ordered an item within its priority.
    ScoreKind {
        Wsjf => "wsjf",
        Rice => "rice",
    }
}

/// One open item in backlog order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BacklogEntry {
    /// Position in the backlog, from 1.
    pub rank: u32,
    pub id: Uuid,
    pub external_key: Option<String>,
    pub title: String,
    pub kind: WorkKind,
    pub state: WorkState,
    pub priority: Priority,
    /// Where the priority comes from (see `PriorityExplanation.rule`).
    pub priority_rule: String,
    /// WSJF when its inputs are complete, else RICE, else none.
    pub score: Option<f64>,
    pub score_kind: Option<ScoreKind>,
    /// Whole days since the item was created.
    pub age_days: i64,
    pub created_at: DateTime<Utc>,
    pub goal_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
}

/// WSJF when all its inputs are given, else RICE, else none.
pub fn score(item: &WorkItem) -> Option<(f64, ScoreKind)> {
    if let Some(w) = item.scores.wsjf() {
        return Some((w, ScoreKind::Wsjf));
    }
    item.scores.rice().map(|r| (r, ScoreKind::Rice))
}

/// Backlog order: priority (P0 first), then score (higher first; scored
/// items before unscored ones), then age (older first), then id.
fn backlog_order(a: &WorkItem, b: &WorkItem) -> Ordering {
    let score = |w: &WorkItem| score(w).map(|(s, _)| s);
    a.priority
        .cmp(&b.priority)
        .then_with(|| match (score(a), score(b)) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        })
        .then_with(|| a.created_at.cmp(&b.created_at))
        .then_with(|| a.id.cmp(&b.id))
}

/// The open items (todo, in progress, blocked) of `items` in backlog order;
/// other items are left out.
pub fn backlog(items: &[WorkItem], matrix: &Matrix, now: DateTime<Utc>) -> Vec<BacklogEntry> {
    let mut open: Vec<&WorkItem> = items.iter().filter(|w| is_open(w.state)).collect();
    open.sort_by(|a, b| backlog_order(a, b));
    open.into_iter()
        .enumerate()
        .map(|(i, w)| {
            let scored = score(w);
            BacklogEntry {
                rank: u32::try_from(i + 1).unwrap_or(u32::MAX),
                id: w.id,
                external_key: w.external_key.clone(),
                title: w.title.clone(),
                kind: w.kind,
                state: w.state,
                priority: w.priority,
                priority_rule: explain(w, matrix).rule,
                score: scored.map(|(s, _)| s),
                score_kind: scored.map(|(_, k)| k),
                age_days: (now - w.created_at).num_days().max(0),
                created_at: w.created_at,
                goal_id: w.goal_id,
                stage_id: w.stage_id,
            }
        })
        .collect()
}

/// More than a quarter of the open items at P0 or P1: when everything is
/// urgent, nothing is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PriorityInflation {
    pub open_items: u32,
    pub p0_p1_items: u32,
    /// 100 × p0_p1_items ÷ open_items, to one decimal.
    pub percent: f64,
    /// The share above which the flag is raised: 25.
    pub threshold_percent: f64,
    pub message: String,
}

/// The inflation flag, raised when more than a quarter of the open items
/// (todo, in progress, blocked) are P0 or P1.
pub fn priority_inflation(items: &[WorkItem]) -> Option<PriorityInflation> {
    let open: Vec<&WorkItem> = items.iter().filter(|w| is_open(w.state)).collect();
    let urgent = open
        .iter()
        .filter(|w| matches!(w.priority, Priority::P0 | Priority::P1))
        .count();
    let total = open.len();
    if total == 0 || urgent * 4 <= total {
        return None;
    }
    let percent = round1(100.0 * urgent as f64 / total as f64);
    Some(PriorityInflation {
        open_items: u32::try_from(total).unwrap_or(u32::MAX),
        p0_p1_items: u32::try_from(urgent).unwrap_or(u32::MAX),
        percent,
        threshold_percent: 25.0,
        message: format!(
            "{urgent} of {total} open items ({percent} %) are P0 or P1, more than a quarter: \
             when everything is urgent nothing is; agree with product what can wait"
        ),
    })
}

// ---- stages -------------------------------------------------------------------

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
fn count_progress<'a>(items: impl Iterator<Item = &'a WorkItem>) -> StageProgress {
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

// ---- tech-debt budget ---------------------------------------------------------

/// One four-week period of the tech-debt budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DebtPeriod {
    /// First day (UTC), included.
    pub starts_on: NaiveDate,
    /// Last day (UTC), included.
    pub ends_on: NaiveDate,
    /// Items done in the period (throughput).
    pub done_items: u32,
    /// Of those, items of kind `debt`.
    pub debt_items: u32,
    /// 100 × debt_items ÷ done_items, to one decimal; none without throughput.
    pub debt_percent: Option<f64>,
    /// The share is below the target (a period without throughput is not).
    pub below_target: bool,
}

/// The share of a team's throughput spent on tech debt, per period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DebtBudget {
    pub target_percent: f64,
    pub period_days: i64,
    /// Oldest first; the last period ends on the day asked about.
    pub periods: Vec<DebtPeriod>,
    /// Periods below target in a row, counted back from the latest.
    pub below_target_in_a_row: u32,
    /// Raised after two consecutive periods below target (the latest two).
    pub flagged: bool,
    pub message: Option<String>,
}

/// The first day covered by `periods` four-week periods ending on `today`.
pub fn debt_window_start(today: NaiveDate, periods: u32) -> NaiveDate {
    today - Duration::days(DEBT_PERIOD_DAYS * i64::from(periods) - 1)
}

/// The tech-debt budget over `periods` periods of four weeks, the last ending
/// on `today` (included). `done` may hold any items: only those done (with a
/// `done_at`) inside the window count; the caller picks the team.
pub fn debt_budget(
    done: &[WorkItem],
    today: NaiveDate,
    periods: u32,
    target_percent: f64,
) -> DebtBudget {
    let mut out = Vec::new();
    for k in (0..periods).rev() {
        let ends_on = today - Duration::days(DEBT_PERIOD_DAYS * i64::from(k));
        let starts_on = ends_on - Duration::days(DEBT_PERIOD_DAYS - 1);
        let in_period: Vec<&WorkItem> = done
            .iter()
            .filter(|w| w.state == WorkState::Done)
            .filter(|w| {
                w.done_at
                    .map(|d| d.date_naive())
                    .is_some_and(|d| starts_on <= d && d <= ends_on)
            })
            .collect();
        let total = in_period.len();
        let debt = in_period
            .iter()
            .filter(|w| w.kind == WorkKind::Debt)
            .count();
        out.push(DebtPeriod {
            starts_on,
            ends_on,
            done_items: u32::try_from(total).unwrap_or(u32::MAX),
            debt_items: u32::try_from(debt).unwrap_or(u32::MAX),
            debt_percent: (total > 0).then(|| round1(100.0 * debt as f64 / total as f64)),
            below_target: total > 0 && (debt as f64) * 100.0 < target_percent * total as f64,
        });
    }
    let in_a_row = out.iter().rev().take_while(|p| p.below_target).count();
    let in_a_row = u32::try_from(in_a_row).unwrap_or(u32::MAX);
    let flagged = in_a_row >= DEBT_FLAG_PERIODS;
    let message = flagged.then(|| {
        let shares: Vec<String> = out
            .iter()
            .rev()
            .take(in_a_row as usize)
            .rev()
            .map(|p| format!("{} %", p.debt_percent.unwrap_or(0.0)))
            .collect();
        format!(
            "tech debt got {} of the done work in the last {in_a_row} four-week periods, below the \
             {target_percent} % target: plan debt work into the next period",
            shares.join(", ")
        )
    });
    DebtBudget {
        target_percent,
        period_days: DEBT_PERIOD_DAYS,
        periods: out,
        below_target_in_a_row: in_a_row,
        flagged,
        message,
    }
}

// ---- context on every task ----------------------------------------------------

string_enum! {
    /// Where a current or target value comes from.
    ValueSource {
        /// The latest point of the goal's success metric series.
        Metric => "metric",
        /// The target of the goal's success metric.
        SuccessMetric => "success_metric",
        /// The work item's own context text.
        WorkItem => "work_item",
    }
}

/// A current or target value, as text and (when measured) as a number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ContextValue {
    pub text: String,
    pub value: Option<f64>,
    pub source: ValueSource,
    /// When the point was measured (source `metric`).
    pub at: Option<DateTime<Utc>>,
}

/// The goal a task serves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GoalRef {
    pub id: Uuid,
    pub title: String,
    pub status: GoalStatus,
}

/// Why a task exists and what it should change (the essay's "give the team
/// context"): the goal's business goal, the expected impact, the current and
/// target value of the goal's success metric, and where the priority comes
/// from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TaskContext {
    pub id: Uuid,
    pub external_key: Option<String>,
    pub title: String,
    pub kind: WorkKind,
    pub state: WorkState,
    pub goal: Option<GoalRef>,
    /// The goal's business goal; else the item's own `context.why`.
    pub why: String,
    /// The item's `context.expected_impact`; else the success metric's
    /// baseline → target.
    pub expected_impact: String,
    /// The goal's first success metric that names a metric series.
    pub success_metric: Option<SuccessMetric>,
    pub current: Option<ContextValue>,
    pub target: Option<ContextValue>,
    /// How far the measured current value has come from the baseline to the
    /// target: 0 at the baseline, 1 at the target (`SuccessMetric::progress`).
    pub metric_progress: Option<f64>,
    pub priority: PriorityExplanation,
}

/// The success metric a task's context uses: the goal's first one that names
/// a metric series (`metric_key`).
pub fn context_metric(goal: &Goal) -> Option<&SuccessMetric> {
    goal.success_metrics.iter().find(|m| m.metric_key.is_some())
}

fn with_unit(v: f64, unit: &str) -> String {
    if unit.is_empty() {
        v.to_string()
    } else {
        format!("{v} {unit}")
    }
}

/// The context of `item`. `goal` is the item's goal (if any); `latest` the
/// latest point of the series named by [`context_metric`] (if any).
pub fn task_context(
    item: &WorkItem,
    goal: Option<&Goal>,
    latest: Option<&MetricPoint>,
    matrix: &Matrix,
) -> TaskContext {
    let metric = goal.and_then(context_metric);
    let why = goal
        .map(|g| g.business_goal.trim())
        .filter(|b| !b.is_empty())
        .map_or_else(|| item.context.why.clone(), str::to_owned);
    let expected_impact = if item.context.expected_impact.trim().is_empty() {
        metric
            .and_then(|m| {
                let target = m.target?;
                Some(match m.baseline {
                    Some(b) => format!("{}: {b} → {}", m.metric, with_unit(target, &m.unit)),
                    None => format!("{}: {}", m.metric, with_unit(target, &m.unit)),
                })
            })
            .unwrap_or_default()
    } else {
        item.context.expected_impact.clone()
    };
    let own = |text: &str| {
        (!text.trim().is_empty()).then(|| ContextValue {
            text: text.to_owned(),
            value: None,
            source: ValueSource::WorkItem,
            at: None,
        })
    };
    let unit = metric.map(|m| m.unit.as_str()).unwrap_or_default();
    let current = match (metric, latest) {
        (Some(_), Some(p)) => Some(ContextValue {
            text: with_unit(p.value, unit),
            value: Some(p.value),
            source: ValueSource::Metric,
            at: Some(p.at),
        }),
        _ => own(&item.context.current_value),
    };
    let target = match metric.and_then(|m| m.target) {
        Some(t) => Some(ContextValue {
            text: with_unit(t, unit),
            value: Some(t),
            source: ValueSource::SuccessMetric,
            at: None,
        }),
        None => own(&item.context.target_value),
    };
    TaskContext {
        id: item.id,
        external_key: item.external_key.clone(),
        title: item.title.clone(),
        kind: item.kind,
        state: item.state,
        goal: goal.map(|g| GoalRef {
            id: g.id,
            title: g.title.clone(),
            status: g.status,
        }),
        why,
        expected_impact,
        success_metric: metric.cloned(),
        metric_progress: metric
            .zip(latest)
            .and_then(|(m, p)| m.progress(p.value))
            .map(|v| (v * 1000.0).round() / 1000.0),
        current,
        target,
        priority: explain(item, matrix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goal::{NewGoal, Parties, Timeline};
    use crate::metric::Direction;
    use crate::risk::Level;
    use crate::stage::NewStage;
    use crate::work_item::{NewWorkItem, Scores, WorkContext};
    use chrono::TimeZone;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn day(d: i64) -> DateTime<Utc> {
        t0() + Duration::days(d)
    }

    fn item(kind: WorkKind, priority: Priority, state: WorkState, created: i64) -> WorkItem {
        NewWorkItem {
            team_id: Uuid::nil(),
            project_id: None,
            goal_id: None,
            stage_id: None,
            title: format!("{kind} {priority} {created}"),
            kind,
            priority: Some(priority),
            impact: None,
            complexity: None,
            state: Some(state),
            context: WorkContext::default(),
            scores: Scores::default(),
            external_key: None,
            source: None,
            created_at: Some(day(created)),
            started_at: None,
            done_at: None,
        }
        .into_item(Uuid::now_v7(), day(created.max(0) + 1))
        .unwrap()
    }

    fn done_on(kind: WorkKind, d: i64) -> WorkItem {
        let mut w = item(kind, Priority::P2, WorkState::Done, d - 1);
        w.started_at = Some(day(d));
        w.done_at = Some(day(d));
        w
    }

    fn wsjf(v: f64) -> Scores {
        Scores {
            business_value: Some(v),
            time_criticality: Some(0.0),
            risk_reduction: Some(0.0),
            job_size: Some(1.0),
            ..Scores::default()
        }
    }

    fn rice(v: f64) -> Scores {
        Scores {
            reach: Some(v),
            rice_impact: Some(1.0),
            confidence: Some(1.0),
            effort: Some(1.0),
            ..Scores::default()
        }
    }

    #[test]
    fn backlog_orders_by_priority_then_score_then_age() {
        use Priority::*;
        use WorkState::*;
        let mut low_score = item(WorkKind::Feature, P1, Todo, 1);
        low_score.scores = wsjf(2.0);
        let mut high_score = item(WorkKind::Feature, P1, Todo, 5);
        high_score.scores = wsjf(8.0);
        let mut rice_scored = item(WorkKind::Feature, P1, InProgress, 6);
        rice_scored.scores = rice(5.0);
        let old_unscored = item(WorkKind::Feature, P1, Blocked, 0);
        let young_unscored = item(WorkKind::Feature, P1, Todo, 3);
        let p0 = item(WorkKind::Bug, P0, Todo, 9);
        let p3 = item(WorkKind::Chore, P3, Todo, -5);
        let done = item(WorkKind::Feature, P0, Done, 0);
        let cancelled = item(WorkKind::Feature, P0, Cancelled, 0);
        let items = vec![
            p3.clone(),
            young_unscored.clone(),
            done,
            low_score.clone(),
            cancelled,
            old_unscored.clone(),
            high_score.clone(),
            p0.clone(),
            rice_scored.clone(),
        ];
        let b = backlog(&items, &Matrix::default(), day(10));
        let order: Vec<Uuid> = b.iter().map(|e| e.id).collect();
        assert_eq!(
            order,
            vec![
                p0.id,
                high_score.id,
                rice_scored.id,
                low_score.id,
                old_unscored.id,
                young_unscored.id,
                p3.id
            ]
        );
        assert_eq!(b[0].rank, 1);
        assert_eq!(b[6].rank, 7);
        assert_eq!(
            (b[1].score, b[1].score_kind),
            (Some(8.0), Some(ScoreKind::Wsjf))
        );
        assert_eq!(
            (b[2].score, b[2].score_kind),
            (Some(5.0), Some(ScoreKind::Rice))
        );
        assert_eq!(b[4].age_days, 10);
        assert_eq!(b[6].age_days, 15);
        assert_eq!(b[0].priority_rule, "no impact/complexity: set by hand");
    }

    #[test]
    fn wsjf_wins_over_rice_on_the_same_item() {
        let mut w = item(WorkKind::Feature, Priority::P2, WorkState::Todo, 0);
        w.scores = Scores {
            reach: Some(100.0),
            rice_impact: Some(1.0),
            confidence: Some(1.0),
            effort: Some(1.0),
            ..wsjf(3.0)
        };
        assert_eq!(score(&w), Some((3.0, ScoreKind::Wsjf)));
    }

    #[test]
    fn inflation_is_flagged_above_a_quarter() {
        use Priority::*;
        let open = |p| item(WorkKind::Feature, p, WorkState::Todo, 0);
        // Exactly a quarter: not flagged.
        let mut items = vec![open(P0), open(P2), open(P2), open(P3)];
        items.push(item(WorkKind::Feature, P0, WorkState::Done, 0));
        assert_eq!(priority_inflation(&items), None);
        items.push(open(P1));
        let f = priority_inflation(&items).unwrap();
        assert_eq!((f.open_items, f.p0_p1_items, f.percent), (5, 2, 40.0));
        assert!(
            f.message.starts_with("2 of 5 open items (40 %)"),
            "{}",
            f.message
        );
        assert_eq!(priority_inflation(&[]), None);
    }

    fn goal() -> Goal {
        NewGoal {
            team_id: Uuid::nil(),
            project_id: None,
            title: "Faster user list".into(),
            business_goal: "More sign-ups finish".into(),
            technical_tasks: String::new(),
            hypotheses: vec![],
            success_metrics: vec![
                SuccessMetric {
                    metric: "conversion in words".into(),
                    metric_key: None,
                    baseline: Some(3.0),
                    target: Some(5.0),
                    direction: Direction::Up,
                    unit: "%".into(),
                    deadline: None,
                },
                SuccessMetric {
                    metric: "p95 latency of /users".into(),
                    metric_key: Some("users-p95".into()),
                    baseline: Some(500.0),
                    target: Some(300.0),
                    direction: Direction::Down,
                    unit: "ms".into(),
                    deadline: None,
                },
            ],
            parties: Parties::default(),
            timeline: Timeline::default(),
        }
        .into_goal(Uuid::now_v7(), t0())
        .unwrap()
    }

    fn stage(goal: &Goal, position: i32, start: (u32, u32), end: (u32, u32)) -> Stage {
        NewStage {
            goal_id: goal.id,
            name: format!("Stage {position}"),
            description: String::new(),
            position: Some(position),
            starts_on: NaiveDate::from_ymd_opt(2026, start.0, start.1),
            ends_on: NaiveDate::from_ymd_opt(2026, end.0, end.1),
        }
        .into_stage(Uuid::now_v7(), position, t0())
        .unwrap()
    }

    #[test]
    fn stages_are_flagged_measured_and_celebrated() {
        let g = goal();
        // 14 days (2–15 Nov): fine. 15 days: too long. No dates: no length.
        let s1 = stage(&g, 1, (11, 2), (11, 15));
        let s2 = stage(&g, 2, (11, 16), (11, 30));
        let mut s3 = stage(&g, 3, (12, 1), (12, 1));
        s3.starts_on = None;
        s3.ends_on = None;
        let in_stage = |s: &Stage, state, done: Option<i64>| {
            let mut w = item(WorkKind::Feature, Priority::P2, state, 0);
            w.goal_id = Some(g.id);
            w.stage_id = Some(s.id);
            if let Some(d) = done {
                w.started_at = Some(day(d));
                w.done_at = Some(day(d));
            }
            w
        };
        let items = vec![
            in_stage(&s1, WorkState::Done, Some(3)),
            in_stage(&s1, WorkState::Done, Some(7)),
            in_stage(&s1, WorkState::Cancelled, None),
            in_stage(&s2, WorkState::Done, Some(15)),
            in_stage(&s2, WorkState::InProgress, None),
            in_stage(&s2, WorkState::Todo, None),
            in_stage(&s3, WorkState::Cancelled, None),
            // Another goal's item naming s2 by mistake is ignored.
            WorkItem {
                goal_id: None,
                ..in_stage(&s2, WorkState::Done, Some(1))
            },
        ];
        let plan = goal_plan(
            &g,
            &[s3.clone(), s2.clone(), s1.clone()],
            &items,
            MAX_STAGE_DAYS,
        );
        let ids: Vec<Uuid> = plan.stages.iter().map(|s| s.id).collect();
        assert_eq!(ids, vec![s1.id, s2.id, s3.id]);

        let [p1, p2, p3] = [&plan.stages[0], &plan.stages[1], &plan.stages[2]];
        assert_eq!(
            (p1.length_days, p1.too_long, &p1.suggestion),
            (Some(14), false, &None)
        );
        assert_eq!((p2.length_days, p2.too_long), (Some(15), true));
        assert!(
            p2.suggestion
                .as_deref()
                .unwrap()
                .starts_with("15 days is longer than 14")
        );
        assert_eq!((p3.length_days, p3.too_long), (None, false));

        assert_eq!(
            p1.progress,
            StageProgress {
                done: 2,
                total: 2,
                percent: Some(100)
            }
        );
        assert_eq!(
            p2.progress,
            StageProgress {
                done: 1,
                total: 3,
                percent: Some(33)
            }
        );
        assert_eq!(
            p3.progress,
            StageProgress {
                done: 0,
                total: 0,
                percent: None
            }
        );
        assert!(p1.completed && !p2.completed && !p3.completed);
        assert_eq!(
            plan.small_wins,
            vec![SmallWin {
                stage_id: s1.id,
                name: "Stage 1".into(),
                items_done: 2,
                completed_on: Some(day(7).date_naive()),
            }]
        );
        // A configured limit.
        let plan = goal_plan(&g, &[s1, s2], &items, 10);
        assert!(plan.stages.iter().all(|s| s.too_long));
    }

    #[test]
    fn two_thirds_round_to_67_percent() {
        let s = Uuid::now_v7();
        let mut items: Vec<WorkItem> = (0..3)
            .map(|i| {
                let state = if i < 2 {
                    WorkState::Done
                } else {
                    WorkState::Todo
                };
                let mut w = item(WorkKind::Feature, Priority::P2, state, 0);
                w.stage_id = Some(s);
                w
            })
            .collect();
        assert_eq!(stage_progress(s, &items).percent, Some(67));
        items.truncate(0);
        assert_eq!(stage_progress(s, &items).total, 0);
    }

    #[test]
    fn debt_budget_periods_and_flag() {
        // Today is day 83: periods are days 0–27, 28–55, 56–83.
        let today = day(83).date_naive();
        assert_eq!(debt_window_start(today, 3), day(0).date_naive());
        let mut items = Vec::new();
        // Period 1: 2 of 5 are debt (40 %).
        items.extend([0, 1].map(|d| done_on(WorkKind::Debt, d + 1)));
        items.extend([2, 3, 26].map(|d| done_on(WorkKind::Feature, d + 1)));
        // Period 2: 1 of 10 (10 %).
        items.push(done_on(WorkKind::Debt, 28));
        items.extend((0..9).map(|d| done_on(WorkKind::Bug, 29 + d)));
        // Period 3: 1 of 6 (16.7 %), plus work outside the window and undone work.
        items.push(done_on(WorkKind::Debt, 83));
        items.extend((0..5).map(|d| done_on(WorkKind::Feature, 60 + d)));
        items.push(done_on(WorkKind::Debt, 84));
        items.push(item(WorkKind::Debt, Priority::P2, WorkState::Todo, 70));

        let b = debt_budget(&items, today, 3, DEFAULT_DEBT_TARGET_PERCENT);
        let shares: Vec<(u32, u32, Option<f64>, bool)> = b
            .periods
            .iter()
            .map(|p| (p.done_items, p.debt_items, p.debt_percent, p.below_target))
            .collect();
        assert_eq!(
            shares,
            vec![
                (5, 2, Some(40.0), false),
                (10, 1, Some(10.0), true),
                (6, 1, Some(16.7), true),
            ]
        );
        assert_eq!(b.periods[0].starts_on, day(0).date_naive());
        assert_eq!(b.periods[2].ends_on, today);
        assert_eq!(b.below_target_in_a_row, 2);
        assert!(b.flagged);
        assert!(
            b.message.as_deref().unwrap().contains("10 %, 16.7 %"),
            "{:?}",
            b.message
        );

        // Only the latest period below target: not flagged yet.
        let b = debt_budget(&items, today - Duration::days(28), 3, 20.0);
        assert_eq!((b.below_target_in_a_row, b.flagged), (1, false));
        // Exactly on target is not below it; a lower target clears the flag.
        let b = debt_budget(&items, today, 3, 10.0);
        assert!(!b.periods[1].below_target);
        assert!(!b.flagged && b.message.is_none());
        // A period without throughput is neither below nor on target.
        let b = debt_budget(&items, today + Duration::days(56), 3, 20.0);
        assert_eq!(b.periods[2].debt_percent, None);
        assert!(!b.flagged);
    }

    #[test]
    fn task_context_prefers_the_goal_and_its_metric() {
        let g = goal();
        let mut w = item(WorkKind::Feature, Priority::P0, WorkState::Todo, 0);
        w.goal_id = Some(g.id);
        w.impact = Some(Level::High);
        w.complexity = Some(Level::Low);
        w.context = WorkContext {
            why: "own why".into(),
            expected_impact: "p95 under 300 ms".into(),
            current_value: "512 ms".into(),
            target_value: "300 ms".into(),
        };
        let p = MetricPoint {
            metric_id: Uuid::nil(),
            at: day(3),
            value: 420.5,
        };
        let c = task_context(&w, Some(&g), Some(&p), &Matrix::default());
        assert_eq!(c.why, "More sign-ups finish");
        assert_eq!(c.expected_impact, "p95 under 300 ms");
        assert_eq!(
            c.success_metric.as_ref().unwrap().metric_key.as_deref(),
            Some("users-p95")
        );
        let cur = c.current.unwrap();
        assert_eq!(
            (cur.text.as_str(), cur.value, cur.source),
            ("420.5 ms", Some(420.5), ValueSource::Metric)
        );
        assert_eq!(cur.at, Some(day(3)));
        // (420.5 − 500) ÷ (300 − 500), to three decimals.
        assert_eq!(c.metric_progress, Some(0.398));
        let tgt = c.target.unwrap();
        assert_eq!(
            (tgt.text.as_str(), tgt.source),
            ("300 ms", ValueSource::SuccessMetric)
        );
        assert_eq!(c.priority.rule, "matrix: impact high × complexity low → P0");
        assert_eq!(c.goal.unwrap().title, "Faster user list");

        // No point yet: the item's own current value; no goal: its own why.
        let c = task_context(&w, Some(&g), None, &Matrix::default());
        assert_eq!(c.current.unwrap().source, ValueSource::WorkItem);
        let c = task_context(&w, None, None, &Matrix::default());
        assert_eq!(c.why, "own why");
        assert_eq!(c.target.as_ref().unwrap().text, "300 ms");
        assert_eq!(c.target.unwrap().source, ValueSource::WorkItem);

        // No expected impact of its own: the metric's baseline → target.
        w.context = WorkContext::default();
        let c = task_context(&w, Some(&g), None, &Matrix::default());
        assert_eq!(c.expected_impact, "p95 latency of /users: 500 → 300 ms");
        assert_eq!(c.current, None);
        let c = task_context(&w, None, None, &Matrix::default());
        assert_eq!((c.why.as_str(), c.current, c.target), ("", None, None));
    }
}
