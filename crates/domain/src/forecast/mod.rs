//! Monte Carlo forecasts: when will a goal (and each of its stages) be done,
//! how likely is its deadline, and how much of it fits by then — from the
//! team's own throughput history, never from estimates.
//!
//! # API
//!
//! ```text
//! forecast(today, done_dates, targets, settings) -> Result<Forecast, DomainError>
//!
//! SimulationSettings { window_days: 84, trials: 10_000, holidays: [], min_history: 10,
//!                    confidence: 0.85, horizon_working_days: 1305, sharing: Even }
//!
//! Forecast::TooLittleHistory { done_in_window, needed, window_start, window_end }
//! Forecast::Ready { basis: ForecastBasis, targets: Vec<TargetForecast> }
//!
//! Target          { key, remaining, deadline, growth: ScopeGrowth, milestones: Vec<Milestone> }
//! ScopeGrowth     None | Weekly { added_per_week } | Range { min_per_week, max_per_week }
//! Milestone       { key, cumulative_items, deadline }
//! TargetForecast  { key, remaining, deadline, p50, p70, p85, p95, finished_within_horizon,
//!                   on_time_probability, cut_line, milestones: Vec<MilestoneForecast> }
//! MilestoneForecast { key, cumulative_items, deadline, p50 … cut_line } (the same fields)
//! ForecastBasis   { window_start, window_end, working_days_in_window, done_in_window,
//!                   mean_per_working_day, trials, confidence, sharing, horizon_end }
//! ```
//!
//! Dates are `Option<NaiveDate>` (`None`: not within the horizon);
//! `on_time_probability` and `cut_line` are `None` without a deadline (the
//! API turns that into a clear error when they are asked for).
//!
//! `Err` only for invalid settings or targets (each problem named by its
//! field). Helpers: [`ScopeGrowth::weekly_from_history`] turns the dates
//! items were added to a goal into weekly samples, and [`Target::staged`]
//! turns per-stage remaining counts into milestones.
//!
//! # The model
//!
//! * **Calendar.** Working days are Monday to Friday minus
//!   [`SimulationSettings::holidays`]. Weekends and holidays are left out of the
//!   history sample and of the simulated future alike.
//! * **History.** `done_dates` are the days the team's work items were done
//!   (in the team's time zone). The window is the `window_days` calendar days
//!   before `today` (today itself is unfinished and left out). Each working day
//!   in it is one sample: the number of items done that day. An item done on a
//!   weekend or holiday counts for the nearest earlier working day in the
//!   window (the next one when there is none), so no finished work is lost.
//!   With fewer than `min_history` items in the window the outcome is
//!   [`Forecast::TooLittleHistory`], never a date.
//! * **One trial.** The simulation starts the next working day after `today`.
//!   Each simulated working day takes the throughput of a working day drawn
//!   uniformly (with replacement) from the sample. A target is done on the
//!   first working day its done count reaches its scope; zero remaining work
//!   is done `today`.
//! * **Scope growth** ([`ScopeGrowth`]): for every 7 calendar days after
//!   `today`, one draw from the goal's observed items added per week (or from
//!   a configured range) is added to the goal's scope on the first working day
//!   of that week. New items queue behind the existing ones: they delay the
//!   goal's completion but not its milestones, and they never count towards
//!   the cut line. A finished goal no longer grows.
//! * **Stages** are sequential within a goal: a [`Milestone`] is reached on
//!   the day the goal's done count reaches `cumulative_items` (counted from
//!   today), so one simulation gives the goal's and its stages' dates.
//! * **Sharing** ([`Sharing`]): all targets of one call draw on the same team
//!   throughput. Each day's items are handed out one at a time:
//!   - `even` (default): in turn to each unfinished target, round-robin, the
//!     turn carried over from day to day. Goals in flight progress side by
//!     side; when one finishes, the others get its share.
//!   - `in_order`: to the first unfinished target in the order given (the
//!     caller's priority order). Later targets start when earlier ones finish.
//!
//!   Throughput left over on the day the last target finishes is not used.
//!   To forecast goals as if each had the whole team, call `forecast` once
//!   per goal.
//! * **Results.** For each target and milestone: the P50/P70/P85/P95 dates
//!   (nearest rank: the first day by which at least that share of trials was
//!   done); the probability of being done on a working day on or before the
//!   deadline; and the **cut line**: the largest `k` such that in at least
//!   `confidence` of the trials at least `k` of the remaining items (the
//!   milestone's `cumulative_items` for a milestone) were done by the
//!   deadline. A deadline already passed gives probability 0 and cut line 0.
//! * **Horizon.** A trial stops after `horizon_working_days` (default five
//!   years). A percentile that is not reached within it is `None`, and
//!   `finished_within_horizon` says what share of trials finished at all, so
//!   a team whose sampled throughput is mostly zero gets an explicit "not
//!   within the horizon", never an endless loop. A deadline beyond the horizon
//!   is judged at the horizon.
//!
//! # Determinism
//!
//! The seed is an FNV-1a hash of what the simulation draws from: `today`, the
//! window, the per-day history sample, the holidays that fall in the window or
//! the horizon, the number of trials and the horizon. The same data gives the
//! same answer, byte for byte. The targets (remaining work, deadlines, growth,
//! milestones, sharing) are deliberately *not* hashed: every what-if on the
//! same history uses the same random draws (common random numbers), so more
//! work never gives an earlier date and a later deadline never a lower
//! probability merely by chance. Each trial has its own `Pcg64Mcg`
//! generator (from `rand_pcg`), seeded in trial order by a `Pcg32` parent
//! seeded with the hash, so what one trial draws does not depend on how long
//! another one ran. Throughput and growth draw from separate generators.
//! Three days' throughput come from one 64-bit draw (21 bits each, mapped to
//! a sample day by multiply-shift: a bias of at most n / 2^21, 0.003 % for
//! twelve weeks, far below the Monte Carlo error).
//!
//! # Cost
//!
//! Three engines give the same answer for the same draws (the tests check
//! it), and `forecast` picks the fastest that applies:
//!
//! * **Walk** — no growth, or a single target. Without growth the order in
//!   which items are finished under the sharing rule does not depend on the
//!   draws, so it is worked out once per call, and a trial is a walk of the
//!   team's cumulative throughput against sorted thresholds, skipping three
//!   days at a time while nothing can happen. A single target's growth only
//!   moves its own end; it is drawn lazily, when the end is within reach.
//! * **Items** — several targets of which some grow. Items are handed out
//!   by the sharing rule, but only on days when a milestone or an end may be
//!   reached; in between they are counted and handed out in bulk.
//! * Every item on its day — the plain reference the tests hold the other
//!   two to.
//!
//! No allocation happens per trial; results are counted in per-day
//! histograms. No threads: the domain stays pure, and a caller may run
//! independent calls in parallel. See BENCHMARKS.md for timings.
//!
//! The code: `calendar` (working days, history sample), `seed` (input hash,
//! random streams), `plan` (worked out once per call, engine choice), `walk`
//! and `deal` (the engines), `summary` (tallies to dates). All private; the
//! public API is defined here.

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::{Pcg32, Pcg64Mcg};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};
use crate::string_enum;

