//! Policy breaches from calendar exports in the shapes Google Calendar,
//! Outlook/Exchange and Apple iCloud write (tests/fixtures/calendar/),
//! checked against figures computed by hand (issue 15).
//!
//! The team (Europe/Berlin): ana, ben, cleo, dan, eva @example.com. The
//! week of Monday 2026-03-09 (New York is already on summer time since
//! 2026-03-08, Berlin not until 2026-03-29), default policy:
//!
//! | meeting (Berlin time)                 | who                  |
//! |---------------------------------------|----------------------|
//! | Standup Mon, Tue 09:30–09:45          | ana ben cleo (dan declined); Wed EXDATE; Thu moved to 13:00; Fri cancelled |
//! | Team sync Tue 18:30–19:30 (no end)    | all five             |
//! | Planning Wed 10:00 (CANCELLED)        | nobody               |
//! | Vendor call Wed 12:00 New York = 17:00–18:00 | ben eva       |
//! | Retro RDATE Wed 11:30–12:30           | eva dan (cleo declined) |
//! | 1:1 Thu 10:00–11:00 (Windows TZID)    | ben ana              |
//! | Lunch (TRANSPARENT), all-day events   | nobody               |
//! | Design review Mon 14:00–18:00         | eva (her own feed)   |
//! | Hiring debrief Mon 17:30–18:30 (floating) | eva              |
//! | Retro Fri 15:00–16:00                 | eva dan              |
//!
//! Minutes per person-day (Mon..Fri): ana 15 75 0 75 0; ben 15 75 60 75 0;
//! cleo 15 75 0 15 0; dan 0 60 60 0 60; eva 270 60 120 0 60. Total 165 + 225 +
//! 105 + 180 + 510 = 1185 over 25 person-days = 0.79 h. Focus block lost: ana 90, ben 90, cleo 30, dan 30,
//! eva 30 = 270 of 4500 -> 4230 kept, 94.0 %. Breaches: evening 6 (sync 5,
//! debrief 1), focus block 10 (standup 6, 1:1 2, retro 2), load 1 (eva Mon).

use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::Berlin;
use tandem_domain::calendar::{Meeting, assign_owner, parse_feed};
use tandem_domain::focus::{MeetingDistribution, Rule, evaluate_week};
use tandem_domain::policy::{ClockTime, Day, TeamPolicy};

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/calendar/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn team() -> Vec<String> {
    ["ana", "ben", "cleo", "dan", "eva"]
        .iter()
        .map(|n| format!("{n}@example.com"))
        .collect()
}

/// All three feeds over March 2026 and early April, as the app reads them.
fn meetings() -> (Vec<Meeting>, Vec<String>) {
    let (from, to) = (at("2026-02-23T00:00:00Z"), at("2026-04-06T00:00:00Z"));
    let google = parse_feed(&fixture("google-team.ics"), Berlin, from, to).unwrap();
    let mut outlook = parse_feed(&fixture("outlook-ben.ics"), Berlin, from, to).unwrap();
    assign_owner(&mut outlook.meetings, "ben@example.com");
    let mut apple = parse_feed(&fixture("icloud-eva.ics"), Berlin, from, to).unwrap();
    assign_owner(&mut apple.meetings, "eva@example.com");
    let mut warnings = google.warnings.clone();
    warnings.extend(outlook.warnings);
    warnings.extend(apple.warnings);
    let mut all = google.meetings;
    all.extend(outlook.meetings);
    all.extend(apple.meetings);
    (all, warnings)
}

fn monday(d: &str) -> NaiveDate {
    d.parse().unwrap()
}

#[test]
fn the_series_are_expanded_as_the_rfc_says() {
    let (all, warnings) = meetings();
    let starts = |summary: &str| -> Vec<String> {
        all.iter()
            .filter(|m| m.summary.starts_with(summary))
            .filter(|m| {
                m.start >= at("2026-03-09T00:00:00Z") && m.start < at("2026-03-16T00:00:00Z")
            })
            .map(|m| m.start.to_rfc3339())
            .collect()
    };
    // Mon, Tue; Wed excluded; Thu moved to 13:00 CET; Fri cancelled.
    assert_eq!(
        starts("Standup"),
        [
            "2026-03-09T08:30:00+00:00",
            "2026-03-10T08:30:00+00:00",
            "2026-03-12T12:00:00+00:00"
        ]
    );
    // 12:00 in New York, on summer time since Sunday: 16:00Z.
    assert_eq!(starts("Vendor call"), ["2026-03-11T16:00:00+00:00"]);
    // The week before, New York was still on standard time: 17:00Z.
    assert!(
        all.iter()
            .any(|m| m.summary.starts_with("Vendor") && m.start == at("2026-03-04T17:00:00Z"))
    );
    // RDATE adds a Wednesday; every other Friday from 27 Feb.
    assert_eq!(
        starts("Retro"),
        ["2026-03-11T10:30:00+00:00", "2026-03-13T14:00:00+00:00"]
    );
    // Floating time in the team's zone.
    assert_eq!(starts("Hiring debrief"), ["2026-03-09T16:30:00+00:00"]);
    // Cancelled and transparent events are not there; all-day ones are, flagged.
    assert!(starts("Planning").is_empty());
    assert!(starts("Lunch").is_empty());
    assert!(starts("Offsite").is_empty());
    assert!(
        all.iter()
            .any(|m| m.summary.starts_with("Dentist") && m.all_day)
    );
    // Decliners are not attendees.
    let retro = all.iter().find(|m| m.summary == "Retro").unwrap();
    assert!(retro.declined.contains(&"cleo@example.com".to_owned()));
    assert!(!retro.attendees.contains(&"cleo@example.com".to_owned()));
    let vendor = all
        .iter()
        .find(|m| m.summary.starts_with("Vendor"))
        .unwrap();
    assert!(
        vendor.attendees.contains(&"ben@example.com".to_owned()),
        "{vendor:?}"
    );
    // The team sync repeats without end: capped, with a warning.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("Team sync") && warnings[0].contains("without end"),
        "{warnings:?}"
    );
}

