//! Monte Carlo forecasts: when will a goal (and each of its stages) be done,
//! how likely is its deadline, and how much of it fits by then — from the
//! team's own throughput history, never from estimates.
//!
//! # API
//!
//! ```text
//! forecast(today, done_dates, targets, settings) -> Result<Forecast, DomainError>
//!
//! ForecastSettings { window_days: 84, trials: 10_000, holidays: [], min_history: 10,
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
//!   [`ForecastSettings::holidays`]. Weekends and holidays are left out of the
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

use chrono::{Datelike, Days, NaiveDate, Weekday};
use rand_pcg::rand_core::{Rng, SeedableRng};
use rand_pcg::{Pcg32, Pcg64Mcg};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};
use crate::string_enum;

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
pub struct ForecastSettings {
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

impl Default for ForecastSettings {
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

impl ForecastSettings {
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
    settings: &ForecastSettings,
) -> Result<Forecast, DomainError> {
    validate(targets, settings)?;
    Ok(run(today, done_dates, targets, settings, None))
}

fn validate(targets: &[Target], settings: &ForecastSettings) -> Result<(), DomainError> {
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

// ---------------------------------------------------------------------------
// Calendar and history
// ---------------------------------------------------------------------------

fn is_working_day(day: NaiveDate, holidays: &[NaiveDate]) -> bool {
    !matches!(day.weekday(), Weekday::Sat | Weekday::Sun) && holidays.binary_search(&day).is_err()
}

/// `days[0]` is today, `days[1..]` the working days after it, at most
/// `count` of them (fewer only at the end of the representable dates).
fn future_working_days(today: NaiveDate, count: u32, holidays: &[NaiveDate]) -> Vec<NaiveDate> {
    let mut days = Vec::with_capacity(count as usize + 1);
    days.push(today);
    let mut day = today;
    while days.len() <= count as usize {
        let Some(next) = day.succ_opt() else { break };
        day = next;
        if is_working_day(day, holidays) {
            days.push(day);
        }
    }
    days
}

/// For each simulated day, how many 7-day periods after today end on it or
/// since the previous working day: the growth draws made that day.
fn week_starts(calendar: &[NaiveDate]) -> Vec<u8> {
    let today = calendar[0];
    let week = |d: NaiveDate| (d - today).num_days() / 7;
    let mut v = vec![0u8; calendar.len()];
    for d in 1..calendar.len() {
        v[d] = u8::try_from(week(calendar[d]) - week(calendar[d - 1])).unwrap_or(u8::MAX);
    }
    v
}

#[derive(Debug)]
struct History {
    window_start: NaiveDate,
    window_end: NaiveDate,
    /// Items done on each working day of the window, oldest first.
    sample: Vec<u32>,
    done: usize,
}

fn history(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    window_days: u32,
    holidays: &[NaiveDate],
) -> History {
    let window_start = today
        .checked_sub_days(Days::new(u64::from(window_days)))
        .unwrap_or(NaiveDate::MIN);
    let window_end = today.pred_opt().unwrap_or(today);
    let len = usize::try_from((today - window_start).num_days()).unwrap_or(0);
    let mut per_day = vec![0u32; len];
    for &day in done_dates {
        if day >= window_start && day < today {
            let i = usize::try_from((day - window_start).num_days()).unwrap_or(0);
            per_day[i] = per_day[i].saturating_add(1);
        }
    }
    let mut sample: Vec<u32> = Vec::with_capacity(len);
    let mut before_first = 0u32;
    let mut day = window_start;
    for &count in &per_day {
        if is_working_day(day, holidays) {
            sample.push(count.saturating_add(before_first));
            before_first = 0;
        } else if let Some(last) = sample.last_mut() {
            *last = last.saturating_add(count);
        } else {
            before_first = before_first.saturating_add(count);
        }
        day = day.succ_opt().unwrap_or(day);
    }
    let done = sample.iter().map(|&n| n as usize).sum();
    History {
        window_start,
        window_end,
        sample,
        done,
    }
}

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/// FNV-1a, 64 bits: stable across platforms and releases, unlike std's
/// `RandomState`.
#[derive(Debug)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    fn date(&mut self, d: NaiveDate) {
        self.u64(d.num_days_from_ce() as u64);
    }
}

fn input_seed(
    today: NaiveDate,
    history: &History,
    calendar: &[NaiveDate],
    holidays: &[NaiveDate],
    settings: &ForecastSettings,
) -> u64 {
    let mut h = Fnv::new();
    h.bytes(b"tandem.forecast.v1");
    h.date(today);
    h.date(history.window_start);
    h.u64(history.sample.len() as u64);
    for &n in &history.sample {
        h.u64(u64::from(n));
    }
    let last = calendar.last().copied().unwrap_or(today);
    for &d in holidays {
        if d >= history.window_start && d <= last {
            h.date(d);
        }
    }
    h.u64(u64::from(settings.trials));
    h.u64(u64::from(settings.horizon_working_days));
    h.0
}

/// Distinguishes the growth generators from the throughput ones.
const GROWTH_STREAM: u64 = 0x6772_6f77_7468_0001;
const THROUGHPUT_STREAM: u64 = 0x7468_726f_7567_6801;

/// Hands each trial its own generator, in trial order: a `Pcg32` parent
/// seeded from the input seed gives each `Pcg64Mcg` child its 128-bit state
/// (a different algorithm for the parent, as `rand_core` advises). The
/// parent's draws per trial are fixed, so what a trial draws does not depend
/// on how long earlier trials ran.
#[derive(Debug)]
struct Streams(Pcg32);

impl Streams {
    fn new(seed: u64, stream: u64) -> Self {
        Streams(Pcg32::seed_from_u64(seed ^ stream))
    }

