//! The backlog: open items in backlog order.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

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
pub(super) fn backlog_order(a: &WorkItem, b: &WorkItem) -> Ordering {
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
