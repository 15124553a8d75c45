//! A team's policy for protecting its time (issue 15): no meetings after the
//! evening cutoff (incident calls excepted), a protected focus block, at most
//! so many meeting hours per person per day, an optional no-meeting day, and
//! the working hours inside which non-urgent notifications may arrive.
//!
//! Every clock time here is a wall-clock time in the team's (or the
//! recipient's) time zone; instants stay UTC. [`delivery_time`] is the one
//! rule for "when may Tandem tell this person something": urgent things go
//! now; anything else waits for the next instant inside working hours, before
//! the evening cutoff and outside the focus block, on a working day, in the
//! recipient's zone. Local times that do not exist (the hour skipped at the
//! start of summer time) move to the first instant that does; times that
//! exist twice (the hour repeated in autumn) take the earlier one.
//!
//! The signature of [`delivery_time`] is used by other branches (alerts'
//! quiet hours): keep it stable.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{DomainError, Problems};
use crate::string_enum;

string_enum! {
    /// How soon a notification must reach its recipient.
    Urgency {
        /// A P0 request or a production incident: delivered at once.
        Urgent => "urgent",
        /// Everything else: waits for working hours outside the focus block.
        Normal => "normal",
    }
}

string_enum! {
    /// A day of the week, as policies name it.
    Day {
        Mon => "mon",
        Tue => "tue",
        Wed => "wed",
        Thu => "thu",
        Fri => "fri",
        Sat => "sat",
        Sun => "sun",
    }
}

impl Day {
    pub fn of(date: NaiveDate) -> Day {
        Day::from_weekday(date.weekday())
    }

    pub fn from_weekday(w: chrono::Weekday) -> Day {
        match w {
            chrono::Weekday::Mon => Day::Mon,
            chrono::Weekday::Tue => Day::Tue,
            chrono::Weekday::Wed => Day::Wed,
            chrono::Weekday::Thu => Day::Thu,
            chrono::Weekday::Fri => Day::Fri,
            chrono::Weekday::Sat => Day::Sat,
            chrono::Weekday::Sun => Day::Sun,
        }
    }

    pub const WEEKDAYS: [Day; 5] = [Day::Mon, Day::Tue, Day::Wed, Day::Thu, Day::Fri];
}

/// A wall-clock time of day with minute precision, written `HH:MM` on the
/// wire. `24:00` is allowed and means the end of the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ClockTime(u16);

impl ClockTime {
    pub const MIDNIGHT: ClockTime = ClockTime(0);
    pub const END_OF_DAY: ClockTime = ClockTime(24 * 60);

    /// `None` unless `hour:minute` is a time of day (or exactly 24:00).
    pub fn new(hour: u16, minute: u16) -> Option<ClockTime> {
        let m = hour.checked_mul(60)?.checked_add(minute)?;
        (minute < 60 && m <= 24 * 60).then_some(ClockTime(m))
    }

    /// Minutes since midnight.
    pub fn minutes(self) -> u32 {
        u32::from(self.0)
    }

    /// The instant on `date` at this time, as a naive local date-time
    /// (`24:00` is the next day's midnight).
    pub fn on(self, date: NaiveDate) -> chrono::NaiveDateTime {
        date.and_time(NaiveTime::MIN) + Duration::minutes(i64::from(self.0))
    }
}

impl fmt::Display for ClockTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl FromStr for ClockTime {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("{s:?} is not a time of day written HH:MM (00:00 to 24:00)");
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u16 = h.parse().map_err(|_| bad())?;
        let m: u16 = m.parse().map_err(|_| bad())?;
        ClockTime::new(h, m).ok_or_else(bad)
    }
}

impl Serialize for ClockTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ClockTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl utoipa::PartialSchema for ClockTime {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some("^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"))
            .description(Some(
                "A wall-clock time of day, HH:MM, in the team's time zone.",
            ))
            .examples([serde_json::json!("18:00")])
            .into()
    }
}

impl utoipa::ToSchema for ClockTime {}

fn t(h: u16, m: u16) -> ClockTime {
    ClockTime(h * 60 + m)
}

