//! DORA levels: the thresholds of the State of DevOps report that turn each key
//! into elite, high, medium or low.
//!
//! Part of [`super`] (see its documentation); public items are re-exported
//! there.

use super::*;

string_enum! {
    /// A DORA software delivery performance level.
    #[schema(as = DoraLevel)]
    Level {
        Elite => "elite",
        High => "high",
        Medium => "medium",
        Low => "low",
    }
}

pub(super) const HOUR: f64 = 3600.0;
pub(super) const DAY: f64 = 24.0 * HOUR;
pub(super) const WEEK: f64 = 7.0 * DAY;
/// A month, for thresholds: 30 days.
pub(super) const MONTH: f64 = 30.0 * DAY;

/// Deployment frequency: at least once a day on average is elite (on
/// demand), at least weekly high, at least monthly medium, else low.
pub fn frequency_level(deployments_per_day: f64) -> Level {
    if deployments_per_day >= 1.0 {
        Level::Elite
    } else if deployments_per_day >= 1.0 / 7.0 {
        Level::High
    } else if deployments_per_day >= 1.0 / 30.0 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Lead time for changes (median, seconds): under a day elite, up to a week
/// high, up to a month medium, else low.
pub fn lead_time_level(median_seconds: f64) -> Level {
    if median_seconds < DAY {
        Level::Elite
    } else if median_seconds <= WEEK {
        Level::High
    } else if median_seconds <= MONTH {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Change failure rate (0–1): up to 5 % elite, 10 % high, 15 % medium, else
/// low (the 2023 low cluster sat at 64 %).
pub fn failure_rate_level(rate: f64) -> Level {
    if rate <= 0.05 {
        Level::Elite
    } else if rate <= 0.10 {
        Level::High
    } else if rate <= 0.15 {
        Level::Medium
    } else {
        Level::Low
    }
}

/// Time to restore (median, seconds): under an hour elite, under a day high,
/// up to a week medium, else low.
pub fn restore_level(median_seconds: f64) -> Level {
    if median_seconds < HOUR {
        Level::Elite
    } else if median_seconds < DAY {
        Level::High
    } else if median_seconds <= WEEK {
        Level::Medium
    } else {
        Level::Low
    }
}