mod calendar;
mod deal;
mod plan;
mod seed;
mod summary;
#[cfg(test)]
mod tests;
mod walk;

use self::calendar::*;
use self::deal::*;
use self::plan::*;
use self::seed::*;
use self::summary::*;
use self::walk::*;

/// Twelve weeks.
pub const DEFAULT_WINDOW_DAYS: u32 = 84;
pub const DEFAULT_TRIALS: u32 = 10_000;
pub const DEFAULT_MIN_HISTORY: usize = 10;
pub const DEFAULT_CONFIDENCE: f64 = 0.85;
/// Five years of working days (261 a year).
pub const DEFAULT_HORIZON_WORKING_DAYS: u32 = 5 * 261;

pub const MAX_WINDOW_DAYS: u32 = 3_660;
pub const MAX_TRIALS: u32 = 1_000_000;
/// Twenty years of working days.
pub const MAX_HORIZON_WORKING_DAYS: u32 = 20 * 261;
/// The most remaining items of one target, and the most items in one week's
/// growth.
pub const MAX_ITEMS: u32 = 100_000;
/// Room for the longest window's working days (a power of two).
const SAMPLE_SLOTS: usize = 4096;
const _: () = assert!(MAX_WINDOW_DAYS as usize <= SAMPLE_SLOTS);