/// A team's rules for meetings and interruptions. Times are wall-clock times
/// in the team's time zone (for a notification: the recipient's zone).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({
    "evening_cutoff": "18:00", "incidents_exempt": true,
    "focus_start": "09:00", "focus_end": "12:00",
    "focus_days": ["mon", "tue", "wed", "thu", "fri"],
    "max_meeting_minutes_per_day": 240, "no_meeting_day": null,
    "work_start": "09:00", "work_end": "18:00",
    "work_days": ["mon", "tue", "wed", "thu", "fri"]
})))]
pub struct TeamPolicy {
    /// No meetings end after this time (18:00 by default).
    #[serde(default = "default_evening")]
    pub evening_cutoff: ClockTime,
    /// Incident calls are not meetings for the evening rule (true by default).
    #[serde(default = "yes")]
    pub incidents_exempt: bool,
    /// Start of the protected focus block (09:00 by default).
    #[serde(default = "default_focus_start")]
    pub focus_start: ClockTime,
    /// End of the protected focus block (12:00 by default).
    #[serde(default = "default_focus_end")]
    pub focus_end: ClockTime,
    /// Days on which the focus block is protected (Monday to Friday by default).
    #[serde(default = "weekdays")]
    pub focus_days: Vec<Day>,
    /// At most this many meeting minutes per person per day (240 by default).
    #[serde(default = "default_max_meeting")]
    pub max_meeting_minutes_per_day: u32,
    /// An optional day without any meetings.
    #[serde(default)]
    pub no_meeting_day: Option<Day>,
    /// Start of working hours (09:00 by default).
    #[serde(default = "default_work_start")]
    pub work_start: ClockTime,
    /// End of working hours (18:00 by default).
    #[serde(default = "default_work_end")]
    pub work_end: ClockTime,
    /// Working days (Monday to Friday by default).
    #[serde(default = "weekdays")]
    pub work_days: Vec<Day>,
}

fn default_evening() -> ClockTime {
    t(18, 0)
}
fn yes() -> bool {
    true
}
fn default_focus_start() -> ClockTime {
    t(9, 0)
}
fn default_focus_end() -> ClockTime {
    t(12, 0)
}
fn weekdays() -> Vec<Day> {
    Day::WEEKDAYS.to_vec()
}
fn default_max_meeting() -> u32 {
    240
}
fn default_work_start() -> ClockTime {
    t(9, 0)
}
fn default_work_end() -> ClockTime {
    t(18, 0)
}

impl Default for TeamPolicy {
    fn default() -> Self {
        TeamPolicy {
            evening_cutoff: default_evening(),
            incidents_exempt: true,
            focus_start: default_focus_start(),
            focus_end: default_focus_end(),
            focus_days: weekdays(),
            max_meeting_minutes_per_day: default_max_meeting(),
            no_meeting_day: None,
            work_start: default_work_start(),
            work_end: default_work_end(),
            work_days: weekdays(),
        }
    }
}

impl TeamPolicy {
    /// Every broken rule, each naming its field.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if self.focus_start >= self.focus_end {
            p.push("focus_end", "the focus block must end after it starts");
        }
        if self.work_start >= self.work_end {
            p.push("work_end", "working hours must end after they start");
        }
        if self.work_days.is_empty() {
            p.push("work_days", "at least one working day is needed");
        }
        if self.max_meeting_minutes_per_day == 0 || self.max_meeting_minutes_per_day > 24 * 60 {
            p.push(
                "max_meeting_minutes_per_day",
                "must be between 1 and 1440 minutes",
            );
        }
        if self.evening_cutoff <= self.work_start {
            p.push(
                "evening_cutoff",
                "the evening cutoff must be after the start of working hours",
            );
        }
        for (field, days) in [
            ("focus_days", &self.focus_days),
            ("work_days", &self.work_days),
        ] {
            let mut seen = days.clone();
            seen.sort();
            seen.dedup();
            if seen.len() != days.len() {
                p.push(field, "a day is listed twice");
            }
        }
        p.into_result()
    }

    pub fn is_work_day(&self, day: Day) -> bool {
        self.work_days.contains(&day)
    }

    pub fn is_focus_day(&self, day: Day) -> bool {
        self.focus_days.contains(&day)
    }

    /// The local windows of `day` in which non-urgent notifications may
    /// arrive: working hours, cut at the evening cutoff, minus the focus
    /// block. Empty on a non-working day.
    pub fn delivery_windows(&self, day: Day) -> Vec<(ClockTime, ClockTime)> {
        if !self.is_work_day(day) {
            return Vec::new();
        }
        let start = self.work_start;
        let end = self.work_end.min(self.evening_cutoff);
        if start >= end {
            return Vec::new();
        }
        if !self.is_focus_day(day) || self.focus_end <= start || self.focus_start >= end {
            return vec![(start, end)];
        }
        let mut out = Vec::new();
        if start < self.focus_start {
            out.push((start, self.focus_start));
        }
        if self.focus_end < end {
            out.push((self.focus_end, end));
        }
        out
    }
}

