//! Percentiles: the median and nearest-rank percentiles of exact values.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

/// The median of `values` (sorted in place): the middle value, or the mean
/// of the two middle values when there is an even number. None when empty.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if !n.is_multiple_of(2) {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    })
}

/// The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method: the
/// smallest value with at least p % of the values at or below it, i.e. the
/// value at rank ⌈p/100 × n⌉ (1-based). None when empty.
pub fn percentile(values: &mut [f64], p: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(values[nearest_rank(values.len() as u64, p) as usize - 1])
}

pub(super) fn nearest_rank(n: u64, p: f64) -> u64 {
    let rank = (p / 100.0 * n as f64).ceil() as u64;
    rank.clamp(1, n)
}