    #[inline]
    fn next_trial(&mut self) -> Pcg64Mcg {
        let high = u128::from(self.0.next_u64());
        let low = u128::from(self.0.next_u64());
        Pcg64Mcg::new(high << 64 | low)
    }
}

/// Uniform in `0..n` from 32 random bits (multiply-shift; the bias, at most
/// n / 2^32, is far below the Monte Carlo error). Used for growth draws.
#[inline(always)]
fn below(bits: u32, n: u64) -> usize {
    ((u64::from(bits) * n) >> 32) as usize
}

// ---------------------------------------------------------------------------
// The plan: everything worked out once per call
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Due {
    None,
    Passed,
    /// The last simulated working day on or before the deadline (0: today).
    Day(u32),
}

/// A target's end or one of its milestones: something with a date.
#[derive(Debug)]
struct Post {
    target: usize,
    /// Done items of the target that reach it (for the target's end: its
    /// remaining work, before growth).
    count: u32,
    due: Due,
}

#[derive(Debug, Clone, Copy)]
enum Growth<'a> {
    None,
    Weekly(&'a [u32]),
    Range { min: u32, span: u64 },
}

impl<'a> Growth<'a> {
    fn of(g: &'a ScopeGrowth) -> Self {
        match g {
            ScopeGrowth::Weekly { added_per_week } if added_per_week.iter().any(|&n| n > 0) => {
                Growth::Weekly(added_per_week)
            }
            ScopeGrowth::Range {
                min_per_week,
                max_per_week,
            } if *max_per_week > 0 => Growth::Range {
                min: *min_per_week,
                span: u64::from(max_per_week - min_per_week) + 1,
            },
            _ => Growth::None,
        }
    }

    #[inline]
    fn draw(self, rng: &mut Pcg64Mcg) -> u64 {
        match self {
            Growth::None => 0,
            Growth::Weekly(weeks) => u64::from(weeks[below(rng.next_u32(), weeks.len() as u64)]),
            Growth::Range { min, span } => u64::from(min) + below(rng.next_u32(), span) as u64,
        }
    }
}

#[derive(Debug)]
struct Plan<'a> {
    h: u32,
    /// The history sample, padded with zeros to [`SAMPLE_SLOTS`] so that an
    /// index masked to the table needs no bounds check in the hot loop.
    sample: Box<[u32; SAMPLE_SLOTS]>,
    n: u64,
    trials: u32,
    seed: u64,
    sharing: Sharing,
    remaining: Vec<u32>,
    growth: Vec<Growth<'a>>,
    /// Week boundaries crossed on each simulated day (empty without growth).
    growth_draws: Vec<u8>,
    posts: Vec<Post>,
    /// Index of each target's own post; its milestones follow it.
    target_post: Vec<usize>,
}

impl Plan<'_> {
    fn any_growth(&self) -> bool {
        self.growth.iter().any(|g| !matches!(g, Growth::None))
    }

    /// Adds whole blocks of three days to `s` and `d` while the block ends
    /// before day `until` and `s` stays below `limit`; returns the first
    /// block that does not. Kept apart so its few variables stay in
    /// registers: this loop is where the time goes.
    #[inline(always)]
    fn skip(
        &self,
        rng: &mut Pcg64Mcg,
        s: &mut u64,
        d: &mut u32,
        until: u32,
        limit: u64,
    ) -> [u64; 3] {
        let (mut sum_so_far, mut day) = (*s, *d);
        let block = loop {
            let block = self.three_days(rng);
            let sum = block[0] + block[1] + block[2];
            if day + 3 < until && sum_so_far + sum < limit {
                sum_so_far += sum;
                day += 3;
            } else {
                break block;
            }
        };
        (*s, *d) = (sum_so_far, day);
        block
    }

    /// Throughput of three consecutive days from one random number: 21
    /// random bits each, mapped to a day of the sample by multiply-shift
    /// (the bias, at most n / 2^21 — 0.003 % for twelve weeks — is far below
    /// the Monte Carlo error).
    #[inline(always)]
    fn three_days(&self, rng: &mut Pcg64Mcg) -> [u64; 3] {
        const MASK: u64 = (1 << 21) - 1;
        let r = rng.next_u64();
        // The index is below n ≤ SAMPLE_SLOTS; the mask only tells the
        // compiler so.
        let day = |bits: u64| {
            u64::from(self.sample[((((bits & MASK) * self.n) >> 21) as usize) & (SAMPLE_SLOTS - 1)])
        };
        [day(r), day(r >> 21), day(r >> 42)]
    }
}

/// For each target, the cumulative team throughput at which each of its
/// items is done, when the scope is fixed. The sharing rule hands items out
/// in an order that does not depend on how many arrive per day.
fn item_thresholds(remaining: &[u32], sharing: Sharing) -> Vec<Vec<u32>> {
    let mut items: Vec<Vec<u32>> = remaining
        .iter()
        .map(|&r| Vec::with_capacity(r as usize))
        .collect();
    let mut s = 0u32;
    match sharing {
        Sharing::InOrder => {
            for (t, &r) in remaining.iter().enumerate() {
                items[t].extend(s + 1..=s + r);
                s += r;
            }
        }
        Sharing::Even => {
            let mut open: Vec<usize> = (0..remaining.len()).filter(|&t| remaining[t] > 0).collect();
            while !open.is_empty() {
                open.retain(|&t| {
                    s += 1;
                    items[t].push(s);
                    items[t].len() < remaining[t] as usize
                });
            }
        }
    }
    items
}

/// One number per trial (at most `max`), kept for its upper quantile: as a
/// histogram when its range is smaller than the number of trials, else as
/// the values themselves. Either way at most `trials` counters.
#[derive(Debug)]
enum Tail {
    Counts(Vec<u32>),
    Values(Vec<u32>),
}

impl Tail {
    fn new(max: u64, trials: u32) -> Tail {
        if max < u64::from(trials) {
            Tail::Counts(vec![0; max as usize + 1])
        } else {
            Tail::Values(Vec::with_capacity(trials as usize))
        }
    }

    /// Records `n` trials with value `v` (at most `max`).
    #[inline]
    fn add(&mut self, v: u64, n: u32) {
        match self {
            Tail::Counts(counts) => counts[v as usize] += n,
            Tail::Values(values) => values.extend(std::iter::repeat_n(v as u32, n as usize)),
        }
    }

