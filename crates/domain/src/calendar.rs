//! Calendars in (issue 15): an iCalendar feed (RFC 5545) read into the
//! meetings that happen in a window of time, one [`Meeting`] per occurrence.
//!
//! Parsing is the `icalendar` crate's (its parser gives the component tree);
//! recurrence is the `rrule` crate's; time zones are `chrono-tz`'s. What this
//! module adds is the RFC's meaning on top:
//!
//! - a `TZID` is an IANA name, a Windows name as Outlook and Exchange write
//!   it (`W. Europe Standard Time`, [`windows_zone`]) or a path ending in an
//!   IANA name (`/mozilla.org/…/Europe/Berlin`); anything else is an error
//!   naming the line. Floating times (no `Z`, no `TZID`) are in the zone the
//!   caller gives (the team's);
//! - a series is `RRULE` + `RDATE` − `EXDATE`, expanded only inside the
//!   window; an instance overridden by a `VEVENT` with the same `UID` and a
//!   `RECURRENCE-ID` is replaced by that event (or dropped if the override is
//!   cancelled or free); an `RRULE` without `COUNT` or `UNTIL` is expanded up
//!   to the end of the window only, with a warning, and no series yields more
//!   than [`MAX_OCCURRENCES`];
//! - `STATUS:CANCELLED` and `TRANSP:TRANSPARENT` events are not meetings; an
//!   attendee with `PARTSTAT=DECLINED` is listed in `declined`, not in
//!   `attendees`; all-day events (`VALUE=DATE`) are kept with `all_day` set
//!   (they are absences or reminders, not meetings: the policy evaluation
//!   ignores them);
//! - a malformed feed is a [`FeedError`] naming the line (of the original
//!   text, before unfolding); the caller keeps its last good data.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

use crate::policy::local_to_utc;

/// No series yields more occurrences than this in one window.
pub const MAX_OCCURRENCES: u16 = 5000;

/// One occurrence of an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Meeting {
    /// The event's `UID`.
    pub uid: String,
    /// Whether it is one occurrence of a recurring series (the series is `uid`).
    pub recurring: bool,
    pub summary: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// A date-only event (a holiday, an absence): not a meeting.
    pub all_day: bool,
    /// Lower-case e-mail addresses of the organiser and of every attendee
    /// who did not decline.
    pub attendees: Vec<String>,
    /// Lower-case e-mail addresses of attendees who declined.
    pub declined: Vec<String>,
    /// An incident call (`CATEGORIES` holds `incident`, or the summary starts
    /// with `Incident`): exempt from the evening rule when the policy says so.
    pub incident: bool,
    /// The wall-clock start in the event's own zone, e.g. `Tue 18:30`, to name a series.
    pub local_label: String,
}

/// An iCalendar feed registered for a team (and optionally one person).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CalendarFeed {
    pub id: uuid::Uuid,
    pub team_id: uuid::Uuid,
    /// The person whose own calendar this is (they attend every event in it
    /// unless they declined); none for a team calendar.
    pub user_id: Option<uuid::Uuid>,
    /// An `http(s)://` URL or a file path on the server.
    pub source: String,
    /// The validator of the last good fetch, sent back as `If-None-Match`.
    pub etag: Option<String>,
    /// Warnings of the last good parse (capped series).
    pub warnings: Vec<String>,
    /// Why the last refresh failed, naming the line for a malformed feed;
    /// the last good data stays in use.
    pub last_error: Option<String>,
    pub fetched_at: Option<DateTime<Utc>>,
    /// When the feed last parsed.
    pub ok_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// A feed read into meetings, with what was capped or skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ParsedFeed {
    pub meetings: Vec<Meeting>,
    pub warnings: Vec<String>,
}

/// What is wrong with a feed, and on which line of the original text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct FeedError {
    pub line: usize,
    pub message: String,
}

fn err(line: usize, message: impl Into<String>) -> FeedError {
    FeedError {
        line,
        message: message.into(),
    }
}