/// The most targets in one call.
pub const MAX_TARGETS: usize = 200;
/// The most targets plus milestones in one call.
pub const MAX_GOALPOSTS: usize = 1_000;
/// The most remaining items of all targets of one call together.
pub const MAX_TOTAL_ITEMS: u64 = 1_000_000;
/// The most trials × (targets + milestones) in one call: bounds the memory
/// and time one call may take.
pub const MAX_TRIAL_POSTS: u64 = 20_000_000;
/// The most weekly growth observations of one target.
pub const MAX_GROWTH_WEEKS: usize = 10_000;

/// The percentiles reported, in percent.
const PERCENTILES: [u64; 4] = [50, 70, 85, 95];

string_enum! {
    /// How the targets of one call share the team's daily throughput.
    #[derive(Default)]
    Sharing {
        /// Round-robin over the unfinished targets, one item at a time.
        #[default]
        Even => "even",
        /// All to the first unfinished target, in the order given.
        InOrder => "in_order",
    }
}

/// How a forecast is run. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SimulationSettings {
    /// Calendar days of history before today (default 84, twelve weeks).
    pub window_days: u32,
    /// Simulated futures (default 10,000).
    pub trials: u32,
    /// Non-working days besides weekends, in the past and the future.
    pub holidays: Vec<NaiveDate>,
    /// Fewer done items than this in the window gives `too_little_history`
    /// (default 10).
    pub min_history: usize,
    /// The confidence of the cut line, in (0, 1] (default 0.85).
    pub confidence: f64,
    /// The longest simulated future, in working days (default 1305, five
    /// years).
    pub horizon_working_days: u32,
    pub sharing: Sharing,
}

impl Default for SimulationSettings {
    fn default() -> Self {
        Self {
            window_days: DEFAULT_WINDOW_DAYS,
            trials: DEFAULT_TRIALS,
            holidays: Vec::new(),
            min_history: DEFAULT_MIN_HISTORY,
            confidence: DEFAULT_CONFIDENCE,
            horizon_working_days: DEFAULT_HORIZON_WORKING_DAYS,
            sharing: Sharing::Even,
        }
    }
}

impl SimulationSettings {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if !(1..=MAX_WINDOW_DAYS).contains(&self.window_days) {
            p.push(
                "window_days",
                format!("must be between 1 and {MAX_WINDOW_DAYS}"),
            );
        }
        if !(1..=MAX_TRIALS).contains(&self.trials) {
            p.push("trials", format!("must be between 1 and {MAX_TRIALS}"));
        }
        if self.min_history == 0 {
            p.push("min_history", "must be at least 1");
        }
        if !(self.confidence > 0.0 && self.confidence <= 1.0) {
            p.push("confidence", "must be greater than 0 and at most 1");
        }
        if !(1..=MAX_HORIZON_WORKING_DAYS).contains(&self.horizon_working_days) {
            p.push(
                "horizon_working_days",
                format!("must be between 1 and {MAX_HORIZON_WORKING_DAYS}"),
            );
        }
        p.into_result()
    }
}

/// One thing to forecast: a goal, or any other body of remaining work.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// Names the target in the result (a goal id, for example). Unique per
    /// call.
    pub key: String,
    /// Work items not done yet.
    pub remaining: u32,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
    #[serde(default)]
    pub growth: ScopeGrowth,
    /// Stage ends, in any order.
    #[serde(default)]
    pub milestones: Vec<Milestone>,
}

/// How a target's scope grows while it is worked on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScopeGrowth {
    /// The scope is fixed.
    #[default]
    None,
    /// Items added to the goal in each observed week; one of them is drawn
    /// for every simulated week.
    Weekly { added_per_week: Vec<u32> },
    /// A uniform draw from `min_per_week..=max_per_week` for every simulated
    /// week.
    Range {
        min_per_week: u32,
        max_per_week: u32,
    },
}

/// The end of a stage: reached when the goal's done count, counted from
/// today, reaches `cumulative_items` (this stage's remaining items plus those
/// of every stage before it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Milestone {
    /// Unique within its target.
    pub key: String,
    pub cumulative_items: u32,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
}

/// One stage's remaining work, for [`Target::staged`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageWork {
    pub key: String,
    pub remaining: u32,
    pub deadline: Option<NaiveDate>,
}

