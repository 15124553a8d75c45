//! The plan: everything worked out once per call (calendar, goalposts, growth,
//! item thresholds) and the choice of engine.
//!
//! Part of [`super`] (see its documentation for the model); private to it.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Due {
    None,
    Passed,
    /// The last simulated working day on or before the deadline (0: today).
    Day(u32),
}

/// A target's end or one of its milestones: something with a date.
#[derive(Debug)]
pub(super) struct Post {
    pub(super) target: usize,
    /// Done items of the target that reach it (for the target's end: its
    /// remaining work, before growth).
    pub(super) count: u32,
    pub(super) due: Due,
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Growth<'a> {
    None,
    Weekly(&'a [u32]),
    Range { min: u32, span: u64 },
}

impl<'a> Growth<'a> {
    pub(super) fn of(g: &'a ScopeGrowth) -> Self {
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
    pub(super) fn draw(self, rng: &mut Pcg64Mcg) -> u64 {
        match self {
            Growth::None => 0,
            Growth::Weekly(weeks) => u64::from(weeks[below(rng.next_u32(), weeks.len() as u64)]),
            Growth::Range { min, span } => u64::from(min) + below(rng.next_u32(), span) as u64,
        }
    }
}

#[derive(Debug)]
pub(super) struct Plan<'a> {
    pub(super) h: u32,
    /// The history sample, padded with zeros to [`SAMPLE_SLOTS`] so that an
    /// index masked to the table needs no bounds check in the hot loop.
    pub(super) sample: Box<[u32; SAMPLE_SLOTS]>,
    pub(super) n: u64,
    pub(super) trials: u32,
    pub(super) seed: u64,
    pub(super) sharing: Sharing,
    pub(super) remaining: Vec<u32>,
    pub(super) growth: Vec<Growth<'a>>,
    /// Week boundaries crossed on each simulated day (empty without growth).
    pub(super) growth_draws: Vec<u8>,
    pub(super) posts: Vec<Post>,
    /// Index of each target's own post; its milestones follow it.
    pub(super) target_post: Vec<usize>,
}

impl Plan<'_> {
    pub(super) fn any_growth(&self) -> bool {
        self.growth.iter().any(|g| !matches!(g, Growth::None))
    }

    /// Adds whole blocks of three days to `s` and `d` while the block ends
    /// before day `until` and `s` stays below `limit`; returns the first
    /// block that does not. Kept apart so its few variables stay in
    /// registers: this loop is where the time goes.
    #[inline(always)]
    pub(super) fn skip(
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
    pub(super) fn three_days(&self, rng: &mut Pcg64Mcg) -> [u64; 3] {
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
pub(super) fn item_thresholds(remaining: &[u32], sharing: Sharing) -> Vec<Vec<u32>> {
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
pub(super) enum Tail {
    Counts(Vec<u32>),
    Values(Vec<u32>),
}

impl Tail {
    pub(super) fn new(max: u64, trials: u32) -> Tail {
        if max < u64::from(trials) {
            Tail::Counts(vec![0; max as usize + 1])
        } else {
            Tail::Values(Vec::with_capacity(trials as usize))
        }
    }

    /// Records `n` trials with value `v` (at most `max`).
    #[inline]
    pub(super) fn add(&mut self, v: u64, n: u32) {
        match self {
            Tail::Counts(counts) => counts[v as usize] += n,
            Tail::Values(values) => values.extend(std::iter::repeat_n(v as u32, n as usize)),
        }
    }

    /// The largest value that at least `rank` trials reached.
    pub(super) fn at_least(&mut self, rank: u64) -> u64 {
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
pub(super) struct Tally {
    /// `posts × (h + 2)` counts of the day each post was reached; bin `h + 1`
    /// counts trials that did not reach it within the horizon.
    pub(super) days: Vec<u32>,
    pub(super) cut: Cut,
}

#[derive(Debug)]
pub(super) enum Cut {
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
pub(super) enum Engine {
    Walk,
    Items,
    /// The reference for both: every item handed out on its day.
    #[cfg(test)]
    EachDay,
}

pub(super) fn run(
    today: NaiveDate,
    done_dates: &[NaiveDate],
    targets: &[Target],
    settings: &SimulationSettings,
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