/// Windows time-zone names (as Outlook and Exchange write `TZID`) to IANA
/// names: the zones of CLDR's `windowsZones.xml` "001" territory that teams
/// are most likely to use.
pub fn windows_zone(name: &str) -> Option<&'static str> {
    Some(match name {
        "UTC" | "Coordinated Universal Time" => "UTC",
        "GMT Standard Time" => "Europe/London",
        "Greenwich Standard Time" => "Atlantic/Reykjavik",
        "W. Europe Standard Time" => "Europe/Berlin",
        "Central Europe Standard Time" => "Europe/Budapest",
        "Central European Standard Time" => "Europe/Warsaw",
        "Romance Standard Time" => "Europe/Paris",
        "E. Europe Standard Time" => "Europe/Chisinau",
        "FLE Standard Time" => "Europe/Kiev",
        "GTB Standard Time" => "Europe/Bucharest",
        "Russian Standard Time" => "Europe/Moscow",
        "Turkey Standard Time" => "Europe/Istanbul",
        "Israel Standard Time" => "Asia/Jerusalem",
        "South Africa Standard Time" => "Africa/Johannesburg",
        "Arabian Standard Time" => "Asia/Dubai",
        "India Standard Time" => "Asia/Calcutta",
        "China Standard Time" => "Asia/Shanghai",
        "Singapore Standard Time" => "Asia/Singapore",
        "Tokyo Standard Time" => "Asia/Tokyo",
        "Korea Standard Time" => "Asia/Seoul",
        "AUS Eastern Standard Time" => "Australia/Sydney",
        "E. Australia Standard Time" => "Australia/Brisbane",
        "New Zealand Standard Time" => "Pacific/Auckland",
        "Eastern Standard Time" => "America/New_York",
        "Central Standard Time" => "America/Chicago",
        "Mountain Standard Time" => "America/Denver",
        "US Mountain Standard Time" => "America/Phoenix",
        "Pacific Standard Time" => "America/Los_Angeles",
        "Alaskan Standard Time" => "America/Anchorage",
        "Hawaiian Standard Time" => "Pacific/Honolulu",
        "Atlantic Standard Time" => "America/Halifax",
        "E. South America Standard Time" => "America/Sao_Paulo",
        "Argentina Standard Time" => "America/Buenos_Aires",
        _ => return None,
    })
}

/// The zone a `TZID` names, if any.
pub fn resolve_zone(tzid: &str) -> Option<chrono_tz::Tz> {
    let tzid = tzid.trim().trim_matches('"');
    if let Ok(tz) = tzid.parse::<chrono_tz::Tz>() {
        return Some(tz);
    }
    if let Some(tz) = windows_zone(tzid).and_then(|n| n.parse().ok()) {
        return Some(tz);
    }
    // `/mozilla.org/20050126_1/Europe/Berlin`, `/citadel.org/…/America/New_York`.
    let parts: Vec<&str> = tzid.split('/').filter(|p| !p.is_empty()).collect();
    for take in [3, 2, 1] {
        if parts.len() >= take {
            let tail = parts[parts.len() - take..].join("/");
            if let Ok(tz) = tail.parse::<chrono_tz::Tz>() {
                return Some(tz);
            }
        }
    }
    None
}

/// An unfolded content line and the line of the original text it starts on.
struct Line {
    number: usize,
    text: String,
}

