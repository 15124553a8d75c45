//! From tallies to dates: percentiles, on-time probabilities and cut lines from
//! the per-day histograms.
//!
//! Part of [`super`] (see its documentation for the model); private to it.

use super::*;

#[derive(Debug)]
pub(super) struct PostSummary {
    pub(super) dates: [Option<NaiveDate>; 4],
    pub(super) within: f64,
    pub(super) on_time: Option<f64>,
    pub(super) cut_line: Option<u32>,
}

#[derive(Debug)]
pub(super) struct Summary<'a> {
    pub(super) plan: &'a Plan<'a>,
    pub(super) days: &'a [u32],
    pub(super) cut_lines: &'a [u32],
    pub(super) calendar: &'a [NaiveDate],
}

impl Summary<'_> {
    pub(super) fn post(&self, i: usize) -> PostSummary {
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
pub(super) fn cut_lines(plan: &Plan, cut: &mut Cut, confidence: f64) -> Vec<u32> {
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
