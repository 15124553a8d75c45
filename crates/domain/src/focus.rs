//! A team's week of meetings measured against its policy (issue 15): the
//! figures a manager sees, none of them naming a person.
//!
//! Everything is in the team's zone: the week is Monday 00:00 to the next
//! Monday 00:00 local time, a meeting belongs to the local date it starts on
//! (clipped at that day's 24:00), and the rules compare wall-clock times.
//! A person attends a meeting when their e-mail address is among its
//! attendees (organiser included, decliners excluded). Overlapping meetings
//! of one person count once (their union). All-day events are not meetings.
//! Incident calls are not meetings at all when the policy exempts them.
//!
//! Breaches, each counted once per person:
//! - `evening`: a meeting that runs past the evening cutoff (or past
//!   midnight), one per meeting;
//! - `focus_block`: a meeting overlapping the focus block on a focus day, one
//!   per meeting;
//! - `no_meeting_day`: a meeting on the no-meeting day, one per meeting;
//! - `meeting_load`: a day with more meeting minutes than the maximum, one
//!   per person-day.
//!
//! By series: the per-meeting breaches grouped by event (a recurring series
//! is one event), with the nearest start on a 30-minute grid, on the same
//! day, at which the meeting keeps every rule — moving there removes all of
//! that series' evening and focus-block breaches.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use crate::calendar::Meeting;
use crate::policy::{ClockTime, Day, TeamPolicy, local_to_utc};
use crate::string_enum;

string_enum! {
    /// The rule a meeting breaks.
    Rule {
        Evening => "evening",
        FocusBlock => "focus_block",
        MeetingLoad => "meeting_load",
        NoMeetingDay => "no_meeting_day",
    }
}

/// Person-days by meeting hours: how many had none, up to 1 h, … more than 4 h.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MeetingDistribution {
    pub none: u32,
    pub up_to_1h: u32,
    pub up_to_2h: u32,
    pub up_to_3h: u32,
    pub up_to_4h: u32,
    pub over_4h: u32,
}

impl MeetingDistribution {
    fn add(&mut self, minutes: u32) {
        match minutes {
            0 => self.none += 1,
            1..=60 => self.up_to_1h += 1,
            61..=120 => self.up_to_2h += 1,
            121..=180 => self.up_to_3h += 1,
            181..=240 => self.up_to_4h += 1,
            _ => self.over_4h += 1,
        }
    }
}

/// Breaches by rule.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BreachCounts {
    pub evening: u32,
    pub focus_block: u32,
    pub meeting_load: u32,
    pub no_meeting_day: u32,
}

impl BreachCounts {
    pub fn total(&self) -> u32 {
        self.evening + self.focus_block + self.meeting_load + self.no_meeting_day
    }
    fn add(&mut self, rule: Rule) {
        match rule {
            Rule::Evening => self.evening += 1,
            Rule::FocusBlock => self.focus_block += 1,
            Rule::MeetingLoad => self.meeting_load += 1,
            Rule::NoMeetingDay => self.no_meeting_day += 1,
        }
    }
}

/// One meeting series breaking one rule, and the move that would fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SeriesBreach {
    pub uid: String,
    pub summary: String,
    /// Day and start of its first occurrence in the week, in the team's zone (`Tue 18:30`).
    pub when: String,
    pub rule: Rule,
    /// Distinct people for whom it breaks the rule.
    pub people: u32,
    pub breaches: u32,
    /// The nearest start on the same day at which it keeps every rule, if any.
    pub move_to: Option<ClockTime>,
    /// Breaches of this rule that the move removes.
    pub removes: u32,
    /// The sentence a manager reads.
    pub text: String,
}

/// A team's week against its policy. Aggregates only: no names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FocusWeek {
    /// Monday of the week, in the team's zone.
    pub week_start: NaiveDate,
    pub people: u32,
    /// People × working days.
    pub person_days: u32,
    pub meeting_minutes: u32,
    /// Mean meeting hours per person-day (two decimals).
    pub meeting_hours_per_person_day: f64,
    pub distribution: MeetingDistribution,
    /// Minutes of focus block the policy protects (people × focus days × block).
    pub focus_block_minutes: u32,
    /// Of those, minutes without any meeting.
    pub focus_kept_minutes: u32,
    /// focus_kept / focus_block in percent (one decimal); 100 when there is no block.
    pub focus_kept_percent: f64,
    pub breaches: BreachCounts,
    pub breaches_total: u32,
    /// Per-meeting breaches by series, most breaches first.
    pub series: Vec<SeriesBreach>,
}