/// Unfolds (RFC 5545 §3.1) keeping each content line's original line number,
/// and checks that every line is `NAME[;PARAMS]:VALUE` and that `BEGIN`/`END`
/// nest.
fn unfold(text: &str) -> Result<Vec<Line>, FeedError> {
    let mut lines: Vec<Line> = Vec::new();
    for (i, raw) in text.split('\n').enumerate() {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            match lines.last_mut() {
                Some(last) => last.text.push_str(rest),
                None => return Err(err(i + 1, "a continuation line before any content line")),
            }
        } else if !raw.trim().is_empty() {
            lines.push(Line {
                number: i + 1,
                text: raw.to_owned(),
            });
        }
    }
    if lines.is_empty() {
        return Err(err(1, "the feed is empty: expected BEGIN:VCALENDAR"));
    }
    let mut stack: Vec<(String, usize)> = Vec::new();
    for line in &lines {
        let name_end = line.text.find([':', ';']);
        let name = name_end.map(|e| &line.text[..e]).unwrap_or("");
        let valid_name =
            !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
        if !valid_name || !line.text.contains(':') {
            return Err(err(
                line.number,
                format!(
                    "expected a content line NAME:VALUE, found {:?}",
                    truncate(&line.text)
                ),
            ));
        }
        let value = line.text.split_once(':').map(|x| x.1).unwrap_or("").trim();
        if name.eq_ignore_ascii_case("BEGIN") {
            stack.push((value.to_ascii_uppercase(), line.number));
        } else if name.eq_ignore_ascii_case("END") {
            match stack.pop() {
                Some((open, _)) if open == value.to_ascii_uppercase() => {}
                Some((open, at)) => {
                    return Err(err(
                        line.number,
                        format!("END:{value} closes BEGIN:{open} of line {at}"),
                    ));
                }
                None => return Err(err(line.number, format!("END:{value} without a BEGIN"))),
            }
        } else if stack.is_empty() {
            return Err(err(
                line.number,
                format!("{name} outside BEGIN:VCALENDAR … END:VCALENDAR"),
            ));
        }
    }
    if let Some((open, at)) = stack.pop() {
        return Err(err(
            at,
            format!("BEGIN:{open} is never closed by END:{open}"),
        ));
    }
    if !lines[0].text.eq_ignore_ascii_case("BEGIN:VCALENDAR") {
        return Err(err(lines[0].number, "expected BEGIN:VCALENDAR"));
    }
    Ok(lines)
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// A property of one event as the library parsed it, with its line.
#[derive(Debug, Clone)]
struct Prop {
    name: String,
    params: Vec<(String, String)>,
    value: String,
    line: usize,
}

impl Prop {
    fn param(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Debug, Clone)]
struct Event {
    begin_line: usize,
    props: Vec<Prop>,
}

impl Event {
    fn one(&self, name: &str) -> Option<&Prop> {
        self.props.iter().find(|p| p.name == name)
    }
    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Prop> + 'a {
        self.props.iter().filter(move |p| p.name == name)
    }
    fn text(&self, name: &str) -> Option<&str> {
        self.one(name).map(|p| p.value.as_str())
    }
}

/// A DTSTART-like value: an instant in a zone, or a date.
#[derive(Debug, Clone, Copy)]
enum When {
    At(NaiveDateTime, chrono_tz::Tz),
    Date(NaiveDate),
}

impl When {
    fn utc(self, floating: chrono_tz::Tz) -> DateTime<Utc> {
        match self {
            When::At(local, tz) => local_to_utc(&tz, local),
            When::Date(d) => local_to_utc(&floating, d.and_time(NaiveTime::MIN)),
        }
    }
    fn zone(self, floating: chrono_tz::Tz) -> chrono_tz::Tz {
        match self {
            When::At(_, tz) => tz,
            When::Date(_) => floating,
        }
    }
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y%m%d").ok()
}