    /// The largest value that at least `rank` trials reached.
    fn at_least(&mut self, rank: u64) -> u64 {
        match self {
            Tail::Counts(counts) => {
                let mut seen = 0u64;
                for v in (0..counts.len()).rev() {
                    seen += u64::from(counts[v]);
                    if seen >= rank {
                        return v as u64;
                    }
                }
                0
            }
            Tail::Values(values) => {
                let Some(i) = values.len().checked_sub(rank as usize) else {
                    return 0;
                };
                u64::from(*values.select_nth_unstable(i).1)
            }
        }
    }
}

/// Per-post results of all trials.
#[derive(Debug)]
struct Tally {
    /// `posts × (h + 2)` counts of the day each post was reached; bin `h + 1`
    /// counts trials that did not reach it within the horizon.
    days: Vec<u32>,
    cut: Cut,
}

#[derive(Debug)]
enum Cut {
    /// Walk engine: per distinct due day, the team's cumulative throughput
    /// by then (clipped where every done count is full); a post's cut line
    /// is its own done count at the `confidence` quantile of that (the done
    /// count is a non-decreasing function of the throughput).
    BySum {
        post_check: Vec<Option<usize>>,
        tails: Vec<Tail>,
        items: Vec<Vec<u32>>,
    },
    /// Item engines: per post with a due day, its done count (0..=count) by
    /// then.
    ByCount { tails: Vec<Option<Tail>> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Walk,
    Items,
    /// The reference for both: every item handed out on its day.
    #[cfg(test)]
    EachDay,
}

fn run(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    targets: &[Target],
    settings: &ForecastSettings,
    engine: Option<Engine>,
) -> Forecast {
    let mut holidays = settings.holidays.clone();
    holidays.sort_unstable();
    holidays.dedup();

    let hist = history(today, done_dates, settings.window_days, &holidays);
    if hist.done < settings.min_history || hist.done == 0 {
        return Forecast::TooLittleHistory {
            done_in_window: hist.done,
            needed: settings.min_history,
            window_start: hist.window_start,
            window_end: hist.window_end,
        };
    }

    let calendar = future_working_days(today, settings.horizon_working_days, &holidays);
    let h = (calendar.len() - 1) as u32;
    let seed = input_seed(today, &hist, &calendar, &holidays, settings);

    let due_of = |deadline: Option<NaiveDate>| match deadline {
        None => Due::None,
        Some(d) if d < today => Due::Passed,
        Some(d) => Due::Day(calendar[1..].partition_point(|&w| w <= d) as u32),
    };
    let mut posts = Vec::new();
    let mut target_post = Vec::with_capacity(targets.len());
    for (t, target) in targets.iter().enumerate() {
        target_post.push(posts.len());
        posts.push(Post {
            target: t,
            count: target.remaining,
            due: due_of(target.deadline),
        });
        for m in &target.milestones {
            posts.push(Post {
                target: t,
                count: m.cumulative_items,
                due: due_of(m.deadline),
            });
        }
    }
    let growth: Vec<Growth> = targets.iter().map(|t| Growth::of(&t.growth)).collect();
    let growth_draws = if growth.iter().any(|g| !matches!(g, Growth::None)) {
        week_starts(&calendar)
    } else {
        Vec::new()
    };

    let plan = Plan {
        h,
        sample: {
            let mut table = Box::new([0u32; SAMPLE_SLOTS]);
            table[..hist.sample.len()].copy_from_slice(&hist.sample);
            table
        },
        n: hist.sample.len() as u64,
        trials: settings.trials,
        seed,
        sharing: settings.sharing,
        remaining: targets.iter().map(|t| t.remaining).collect(),
        growth,
        growth_draws,
        posts,
        target_post,
    };
    let engine = engine.unwrap_or(if plan.any_growth() && targets.len() > 1 {
        Engine::Items
    } else {
        Engine::Walk
    });
    let mut tally = match engine {
        Engine::Walk => walk(&plan),
        Engine::Items => deal(&plan),
        #[cfg(test)]
        Engine::EachDay => deal_each_day(&plan),
    };

    let cut_lines = cut_lines(&plan, &mut tally.cut, settings.confidence);
    let summary = Summary {
        plan: &plan,
        days: &tally.days,
        cut_lines: &cut_lines,
        calendar: &calendar,
    };
    let forecasts = targets
        .iter()
        .enumerate()
        .map(|(t, target)| {
            let p = plan.target_post[t];
            let own = summary.post(p);
            TargetForecast {
                key: target.key.clone(),
                remaining: target.remaining,
                deadline: target.deadline,
                p50: own.dates[0],
                p70: own.dates[1],
                p85: own.dates[2],
                p95: own.dates[3],
                finished_within_horizon: own.within,
                on_time_probability: own.on_time,
                cut_line: own.cut_line,
                milestones: target
                    .milestones
                    .iter()
                    .enumerate()
                    .map(|(j, m)| {
                        let s = summary.post(p + 1 + j);
                        MilestoneForecast {
                            key: m.key.clone(),
                            cumulative_items: m.cumulative_items,
                            deadline: m.deadline,
                            p50: s.dates[0],
                            p70: s.dates[1],
                            p85: s.dates[2],
                            p95: s.dates[3],
                            finished_within_horizon: s.within,
                            on_time_probability: s.on_time,
                            cut_line: s.cut_line,
                        }
                    })
                    .collect(),
            }
        })
        .collect();

    let working_days = hist.sample.len() as u32;
    Forecast::Ready {
        basis: ForecastBasis {
            window_start: hist.window_start,
            window_end: hist.window_end,
            working_days_in_window: working_days,
            done_in_window: hist.done,
            mean_per_working_day: hist.done as f64 / f64::from(working_days),
            trials: settings.trials,
            confidence: settings.confidence,
            sharing: settings.sharing,
            horizon_end: calendar[calendar.len() - 1],
        },
        targets: forecasts,
    }
}

// ---------------------------------------------------------------------------
// Engine 1: a walk of the team's cumulative throughput
// ---------------------------------------------------------------------------

/// Used when the order items are finished in is fixed: no growth, or a single
/// target (whose growth only moves its own end, queued behind the rest).
fn walk(plan: &Plan) -> Tally {
    let h = plan.h;
    let stride = h as usize + 2;
    let items = item_thresholds(&plan.remaining, plan.sharing);
    // A single growing target: its end moves; everything else is fixed.
    let moving = (plan.remaining.len() == 1 && plan.any_growth()).then_some(0usize);

    // Fixed thresholds, sorted, with a sentinel.
    let threshold = |post: &Post| -> u64 {
        match post.count {
            0 => 0,
            c => u64::from(items[post.target][c as usize - 1]),
        }
    };
    let mut order: Vec<(u64, usize)> = plan
        .posts
        .iter()
        .enumerate()
        .filter(|(i, _)| moving.map(|t| plan.target_post[t]) != Some(*i))
        .map(|(i, p)| (threshold(p), i))
        .collect();
    order.sort_unstable();
    order.push((u64::MAX, usize::MAX));
    let fixed = order.len() - 1;

    // Checkpoints: the distinct due days, each with a histogram of the
    // cumulative throughput by then, clipped where every done count is full.
    let full: u64 = items
        .iter()
        .map(|v| v.last().copied().unwrap_or(0))
        .max()
        .unwrap_or(0)
        .into();
    let max_day = u64::from(*plan.sample.iter().max().unwrap_or(&0));
    let mut check_days: Vec<u32> = plan
        .posts
        .iter()
        .filter_map(|p| match p.due {
            Due::Day(d) => Some(d),
            _ => None,
        })
        .collect();
    check_days.sort_unstable();
    check_days.dedup();
    let caps: Vec<u64> = check_days
        .iter()
        .map(|&d| full.min(max_day * u64::from(d)))
        .collect();
    let mut sums: Vec<Tail> = caps.iter().map(|&c| Tail::new(c, plan.trials)).collect();
    let post_check: Vec<Option<usize>> = plan
        .posts
        .iter()
        .map(|p| match p.due {
            Due::Day(d) => check_days.binary_search(&d).ok(),
            _ => None,
        })
        .collect();
    let first_check = check_days.partition_point(|&d| d == 0);

    // A growing target's weekly draws are made lazily, in day order, only
    // when its end is within reach: growth can only move the end later, so a
    // block whose throughput stays below the end known so far cannot
    // contain it.
    let mut draws_through = vec![0u32; if moving.is_some() { h as usize + 1 } else { 0 }];
    for d in 1..draws_through.len() {
        draws_through[d] = draws_through[d - 1] + u32::from(plan.growth_draws[d]);
    }

    let mut days = vec![0u32; plan.posts.len() * stride];
    let moving_post = moving.map_or(0, |t| plan.target_post[t]);
    let moving_growth = moving.map_or(Growth::None, |t| plan.growth[t]);
    let start_scope = moving.map_or(0, |t| u64::from(plan.remaining[t]));
    let moving_at_start = moving.is_some() && start_scope > 0;

    // What happens today happens in every trial: counted once.
    let fixed_at_zero = order.partition_point(|&(thr, _)| thr == 0);
    for &(_, post) in &order[..fixed_at_zero] {
        days[post * stride] += plan.trials;
    }
    if moving.is_some() && !moving_at_start {
        days[moving_post * stride] += plan.trials;
    }
    for tail in &mut sums[..first_check] {
        tail.add(0, plan.trials);
    }
    // The remaining checkpoint days, with the sentinel h + 1.
    let mut check_at: Vec<u32> = check_days[first_check..].to_vec();
    check_at.push(h + 1);
    let start_live = (fixed - fixed_at_zero) + usize::from(moving_at_start);

    let mut throughput = Streams::new(plan.seed, THROUGHPUT_STREAM);
    let mut growth = moving.map(|_| Streams::new(plan.seed, GROWTH_STREAM));
    for _ in 0..plan.trials {
        let mut rng = throughput.next_trial();
        let mut grow = growth.as_mut().map(Streams::next_trial);
        let mut drawn = 0u32;
        let (mut s, mut d) = (0u64, 0u32);
        let mut next = fixed_at_zero;
        let mut scope = start_scope;
        let mut moving_live = moving_at_start;
        let mut live = start_live;
        let mut ck = 0usize;
        while live > 0 && d < h {
            let limit = order[next]
                .0
                .min(if moving_live { scope } else { u64::MAX });
            let [a, b, c] = plan.skip(&mut rng, &mut s, &mut d, check_at[ck].min(h), limit);
            // Something may happen in this block: its days d+1..=d+n within
            // the horizon, and the throughput by the end of each.
            let n = (h - d).min(3) as usize;
            let ends = [s + a, s + a + b, s + a + b + c];
            let last = ends[n - 1];
            while order[next].0 <= last {
                let thr = order[next].0;
                let k = usize::from(ends[0] < thr) + usize::from(ends[1] < thr);
                days[order[next].1 * stride + d as usize + 1 + k] += 1;
                next += 1;
                live -= 1;
            }
            if moving_live && last >= scope {
                for (k, &end) in ends[..n].iter().enumerate() {
                    let day = d as usize + 1 + k;
                    if let Some(g) = grow.as_mut() {
                        while drawn < draws_through[day] {
                            scope += moving_growth.draw(g);
                            drawn += 1;
                        }
                    }
                    if end >= scope {
                        days[moving_post * stride + day] += 1;
                        moving_live = false;
                        live -= 1;
                        break;
                    }
                }
            }
            while check_at[ck] <= d + n as u32 {
                let i = first_check + ck;
                let end = ends[(check_at[ck] - d - 1) as usize];
                sums[i].add(end.min(caps[i]), 1);
                ck += 1;
            }
            s = last;
            d += n as u32;
        }
        // Not reached within the horizon.
        for &(_, post) in &order[next..fixed] {
            days[post * stride + h as usize + 1] += 1;
        }
        if moving_live {
            days[moving_post * stride + h as usize + 1] += 1;
        }
        // Everything finished early: every done count is full.
        for i in first_check + ck..check_days.len() {
            sums[i].add(caps[i], 1);
        }
    }

    Tally {
        days,
        cut: Cut::BySum {
            post_check,
            tails: sums,
            items,
        },
    }
}

// ---------------------------------------------------------------------------
// Engine 2: item by item
// ---------------------------------------------------------------------------

/// One target's state within a trial of the item-by-item engine.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    done: u32,
    /// The done count of its next milestone (`u32::MAX`: none left).
    mark_at: u32,
    scope: u64,
    open: bool,
}

