//! Work items: flow metrics (cycle time, throughput, production bugs,
//! tech-debt share) over a range.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

/// A work item as the flow metrics read it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ItemFact {
    pub id: Uuid,
    pub title: String,
    pub kind: crate::work_item::WorkKind,
    pub state: crate::work_item::WorkState,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
}

impl ItemFact {
    pub(super) fn done_in(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> bool {
        self.state == crate::work_item::WorkState::Done
            && self.done_at.is_some_and(|d| d >= from && d < to)
    }

    /// Started → done, in days.
    pub fn cycle_days(&self) -> Option<f64> {
        let (s, d) = (self.started_at?, self.done_at?);
        Some((d - s).num_microseconds().unwrap_or(i64::MAX).max(0) as f64 / 1e6 / DAY)
    }
}

/// Flow metrics over one bucket.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FlowBucket {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Items done in the bucket.
    pub done: u64,
    pub cycle_time_median_days: Option<f64>,
    /// Bugs opened in the bucket.
    pub bugs_opened: u64,
    /// Bugs open at the bucket's end.
    pub bugs_open_at_end: u64,
    pub debt_items: u64,
}

/// Cycle time, throughput, production bugs and tech-debt share of a team or
/// project's work items.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FlowReport {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub bucket: Bucket,
    /// Items done in the range (throughput).
    pub done: u64,
    pub done_per_week: f64,
    /// Done items with a start: started → done, in days.
    pub cycle_time_items: u64,
    pub cycle_time_median_days: Option<f64>,
    pub cycle_time_p85_days: Option<f64>,
    /// Items of kind `bug` created in the range.
    pub bugs_opened: u64,
    pub bugs_opened_per_week: f64,
    /// Bugs created before the range's end and not done by then (cancelled
    /// ones are not counted).
    pub bugs_open_at_end: u64,
    /// Done items of kind `debt`.
    pub debt_items: u64,
    /// debt_items ÷ done, in percent.
    pub debt_item_percent: Option<f64>,
    /// Cycle days of the done items with a start, and of the debt ones.
    pub cycle_days: f64,
    pub debt_cycle_days: f64,
    pub debt_cycle_day_percent: Option<f64>,
    pub debt_target_percent: f64,
    /// The item share is below the target.
    pub debt_below_target: bool,
    pub buckets: Vec<FlowBucket>,
}

pub fn flow_report(range: &Range, items: &[ItemFact], debt_target_percent: f64) -> FlowReport {
    use crate::work_item::{WorkKind, WorkState};
    let bug_open_at = |i: &ItemFact, at: DateTime<Utc>| {
        i.kind == WorkKind::Bug
            && i.created_at < at
            && i.state != WorkState::Cancelled
            && i.done_at
                .is_none_or(|d| d >= at || i.state != WorkState::Done)
    };
    let bucket_of = |from: DateTime<Utc>, to: DateTime<Utc>| {
        let done: Vec<&ItemFact> = items.iter().filter(|i| i.done_in(from, to)).collect();
        let mut cycles: Vec<f64> = done.iter().filter_map(|i| i.cycle_days()).collect();
        (done, median(&mut cycles))
    };
    let buckets = range
        .buckets()
        .into_iter()
        .map(|(from, to)| {
            let (a, b) = (range.at(from), range.at(to));
            let (done, cycle) = bucket_of(a, b);
            FlowBucket {
                start: from,
                end: to,
                done: done.len() as u64,
                cycle_time_median_days: cycle,
                bugs_opened: items
                    .iter()
                    .filter(|i| i.kind == WorkKind::Bug && i.created_at >= a && i.created_at < b)
                    .count() as u64,
                bugs_open_at_end: items.iter().filter(|i| bug_open_at(i, b)).count() as u64,
                debt_items: done.iter().filter(|i| i.kind == WorkKind::Debt).count() as u64,
            }
        })
        .collect();
    let (a, b) = (range.start_at(), range.end_at());
    let done: Vec<&ItemFact> = items.iter().filter(|i| i.done_in(a, b)).collect();
    let mut cycles: Vec<f64> = done.iter().filter_map(|i| i.cycle_days()).collect();
    let cycle_days: f64 = cycles.iter().sum();
    let debt: Vec<&&ItemFact> = done.iter().filter(|i| i.kind == WorkKind::Debt).collect();
    let debt_cycle_days: f64 = debt.iter().filter_map(|i| i.cycle_days()).sum();
    let weeks = range.days() as f64 / 7.0;
    let bugs_opened = items
        .iter()
        .filter(|i| i.kind == WorkKind::Bug && i.created_at >= a && i.created_at < b)
        .count() as u64;
    let pct = |part: f64, whole: f64| (whole > 0.0).then(|| 100.0 * part / whole);
    let debt_item_percent = pct(debt.len() as f64, done.len() as f64);
    FlowReport {
        since: range.start,
        until: range.end.pred_opt().unwrap_or(range.end),
        bucket: range.bucket,
        done: done.len() as u64,
        done_per_week: done.len() as f64 / weeks,
        cycle_time_items: cycles.len() as u64,
        cycle_time_median_days: median(&mut cycles),
        cycle_time_p85_days: percentile(&mut cycles, 85.0),
        bugs_opened,
        bugs_opened_per_week: bugs_opened as f64 / weeks,
        bugs_open_at_end: items.iter().filter(|i| bug_open_at(i, b)).count() as u64,
        debt_items: debt.len() as u64,
        debt_item_percent,
        cycle_days,
        debt_cycle_days,
        debt_cycle_day_percent: pct(debt_cycle_days, cycle_days),
        debt_target_percent,
        debt_below_target: debt_item_percent.is_some_and(|p| p < debt_target_percent),
        buckets,
    }
}
