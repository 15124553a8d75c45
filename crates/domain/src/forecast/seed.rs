//! Seeds: the FNV-1a hash of the simulation's inputs and the per-trial random
//! streams (throughput and growth drawn from separate generators).
//!
//! Part of [`super`] (see its documentation for the model); private to it.

use super::*;

/// FNV-1a, 64 bits: stable across platforms and releases, unlike std's
/// `RandomState`.
#[derive(Debug)]
pub(super) struct Fnv(pub(super) u64);

impl Fnv {
    pub(super) fn new() -> Self {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub(super) fn bytes(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    pub(super) fn u64(&mut self, v: u64) {
        self.bytes(&v.to_le_bytes());
    }

    pub(super) fn date(&mut self, d: NaiveDate) {
        self.u64(d.num_days_from_ce() as u64);
    }
}

pub(super) fn input_seed(
    today: NaiveDate,
    history: &History,
    calendar: &[NaiveDate],
    holidays: &[NaiveDate],
    settings: &SimulationSettings,
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
pub(super) const GROWTH_STREAM: u64 = 0x6772_6f77_7468_0001;
pub(super) const THROUGHPUT_STREAM: u64 = 0x7468_726f_7567_6801;

/// Hands each trial its own generator, in trial order: a `Pcg32` parent
/// seeded from the input seed gives each `Pcg64Mcg` child its 128-bit state
/// (a different algorithm for the parent, as `rand_core` advises). The
/// parent's draws per trial are fixed, so what a trial draws does not depend
/// on how long earlier trials ran.
#[derive(Debug)]
pub(super) struct Streams(pub(super) Pcg32);

impl Streams {
    pub(super) fn new(seed: u64, stream: u64) -> Self {
        Streams(Pcg32::seed_from_u64(seed ^ stream))
    }

    #[inline]
    pub(super) fn next_trial(&mut self) -> Pcg64Mcg {
        let high = u128::from(self.0.next_u64());
        let low = u128::from(self.0.next_u64());
        Pcg64Mcg::new(high << 64 | low)
    }
}

/// Uniform in `0..n` from 32 random bits (multiply-shift; the bias, at most
/// n / 2^32, is far below the Monte Carlo error). Used for growth draws.
#[inline(always)]
pub(super) fn below(bits: u32, n: u64) -> usize {
    ((u64::from(bits) * n) >> 32) as usize
}