impl Progress {
    /// Items it can take before its next milestone or its end (at least 1
    /// while open).
    fn to_next_event(self) -> u64 {
        (self.scope - u64::from(self.done)).min(u64::from(self.mark_at - self.done))
    }
}

/// What both item engines work out once per call.
#[derive(Debug)]
struct Deal {
    k: usize,
    stride: usize,

    /// (due day, post), by day, after today's, with a sentinel.
    checks: Vec<(u32, usize)>,
    /// Per target, its milestones (count, post) by count; those before
    /// `first_mark` are reached today.
    marks: Vec<Vec<(u32, usize)>>,
    first_mark: Vec<usize>,
    growing: Vec<usize>,
}

/// The state of one trial of an item engine.
#[derive(Debug)]
struct Trial {
    state: Vec<Progress>,
    next_mark: Vec<usize>,
    /// The unfinished targets, in the order given.
    open: Vec<usize>,
    /// Whose turn it is (an index into `open`).
    pos: usize,
    /// The next entry of `Deal::checks`.
    check: usize,
}

/// Per-post results of an item engine.
#[derive(Debug)]
struct Counts {
    days: Vec<u32>,
    /// Per post with a due day, its done count by then.
    done: Vec<Option<Tail>>,
}

impl Deal {
    /// Also counts what happens today (in every trial).
    fn new(plan: &Plan) -> (Deal, Counts) {
        let stride = plan.h as usize + 2;
        let k = plan.remaining.len();
        let mut days = vec![0u32; plan.posts.len() * stride];
        let mut done: Vec<Option<Tail>> = plan
            .posts
            .iter()
            .map(|p| {
                matches!(p.due, Due::Day(_)).then(|| Tail::new(u64::from(p.count), plan.trials))
            })
            .collect();
        let mut checks: Vec<(u32, usize)> = plan
            .posts
            .iter()
            .enumerate()
            .filter_map(|(i, p)| match p.due {
                Due::Day(d) => Some((d, i)),
                _ => None,
            })
            .collect();
        checks.sort_unstable();
        let mut marks: Vec<Vec<(u32, usize)>> = vec![Vec::new(); k];
        for (i, p) in plan.posts.iter().enumerate() {
            if plan.target_post[p.target] != i {
                marks[p.target].push((p.count, i));
            }
        }
        for m in &mut marks {
            m.sort_unstable();
        }
        let growing: Vec<usize> = (0..k)
            .filter(|&t| !matches!(plan.growth[t], Growth::None))
            .collect();

        // What happens today happens in every trial: counted once.
        let mut first_mark = vec![0usize; k];
        for t in 0..k {
            first_mark[t] = marks[t].partition_point(|&(c, _)| c == 0);
            for &(_, post) in &marks[t][..first_mark[t]] {
                days[post * stride] += plan.trials;
            }
            if plan.remaining[t] == 0 {
                days[plan.target_post[t] * stride] += plan.trials;
            }
        }
        let today = checks.partition_point(|&(d, _)| d == 0);
        for &(_, post) in &checks[..today] {
            if let Some(tail) = &mut done[post] {
                tail.add(0, plan.trials);
            }
        }
        checks.drain(..today);
        checks.push((u32::MAX, usize::MAX));
        let deal = Deal {
            k,
            stride,
            checks,
            marks,
            first_mark,
            growing,
        };
        (deal, Counts { days, done })
    }

