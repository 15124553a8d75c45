//! The tech-debt budget: the share of throughput spent on tech debt per four-
//! week period against the target, and the flag for consecutive periods below
//! it.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

/// One four-week period of the tech-debt budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DebtPeriod {
    /// First day (in the team's time zone), included.
    pub starts_on: NaiveDate,
    /// Last day (in the team's time zone), included.
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
/// `done_at`) inside the window count; the caller picks the team. An item's
/// day is its done instant's local date in `tz`, the team's zone, as `today`
/// is (docs/metrics.md, "Time zones").
pub fn debt_budget(
    done: &[WorkItem],
    today: NaiveDate,
    periods: u32,
    target_percent: f64,
    tz: chrono_tz::Tz,
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
                    .map(|d| crate::time::local_date(d, tz))
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
