//! The statistics the benchmarks report: unit conversions, nearest-rank
//! percentiles and medians.
//!
//! Rules: percentiles are nearest-rank (the smallest sample with at least
//! `p` % of the samples at or below it); [`median_f64`] averages the two
//! middle values of an even count, [`upper_median`] takes the upper one.
//! Empty input never panics.

use std::time::Duration;

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Every duration in milliseconds.
pub fn all_ms(v: &[Duration]) -> Vec<f64> {
    v.iter().map(|d| ms(*d)).collect()
}

/// Mebibytes from kibibytes.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Events per second.
pub fn rate(n: usize, wall: Duration) -> f64 {
    n as f64 / wall.as_secs_f64()
}

/// Nearest-rank percentile (`p` in 0..=100) of samples in any order;
/// zero for none.
pub fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The nearest-rank median.
pub fn median(samples: &[Duration]) -> Duration {
    percentile(samples, 50.0)
}

/// The median of values in any order (the mean of the middle two of an
/// even count); NaN for none.
pub fn median_f64(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// The middle value (the upper of the middle two of an even count);
/// `None` for none.
pub fn upper_median(v: &mut [f64]) -> Option<f64> {
    v.sort_unstable_by(f64::total_cmp);
    v.get(v.len() / 2).copied()
}

/// [`upper_median`] of durations, in milliseconds.
pub fn upper_median_ms(v: &[Duration]) -> Option<f64> {
    upper_median(&mut all_ms(v))
}

/// Values rounded to whole numbers, comma-separated (per-round columns).
pub fn join_whole(values: impl Iterator<Item = f64>) -> String {
    values
        .map(|v| format!("{v:.0}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<Duration> = (1..=10).rev().map(Duration::from_millis).collect();
        assert_eq!(percentile(&v, 50.0), Duration::from_millis(5));
        assert_eq!(percentile(&v, 99.0), Duration::from_millis(10));
        assert_eq!(percentile(&v, 0.0), Duration::from_millis(1));
        assert_eq!(percentile(&[], 50.0), Duration::ZERO);
    }

    #[test]
    fn medians() {
        assert_eq!(median_f64([4.0, 1.0, 2.0, 3.0].into_iter()), 2.5);
        assert!(median_f64(std::iter::empty()).is_nan());
        assert_eq!(upper_median(&mut [4.0, 1.0, 2.0, 3.0]), Some(3.0));
        assert_eq!(upper_median(&mut []), None);
    }
}