    fn trial(&self) -> Trial {
        Trial {
            state: vec![Progress::default(); self.k],
            next_mark: vec![0; self.k],
            open: Vec::with_capacity(self.k),
            pos: 0,
            check: 0,
        }
    }

    /// Sets `tr` up for a new trial.
    fn start(&self, plan: &Plan, tr: &mut Trial) {
        tr.open.clear();
        tr.pos = 0;
        tr.check = 0;
        for t in 0..self.k {
            tr.next_mark[t] = self.first_mark[t];
            tr.state[t] = Progress {
                done: 0,
                mark_at: self.marks[t]
                    .get(self.first_mark[t])
                    .map_or(u32::MAX, |m| m.0),
                scope: u64::from(plan.remaining[t]),
                open: plan.remaining[t] > 0,
            };
            if tr.state[t].open {
                tr.open.push(t);
            }
        }
    }

    /// The weekly growth draws of day `d`, for every growing target (in
    /// order, finished or not, so the draws do not depend on who finished);
    /// only open targets grow.
    fn grow(&self, plan: &Plan, d: u32, g: &mut Pcg64Mcg, tr: &mut Trial) {
        for _ in 0..plan.growth_draws[d as usize] {
            for &t in &self.growing {
                let added = plan.growth[t].draw(g);
                if tr.state[t].open {
                    tr.state[t].scope += added;
                }
            }
        }
    }