/// One week of the trend.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = FocusTrendPoint)]
pub struct TrendPoint {
    pub week_start: NaiveDate,
    pub meeting_hours_per_person_day: f64,
    pub focus_kept_percent: f64,
    pub breaches_total: u32,
}

impl From<&FocusWeek> for TrendPoint {
    fn from(w: &FocusWeek) -> Self {
        TrendPoint {
            week_start: w.week_start,
            meeting_hours_per_person_day: w.meeting_hours_per_person_day,
            focus_kept_percent: w.focus_kept_percent,
            breaches_total: w.breaches_total,
        }
    }
}

/// The Monday of the week holding `date`.
pub fn monday_of(date: NaiveDate) -> NaiveDate {
    date - Duration::days(i64::from(date.weekday_from_monday()))
}

trait FromMonday {
    fn weekday_from_monday(&self) -> u32;
}
impl FromMonday for NaiveDate {
    fn weekday_from_monday(&self) -> u32 {
        chrono::Datelike::weekday(self).num_days_from_monday()
    }
}

/// The UTC bounds of the local week starting `monday` in `tz`.
pub fn week_bounds(monday: NaiveDate, tz: chrono_tz::Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        local_to_utc(&tz, monday.and_time(NaiveTime::MIN)),
        local_to_utc(&tz, (monday + Duration::days(7)).and_time(NaiveTime::MIN)),
    )
}

/// A meeting of one person on one local day, in wall-clock minutes.
#[derive(Debug, Clone, Copy)]
struct Slot {
    from: u32,
    to: u32,
    meeting: usize,
}

fn minutes_of(t: chrono::NaiveDateTime) -> u32 {
    t.hour() * 60 + t.minute()
}

fn union_minutes(slots: &[Slot], clip: Option<(u32, u32)>) -> u32 {
    let mut spans: Vec<(u32, u32)> = slots
        .iter()
        .filter_map(|s| match clip {
            Some((a, b)) => {
                let (f, t) = (s.from.max(a), s.to.min(b));
                (f < t).then_some((f, t))
            }
            None => (s.from < s.to).then_some((s.from, s.to)),
        })
        .collect();
    spans.sort_unstable();
    let mut total = 0;
    let mut cur: Option<(u32, u32)> = None;
    for (f, t) in spans {
        match cur {
            Some((cf, ct)) if f <= ct => cur = Some((cf, ct.max(t))),
            Some((cf, ct)) => {
                total += ct - cf;
                cur = Some((f, t));
            }
            None => cur = Some((f, t)),
        }
    }
    if let Some((cf, ct)) = cur {
        total += ct - cf;
    }
    total
}

