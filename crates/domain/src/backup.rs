//! Backups of a whole Tandem database: how a backup is named, and which
//! backups a retention policy keeps. Pure: the taking, storing and
//! restoring are `tandem_app::backup`'s.
//!
//! A backup's name is its UTC time: `tandem-20261207T001500Z.jsonl.gz`, so
//! names sort as times do and a listing needs no metadata to be pruned.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDateTime, Utc};

const PREFIX: &str = "tandem-";
const SUFFIX: &str = ".jsonl.gz";
const TIME_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// The file (or object) name of a backup taken at `at` (whole seconds).
pub fn backup_name(at: DateTime<Utc>) -> String {
    format!("{PREFIX}{}{SUFFIX}", at.format(TIME_FORMAT))
}

/// The time of a backup named by [`backup_name`]; `None` for any other name
/// (a checksum file, the `latest` pointer, a stranger's file).
pub fn parse_backup_name(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
    NaiveDateTime::parse_from_str(stamp, TIME_FORMAT)
        .ok()
        .map(|t| t.and_utc())
}

/// How many backups to keep: the newest of each of the last `daily` days,
/// `weekly` ISO weeks and `monthly` months that have a backup (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
}

/// The period a backup falls in (a day, ISO week or month), as comparable numbers.
type Period = fn(&DateTime<Utc>) -> (i32, u32);

/// The backups `retention` keeps among those taken at `taken` (any order,
/// duplicates ignored), newest first.
///
/// Each rule walks the backups from the newest and keeps the newest one of
/// each period (UTC day, ISO week, month) until it has kept as many periods
/// as it allows; a backup is kept when any rule keeps it. Periods without a
/// backup do not count, so a pause in backups never expires the last ones
/// (as restic's and borg's `--keep-daily/weekly/monthly`). The newest
/// backup is always kept.
pub fn kept(taken: &[DateTime<Utc>], retention: &Retention) -> Vec<DateTime<Utc>> {
    let newest_first: Vec<DateTime<Utc>> = taken
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .rev()
        .collect();
    let mut keep = BTreeSet::new();
    if let Some(first) = newest_first.first() {
        keep.insert(*first);
    }
    let rules: [(u32, Period); 3] = [
        (retention.daily, |t| (t.year(), t.ordinal())),
        (retention.weekly, |t| {
            let w = t.iso_week();
            (w.year(), w.week())
        }),
        (retention.monthly, |t| (t.year(), t.month())),
    ];
    for (count, period) in rules {
        let mut seen = BTreeSet::new();
        for t in &newest_first {
            if seen.len() as u32 >= count {
                break;
            }
            if seen.insert(period(t)) {
                keep.insert(*t);
            }
        }
    }
    keep.into_iter().rev().collect()
}

/// The backups among `taken` that `retention` does not keep, oldest first:
/// exactly what a prune deletes.
pub fn expired(taken: &[DateTime<Utc>], retention: &Retention) -> Vec<DateTime<Utc>> {
    let keep: BTreeSet<_> = kept(taken, retention).into_iter().collect();
    taken
        .iter()
        .copied()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|t| !keep.contains(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    const POLICY: Retention = Retention {
        daily: 7,
        weekly: 4,
        monthly: 12,
    };

    #[test]
    fn names_round_trip_and_sort_as_times() {
        let t = Utc.with_ymd_and_hms(2026, 12, 7, 0, 15, 9).unwrap();
        assert_eq!(backup_name(t), "tandem-20261207T001509Z.jsonl.gz");
        assert_eq!(parse_backup_name(&backup_name(t)), Some(t));
        assert!(backup_name(t) < backup_name(t + Duration::seconds(1)));
        for other in [
            "latest",
            "tandem-20261207T001509Z.jsonl.gz.sha256",
            "tandem-2026-12-07.jsonl.gz",
            "x-20261207T001509Z.jsonl.gz",
        ] {
            assert_eq!(parse_backup_name(other), None, "{other}");
        }
    }

    #[test]
    fn a_daily_backup_for_a_year_keeps_7_days_4_weeks_12_months() {
        // One backup a day at 02:00 from 2026-01-01 to 2026-12-31 (a Thursday).
        let start = at(2026, 1, 1, 2);
        let taken: Vec<_> = (0..365).map(|d| start + Duration::days(d)).collect();
        let kept = kept(&taken, &POLICY);
        let days: Vec<String> = kept
            .iter()
            .map(|t| t.format("%Y-%m-%d").to_string())
            .collect();
        assert_eq!(
            days,
            [
                // The last 7 days.
                "2026-12-31",
                "2026-12-30",
                "2026-12-29",
                "2026-12-28",
                "2026-12-27",
                "2026-12-26",
                "2026-12-25",
                // The newest of the last 4 ISO weeks: 12-31 and 12-27 are
                // kept already as days.
                "2026-12-20",
                "2026-12-13",
                // The last day of each month before December.
                "2026-11-30",
                "2026-10-31",
                "2026-09-30",
                "2026-08-31",
                "2026-07-31",
                "2026-06-30",
                "2026-05-31",
                "2026-04-30",
                "2026-03-31",
                "2026-02-28",
                "2026-01-31",
            ]
        );
        assert_eq!(expired(&taken, &POLICY).len(), 365 - kept.len());
    }

    #[test]
    fn the_newest_of_a_day_is_kept_and_the_others_expire() {
        let taken = [at(2026, 3, 2, 1), at(2026, 3, 2, 13), at(2026, 3, 2, 23)];
        assert_eq!(kept(&taken, &POLICY), [at(2026, 3, 2, 23)]);
        assert_eq!(
            expired(&taken, &POLICY),
            [at(2026, 3, 2, 1), at(2026, 3, 2, 13)]
        );
    }

    #[test]
    fn a_pause_in_backups_expires_nothing_it_would_need() {
        // Two backups a year apart: both are the newest of their day, week
        // and month, and days without a backup do not count.
        let taken = [at(2025, 1, 10, 2), at(2026, 1, 10, 2)];
        assert!(expired(&taken, &POLICY).is_empty());
    }

    #[test]
    fn zero_everywhere_still_keeps_the_newest() {
        let none = Retention {
            daily: 0,
            weekly: 0,
            monthly: 0,
        };
        let taken = [at(2026, 3, 1, 2), at(2026, 3, 2, 2), at(2026, 3, 3, 2)];
        assert_eq!(kept(&taken, &none), [at(2026, 3, 3, 2)]);
        assert_eq!(
            expired(&taken, &none),
            [at(2026, 3, 1, 2), at(2026, 3, 2, 2)]
        );
        assert!(kept(&[], &POLICY).is_empty());
    }
}