    /// Hands out `x` items on day `d` one turn at a time (as many at once as
    /// one target can take when it takes everything), recording milestones
    /// and ends.
    fn hand_out(&self, plan: &Plan, d: u32, x: u64, tr: &mut Trial, counts: &mut Counts) {
        let mut x = x;
        while x > 0 && !tr.open.is_empty() {
            let (i, take) = if plan.sharing == Sharing::InOrder || tr.open.len() == 1 {
                (0, x.min(tr.state[tr.open[0]].to_next_event()))
            } else {
                (tr.pos, 1)
            };
            x -= take;
            let t = tr.open[i];
            let st = &mut tr.state[t];
            st.done += take as u32;
            if st.done >= st.mark_at {
                while let Some(&(c, post)) = self.marks[t].get(tr.next_mark[t]) {
                    if c > st.done {
                        break;
                    }
                    counts.days[post * self.stride + d as usize] += 1;
                    tr.next_mark[t] += 1;
                }
                st.mark_at = self.marks[t].get(tr.next_mark[t]).map_or(u32::MAX, |m| m.0);
            }
            if u64::from(st.done) >= st.scope {
                counts.days[plan.target_post[t] * self.stride + d as usize] += 1;
                st.open = false;
                tr.open.remove(i);
                tr.pos = if i >= tr.open.len() { 0 } else { i };
            } else {
                tr.pos = if i + 1 == tr.open.len() { 0 } else { i + 1 };
            }
        }
    }

    /// Records the done counts of the posts due on day `d`.
    fn record(&self, plan: &Plan, d: u32, tr: &mut Trial, counts: &mut Counts) {
        while self.checks[tr.check].0 == d {
            self.record_one(plan, tr, counts);
        }
    }

    fn record_one(&self, plan: &Plan, tr: &mut Trial, counts: &mut Counts) {
        let post = self.checks[tr.check].1;
        let p = &plan.posts[post];
        if let Some(tail) = &mut counts.done[post] {
            tail.add(u64::from(tr.state[p.target].done.min(p.count)), 1);
        }
        tr.check += 1;
    }

    /// After a trial: what was not reached within the horizon, and the done
    /// counts of posts due after an early finish (they are final).
    fn finish(&self, plan: &Plan, tr: &mut Trial, counts: &mut Counts) {
        let beyond = plan.h as usize + 1;
        for &t in &tr.open {
            counts.days[plan.target_post[t] * self.stride + beyond] += 1;
            for &(_, post) in &self.marks[t][tr.next_mark[t]..] {
                counts.days[post * self.stride + beyond] += 1;
            }
        }
        while tr.check < self.checks.len() - 1 {
            self.record_one(plan, tr, counts);
        }
    }

    fn tally(counts: Counts) -> Tally {
        Tally {
            days: counts.days,
            cut: Cut::ByCount { tails: counts.done },
        }
    }
}

/// How many items can be handed out from now before anything happens (a
/// milestone or an end): with the turn at `pos`, the open target `j` turns
/// later gets its n-th next item as item `j + (n - 1) × open` (round-robin),
/// or the first open target gets them all (in order).
fn room(sharing: Sharing, tr: &Trial) -> u64 {
    let open = &tr.open;
    match sharing {
        Sharing::InOrder => tr.state[open[0]].to_next_event() - 1,
        Sharing::Even => {
            let k = open.len() as u64;
            let mut least = u64::MAX;
            for (j, &t) in open[tr.pos..].iter().chain(&open[..tr.pos]).enumerate() {
                least = least.min(j as u64 + (tr.state[t].to_next_event() - 1) * k);
            }
            least
        }
    }
}

/// Hands out `n` items among the open targets when none of them reaches a
/// milestone or its end (`n ≤ room`): round-robin from `pos`, or all to the
/// first.
fn hand_out_quietly(sharing: Sharing, n: u64, tr: &mut Trial) {
    match sharing {
        Sharing::InOrder => tr.state[tr.open[0]].done += n as u32,
        Sharing::Even => {
            let k = tr.open.len();
            let (each, extra) = (n / k as u64, (n % k as u64) as usize);
            for j in 0..k {
                let t = tr.open[(tr.pos + j) % k];
                tr.state[t].done += (each + u64::from(j < extra)) as u32;
            }
            tr.pos = (tr.pos + extra) % k;
        }
    }
}

/// Used for several targets of which some grow: who gets the next item then
/// depends on the draws. Items are handed out in turn, but only on days
/// when something may happen: while the items since the last such day stay
/// within the [`room`] before the next milestone or end, they are only
/// counted, and handed out in bulk later. Growth is drawn lazily too (in
/// day order): it can only make the room larger.
fn deal(plan: &Plan) -> Tally {
    let h = plan.h;
    let (deal, mut counts) = Deal::new(plan);
    let mut tr = deal.trial();
    let mut throughput = Streams::new(plan.seed, THROUGHPUT_STREAM);
    let mut growth = (!deal.growing.is_empty()).then(|| Streams::new(plan.seed, GROWTH_STREAM));
    for _ in 0..plan.trials {
        let mut rng = throughput.next_trial();
        let mut grow = growth.as_mut().map(Streams::next_trial);
        deal.start(plan, &mut tr);
        let mut d = 0u32;
        // Items counted but not handed out yet; how many more can be
        // before something happens; the day growth is drawn through.
        let mut pending = 0u64;
        let mut room_left = if tr.open.is_empty() {
            0
        } else {
            room(plan.sharing, &tr)
        };
        let mut grown = 0u32;
        'days: while !tr.open.is_empty() && d < h {
            for x in plan.three_days(&mut rng) {
                d += 1;
                if x > room_left
                    && let Some(g) = grow.as_mut()
                {
                    while grown < d {
                        grown += 1;
                        deal.grow(plan, grown, g, &mut tr);
                    }
                    room_left = room(plan.sharing, &tr) - pending;
                }
                if x <= room_left {
                    pending += x;
                    room_left -= x;
                } else {
                    hand_out_quietly(plan.sharing, pending, &mut tr);
                    pending = 0;
                    deal.hand_out(plan, d, x, &mut tr, &mut counts);
                    if !tr.open.is_empty() {
                        room_left = room(plan.sharing, &tr);
                    }
                }
                if deal.checks[tr.check].0 == d {
                    if pending > 0 {
                        hand_out_quietly(plan.sharing, pending, &mut tr);
                        pending = 0;
                    }
                    deal.record(plan, d, &mut tr, &mut counts);
                }
                if tr.open.is_empty() || d >= h {
                    break 'days;
                }
            }
        }
        if pending > 0 && !tr.open.is_empty() {
            hand_out_quietly(plan.sharing, pending, &mut tr);
        }
        deal.finish(plan, &mut tr, &mut counts);
    }
    Deal::tally(counts)
}

