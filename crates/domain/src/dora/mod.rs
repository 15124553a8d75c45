//! Delivery metrics as pure computations: percentiles, the lead-time
//! histogram kept per deployment and per day, DORA performance levels, and
//! the rules (windows, look-backs) the metrics depend on. Definitions are in
//! `docs/metrics.md`; the store gathers the inputs.
//!
//! The code, one file per part: `percentile`, `histogram`, `levels`, `range`,
//! `report` (the four keys), `pulls`, `work` (flow), `coverage`, `explain`;
//! their public items are re-exported here, so paths stay `dora::…`.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::attribution;
use crate::error::{DomainError, FieldError};
use crate::string_enum;

mod coverage;
mod explain;
mod histogram;
mod levels;
mod percentile;
mod pulls;
mod range;
mod report;
#[cfg(test)]
mod tests;
mod work;

pub use self::coverage::*;
pub use self::explain::*;
pub use self::histogram::*;
pub use self::levels::*;
pub use self::percentile::*;
pub use self::pulls::*;
pub use self::range::*;
pub use self::report::*;
pub use self::work::*;

/// The year of the State of DevOps report whose thresholds give the levels.
pub const THRESHOLDS_YEAR: u16 = 2023;

/// Default window after a deployment in which an unlinked incident on the
/// same service counts as caused by it.
pub const DEFAULT_INCIDENT_WINDOW_HOURS: i64 = 24;

/// Rules the stored metric facts depend on. Changing them recomputes every
/// deployment's facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetricRules {
    /// The first deployment of a service counts commits authored this many
    /// days before it.
    pub first_lookback_days: i64,
    /// An unlinked incident opened this many hours after a deployment (and
    /// before the service's next one) counts as caused by it.
    pub incident_window_hours: i64,
    /// The environment whose incidents count as production failures.
    pub production_environment: String,
}

impl Default for MetricRules {
    fn default() -> Self {
        MetricRules {
            first_lookback_days: attribution::DEFAULT_FIRST_LOOKBACK_DAYS,
            incident_window_hours: DEFAULT_INCIDENT_WINDOW_HOURS,
            production_environment: "production".to_owned(),
        }
    }
}

impl MetricRules {
    pub fn attribution(&self) -> attribution::Rules {
        attribution::Rules {
            first_lookback: Duration::days(self.first_lookback_days),
        }
    }

    pub fn incident_window(&self) -> Duration {
        Duration::hours(self.incident_window_hours)
    }
}