/// One value of a date or date-time property (`v` is one item of a list).
fn parse_when(p: &Prop, v: &str, floating: chrono_tz::Tz) -> Result<When, FeedError> {
    let v = v.trim();
    let bad = || {
        err(
            p.line,
            format!(
                "{} {v:?} is not a date (YYYYMMDD) or date-time (YYYYMMDDTHHMMSS[Z])",
                p.name
            ),
        )
    };
    if p.param("VALUE")
        .is_some_and(|t| t.eq_ignore_ascii_case("DATE"))
        || v.len() == 8
    {
        return parse_date(v).map(When::Date).ok_or_else(bad);
    }
    let (text, utc) = match v.strip_suffix('Z') {
        Some(t) => (t, true),
        None => (v, false),
    };
    let local = NaiveDateTime::parse_from_str(text, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
    if utc {
        return Ok(When::At(local, chrono_tz::UTC));
    }
    match p.param("TZID") {
        Some(id) => match resolve_zone(id) {
            Some(tz) => Ok(When::At(local, tz)),
            None => Err(err(
                p.line,
                format!(
                    "unknown time zone TZID={id:?}: use an IANA name (Europe/Berlin) or a Windows name (W. Europe Standard Time)"
                ),
            )),
        },
        None => Ok(When::At(local, floating)),
    }
}

/// `P1DT2H`, `PT30M`, `P1W` (RFC 5545 §3.3.6).
fn parse_duration(p: &Prop) -> Result<Duration, FeedError> {
    let v = p.value.trim();
    let bad = || err(p.line, format!("DURATION {v:?} is not like PT1H30M or P1D"));
    let (sign, rest) = match v.strip_prefix('-') {
        Some(r) => (-1, r),
        None => (1, v.strip_prefix('+').unwrap_or(v)),
    };
    let rest = rest.strip_prefix('P').ok_or_else(bad)?;
    let mut total = Duration::zero();
    let mut number = String::new();
    let mut in_time = false;
    for c in rest.chars() {
        match c {
            '0'..='9' => number.push(c),
            'T' => in_time = true,
            unit => {
                let n: i64 = number.parse().map_err(|_| bad())?;
                number.clear();
                total += match (unit, in_time) {
                    ('W', false) => Duration::weeks(n),
                    ('D', false) => Duration::days(n),
                    ('H', true) => Duration::hours(n),
                    ('M', true) => Duration::minutes(n),
                    ('S', true) => Duration::seconds(n),
                    _ => return Err(bad()),
                };
            }
        }
    }
    if !number.is_empty() {
        return Err(bad());
    }
    Ok(total * sign)
}

fn email(value: &str) -> Option<String> {
    let v = value.trim();
    let v = if v.len() >= 7 && v[..7].eq_ignore_ascii_case("mailto:") {
        &v[7..]
    } else {
        v
    };
    v.contains('@').then(|| v.to_ascii_lowercase())
}

/// The events of the feed as the `icalendar` parser read them, each with its
/// properties' original line numbers.
fn events(lines: &[Line]) -> Result<Vec<Event>, FeedError> {
    let unfolded: String = lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n";
    let calendar = icalendar::parser::read_calendar(&unfolded).map_err(|e| {
        // The parser's message names a line of the unfolded text.
        let at = e
            .split("at line ")
            .nth(1)
            .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| lines.get(n.saturating_sub(1)))
            .map_or(1, |l| l.number);
        err(
            at,
            format!("not valid iCalendar: {}", e.lines().last().unwrap_or("")),
        )
    })?;
    // Where each VEVENT begins and ends (unfolded index), in document order.
    let mut spans = Vec::new();
    let mut depth_start: Vec<(bool, usize)> = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let upper = l.text.to_ascii_uppercase();
        if upper.starts_with("BEGIN:") {
            depth_start.push((upper == "BEGIN:VEVENT", i));
        } else if upper.starts_with("END:")
            && let Some((is_event, start)) = depth_start.pop()
            && is_event
        {
            spans.push((start, i));
        }
    }
    spans.sort();
    let vevents: Vec<_> = calendar
        .components
        .iter()
        .filter(|c| c.name.as_str().eq_ignore_ascii_case("VEVENT"))
        .collect();
    let mut out = Vec::new();
    for (k, component) in vevents.into_iter().enumerate() {
        let (start, end) = spans.get(k).copied().unwrap_or((0, lines.len() - 1));
        let block = &lines[start..=end];
        let mut used = vec![false; block.len()];
        let mut props = Vec::new();
        for p in &component.properties {
            let name = p.name.as_str().to_ascii_uppercase();
            // The first unused line of this event that starts with the name.
            let line = block
                .iter()
                .enumerate()
                .find(|(i, l)| {
                    !used[*i]
                        && l.text.len() > name.len()
                        && l.text[..name.len()].eq_ignore_ascii_case(&name)
                        && matches!(l.text.as_bytes()[name.len()], b':' | b';')
                })
                .map(|(i, l)| {
                    used[i] = true;
                    l.number
                })
                .unwrap_or(lines[start].number);
            props.push(Prop {
                name,
                params: p
                    .params
                    .iter()
                    .map(|x| {
                        (
                            x.key.as_str().to_ascii_uppercase(),
                            x.val
                                .as_ref()
                                .map(|v| v.as_str().trim_matches('"').to_owned())
                                .unwrap_or_default(),
                        )
                    })
                    .collect(),
                value: p.val.as_str().to_owned(),
                line,
            });
        }
        out.push(Event {
            begin_line: lines[start].number,
            props,
        });
    }
    Ok(out)
}

/// The parts of an event that every occurrence shares.
struct Shape {
    uid: String,
    summary: String,
    start: When,
    length: Duration,
    attendees: Vec<String>,
    declined: Vec<String>,
    incident: bool,
    excluded: bool,
}