/// The straightforward item engine: every item handed out on its day. The
/// reference the faster engines are tested against.
#[cfg(test)]
fn deal_each_day(plan: &Plan) -> Tally {
    let h = plan.h;
    let (deal, mut counts) = Deal::new(plan);
    let mut tr = deal.trial();
    let mut throughput = Streams::new(plan.seed, THROUGHPUT_STREAM);
    let mut growth = (!deal.growing.is_empty()).then(|| Streams::new(plan.seed, GROWTH_STREAM));
    for _ in 0..plan.trials {
        let mut rng = throughput.next_trial();
        let mut grow = growth.as_mut().map(Streams::next_trial);
        deal.start(plan, &mut tr);
        let mut d = 0u32;
        'days: while !tr.open.is_empty() && d < h {
            for x in plan.three_days(&mut rng) {
                d += 1;
                if let Some(g) = grow.as_mut() {
                    deal.grow(plan, d, g, &mut tr);
                }
                deal.hand_out(plan, d, x, &mut tr, &mut counts);
                deal.record(plan, d, &mut tr, &mut counts);
                if tr.open.is_empty() || d >= h {
                    break 'days;
                }
            }
        }
        deal.finish(plan, &mut tr, &mut counts);
    }
    Deal::tally(counts)
}

// ---------------------------------------------------------------------------
// From tallies to dates
// ---------------------------------------------------------------------------

#[derive(Debug)]
struct PostSummary {
    dates: [Option<NaiveDate>; 4],
    within: f64,
    on_time: Option<f64>,
    cut_line: Option<u32>,
}

#[derive(Debug)]
struct Summary<'a> {
    plan: &'a Plan<'a>,
    days: &'a [u32],
    cut_lines: &'a [u32],
    calendar: &'a [NaiveDate],
}

impl Summary<'_> {
    fn post(&self, i: usize) -> PostSummary {
        let h = self.plan.h as usize;
        let stride = h + 2;
        let trials = u64::from(self.plan.trials);
        let hist = &self.days[i * stride..(i + 1) * stride];
        let mut dates = [None; 4];
        for (slot, pct) in dates.iter_mut().zip(PERCENTILES) {
            let rank = (trials * pct).div_ceil(100).max(1);
            let mut seen = 0u64;
            for (day, &n) in hist[..=h].iter().enumerate() {
                seen += u64::from(n);
                if seen >= rank {
                    *slot = Some(self.calendar[day]);
                    break;
                }
            }
        }
        let within = 1.0 - f64::from(hist[h + 1]) / trials as f64;
        let (on_time, cut_line) = match self.plan.posts[i].due {
            Due::None => (None, None),
            Due::Passed => (Some(0.0), Some(0)),
            Due::Day(d) => {
                let on_time: u64 = hist[..=d as usize].iter().map(|&n| u64::from(n)).sum();
                (
                    Some(on_time as f64 / trials as f64),
                    Some(self.cut_lines[i]),
                )
            }
        };
        PostSummary {
            dates,
            within,
            on_time,
            cut_line,
        }
    }
}