/// Measures the week starting `monday` (local, in `tz`) for `people` (their
/// lower-case e-mail addresses) against `policy`. `meetings` may hold more
/// than the week and people outside the team; duplicates (same `uid` and
/// start, e.g. one meeting seen in two people's feeds) count once.
pub fn evaluate_week(
    policy: &TeamPolicy,
    tz: chrono_tz::Tz,
    monday: NaiveDate,
    people: &[String],
    meetings: &[Meeting],
) -> FocusWeek {
    let monday = monday_of(monday);
    let (from, to) = week_bounds(monday, tz);
    let index: HashMap<&str, usize> = people
        .iter()
        .enumerate()
        .map(|(i, p)| (p.as_str(), i))
        .collect();
    // Slots per (person, day offset 0..7).
    let mut slots: Vec<[Vec<Slot>; 7]> = vec![Default::default(); people.len()];
    let mut seen: HashSet<(&str, DateTime<Utc>)> = HashSet::new();
    let mut local_start: Vec<(NaiveDate, u32, u32)> = vec![(monday, 0, 0); meetings.len()];
    for (k, m) in meetings.iter().enumerate() {
        if m.all_day || m.end <= from || m.start >= to || (m.incident && policy.incidents_exempt) {
            continue;
        }
        if !seen.insert((m.uid.as_str(), m.start)) {
            continue;
        }
        let ls = m.start.with_timezone(&tz).naive_local();
        let le = m.end.with_timezone(&tz).naive_local();
        let day = ls.date();
        let offset = (day - monday).num_days();
        if !(0..7).contains(&offset) {
            continue;
        }
        let from_min = minutes_of(ls);
        let to_min = if le.date() > day {
            24 * 60
        } else {
            minutes_of(le)
        };
        local_start[k] = (day, from_min, to_min);
        let slot = Slot {
            from: from_min,
            to: to_min.max(from_min),
            meeting: k,
        };
        for a in &m.attendees {
            if let Some(&p) = index.get(a.as_str()) {
                slots[p][offset as usize].push(slot);
            }
        }
    }

    let mut distribution = MeetingDistribution::default();
    let mut breaches = BreachCounts::default();
    let mut meeting_minutes = 0u32;
    let mut person_days = 0u32;
    let mut block_minutes = 0u32;
    let mut kept_minutes = 0u32;
    let cutoff = policy.evening_cutoff.minutes();
    let (fb_from, fb_to) = (policy.focus_start.minutes(), policy.focus_end.minutes());
    // (meeting index, rule) -> people
    let mut by_meeting: HashMap<(usize, Rule), Vec<u32>> = HashMap::new();
    for (p, person) in slots.iter().enumerate() {
        for (offset, day_slots) in person.iter().enumerate() {
            let date = monday + Duration::days(offset as i64);
            let day = Day::of(date);
            let total = union_minutes(day_slots, None);
            if policy.is_work_day(day) {
                person_days += 1;
                meeting_minutes += total;
                distribution.add(total);
            } else {
                meeting_minutes += total;
            }
            let focus_day = policy.is_focus_day(day);
            if focus_day {
                block_minutes += fb_to - fb_from;
                kept_minutes +=
                    (fb_to - fb_from) - union_minutes(day_slots, Some((fb_from, fb_to)));
            }
            if total > policy.max_meeting_minutes_per_day {
                breaches.add(Rule::MeetingLoad);
            }
            for s in day_slots {
                let mut rules = Vec::new();
                if s.to > cutoff || meetings[s.meeting].end.with_timezone(&tz).date_naive() > date {
                    rules.push(Rule::Evening);
                }
                if focus_day && s.from < fb_to && s.to > fb_from {
                    rules.push(Rule::FocusBlock);
                }
                if policy.no_meeting_day == Some(day) {
                    rules.push(Rule::NoMeetingDay);
                }
                for r in rules {
                    breaches.add(r);
                    by_meeting.entry((s.meeting, r)).or_default().push(p as u32);
                }
            }
        }
    }

    // Group by series (uid) and rule.
    struct Acc {
        first: usize,
        people: HashSet<u32>,
        breaches: u32,
    }
    let mut groups: BTreeMap<(String, Rule), Acc> = BTreeMap::new();
    for (&(k, rule), who) in &by_meeting {
        let m = &meetings[k];
        let acc = groups.entry((m.uid.clone(), rule)).or_insert(Acc {
            first: k,
            people: HashSet::new(),
            breaches: 0,
        });
        if meetings[k].start < meetings[acc.first].start {
            acc.first = k;
        }
        acc.breaches += who.len() as u32;
        acc.people.extend(who.iter().copied());
    }
    let mut series: Vec<SeriesBreach> = groups
        .into_iter()
        .map(|((uid, rule), acc)| {
            let m = &meetings[acc.first];
            let (date, from_min, to_min) = local_start[acc.first];
            let when = format!(
                "{} {}",
                m.start.with_timezone(&tz).format("%a"),
                ClockTime::new((from_min / 60) as u16, (from_min % 60) as u16)
                    .unwrap_or(ClockTime::MIDNIGHT)
            );
            let move_to = if rule == Rule::NoMeetingDay {
                None
            } else {
                best_slot(
                    policy,
                    Day::of(date),
                    from_min,
                    to_min.saturating_sub(from_min),
                )
            };
            let removes = if move_to.is_some() { acc.breaches } else { 0 };
            let rule_text = match rule {
                Rule::Evening => "the evening rule",
                Rule::FocusBlock => "the focus block",
                Rule::NoMeetingDay => "the no-meeting day",
                Rule::MeetingLoad => "the meeting-load rule",
            };
            let people = acc.people.len() as u32;
            let summary = if m.summary.is_empty() {
                uid.clone()
            } else {
                m.summary.clone()
            };
            let mut text = format!(
                "{summary} ({when}) breaks {rule_text} for {people} {}",
                if people == 1 { "person" } else { "people" }
            );
            if let Some(t) = move_to {
                text.push_str(&format!(
                    "; moving it to {t} removes {removes} breach{}",
                    if removes == 1 { "" } else { "es" }
                ));
            }
            SeriesBreach {
                uid,
                summary,
                when,
                rule,
                people,
                breaches: acc.breaches,
                move_to,
                removes,
                text,
            }
        })
        .collect();
    series.sort_by(|a, b| {
        b.breaches
            .cmp(&a.breaches)
            .then(a.when.cmp(&b.when))
            .then(a.uid.cmp(&b.uid))
    });

    let hours = if person_days == 0 {
        0.0
    } else {
        round(
            f64::from(meeting_minutes) / 60.0 / f64::from(person_days),
            2,
        )
    };
    let percent = if block_minutes == 0 {
        100.0
    } else {
        round(
            f64::from(kept_minutes) * 100.0 / f64::from(block_minutes),
            1,
        )
    };
    FocusWeek {
        week_start: monday,
        people: people.len() as u32,
        person_days,
        meeting_minutes,
        meeting_hours_per_person_day: hours,
        distribution,
        focus_block_minutes: block_minutes,
        focus_kept_minutes: kept_minutes,
        focus_kept_percent: percent,
        breaches_total: breaches.total(),
        breaches,
        series,
    }
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// The start on a 30-minute grid nearest to `from` (earlier first on a tie)
/// at which a meeting of `length` minutes on `day` lies inside working hours,
/// ends by the evening cutoff and misses the focus block.
fn best_slot(policy: &TeamPolicy, day: Day, from: u32, length: u32) -> Option<ClockTime> {
    if !policy.is_work_day(day) || policy.no_meeting_day == Some(day) {
        return None;
    }
    let start = policy.work_start.minutes();
    let end = policy
        .work_end
        .minutes()
        .min(policy.evening_cutoff.minutes());
    let focus = policy.is_focus_day(day);
    let (fb_from, fb_to) = (policy.focus_start.minutes(), policy.focus_end.minutes());
    let mut best: Option<u32> = None;
    let mut s = start.div_ceil(30) * 30;
    while s + length <= end {
        let clash = focus && s < fb_to && s + length > fb_from;
        if !clash {
            let better = match best {
                None => true,
                Some(b) => s.abs_diff(from) < b.abs_diff(from),
            };
            if better {
                best = Some(s);
            }
        }
        s += 30;
    }
    best.and_then(|m| ClockTime::new((m / 60) as u16, (m % 60) as u16))
}

/// The weekly report's focus line for a team's week:
/// `Focus: 11.2 h of 15 h kept per person; 7 breaches, 5 from Team sync
/// (Tue 18:30)`. Hours are per person over the week (kept focus block of the
/// block the policy protects); the worst series is named with the move that
/// fixes it, when there is one. `None` for a week without people.
pub fn report_line(w: &FocusWeek) -> Option<String> {
    if w.people == 0 {
        return None;
    }
    let per_person = |minutes: u32| f64::from(minutes) / 60.0 / f64::from(w.people);
    let hours = |h: f64| {
        let h = round(h, 1);
        if h.fract() == 0.0 {
            format!("{h:.0}")
        } else {
            format!("{h:.1}")
        }
    };
    let mut text = format!(
        "Focus: {} h of {} h kept per person; {} breach{}",
        hours(per_person(w.focus_kept_minutes)),
        hours(per_person(w.focus_block_minutes)),
        w.breaches_total,
        if w.breaches_total == 1 { "" } else { "es" }
    );
    if let Some(s) = w.series.first() {
        text.push_str(&format!(", {} from {} ({})", s.breaches, s.summary, s.when));
        if let Some(t) = s.move_to {
            text.push_str(&format!(" — moving it to {t} removes {}", s.removes));
        }
    }
    Some(text)
}

#[cfg(test)]
mod report_line_tests {
    use super::*;

    fn week() -> FocusWeek {
        FocusWeek {
            week_start: "2026-03-09".parse().unwrap(),
            people: 5,
            person_days: 25,
            meeting_minutes: 1185,
            meeting_hours_per_person_day: 0.79,
            distribution: MeetingDistribution::default(),
            focus_block_minutes: 4500,
            focus_kept_minutes: 3360,
            focus_kept_percent: 74.7,
            breaches: BreachCounts {
                evening: 5,
                focus_block: 2,
                meeting_load: 0,
                no_meeting_day: 0,
            },
            breaches_total: 7,
            series: vec![SeriesBreach {
                uid: "sync".into(),
                summary: "Team sync".into(),
                when: "Tue 18:30".into(),
                rule: Rule::Evening,
                people: 5,
                breaches: 5,
                move_to: ClockTime::new(16, 0),
                removes: 5,
                text: String::new(),
            }],
        }
    }

    #[test]
    fn the_line_names_hours_kept_breaches_and_the_worst_series() {
        assert_eq!(
            report_line(&week()).unwrap(),
            "Focus: 11.2 h of 15 h kept per person; 7 breaches, 5 from Team sync (Tue 18:30) — moving it to 16:00 removes 5"
        );
        let mut quiet = week();
        quiet.series.clear();
        quiet.breaches_total = 1;
        quiet.focus_kept_minutes = 4500;
        assert_eq!(
            report_line(&quiet).unwrap(),
            "Focus: 15 h of 15 h kept per person; 1 breach"
        );
        quiet.people = 0;
        assert_eq!(report_line(&quiet), None);
    }
}
