//! The cost of yes: what saying yes to a request does to the work already
//! promised. The team's Monte Carlo forecast ([`crate::forecast`]) is run
//! twice on the same history — as it is, and with the request inserted —
//! and every goal's on-time probability and P85 date are compared.
//!
//! # Where the request goes (written rules)
//!
//! The team's forecast shares each day's throughput evenly (round-robin)
//! among the goals in flight. The request joins that round-robin with a
//! number of **shares** set by the priority it is placed at:
//!
//! | priority | shares | meaning |
//! |---|---|---|
//! | P0 | as many as there are goals (at least 1) | half of the team's throughput until it is done |
//! | P1 | 2 | twice a goal's share |
//! | P2 | 1 | one more goal in flight |
//! | P3 | 0 | waits until the goals in flight are done: they do not move |
//!
//! A request of `s` items with `k` shares is `k` targets of `s / k` items
//! (the remainder spread one each), so it is handed `k` items per round of
//! the round-robin while it lasts. `k` is at most `s`.
//!
//! **Size**: a number of items, or a range `size..=size_max`. A range is
//! forecast at both ends: `after` is the top of the range (the honest side
//! for promises), `after_low` the bottom.
//!
//! The draws are the same in every run (the forecast's seed depends on the
//! history only, "common random numbers"), so a difference between before
//! and after comes from the request, not from chance.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};
use crate::forecast::{self, Forecast, SimulationSettings, Target, TargetForecast};
use crate::work_item::Priority;

/// The key prefix of the request's targets (goal keys are UUIDs).
const REQUEST_KEY: &str = "request";

/// Where and how big the request is placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Placement {
    pub priority: Priority,
    /// Items (the bottom of the range when `size_max` is given).
    pub size: u32,
    /// The top of the range, when the size is a range.
    pub size_max: Option<u32>,
}

impl Placement {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if !(1..=forecast::MAX_ITEMS).contains(&self.size) {
            p.push(
                "size",
                format!("must be between 1 and {} items", forecast::MAX_ITEMS),
            );
        }
        if let Some(max) = self.size_max {
            if max < self.size {
                p.push("size_max", format!("{max} is less than size {}", self.size));
            } else if max > forecast::MAX_ITEMS {
                p.push(
                    "size_max",
                    format!("must be at most {} items", forecast::MAX_ITEMS),
                );
            }
        }
        p.into_result()
    }

    /// The request's shares of the round-robin among `goals` goals.
    pub fn shares(priority: Priority, goals: usize) -> u32 {
        match priority {
            Priority::P0 => u32::try_from(goals.max(1)).unwrap_or(u32::MAX),
            Priority::P1 => 2,
            Priority::P2 => 1,
            Priority::P3 => 0,
        }
    }

    /// The rule in words.
    pub fn rule(priority: Priority) -> &'static str {
        match priority {
            Priority::P0 => "P0: half of the team's throughput until it is done",
            Priority::P1 => "P1: twice a goal's share of the team's throughput",
            Priority::P2 => "P2: one more goal in flight, an equal share",
            Priority::P3 => "P3: waits until the goals in flight are done; they do not move",
        }
    }
}

/// A goal's outlook: how likely on time, and the P85 date.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Outlook {
    /// None without a deadline.
    pub on_time_probability: Option<f64>,
    /// None when not within the forecast's horizon.
    pub p85: Option<NaiveDate>,
}

impl Outlook {
    fn of(t: &TargetForecast) -> Self {
        Outlook {
            on_time_probability: t.on_time_probability,
            p85: t.p85,
        }
    }
}

/// What saying yes does to one goal.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GoalCost {
    /// The goal's target key (its id).
    pub key: String,
    pub title: String,
    pub deadline: Option<NaiveDate>,
    pub before: Outlook,
    /// At the top of the size range.
    pub after: Outlook,
    /// At the bottom of the range, when the size is a range.
    pub after_low: Option<Outlook>,
    /// Calendar days the P85 date moves (after − before); none when either
    /// is beyond the horizon.
    pub p85_shift_days: Option<i64>,
    /// "Checkout conversion: 92 % → 61 % on time, P85 2026-05-04 → 2026-05-13 (+9 days)".
    pub summary: String,
}

/// The cost of yes, or why there is none.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CostOutcome {
    /// Too little history to forecast: no figures are given.
    TooLittleHistory { message: String },
    Ready {
        /// How the request was placed, in words.
        rule: String,
        /// The request's shares of the round-robin.
        shares: u32,
        /// Every goal in flight, in the forecast's order.
        goals: Vec<GoalCost>,
    },
}

