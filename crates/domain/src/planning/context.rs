//! Context on every task: the goal a task serves and the success metric's
//! current and target value.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

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

pub(super) fn with_unit(v: f64, unit: &str) -> String {
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
