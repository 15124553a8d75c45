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

/// A team's time zone from its IANA name (UTC when the name is not in the
/// tz database; team names are validated against it on write).
pub fn zone(name: &str) -> chrono_tz::Tz {
    name.parse().unwrap_or(chrono_tz::UTC)
}

/// The local date of an instant in `tz`: the day a thing "was done on" for
/// a team (docs/metrics.md, "Time zones").
pub fn local_date(at: DateTime<Utc>, tz: chrono_tz::Tz) -> chrono::NaiveDate {
    at.with_timezone(&tz).date_naive()
}

/// The instant a local date begins in `tz` (its first existing instant when
/// midnight falls in a DST gap).
pub fn local_midnight(day: chrono::NaiveDate, tz: chrono_tz::Tz) -> DateTime<Utc> {
    crate::policy::local_to_utc(&tz, day.and_time(chrono::NaiveTime::MIN))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn local_days_follow_the_zone_across_dst() {
        let sydney = zone("Australia/Sydney");
        // Sydney leaves summer time on Sunday 2026-04-05 at 03:00 (UTC+11 -> +10).
        let d = |s: &str| s.parse::<chrono::NaiveDate>().unwrap();
        assert_eq!(
            local_midnight(d("2026-04-05"), sydney),
            Utc.with_ymd_and_hms(2026, 4, 4, 13, 0, 0).unwrap()
        );
        assert_eq!(
            local_midnight(d("2026-04-06"), sydney),
            Utc.with_ymd_and_hms(2026, 4, 5, 14, 0, 0).unwrap()
        );
        // 13:30Z on the 5th is 23:30 local (UTC+10): still the 5th.
        assert_eq!(
            local_date(Utc.with_ymd_and_hms(2026, 4, 5, 13, 30, 0).unwrap(), sydney),
            d("2026-04-05")
        );
        // A gap at midnight (Santiago starts summer time at 00:00 in September).
        let santiago = zone("America/Santiago");
        let m = local_midnight(d("2026-09-06"), santiago);
        assert_eq!(local_date(m, santiago), d("2026-09-06"));
        assert_eq!(zone("Mars/Olympus"), chrono_tz::UTC);
    }
}
