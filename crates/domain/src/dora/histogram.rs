//! The lead-time histogram: mergeable per-day buckets for medians and
//! percentiles over very many values (within 1 %).
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

/// Ratio between the bounds of one histogram bucket: every bucket spans 2 %,
/// so a value read back from the histogram (the bucket's geometric middle)
/// is within 1 % of the true value.
pub const HISTOGRAM_RATIO: f64 = 1.02;

/// Durations in whole seconds, counted per logarithmic bucket: bucket 0 holds
/// values under one second; bucket `b ≥ 1` holds `[1.02^(b-1), 1.02^b)`.
/// Merging is adding counts, so per-day histograms combine into any range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Histogram {
    /// Count per bucket, dense (index = bucket); no trailing zeros.
    counts: Vec<u64>,
}

impl Histogram {
    pub fn bucket(seconds: f64) -> u16 {
        if seconds < 1.0 {
            return 0;
        }
        let b = (seconds.ln() / HISTOGRAM_RATIO.ln()).floor() as i64 + 1;
        b.clamp(1, i64::from(u16::MAX)) as u16
    }

    /// The value a bucket stands for: its geometric middle (0 for bucket 0).
    pub fn value(bucket: u16) -> f64 {
        if bucket == 0 {
            return 0.0;
        }
        HISTOGRAM_RATIO.powf(f64::from(bucket) - 0.5)
    }

    pub(super) fn bump(&mut self, bucket: u16, by: u64) {
        let i = usize::from(bucket);
        if self.counts.len() <= i {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += by;
    }

    pub fn add(&mut self, seconds: f64) {
        self.bump(Self::bucket(seconds.max(0.0)), 1);
    }

    pub fn merge(&mut self, other: &Histogram) {
        if self.counts.len() < other.counts.len() {
            self.counts.resize(other.counts.len(), 0);
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
    }

    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|c| *c == 0)
    }

    /// The value at 1-based rank `rank`.
    pub(super) fn at_rank(&self, rank: u64) -> f64 {
        let mut seen = 0;
        for (b, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Self::value(u16::try_from(b).unwrap_or(u16::MAX));
            }
        }
        0.0
    }

    /// The median, as [`median`] defines it, within 1 %.
    pub fn median(&self) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        Some(if !n.is_multiple_of(2) {
            self.at_rank(n / 2 + 1)
        } else {
            (self.at_rank(n / 2) + self.at_rank(n / 2 + 1)) / 2.0
        })
    }

    /// The nearest-rank percentile, as [`percentile`] defines it, within 1 %.
    pub fn percentile(&self, p: f64) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.at_rank(nearest_rank(n, p)))
    }

    /// Compact bytes: (bucket u16 LE, count u32 LE) per non-empty bucket,
    /// in bucket order. Counts above u32::MAX are split over repeated
    /// entries.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        for (b, c) in self.counts.iter().enumerate() {
            let b = u16::try_from(b).unwrap_or(u16::MAX);
            let mut left = *c;
            while left > 0 {
                let part = left.min(u64::from(u32::MAX));
                out.extend_from_slice(&b.to_le_bytes());
                out.extend_from_slice(&(part as u32).to_le_bytes());
                left -= part;
            }
        }
        out
    }

    /// Reads [`Histogram::encode`]'s bytes; None when they are not whole
    /// entries.
    pub fn decode(bytes: &[u8]) -> Option<Histogram> {
        let mut h = Histogram::default();
        h.merge_encoded(bytes).then_some(h)
    }

    /// Adds encoded counts without building another histogram.
    pub fn merge_encoded(&mut self, bytes: &[u8]) -> bool {
        if !bytes.len().is_multiple_of(6) {
            return false;
        }
        for e in bytes.chunks_exact(6) {
            let b = u16::from_le_bytes([e[0], e[1]]);
            let c = u32::from_le_bytes([e[2], e[3], e[4], e[5]]);
            self.bump(b, u64::from(c));
        }
        true
    }
}