impl Target {
    /// A target whose stages are worked in the order given: its remaining
    /// work is the sum of theirs and each stage becomes a milestone.
    pub fn staged(
        key: impl Into<String>,
        deadline: Option<NaiveDate>,
        growth: ScopeGrowth,
        stages: &[StageWork],
    ) -> Target {
        let mut cumulative = 0u32;
        let milestones = stages
            .iter()
            .map(|s| {
                cumulative = cumulative.saturating_add(s.remaining);
                Milestone {
                    key: s.key.clone(),
                    cumulative_items: cumulative,
                    deadline: s.deadline,
                }
            })
            .collect();
        Target {
            key: key.into(),
            remaining: cumulative,
            deadline,
            growth,
            milestones,
        }
    }

    fn check(&self, at: &str, p: &mut Problems) {
        if self.key.trim().is_empty() {
            p.push(format!("{at}.key"), "must not be empty");
        }
        if self.remaining > MAX_ITEMS {
            p.push(
                format!("{at}.remaining"),
                format!("must be at most {MAX_ITEMS}"),
            );
        }
        match &self.growth {
            ScopeGrowth::None => {}
            ScopeGrowth::Weekly { added_per_week } => {
                if added_per_week.len() > MAX_GROWTH_WEEKS {
                    p.push(
                        format!("{at}.growth.added_per_week"),
                        format!("must have at most {MAX_GROWTH_WEEKS} weeks"),
                    );
                }
                if let Some(i) = added_per_week.iter().position(|&n| n > MAX_ITEMS) {
                    p.push(
                        format!("{at}.growth.added_per_week[{i}]"),
                        format!("must be at most {MAX_ITEMS}"),
                    );
                }
            }
            ScopeGrowth::Range {
                min_per_week,
                max_per_week,
            } => {
                if min_per_week > max_per_week {
                    p.push(
                        format!("{at}.growth.min_per_week"),
                        format!("{min_per_week} is more than max_per_week {max_per_week}"),
                    );
                }
                if *max_per_week > MAX_ITEMS {
                    p.push(
                        format!("{at}.growth.max_per_week"),
                        format!("must be at most {MAX_ITEMS}"),
                    );
                }
            }
        }
        for (j, m) in self.milestones.iter().enumerate() {
            if m.key.trim().is_empty() {
                p.push(format!("{at}.milestones[{j}].key"), "must not be empty");
            } else if self.milestones[..j].iter().any(|o| o.key == m.key) {
                p.push(
                    format!("{at}.milestones[{j}].key"),
                    format!("{:?} is used by another milestone of this target", m.key),
                );
            }
            if m.cumulative_items > self.remaining {
                p.push(
                    format!("{at}.milestones[{j}].cumulative_items"),
                    format!(
                        "{} is more than the target's remaining {}",
                        m.cumulative_items, self.remaining
                    ),
                );
            }
        }
    }
}

impl ScopeGrowth {
    /// Items added per full week since `since` (the day the goal started),
    /// from the days its items were added; weeks with nothing added count as
    /// zero. Additions before `since` or on or after `today` are ignored.
    /// Before one full week has passed there is nothing to sample: `None`.
    pub fn weekly_from_history(
        since: NaiveDate,
        today: NaiveDate,
        added_on: &[NaiveDate],
    ) -> ScopeGrowth {
        let weeks = usize::try_from((today - since).num_days().max(0) / 7)
            .unwrap_or(0)
            .min(MAX_GROWTH_WEEKS);
        if weeks == 0 {
            return ScopeGrowth::None;
        }
        let mut added_per_week = vec![0u32; weeks];
        for day in added_on {
            let offset = (*day - since).num_days();
            if offset < 0 {
                continue;
            }
            let week = usize::try_from(offset / 7).unwrap_or(usize::MAX);
            if let Some(n) = added_per_week.get_mut(week) {
                *n = n.saturating_add(1).min(MAX_ITEMS);
            }
        }
        ScopeGrowth::Weekly { added_per_week }
    }
}