fn percent(p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{:.0} %", p * 100.0),
        None => "no deadline".to_owned(),
    }
}

fn date(d: Option<NaiveDate>) -> String {
    d.map_or_else(|| "beyond the horizon".to_owned(), |d| d.to_string())
}

/// The targets with the request inserted at `priority` with `size` items.
pub fn insert(targets: &[Target], priority: Priority, size: u32) -> Vec<Target> {
    let mut out = targets.to_vec();
    let shares = Placement::shares(priority, targets.len()).min(size);
    if shares == 0 {
        return out;
    }
    let (base, extra) = (size / shares, size % shares);
    for i in 0..shares {
        out.push(Target {
            key: format!("{REQUEST_KEY}-{i}"),
            remaining: base + u32::from(i < extra),
            deadline: None,
            growth: forecast::ScopeGrowth::None,
            milestones: Vec::new(),
        });
    }
    out
}

/// The cost of yes and the forecasts behind its `after` (at the top of the
/// range; the goals' targets only), for callers that derive more from them
/// (what could be postponed to make room).
#[derive(Debug, Clone, PartialEq)]
pub struct CostRun {
    pub outcome: CostOutcome,
    pub after: Vec<TargetForecast>,
}

/// Runs the team's forecast before and after inserting the request.
/// `titles[i]` names `targets[i]`.
pub fn cost_of_yes(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    targets: &[Target],
    titles: &[String],
    placement: Placement,
    settings: &SimulationSettings,
) -> Result<CostOutcome, DomainError> {
    run(today, done_dates, targets, titles, placement, settings).map(|r| r.outcome)
}