fn shape(e: &Event, floating: chrono_tz::Tz) -> Result<Shape, FeedError> {
    let uid = e
        .text("UID")
        .map(str::to_owned)
        .ok_or_else(|| err(e.begin_line, "VEVENT without UID"))?;
    let dtstart = e
        .one("DTSTART")
        .ok_or_else(|| err(e.begin_line, format!("VEVENT {uid:?} without DTSTART")))?;
    let start = parse_when(dtstart, &dtstart.value, floating)?;
    let length = if let Some(p) = e.one("DTEND") {
        let end = parse_when(p, &p.value, floating)?;
        let d = match (start, end) {
            (When::Date(a), When::Date(b)) => b.signed_duration_since(a),
            _ => end.utc(floating) - start.utc(floating),
        };
        if d < Duration::zero() {
            return Err(err(p.line, "DTEND is before DTSTART"));
        }
        d
    } else if let Some(p) = e.one("DURATION") {
        parse_duration(p)?
    } else if matches!(start, When::Date(_)) {
        Duration::days(1)
    } else {
        Duration::zero()
    };
    let mut attendees = Vec::new();
    let mut declined = Vec::new();
    if let Some(o) = e.one("ORGANIZER").and_then(|p| email(&p.value)) {
        attendees.push(o);
    }
    for a in e.all("ATTENDEE") {
        let Some(mail) = email(&a.value) else {
            continue;
        };
        if a.param("PARTSTAT")
            .is_some_and(|s| s.eq_ignore_ascii_case("DECLINED"))
        {
            attendees.retain(|x| *x != mail);
            declined.push(mail);
        } else if !attendees.contains(&mail) {
            attendees.push(mail);
        }
    }
    let summary = e.text("SUMMARY").unwrap_or("").replace("\\,", ",");
    let incident = summary.to_ascii_lowercase().starts_with("incident")
        || e.all("CATEGORIES").any(|c| {
            c.value
                .split(',')
                .any(|x| x.trim().eq_ignore_ascii_case("incident"))
        });
    let excluded = e
        .text("STATUS")
        .is_some_and(|s| s.eq_ignore_ascii_case("CANCELLED"))
        || e.text("TRANSP")
            .is_some_and(|s| s.eq_ignore_ascii_case("TRANSPARENT"));
    Ok(Shape {
        uid,
        summary,
        start,
        length,
        attendees,
        declined,
        incident,
        excluded,
    })
}

fn occurrence(s: &Shape, start: When, recurring: bool, floating: chrono_tz::Tz) -> Meeting {
    let begin = start.utc(floating);
    let (end, all_day) = match start {
        When::Date(d) => (
            local_to_utc(
                &floating,
                (d + Duration::days(s.length.num_days().max(1))).and_time(NaiveTime::MIN),
            ),
            true,
        ),
        When::At(..) => (begin + s.length, false),
    };
    let zone = start.zone(floating);
    let local_label = begin.with_timezone(&zone).format("%a %H:%M").to_string();
    Meeting {
        uid: s.uid.clone(),
        recurring,
        summary: s.summary.clone(),
        start: begin,
        end,
        all_day,
        attendees: s.attendees.clone(),
        declined: s.declined.clone(),
        incident: s.incident,
        local_label,
    }
}

/// The UNTIL of an RRULE value, removed from it and read as an instant:
/// UTC (`…Z`), local to DTSTART's zone, or a date (its whole day counts).
fn split_until(
    rule: &str,
    zone: chrono_tz::Tz,
    line: usize,
) -> Result<(String, Option<DateTime<Utc>>), FeedError> {
    let mut rest = Vec::new();
    let mut until = None;
    for part in rule.split(';') {
        match part.split_once('=') {
            Some((k, v)) if k.eq_ignore_ascii_case("UNTIL") => {
                let bad = || {
                    err(
                        line,
                        format!("RRULE UNTIL={v:?} is not a date or date-time"),
                    )
                };
                until = Some(if let Some(t) = v.strip_suffix('Z') {
                    NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%S")
                        .map_err(|_| bad())?
                        .and_utc()
                } else if v.len() == 8 {
                    let d = parse_date(v).ok_or_else(bad)?;
                    local_to_utc(&zone, (d + Duration::days(1)).and_time(NaiveTime::MIN))
                        - Duration::seconds(1)
                } else {
                    let l = NaiveDateTime::parse_from_str(v, "%Y%m%dT%H%M%S").map_err(|_| bad())?;
                    local_to_utc(&zone, l)
                });
            }
            _ => rest.push(part),
        }
    }
    Ok((rest.join(";"), until))
}

