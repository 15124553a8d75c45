//! Engine 1: a walk of the team's cumulative throughput against sorted
//! thresholds (no growth, or a single target).
//!
//! Part of [`super`] (see its documentation for the model); private to it.

use super::*;

/// Used when the order items are finished in is fixed: no growth, or a single
/// target (whose growth only moves its own end, queued behind the rest).
pub(super) fn walk(plan: &Plan) -> Tally {
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
