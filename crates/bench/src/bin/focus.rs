//! `tandem-bench-focus`: a 500-person organisation's calendars — 50,000
//! meeting occurrences in one week, 30,000 of them from 6,000 recurring
//! series (weekdays, with EXDATEs) and 20,000 single events, in three zone
//! spellings (IANA, Windows, UTC) — read from iCalendar text
//! (`domain::calendar::parse_feed`) and evaluated against the default
//! policy (`domain::focus::evaluate_week`).
//!
//! The reference, measured in the same run over the same meetings, is the
//! least any evaluation must do: one pass summing each attendee's minutes in
//! a hash map. The ratio evaluation / reference is the number to compare
//! between runs. Prints a Markdown table.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use chrono::NaiveDate;
use tandem_domain::calendar::parse_feed;
use tandem_domain::focus::{evaluate_week, week_bounds};
use tandem_domain::policy::TeamPolicy;

const PEOPLE: usize = 500;
const SERIES: usize = 6000;
const SINGLES: usize = 20_000;
const ROUNDS: usize = 5;

struct Lcg(u64);
impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

fn feed(monday: NaiveDate) -> String {
    let mut r = Lcg(15);
    let mut s = String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//tandem-bench//EN\r\n");
    let zones = [
        "TZID=Europe/Berlin:",
        "TZID=W. Europe Standard Time:",
        "TZID=America/New_York:",
    ];
    let attendees = |r: &mut Lcg, s: &mut String| {
        for _ in 0..(2 + r.next(3)) {
            let _ = write!(
                s,
                "ATTENDEE;PARTSTAT=ACCEPTED:mailto:p{}@example.com\r\n",
                r.next(PEOPLE as u64)
            );
        }
    };
    for i in 0..SERIES {
        let start = monday - chrono::Duration::weeks(4);
        let (h, m) = (8 + r.next(10), [0, 30][r.next(2) as usize]);
        let z = zones[i % 3];
        let _ = write!(
            s,
            "BEGIN:VEVENT\r\nUID:series-{i}\r\nSUMMARY:Series {i}\r\nDTSTART;{z}{}T{h:02}{m:02}00\r\nDURATION:PT{}M\r\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;COUNT=200\r\nEXDATE;{z}{}T{h:02}{m:02}00\r\n",
            start.format("%Y%m%d"),
            [15, 30, 60][r.next(3) as usize],
            (start + chrono::Duration::days(1)).format("%Y%m%d"),
        );
        attendees(&mut r, &mut s);
        s.push_str("END:VEVENT\r\n");
    }
    for i in 0..SINGLES {
        let day = monday + chrono::Duration::days(r.next(5) as i64);
        let h = 7 + r.next(13);
        let _ = write!(
            s,
            "BEGIN:VEVENT\r\nUID:single-{i}\r\nSUMMARY:Meeting {i}\r\nDTSTART:{}T{h:02}0000Z\r\nDTEND:{}T{h:02}4500Z\r\n",
            day.format("%Y%m%d"),
            day.format("%Y%m%d"),
        );
        attendees(&mut r, &mut s);
        s.push_str("END:VEVENT\r\n");
    }
    s.push_str("END:VCALENDAR\r\n");
    s
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn main() {
    let monday = NaiveDate::from_ymd_opt(2026, 3, 9).unwrap();
    let tz = chrono_tz::Europe::Berlin;
    let (from, to) = week_bounds(monday, tz);
    let text = feed(monday);
    let people: Vec<String> = (0..PEOPLE).map(|i| format!("p{i}@example.com")).collect();
    let policy = TeamPolicy::default();

    let (mut parse_ms, mut eval_ms, mut ref_ms) = (vec![], vec![], vec![]);
    let mut occurrences = 0;
    let mut breaches = 0;
    let mut checksum = 0u64;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        let parsed = parse_feed(&text, tz, from, to).expect("the generated feed parses");
        parse_ms.push(t.elapsed().as_secs_f64() * 1e3);
        occurrences = parsed.meetings.len();

        let t = Instant::now();
        let week = evaluate_week(&policy, tz, monday, &people, &parsed.meetings);
        eval_ms.push(t.elapsed().as_secs_f64() * 1e3);
        breaches = week.breaches_total;

        let t = Instant::now();
        let index: HashMap<&str, usize> = people
            .iter()
            .enumerate()
            .map(|(i, p)| (p.as_str(), i))
            .collect();
        let mut minutes = vec![0i64; PEOPLE];
        for m in &parsed.meetings {
            let d = (m.end - m.start).num_minutes();
            for a in &m.attendees {
                if let Some(&i) = index.get(a.as_str()) {
                    minutes[i] += d;
                }
            }
        }
        ref_ms.push(t.elapsed().as_secs_f64() * 1e3);
        checksum = checksum.wrapping_add(minutes.iter().sum::<i64>() as u64);
    }
    let (p, e, r) = (median(parse_ms), median(eval_ms), median(ref_ms));
    println!("| what (500 people, one week) | median of {ROUNDS} | ratio to reference |");
    println!("|---|---:|---:|");
    println!("| occurrences in the week | {occurrences} | |");
    println!(
        "| parse + expand the iCalendar text ({} KiB) | {p:.0} ms | {:.0}× |",
        text.len() / 1024,
        p / r
    );
    println!(
        "| evaluate against the policy ({breaches} breaches) | {e:.0} ms | {:.1}× |",
        e / r
    );
    println!("| reference: sum minutes per attendee | {r:.1} ms | 1× |");
    eprintln!("checksum {checksum}");
}