/// The instant at which the naive local time `local` happens in `tz`: the
/// earlier one when it happens twice, the first instant after the gap when it
/// does not happen at all.
pub fn local_to_utc<Z: TimeZone>(tz: &Z, local: chrono::NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => t.with_timezone(&Utc),
        LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
        LocalResult::None => {
            // In a gap (clocks jumped forward): the first minute that exists
            // is the transition itself. Gaps are at most a few hours.
            let mut probe = local;
            for _ in 0..(24 * 60) {
                probe += Duration::minutes(1);
                if let Some(t) = tz.from_local_datetime(&probe).earliest() {
                    return t.with_timezone(&Utc);
                }
            }
            local.and_utc()
        }
    }
}

/// When a notification of `urgency` for a recipient in `tz` may be delivered,
/// given `now` and the policy: urgent -> `now`; otherwise the first instant
/// at or after `now` inside a delivery window ([`TeamPolicy::delivery_windows`]).
/// A policy whose windows are all empty delivers `now` (nothing better exists).
pub fn delivery_time(
    policy: &TeamPolicy,
    tz: chrono_tz::Tz,
    now: DateTime<Utc>,
    urgency: Urgency,
) -> DateTime<Utc> {
    if urgency == Urgency::Urgent {
        return now;
    }
    let today = now.with_timezone(&tz).date_naive();
    // A day before today covers a window that started "yesterday" in local
    // terms but still runs; two weeks cover every weekly pattern.
    for offset in -1..=14 {
        let date = today + Duration::days(offset);
        for (from, to) in policy.delivery_windows(Day::of(date)) {
            let start = local_to_utc(&tz, from.on(date));
            let end = local_to_utc(&tz, to.on(date));
            if now < end && start < end {
                return now.max(start);
            }
        }
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::{Australia, Europe, UTC};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn defaults_are_valid_and_match_the_essay() {
        let p = TeamPolicy::default();
        p.validate().unwrap();
        assert_eq!(p.evening_cutoff.to_string(), "18:00");
        assert_eq!(p.focus_start.to_string(), "09:00");
        assert_eq!(p.focus_end.to_string(), "12:00");
        assert_eq!(p.max_meeting_minutes_per_day, 240);
        assert!(p.incidents_exempt);
        let json = serde_json::to_value(&p).unwrap();
        let back: TeamPolicy = serde_json::from_value(json).unwrap();
        assert_eq!(back, p);
        let partial: TeamPolicy = serde_json::from_str(r#"{"no_meeting_day":"wed"}"#).unwrap();
        assert_eq!(partial.no_meeting_day, Some(Day::Wed));
        assert_eq!(partial.focus_days, Day::WEEKDAYS.to_vec());
    }

    #[test]
    fn validation_names_each_field() {
        let p = TeamPolicy {
            focus_start: t(13, 0),
            focus_end: t(12, 0),
            work_days: vec![],
            max_meeting_minutes_per_day: 0,
            focus_days: vec![Day::Mon, Day::Mon],
            ..TeamPolicy::default()
        };
        let e = p.validate().unwrap_err();
        assert_eq!(
            e.fields(),
            [
                "focus_end",
                "work_days",
                "max_meeting_minutes_per_day",
                "focus_days"
            ]
        );
        assert!("25:00".parse::<ClockTime>().is_err());
        assert!("9:00".parse::<ClockTime>().is_err());
        assert!("12:60".parse::<ClockTime>().is_err());
        assert_eq!("24:00".parse::<ClockTime>().unwrap(), ClockTime::END_OF_DAY);
        assert!(serde_json::from_str::<TeamPolicy>(r#"{"focus_start":"x"}"#).is_err());
    }

    #[test]
    fn urgent_goes_now_whatever_the_hour() {
        let p = TeamPolicy::default();
        let now = at("2026-03-07T23:30:00Z"); // a Saturday night
        assert_eq!(delivery_time(&p, Europe::Berlin, now, Urgency::Urgent), now);
    }

    #[test]
    fn normal_waits_for_the_end_of_the_focus_block() {
        let p = TeamPolicy::default();
        // Tuesday 2026-03-03 10:00 in Berlin (UTC+1) = 09:00Z: inside the block.
        let now = at("2026-03-03T09:00:00Z");
        assert_eq!(
            delivery_time(&p, Europe::Berlin, now, Urgency::Normal),
            at("2026-03-03T11:00:00Z") // 12:00 Berlin
        );
        // 14:00 Berlin: inside working hours, outside the block: now.
        let now = at("2026-03-03T13:00:00Z");
        assert_eq!(delivery_time(&p, Europe::Berlin, now, Urgency::Normal), now);
    }

    #[test]
    fn normal_after_the_evening_waits_for_the_next_working_afternoon() {
        let p = TeamPolicy::default();
        // Friday 2026-03-06 18:30 Berlin -> Monday 12:00 Berlin (the morning is the focus block).
        let now = at("2026-03-06T17:30:00Z");
        assert_eq!(
            delivery_time(&p, Europe::Berlin, now, Urgency::Normal),
            at("2026-03-09T11:00:00Z")
        );
        // Without a focus block on Mondays, Monday 09:00 it is.
        let p = TeamPolicy {
            focus_days: vec![Day::Tue, Day::Wed, Day::Thu, Day::Fri],
            ..TeamPolicy::default()
        };
        assert_eq!(
            delivery_time(&p, Europe::Berlin, now, Urgency::Normal),
            at("2026-03-09T08:00:00Z")
        );
    }

    #[test]
    fn the_recipients_zone_decides_not_utc() {
        let p = TeamPolicy::default();
        // 2026-03-02T03:00Z is Monday 14:00 in Sydney (UTC+11): deliver now there,
        // but in UTC it is 03:00 on Monday: wait for 12:00Z.
        let now = at("2026-03-02T03:00:00Z");
        assert_eq!(
            delivery_time(&p, Australia::Sydney, now, Urgency::Normal),
            now
        );
        assert_eq!(
            delivery_time(&p, UTC, now, Urgency::Normal),
            at("2026-03-02T12:00:00Z")
        );
    }

    #[test]
    fn across_a_dst_change_the_local_wall_clock_counts() {
        let p = TeamPolicy::default();
        // Berlin moves to summer time on Sunday 2026-03-29. Saturday evening
        // (UTC+1) -> Monday 12:00 local, which is now UTC+2 = 10:00Z.
        let now = at("2026-03-28T19:00:00Z");
        assert_eq!(
            delivery_time(&p, Europe::Berlin, now, Urgency::Normal),
            at("2026-03-30T10:00:00Z")
        );
        // A window starting inside the skipped hour starts at the transition.
        let night = TeamPolicy {
            work_start: t(2, 30),
            evening_cutoff: t(18, 0),
            work_days: vec![Day::Sun],
            focus_days: vec![],
            ..TeamPolicy::default()
        };
        let now = at("2026-03-28T12:00:00Z");
        assert_eq!(
            delivery_time(&night, Europe::Berlin, now, Urgency::Normal),
            at("2026-03-29T01:00:00Z") // 03:00 CEST, the first instant that exists
        );
    }
}