#[test]
fn the_week_matches_the_hand_computed_figures() {
    let (all, _) = meetings();
    let week = evaluate_week(
        &TeamPolicy::default(),
        Berlin,
        monday("2026-03-09"),
        &team(),
        &all,
    );
    assert_eq!(week.person_days, 25);
    assert_eq!(week.meeting_minutes, 1185);
    assert_eq!(week.meeting_hours_per_person_day, 0.79);
    assert_eq!(
        week.distribution,
        MeetingDistribution {
            none: 8,
            up_to_1h: 10,
            up_to_2h: 6,
            up_to_3h: 0,
            up_to_4h: 0,
            over_4h: 1
        }
    );
    assert_eq!(week.focus_block_minutes, 4500);
    assert_eq!(week.focus_kept_minutes, 4230);
    assert_eq!(week.focus_kept_percent, 94.0);
    assert_eq!(week.breaches.evening, 6);
    assert_eq!(week.breaches.focus_block, 10);
    assert_eq!(week.breaches.meeting_load, 1);
    assert_eq!(week.breaches.no_meeting_day, 0);
    assert_eq!(week.breaches_total, 17);
    let texts: Vec<&str> = week.series.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Standup (Mon 09:30) breaks the focus block for 3 people; moving it to 12:00 removes 6 breaches",
            "Team sync (Tue 18:30) breaks the evening rule for 5 people; moving it to 17:00 removes 5 breaches",
            "1:1 Ben / Ana (Thu 10:00) breaks the focus block for 2 people; moving it to 12:00 removes 2 breaches",
            "Retro (Wed 11:30) breaks the focus block for 2 people; moving it to 12:00 removes 2 breaches",
            "Hiring debrief (Mon 17:30) breaks the evening rule for 1 person; moving it to 17:00 removes 1 breach",
        ]
    );
    let sync = &week.series[1];
    assert_eq!(
        (sync.rule, sync.people, sync.breaches),
        (Rule::Evening, 5, 5)
    );
    assert_eq!(sync.move_to, Some("17:00".parse::<ClockTime>().unwrap()));
}

#[test]
fn daylight_saving_moves_the_vendor_call_in_and_out_of_the_evening() {
    let (all, _) = meetings();
    let vendor_rows = |m: &str| -> Vec<(String, u32)> {
        evaluate_week(&TeamPolicy::default(), Berlin, monday(m), &team(), &all)
            .series
            .into_iter()
            .filter(|s| s.summary.starts_with("Vendor"))
            .map(|s| (s.when, s.people))
            .collect()
    };
    // Both on standard time: 12:00 New York is 18:00 Berlin -> evening.
    assert_eq!(vendor_rows("2026-03-02"), [("Wed 18:00".to_owned(), 2)]);
    // New York on summer time, Berlin not yet: 17:00 Berlin, fine.
    assert!(vendor_rows("2026-03-09").is_empty());
    assert!(vendor_rows("2026-03-23").is_empty());
    // Both on summer time again: 18:00 Berlin.
    assert_eq!(vendor_rows("2026-03-30"), [("Wed 18:00".to_owned(), 2)]);
}