/// The result of one call.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Forecast {
    /// Too few items were done in the window to forecast from.
    TooLittleHistory {
        done_in_window: usize,
        needed: usize,
        window_start: NaiveDate,
        /// The last day of the window (the day before today).
        window_end: NaiveDate,
    },
    Ready {
        basis: ForecastBasis,
        /// In the order the targets were given.
        targets: Vec<TargetForecast>,
    },
}

impl Forecast {
    /// The target forecasts, when there are any.
    pub fn targets(&self) -> Option<&[TargetForecast]> {
        match self {
            Forecast::Ready { targets, .. } => Some(targets),
            Forecast::TooLittleHistory { .. } => None,
        }
    }
}

/// What a forecast was made from.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ForecastBasis {
    pub window_start: NaiveDate,
    /// The last day of the window (the day before today).
    pub window_end: NaiveDate,
    pub working_days_in_window: u32,
    pub done_in_window: usize,
    pub mean_per_working_day: f64,
    pub trials: u32,
    pub confidence: f64,
    pub sharing: Sharing,
    /// The last simulated working day.
    pub horizon_end: NaiveDate,
}

/// The forecast of one target.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct TargetForecast {
    pub key: String,
    pub remaining: u32,
    pub deadline: Option<NaiveDate>,
    /// Done by this day in half of the trials; `None` when not within the
    /// horizon. Likewise `p70`, `p85`, `p95`.
    pub p50: Option<NaiveDate>,
    pub p70: Option<NaiveDate>,
    pub p85: Option<NaiveDate>,
    pub p95: Option<NaiveDate>,
    /// The share of trials that finished within the horizon.
    pub finished_within_horizon: f64,
    /// `None` when there is no deadline.
    pub on_time_probability: Option<f64>,
    /// How many of the remaining items are done by the deadline with the
    /// configured confidence; `None` when there is no deadline.
    pub cut_line: Option<u32>,
    /// In the order the milestones were given.
    pub milestones: Vec<MilestoneForecast>,
}

/// The forecast of one milestone (stage end).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct MilestoneForecast {
    pub key: String,
    pub cumulative_items: u32,
    pub deadline: Option<NaiveDate>,
    pub p50: Option<NaiveDate>,
    pub p70: Option<NaiveDate>,
    pub p85: Option<NaiveDate>,
    pub p95: Option<NaiveDate>,
    pub finished_within_horizon: f64,
    pub on_time_probability: Option<f64>,
    /// How many of the milestone's `cumulative_items` are done by its
    /// deadline with the configured confidence.
    pub cut_line: Option<u32>,
}

/// Forecasts every target from the team's throughput history. See the module
/// documentation for the model.
pub fn forecast(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    targets: &[Target],
    settings: &SimulationSettings,
) -> Result<Forecast, DomainError> {
    validate(targets, settings)?;
    Ok(run(today, done_dates, targets, settings, None))
}

fn validate(targets: &[Target], settings: &SimulationSettings) -> Result<(), DomainError> {
    settings.validate()?;
    let mut p = Problems::new();
    let posts: usize = targets.iter().map(|t| 1 + t.milestones.len()).sum();
    let items: u64 = targets.iter().map(|t| u64::from(t.remaining)).sum();
    if targets.len() > MAX_TARGETS {
        p.push(
            "targets",
            format!(
                "{} targets; at most {MAX_TARGETS} are allowed",
                targets.len()
            ),
        );
    } else if posts > MAX_GOALPOSTS {
        p.push(
            "targets",
            format!("{posts} targets and milestones; at most {MAX_GOALPOSTS} are allowed"),
        );
    } else if items > MAX_TOTAL_ITEMS {
        p.push(
            "targets",
            format!("{items} remaining items in all; at most {MAX_TOTAL_ITEMS} are allowed"),
        );
    } else if u64::from(settings.trials) * posts as u64 > MAX_TRIAL_POSTS {
        p.push(
            "trials",
            format!(
                "{} trials × {posts} targets and milestones is more than {MAX_TRIAL_POSTS}",
                settings.trials
            ),
        );
    }
    for (i, t) in targets.iter().enumerate() {
        let at = format!("targets[{i}]");
        t.check(&at, &mut p);
        if !t.key.trim().is_empty() && targets[..i].iter().any(|o| o.key == t.key) {
            p.push(
                format!("{at}.key"),
                format!("{:?} is used by another target", t.key),
            );
        }
    }
    p.into_result()
}