/// Reads an iCalendar feed into the meetings overlapping `[from, to)`.
/// Floating times are read in `floating` (the team's zone).
pub fn parse_feed(
    text: &str,
    floating: chrono_tz::Tz,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<ParsedFeed, FeedError> {
    let lines = unfold(text)?;
    let events = events(&lines)?;
    let mut warnings = Vec::new();
    // Masters (no RECURRENCE-ID) and overrides, by UID.
    let mut masters: Vec<&Event> = Vec::new();
    let mut overrides: HashMap<String, Vec<(DateTime<Utc>, &Event)>> = HashMap::new();
    for e in &events {
        match e.one("RECURRENCE-ID") {
            Some(rid) => {
                let uid = e.text("UID").unwrap_or("").to_owned();
                let at = parse_when(rid, &rid.value, floating)?.utc(floating);
                overrides.entry(uid).or_default().push((at, e));
            }
            None => masters.push(e),
        }
    }
    let mut out: Vec<Meeting> = Vec::new();
    let keep = |m: &Meeting| {
        m.end > from && m.start < to || (m.start == m.end && m.start >= from && m.start < to)
    };
    for e in masters {
        let s = shape(e, floating)?;
        let rrule = e.one("RRULE");
        let rdates: Vec<&Prop> = e.all("RDATE").collect();
        if rrule.is_none() && rdates.is_empty() {
            if !s.excluded {
                let m = occurrence(&s, s.start, false, floating);
                if keep(&m) {
                    out.push(m);
                }
            }
            continue;
        }
        // A recurring series: the instants of its occurrences' starts.
        let zone = s.start.zone(floating);
        let dt_start_utc = s.start.utc(floating);
        let rz = rrule::Tz::Tz(zone);
        let dt_start = dt_start_utc.with_timezone(&rz);
        let mut set = rrule::RRuleSet::new(dt_start);
        if let Some(r) = rrule {
            let (rule, until) = split_until(&r.value, zone, r.line)?;
            let mut parsed: rrule::RRule<rrule::Unvalidated> = rule
                .parse()
                .map_err(|x| err(r.line, format!("RRULE {:?}: {x}", r.value)))?;
            if let Some(u) = until {
                parsed = parsed.until(u.with_timezone(&rrule::Tz::UTC));
            } else if !rule.to_ascii_uppercase().contains("COUNT=") {
                warnings.push(format!(
                    "line {}: the series {:?} ({}) repeats without end (RRULE without COUNT or UNTIL); expanded up to {} only",
                    r.line,
                    s.summary,
                    s.uid,
                    to.format("%Y-%m-%d")
                ));
            }
            let validated = parsed
                .validate(dt_start)
                .map_err(|x| err(r.line, format!("RRULE {:?}: {x}", r.value)))?;
            set = set.rrule(validated);
        }
        for p in rdates {
            for v in p.value.split(',') {
                let w = parse_when(p, v, floating)?;
                set = set.rdate(w.utc(floating).with_timezone(&rz));
            }
        }
        for p in e.all("EXDATE") {
            for v in p.value.split(',') {
                let w = parse_when(p, v, floating)?;
                // A date-only EXDATE excludes the occurrence on that date.
                let at = match (w, s.start) {
                    (When::Date(d), When::At(t, tz)) => {
                        When::At(d.and_time(t.time()), tz).utc(floating)
                    }
                    _ => w.utc(floating),
                };
                set = set.exdate(at.with_timezone(&rz));
            }
        }
        // Occurrences that may overlap the window: those starting after
        // `from - length` and before `to`.
        let after = (from - s.length - Duration::seconds(1)).with_timezone(&rz);
        let before = to.with_timezone(&rz);
        let result = set.after(after).before(before).all(MAX_OCCURRENCES);
        if result.limited && result.dates.len() >= usize::from(MAX_OCCURRENCES) {
            warnings.push(format!(
                "line {}: the series {:?} ({}) has more than {MAX_OCCURRENCES} occurrences in the window; only the first {MAX_OCCURRENCES} are counted",
                e.begin_line, s.summary, s.uid
            ));
        }
        let mut moved: BTreeMap<DateTime<Utc>, &Event> = overrides
            .remove(&s.uid)
            .unwrap_or_default()
            .into_iter()
            .collect();
        for at in result.dates {
            let at = at.with_timezone(&Utc);
            let start = match s.start {
                When::Date(_) => When::Date(at.with_timezone(&zone).date_naive()),
                When::At(..) => When::At(at.with_timezone(&zone).naive_local(), zone),
            };
            if let Some(o) = moved.remove(&at) {
                let os = shape(o, floating)?;
                if !os.excluded {
                    let m = occurrence(&os, os.start, true, floating);
                    if keep(&m) {
                        out.push(m);
                    }
                }
                continue;
            }
            if s.excluded {
                continue;
            }
            let m = occurrence(&s, start, true, floating);
            if keep(&m) {
                out.push(m);
            }
        }
        // Overrides of instances outside the expanded range may still move
        // into the window.
        for o in moved.into_values() {
            let os = shape(o, floating)?;
            if !os.excluded && !s.excluded {
                let m = occurrence(&os, os.start, true, floating);
                if keep(&m) {
                    out.push(m);
                }
            }
        }
    }
    // Overrides without a master in this feed are single events.
    for (_, list) in overrides {
        for (_, o) in list {
            let os = shape(o, floating)?;
            if !os.excluded {
                let m = occurrence(&os, os.start, true, floating);
                if keep(&m) {
                    out.push(m);
                }
            }
        }
    }
    out.sort_by(|a, b| (a.start, &a.uid).cmp(&(b.start, &b.uid)));
    Ok(ParsedFeed {
        meetings: out,
        warnings,
    })
}

/// A person's own feed: its owner attends every event in it unless they
/// declined (personal events in such feeds often list no attendees at all).
pub fn assign_owner(meetings: &mut [Meeting], owner: &str) {
    let owner = owner.to_ascii_lowercase();
    for m in meetings {
        if !m.declined.contains(&owner) && !m.attendees.contains(&owner) {
            m.attendees.push(owner.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn a_broken_line_is_named() {
        let ics = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nthis is not a property\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n";
        let e = parse_feed(
            ics,
            chrono_tz::UTC,
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.line, 5, "{e}");
        let ics =
            "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART:2026013\nEND:VEVENT\nEND:VCALENDAR\n";
        let e = parse_feed(
            ics,
            chrono_tz::UTC,
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("DTSTART"), "{e}");
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\nDTSTART;TZID=Mars/Olympus:20260101T100000\nEND:VEVENT\nEND:VCALENDAR\n";
        let e = parse_feed(
            ics,
            chrono_tz::UTC,
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.line, 4, "{e}");
        assert!(e.message.contains("Mars/Olympus"), "{e}");
        let ics = "BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\n";
        let e = parse_feed(
            ics,
            chrono_tz::UTC,
            at("2026-01-01T00:00:00Z"),
            at("2027-01-01T00:00:00Z"),
        )
        .unwrap_err();
        assert_eq!(e.line, 2, "{e}");
    }

    #[test]
    fn zones_by_any_name() {
        assert_eq!(
            resolve_zone("W. Europe Standard Time"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            resolve_zone("/mozilla.org/20050126_1/Europe/Berlin"),
            Some(chrono_tz::Europe::Berlin)
        );
        assert_eq!(
            resolve_zone("America/New_York"),
            Some(chrono_tz::America::New_York)
        );
        assert_eq!(resolve_zone("Somewhere"), None);
    }

    #[test]
    fn durations() {
        let p = |v: &str| Prop {
            name: "DURATION".into(),
            params: vec![],
            value: v.into(),
            line: 1,
        };
        assert_eq!(
            parse_duration(&p("PT1H30M")).unwrap(),
            Duration::minutes(90)
        );
        assert_eq!(parse_duration(&p("P1D")).unwrap(), Duration::days(1));
        assert_eq!(parse_duration(&p("P1W")).unwrap(), Duration::weeks(1));
        assert!(parse_duration(&p("1H")).is_err());
    }
}