/// Per post with a due day, the largest k done by then in at least
/// `confidence` of the trials (0 for the others).
fn cut_lines(plan: &Plan, cut: &mut Cut, confidence: f64) -> Vec<u32> {
    let rank = ((confidence * f64::from(plan.trials)) - 1e-9)
        .ceil()
        .max(1.0) as u64;
    match cut {
        Cut::ByCount { tails } => tails
            .iter_mut()
            .map(|tail| tail.as_mut().map_or(0, |t| t.at_least(rank) as u32))
            .collect(),
        Cut::BySum {
            post_check,
            tails,
            items,
        } => {
            let at: Vec<u64> = tails.iter_mut().map(|t| t.at_least(rank)).collect();
            plan.posts
                .iter()
                .zip(post_check.iter())
                .map(|(post, check)| match check {
                    Some(c) => {
                        let q = at[*c];
                        let done =
                            items[post.target].partition_point(|&x| u64::from(x) <= q) as u32;
                        done.min(post.count)
                    }
                    None => 0,
                })
                .collect()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn even_thresholds_deal_round_robin() {
        let items = item_thresholds(&[2, 0, 4], Sharing::Even);
        assert_eq!(items, vec![vec![1, 3], vec![], vec![2, 4, 5, 6]]);
        let items = item_thresholds(&[2, 0, 3], Sharing::InOrder);
        assert_eq!(items, vec![vec![1, 2], vec![], vec![3, 4, 5]]);
    }

    #[test]
    fn weekend_work_counts_for_the_previous_working_day() {
        // Window: Mon 2 Nov .. Sun 15 Nov 2026 (today Mon 16 Nov, 14 days).
        let today = day(2026, 11, 16);
        let done = [
            day(2026, 11, 6),
            day(2026, 11, 7),
            day(2026, 11, 8),
            day(2026, 11, 2),
        ];
        let h = history(today, &done, 14, &[]);
        assert_eq!(h.sample, vec![1, 0, 0, 0, 3, 0, 0, 0, 0, 0]);
        assert_eq!(h.done, 4);
        // A window that starts on a weekend: credit goes to the first working day.
        let h = history(day(2026, 11, 12), &[day(2026, 11, 7)], 6, &[]);
        assert_eq!(h.sample, vec![1, 0, 0, 0]);
    }

    #[test]
    fn growth_is_drawn_once_per_seven_days() {
        let today = day(2026, 11, 18); // Wednesday
        let cal = future_working_days(today, 10, &[]);
        assert_eq!(cal[1], day(2026, 11, 19));
        assert_eq!(cal[5], day(2026, 11, 25)); // Wed: 7 days later
        assert_eq!(cal[10], day(2026, 12, 2));
        let draws = week_starts(&cal);
        assert_eq!(draws, vec![0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
        // A holiday on the 7th day moves the draw to the next working day.
        let cal = future_working_days(today, 6, &[day(2026, 11, 25)]);
        assert_eq!(week_starts(&cal), vec![0, 0, 0, 0, 0, 1, 0]);
        // Two weeks off: two draws on the first day back.
        let mut off: Vec<NaiveDate> = (19..=30).map(|d| day(2026, 11, d)).collect();
        off.extend((1..=4).map(|d| day(2026, 12, d)));
        let cal = future_working_days(today, 1, &off);
        assert_eq!(cal[1], day(2026, 12, 7));
        assert_eq!(week_starts(&cal), vec![0, 2]);
    }

    proptest::proptest! {
        /// Counting and keeping the values give the same upper quantile.
        #[test]
        fn both_kinds_of_tail_agree(
            values in proptest::collection::vec(0u64..50, 1..200),
            share in 0.01f64..=1.0,
        ) {
            let trials = values.len() as u32;
            let rank = ((share * f64::from(trials)).ceil() as u64).max(1);
            let mut counts = Tail::new(49, 1_000);
            let mut kept = Tail::new(49, 1);
            proptest::prop_assert!(matches!(counts, Tail::Counts(_)));
            proptest::prop_assert!(matches!(kept, Tail::Values(_)));
            for &v in &values {
                counts.add(v, 1);
                kept.add(v, 1);
            }
            let mut sorted = values.clone();
            sorted.sort_unstable_by(|a, b| b.cmp(a));
            let expected = sorted[rank as usize - 1];
            proptest::prop_assert_eq!(counts.at_least(rank), expected);
            proptest::prop_assert_eq!(kept.at_least(rank), expected);
        }
    }

    mod engines {
        use super::*;
        use proptest::prelude::*;

        fn today() -> NaiveDate {
            day(2026, 11, 26)
        }

        fn history() -> impl Strategy<Value = Vec<NaiveDate>> {
            proptest::collection::vec(0usize..6, 84).prop_map(|per_day| {
                let mut dates = vec![day(2026, 11, 2); 10];
                for (back, n) in per_day.into_iter().enumerate() {
                    let d = today() - Days::new(back as u64 + 1);
                    dates.extend(std::iter::repeat_n(d, n));
                }
                dates
            })
        }

        fn deadline() -> impl Strategy<Value = Option<NaiveDate>> {
            proptest::option::of((-3i64..80).prop_map(|d| today() + chrono::Duration::days(d)))
        }

        fn target(key: String, growth: ScopeGrowth) -> impl Strategy<Value = Target> {
            (
                0u32..120,
                deadline(),
                proptest::collection::vec((0u32..=100, deadline()), 0..3),
            )
                .prop_map(move |(remaining, deadline, marks)| Target {
                    key: key.clone(),
                    remaining,
                    deadline,
                    growth: growth.clone(),
                    milestones: marks
                        .into_iter()
                        .enumerate()
                        .map(|(j, (pct, deadline))| Milestone {
                            key: format!("m{j}"),
                            cumulative_items: remaining * pct / 100,
                            deadline,
                        })
                        .collect(),
                })
        }

        fn settings() -> impl Strategy<Value = ForecastSettings> {
            (
                proptest::sample::select(Sharing::ALL.to_vec()),
                0.3f64..=1.0,
                5u32..200,
                prop_oneof![Just(40u32), Just(300)],
            )
                .prop_map(|(sharing, confidence, horizon, trials)| ForecastSettings {
                    trials,
                    sharing,
                    confidence,
                    horizon_working_days: horizon,
                    ..ForecastSettings::default()
                })
        }

        fn with(
            engine: Engine,
            done: &[NaiveDate],
            targets: &[Target],
            settings: &ForecastSettings,
        ) -> Forecast {
            run(today(), done, targets, settings, Some(engine))
        }

        fn growth() -> impl Strategy<Value = ScopeGrowth> + Clone {
            prop_oneof![
                Just(ScopeGrowth::None),
                proptest::collection::vec(0u32..8, 1..5)
                    .prop_map(|added_per_week| ScopeGrowth::Weekly { added_per_week }),
                (0u32..3, 0u32..5).prop_map(|(min, extra)| ScopeGrowth::Range {
                    min_per_week: min,
                    max_per_week: min + extra,
                }),
            ]
        }

        fn targets(
            growth: impl Strategy<Value = ScopeGrowth> + Clone + 'static,
        ) -> impl Strategy<Value = Vec<Target>> {
            (1usize..6).prop_flat_map(move |k| {
                (0..k)
                    .map(|i| {
                        growth
                            .clone()
                            .prop_flat_map(move |g| target(format!("t{i}"), g))
                    })
                    .collect::<Vec<_>>()
            })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(64))]

            /// The walk over fixed thresholds, the deferred item engine and
            /// the every-day reference are the same model: same draws, same
            /// answer.
            #[test]
            fn fixed_scope_engines_agree(
                done in history(),
                targets in targets(Just(ScopeGrowth::None)),
                settings in settings(),
            ) {
                let reference = with(Engine::EachDay, &done, &targets, &settings);
                prop_assert_eq!(&with(Engine::Walk, &done, &targets, &settings), &reference);
                prop_assert_eq!(&with(Engine::Items, &done, &targets, &settings), &reference);
            }

            #[test]
            fn growing_targets_engines_agree(
                done in history(),
                targets in targets(growth()),
                settings in settings(),
            ) {
                let reference = with(Engine::EachDay, &done, &targets, &settings);
                prop_assert_eq!(&with(Engine::Items, &done, &targets, &settings), &reference);
                if targets.len() == 1 {
                    prop_assert_eq!(&with(Engine::Walk, &done, &targets, &settings), &reference);
                }
            }
        }
    }
}
