//! Time conventions: every instant is UTC with microsecond precision, the
//! finest both storage engines keep. Truncating at the edge makes a value
//! read back from either engine equal to the value written.

use chrono::{DateTime, SubsecRound, Utc};

/// Truncates an instant to whole microseconds.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Truncates an optional instant to whole microseconds.
pub fn micros_opt(at: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    at.map(micros)
}