/// [`cost_of_yes`] with the forecasts behind it.
pub fn run(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    targets: &[Target],
    titles: &[String],
    placement: Placement,
    settings: &SimulationSettings,
) -> Result<CostRun, DomainError> {
    placement.validate()?;
    let before = forecast::forecast(today, done_dates, targets, settings)?;
    let Forecast::Ready {
        targets: before, ..
    } = before
    else {
        let Forecast::TooLittleHistory {
            done_in_window,
            needed,
            window_start,
            window_end,
        } = before
        else {
            unreachable!()
        };
        return Ok(CostRun {
            outcome: CostOutcome::TooLittleHistory {
                message: format!(
                    "only {done_in_window} items were done between {window_start} and {window_end}; \
                     at least {needed} are needed to forecast, so the cost of yes cannot be shown"
                ),
            },
            after: Vec::new(),
        });
    };
    let run_at = |size: u32| -> Result<Vec<TargetForecast>, DomainError> {
        let inserted = insert(targets, placement.priority, size);
        Ok(forecast::forecast(today, done_dates, &inserted, settings)?
            .targets()
            .map(<[TargetForecast]>::to_vec)
            .unwrap_or_default())
    };
    let top = placement.size_max.unwrap_or(placement.size);
    let after = run_at(top)?;
    let after_low = match placement.size_max {
        Some(max) if max != placement.size => Some(run_at(placement.size)?),
        _ => None,
    };
    let find = |list: &[TargetForecast], key: &str| list.iter().find(|t| t.key == key).cloned();
    let mut goals = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let (Some(b), Some(a)) = (find(&before, &t.key), find(&after, &t.key)) else {
            continue;
        };
        let title = titles.get(i).cloned().unwrap_or_else(|| t.key.clone());
        let (bo, ao) = (Outlook::of(&b), Outlook::of(&a));
        let shift = match (bo.p85, ao.p85) {
            (Some(x), Some(y)) => Some((y - x).num_days()),
            _ => None,
        };
        let shift_text = match shift {
            Some(0) => " (no change)".to_owned(),
            Some(d) => format!(" ({d:+} days)"),
            None => String::new(),
        };
        let summary = format!(
            "{title}: {} → {} on time, P85 {} → {}{shift_text}",
            percent(bo.on_time_probability),
            percent(ao.on_time_probability),
            date(bo.p85),
            date(ao.p85),
        );
        goals.push(GoalCost {
            key: t.key.clone(),
            title,
            deadline: t.deadline,
            before: bo,
            after: ao,
            after_low: after_low
                .as_deref()
                .and_then(|l| find(l, &t.key))
                .map(|l| Outlook::of(&l)),
            p85_shift_days: shift,
            summary,
        });
    }
    let after = after
        .into_iter()
        .filter(|t| !t.key.starts_with(REQUEST_KEY))
        .collect();
    Ok(CostRun {
        outcome: CostOutcome::Ready {
            rule: Placement::rule(placement.priority).to_owned(),
            shares: Placement::shares(placement.priority, targets.len()).min(top),
            goals,
        },
        after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, d).unwrap()
    }

    /// Two items done every working day for twelve weeks.
    fn history(today: NaiveDate) -> Vec<NaiveDate> {
        let mut out = Vec::new();
        let mut d = today - chrono::Days::new(84);
        while d < today {
            use chrono::Datelike;
            if d.weekday().num_days_from_monday() < 5 {
                out.push(d);
                out.push(d);
            }
            d = d.succ_opt().unwrap();
        }
        out
    }

    fn goal(key: &str, remaining: u32, deadline: NaiveDate) -> Target {
        Target {
            key: key.into(),
            remaining,
            deadline: Some(deadline),
            growth: forecast::ScopeGrowth::None,
            milestones: Vec::new(),
        }
    }

    #[test]
    fn shares_follow_the_written_rules() {
        let ts = vec![goal("a", 10, day(6, 1)), goal("b", 10, day(6, 1))];
        let keys = |p, s| -> Vec<(String, u32)> {
            insert(&ts, p, s)
                .into_iter()
                .skip(2)
                .map(|t| (t.key, t.remaining))
                .collect()
        };
        assert_eq!(
            keys(Priority::P0, 5),
            [("request-0".into(), 3), ("request-1".into(), 2)]
        );
        assert_eq!(keys(Priority::P1, 1), [("request-0".into(), 1)]);
        assert_eq!(keys(Priority::P2, 7), [("request-0".into(), 7)]);
        assert!(keys(Priority::P3, 7).is_empty());
    }

    #[test]
    fn saying_yes_costs_the_goals_time_and_more_at_a_higher_priority() {
        let today = day(3, 5);
        let ts = vec![goal("a", 40, day(4, 3)), goal("b", 30, day(4, 17))];
        let titles = vec!["Checkout".to_owned(), "Search".to_owned()];
        let h = history(today);
        let s = SimulationSettings {
            trials: 2_000,
            ..SimulationSettings::default()
        };
        let cost = |p, size, max| {
            let CostOutcome::Ready { goals, .. } = cost_of_yes(
                today,
                &h,
                &ts,
                &titles,
                Placement {
                    priority: p,
                    size,
                    size_max: max,
                },
                &s,
            )
            .unwrap() else {
                panic!("history is enough")
            };
            goals
        };
        let p2 = cost(Priority::P2, 20, None);
        let p0 = cost(Priority::P0, 20, None);
        let p3 = cost(Priority::P3, 20, None);
        for (i, g) in p2.iter().enumerate() {
            assert!(g.p85_shift_days.unwrap() > 0, "{}", g.summary);
            assert!(p0[i].p85_shift_days.unwrap() >= g.p85_shift_days.unwrap());
            assert_eq!(p3[i].before, p3[i].after);
            assert_eq!(p3[i].p85_shift_days, Some(0));
        }
        assert!(p2[0].summary.starts_with("Checkout: "), "{}", p2[0].summary);
        // A range: the top is the worse end.
        let r = cost(Priority::P2, 5, Some(40));
        let low = r[0].after_low.unwrap();
        assert!(low.p85 <= r[0].after.p85);
        assert_eq!(r[0].after, cost(Priority::P2, 40, None)[0].after);
    }

    #[test]
    fn bad_sizes_and_short_history_are_said() {
        let today = day(3, 5);
        let ts = vec![goal("a", 4, day(4, 3))];
        let s = SimulationSettings::default();
        let bad = Placement {
            priority: Priority::P2,
            size: 0,
            size_max: Some(0),
        };
        let err = cost_of_yes(today, &[], &ts, &[], bad, &s).unwrap_err();
        assert_eq!(err.fields(), vec!["size"]);
        let bad = Placement {
            priority: Priority::P2,
            size: 5,
            size_max: Some(2),
        };
        assert_eq!(
            cost_of_yes(today, &[], &ts, &[], bad, &s)
                .unwrap_err()
                .fields(),
            vec!["size_max"]
        );
        let ok = Placement {
            priority: Priority::P2,
            size: 5,
            size_max: None,
        };
        assert!(matches!(
            cost_of_yes(today, &[today], &ts, &[], ok, &s).unwrap(),
            CostOutcome::TooLittleHistory { .. }
        ));
    }
}
