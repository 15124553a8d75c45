//! Engine 2: item by item, handed out by the sharing rule, plus the plain
//! every-item-every-day reference the tests hold the faster engines to.
//!
//! Part of [`super`] (see its documentation for the model); private to it.

use super::*;

/// One target's state within a trial of the item-by-item engine.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Progress {
    pub(super) done: u32,
    /// The done count of its next milestone (`u32::MAX`: none left).
    pub(super) mark_at: u32,
    pub(super) scope: u64,
    pub(super) open: bool,
}

impl Progress {
    /// Items it can take before its next milestone or its end (at least 1
    /// while open).
    pub(super) fn to_next_event(self) -> u64 {
        (self.scope - u64::from(self.done)).min(u64::from(self.mark_at - self.done))
    }
}

/// What both item engines work out once per call.
#[derive(Debug)]
pub(super) struct Deal {
    pub(super) k: usize,
    pub(super) stride: usize,

    /// (due day, post), by day, after today's, with a sentinel.
    pub(super) checks: Vec<(u32, usize)>,
    /// Per target, its milestones (count, post) by count; those before
    /// `first_mark` are reached today.
    pub(super) marks: Vec<Vec<(u32, usize)>>,
    pub(super) first_mark: Vec<usize>,
    pub(super) growing: Vec<usize>,
}

/// The state of one trial of an item engine.
#[derive(Debug)]
pub(super) struct Trial {
    pub(super) state: Vec<Progress>,
    pub(super) next_mark: Vec<usize>,
    /// The unfinished targets, in the order given.
    pub(super) open: Vec<usize>,
    /// Whose turn it is (an index into `open`).
    pub(super) pos: usize,
    /// The next entry of `Deal::checks`.
    pub(super) check: usize,
}

/// Per-post results of an item engine.
#[derive(Debug)]
pub(super) struct Counts {
    pub(super) days: Vec<u32>,
    /// Per post with a due day, its done count by then.
    pub(super) done: Vec<Option<Tail>>,
}

impl Deal {
    /// Also counts what happens today (in every trial).
    pub(super) fn new(plan: &Plan) -> (Deal, Counts) {
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

    pub(super) fn trial(&self) -> Trial {
        Trial {
            state: vec![Progress::default(); self.k],
            next_mark: vec![0; self.k],
            open: Vec::with_capacity(self.k),
            pos: 0,
            check: 0,
        }
    }

    /// Sets `tr` up for a new trial.
    pub(super) fn start(&self, plan: &Plan, tr: &mut Trial) {
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
    pub(super) fn grow(&self, plan: &Plan, d: u32, g: &mut Pcg64Mcg, tr: &mut Trial) {
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
    pub(super) fn hand_out(
        &self,
        plan: &Plan,
        d: u32,
        x: u64,
        tr: &mut Trial,
        counts: &mut Counts,
    ) {
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
    pub(super) fn record(&self, plan: &Plan, d: u32, tr: &mut Trial, counts: &mut Counts) {
        while self.checks[tr.check].0 == d {
            self.record_one(plan, tr, counts);
        }
    }

    pub(super) fn record_one(&self, plan: &Plan, tr: &mut Trial, counts: &mut Counts) {
        let post = self.checks[tr.check].1;
        let p = &plan.posts[post];
        if let Some(tail) = &mut counts.done[post] {
            tail.add(u64::from(tr.state[p.target].done.min(p.count)), 1);
        }
        tr.check += 1;
    }

    /// After a trial: what was not reached within the horizon, and the done
    /// counts of posts due after an early finish (they are final).
    pub(super) fn finish(&self, plan: &Plan, tr: &mut Trial, counts: &mut Counts) {
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

    pub(super) fn tally(counts: Counts) -> Tally {
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
pub(super) fn room(sharing: Sharing, tr: &Trial) -> u64 {
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
pub(super) fn hand_out_quietly(sharing: Sharing, n: u64, tr: &mut Trial) {
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
pub(super) fn deal(plan: &Plan) -> Tally {
    let h = plan.h;
    each_trial(plan, |deal, tr, counts, rng, mut grow| {
        let mut d = 0u32;
        // Items counted but not handed out yet; how many more can be
        // before something happens; the day growth is drawn through.
        let mut pending = 0u64;
        let mut room_left = if tr.open.is_empty() {
            0
        } else {
            room(plan.sharing, tr)
        };
        let mut grown = 0u32;
        'days: while !tr.open.is_empty() && d < h {
            for x in plan.three_days(rng) {
                d += 1;
                if x > room_left
                    && let Some(g) = grow.as_mut()
                {
                    while grown < d {
                        grown += 1;
                        deal.grow(plan, grown, g, tr);
                    }
                    room_left = room(plan.sharing, tr) - pending;
                }
                if x <= room_left {
                    pending += x;
                    room_left -= x;
                } else {
                    hand_out_quietly(plan.sharing, pending, tr);
                    pending = 0;
                    deal.hand_out(plan, d, x, tr, counts);
                    if !tr.open.is_empty() {
                        room_left = room(plan.sharing, tr);
                    }
                }
                if deal.checks[tr.check].0 == d {
                    if pending > 0 {
                        hand_out_quietly(plan.sharing, pending, tr);
                        pending = 0;
                    }
                    deal.record(plan, d, tr, counts);
                }
                if tr.open.is_empty() || d >= h {
                    break 'days;
                }
            }
        }
        if pending > 0 && !tr.open.is_empty() {
            hand_out_quietly(plan.sharing, pending, tr);
        }
    })
}

/// The straightforward item engine: every item handed out on its day. The
/// reference the faster engines are tested against.
#[cfg(test)]
pub(super) fn deal_each_day(plan: &Plan) -> Tally {
    let h = plan.h;
    each_trial(plan, |deal, tr, counts, rng, mut grow| {
        let mut d = 0u32;
        'days: while !tr.open.is_empty() && d < h {
            for x in plan.three_days(rng) {
                d += 1;
                if let Some(g) = grow.as_mut() {
                    deal.grow(plan, d, g, tr);
                }
                deal.hand_out(plan, d, x, tr, counts);
                deal.record(plan, d, tr, counts);
                if tr.open.is_empty() || d >= h {
                    break 'days;
                }
            }
        }
    })
}

/// Plays every trial of an item engine: the set-up, streams and
/// bookkeeping both item engines share, in trial order (so each trial draws
/// what it did before). `days` plays one trial's days, between `start` and
/// `finish`, with the trial's throughput and (when a target grows) growth
/// generator.
fn each_trial(
    plan: &Plan,
    mut days: impl FnMut(&Deal, &mut Trial, &mut Counts, &mut Pcg64Mcg, Option<&mut Pcg64Mcg>),
) -> Tally {
    let (deal, mut counts) = Deal::new(plan);
    let mut tr = deal.trial();
    let mut throughput = Streams::new(plan.seed, THROUGHPUT_STREAM);
    let mut growth = (!deal.growing.is_empty()).then(|| Streams::new(plan.seed, GROWTH_STREAM));
    for _ in 0..plan.trials {
        let mut rng = throughput.next_trial();
        let mut grow = growth.as_mut().map(Streams::next_trial);
        deal.start(plan, &mut tr);
        days(&deal, &mut tr, &mut counts, &mut rng, grow.as_mut());
        deal.finish(plan, &mut tr, &mut counts);
    }
    Deal::tally(counts)
}
