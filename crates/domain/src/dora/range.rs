//! Ranges and buckets: a date range and its day, week or month buckets.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

string_enum! {
    /// How a range is cut: UTC days, ISO weeks (Monday first) or calendar
    /// months.
    Bucket {
        Day => "day",
        Week => "week",
        Month => "month",
    }
}

/// The longest range a metric query may cover, in days (ten years).
pub const MAX_RANGE_DAYS: i64 = 3660;

/// A range of whole days, `start` included, `end` excluded, cut into
/// buckets (the first and last clipped to the range). The days are local
/// days of `tz` (a team's zone; UTC unless [`Range::in_zone`] says
/// otherwise): an instant-based figure (work items done, pull requests
/// merged, pipelines) falls in the bucket of its local date. The stored
/// daily deployment rollups are UTC days (docs/metrics.md, "Time zones").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Range {
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub bucket: Bucket,
    pub tz: chrono_tz::Tz,
}

impl Range {
    /// From `since` to `until`, both included.
    pub fn new(since: NaiveDate, until: NaiveDate, bucket: Bucket) -> Result<Range, DomainError> {
        if since > until {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "since",
                format!("since ({since}) is after until ({until})"),
            )]));
        }
        let end = until.succ_opt().ok_or_else(|| {
            DomainError::Invalid(vec![FieldError::new(
                "until",
                "is past the last date there is",
            )])
        })?;
        if (end - since).num_days() > MAX_RANGE_DAYS {
            return Err(DomainError::Invalid(vec![FieldError::new(
                "since",
                format!("the range is longer than {MAX_RANGE_DAYS} days"),
            )]));
        }
        Ok(Range {
            start: since,
            end,
            bucket,
            tz: chrono_tz::UTC,
        })
    }

    /// The same days, read in `tz` (a team's zone).
    pub fn in_zone(mut self, tz: chrono_tz::Tz) -> Range {
        self.tz = tz;
        self
    }

    /// The instant `day` begins in the range's zone.
    pub fn at(&self, day: NaiveDate) -> DateTime<Utc> {
        crate::time::local_midnight(day, self.tz)
    }

    pub fn start_at(&self) -> DateTime<Utc> {
        self.at(self.start)
    }

    pub fn end_at(&self) -> DateTime<Utc> {
        self.at(self.end)
    }

    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days()
    }

    /// The buckets, in order, as `[start, end)` day pairs.
    pub fn buckets(&self) -> Vec<(NaiveDate, NaiveDate)> {
        let mut out = Vec::new();
        let mut at = self.start;
        while at < self.end {
            let next = match self.bucket {
                Bucket::Day => at + Duration::days(1),
                Bucket::Week => {
                    at + Duration::days(7 - i64::from(at.weekday().num_days_from_monday()))
                }
                Bucket::Month => {
                    let (y, m) = if at.month() == 12 {
                        (at.year() + 1, 1)
                    } else {
                        (at.year(), at.month() + 1)
                    };
                    NaiveDate::from_ymd_opt(y, m, 1).expect("the first of a month exists")
                }
            };
            let next = next.min(self.end);
            out.push((at, next));
            at = next;
        }
        out
    }
}

/// Which deployments and incidents a metric reads: one or more projects (a
/// team's are all of its projects), optionally one service, one environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricScope {
    pub project_ids: Vec<Uuid>,
    pub service: Option<String>,
    pub environment: String,
}