#[test]
fn a_no_meeting_day_and_exempt_incidents() {
    let (mut all, _) = meetings();
    let policy = TeamPolicy {
        no_meeting_day: Some(Day::Wed),
        ..TeamPolicy::default()
    };
    let week = evaluate_week(&policy, Berlin, monday("2026-03-09"), &team(), &all);
    // Wednesday: vendor call (ben, eva) and the extra retro (eva, dan).
    assert_eq!(week.breaches.no_meeting_day, 4);
    // An incident call at 22:00 breaks nothing while incidents are exempt.
    let mut incident = all[0].clone();
    incident.uid = "incident-1".into();
    incident.summary = "Incident: payments down".into();
    incident.incident = true;
    incident.recurring = false;
    incident.start = at("2026-03-10T21:00:00Z");
    incident.end = at("2026-03-10T22:00:00Z");
    all.push(incident);
    let base = evaluate_week(
        &TeamPolicy::default(),
        Berlin,
        monday("2026-03-09"),
        &team(),
        &all,
    );
    assert_eq!(base.breaches.evening, 6);
    let strict = TeamPolicy {
        incidents_exempt: false,
        ..TeamPolicy::default()
    };
    let week = evaluate_week(&strict, Berlin, monday("2026-03-09"), &team(), &all);
    assert_eq!(week.breaches.evening, 6 + all[0].attendees.len() as u32);
}

/// The week Berlin moves to summer time (Sunday 2026-03-29) and the week
/// after, computed by hand. Series stay at their local times: the standup
/// is 09:30 Berlin on both sides (08:30Z, then 07:30Z), the sync 18:30.
///
/// Week of 23 Mar (167 hours; New York already on summer time, Berlin not):
/// standup Mon–Fri (ana ben cleo, 15 min), sync Tue (all five, 60 min),
/// vendor call Wed 17:00–18:00 (ben eva; ends at the cutoff: no breach),
/// retro Fri 27 Mar 15:00 (eva dan; every other Friday from 27 Feb).
/// Minutes: ana 15 75 15 15 15; ben 15 75 75 15 15; cleo as ana; dan 0 60 0
/// 0 60; eva 0 60 60 0 60 = 765 over 25 person-days = 0.51 h. Focus lost:
/// 75 each for ana ben cleo = 225 of 4500 -> 4275 kept, 95.0 %. Breaches:
/// evening 5 (sync), focus block 15 (standup: 3 people x 5 days).
///
/// Week of 30 Mar (both zones on summer time): the vendor call is 18:00–19:00
/// Berlin again (2 more evening breaches); no retro (next 10 Apr). Minutes:
/// ana 135, ben 195, cleo 135, dan 60, eva 120 = 645 -> 0.43 h; focus as
/// before; evening 7, focus block 15.
#[test]
fn weeks_across_berlins_change_to_summer_time_match_the_hand_computed_figures() {
    let (all, _) = meetings();
    let standups: Vec<String> = all
        .iter()
        .filter(|m| m.summary == "Standup")
        .filter(|m| m.start >= at("2026-03-27T00:00:00Z") && m.start < at("2026-03-31T00:00:00Z"))
        .map(|m| m.start.to_rfc3339())
        .collect();
    assert_eq!(
        standups,
        ["2026-03-27T08:30:00+00:00", "2026-03-30T07:30:00+00:00"]
    );

    let before = evaluate_week(
        &TeamPolicy::default(),
        Berlin,
        monday("2026-03-23"),
        &team(),
        &all,
    );
    assert_eq!(before.person_days, 25);
    assert_eq!(before.meeting_minutes, 765);
    assert_eq!(before.meeting_hours_per_person_day, 0.51);
    assert_eq!(
        before.distribution,
        MeetingDistribution {
            none: 5,
            up_to_1h: 16,
            up_to_2h: 4,
            up_to_3h: 0,
            up_to_4h: 0,
            over_4h: 0
        }
    );
    assert_eq!(
        (before.focus_kept_minutes, before.focus_kept_percent),
        (4275, 95.0)
    );
    assert_eq!(
        (
            before.breaches.evening,
            before.breaches.focus_block,
            before.breaches.meeting_load,
            before.breaches_total
        ),
        (5, 15, 0, 20)
    );
    let texts: Vec<&str> = before.series.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Standup (Mon 09:30) breaks the focus block for 3 people; moving it to 12:00 removes 15 breaches",
            "Team sync (Tue 18:30) breaks the evening rule for 5 people; moving it to 17:00 removes 5 breaches",
        ]
    );

    let after = evaluate_week(
        &TeamPolicy::default(),
        Berlin,
        monday("2026-03-30"),
        &team(),
        &all,
    );
    assert_eq!(after.meeting_minutes, 645);
    assert_eq!(after.meeting_hours_per_person_day, 0.43);
    assert_eq!(after.focus_kept_minutes, 4275);
    assert_eq!(
        (
            after.breaches.evening,
            after.breaches.focus_block,
            after.breaches_total
        ),
        (7, 15, 22)
    );
    let texts: Vec<&str> = after.series.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Standup (Mon 09:30) breaks the focus block for 3 people; moving it to 12:00 removes 15 breaches",
            "Team sync (Tue 18:30) breaks the evening rule for 5 people; moving it to 17:00 removes 5 breaches",
            "Vendor call (Acme) (Wed 18:00) breaks the evening rule for 2 people; moving it to 17:00 removes 2 breaches",
        ]
    );
}
