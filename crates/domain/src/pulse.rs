//! The team pulse (issue 15, ADR 0028): a weekly question or three —
//! workload 1–5, focus 1–5, optionally "what got in your way" — whose
//! answers carry no identity, and the team figures made from them.
//!
//! Rules (docs/metrics.md, "Pulse"):
//! - An answer is two whole numbers from 1 to 5 and an optional note of at
//!   most [`NOTE_MAX`] characters; anything else is refused naming its field.
//! - A week's figures ([`summarise`]) are shown only when at least the
//!   team's `min_answers` people answered, and `min_answers` is never below
//!   [`MIN_ANSWERS`] (3). Below it the figures are `None` and the notes
//!   empty: only the count of answers and of members is said.
//! - The mean is the arithmetic mean of the week's answers; the
//!   distribution counts the answers of each value 1..=5. Notes are shown
//!   sorted (never in the order they came in).
//! - The Slack message's blocks and the parsing of its buttons are here too,
//!   pure JSON like `intake.rs`; the server verifies, the app stores.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::policy::{ClockTime, Day};

/// The threshold below which no team figure is shown, whatever is configured.
pub const MIN_ANSWERS: u32 = 3;
/// The longest "what got in your way" note, in characters.
pub const NOTE_MAX: usize = 1_000;

/// How a team's pulse is asked: on which day and at what time (in the
/// team's time zone; the message then waits for a time the team policy
/// allows), and how many answers a week needs before its figures are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PulseConfig, examples(json!({"enabled": true, "day": "fri", "time": "14:00", "min_answers": 3})))]
pub struct PulseConfig {
    /// Whether the pulse is asked in Slack every week (false by default;
    /// the web page and the API take answers either way).
    #[serde(default)]
    pub enabled: bool,
    /// The day it is asked (Friday by default).
    #[serde(default = "default_day")]
    pub day: Day,
    /// The time it is asked, in the team's zone (14:00 by default).
    #[serde(default = "default_time")]
    pub time: ClockTime,
    /// Answers a week needs before any figure is shown (3 by default;
    /// never below 3).
    #[serde(default = "default_min")]
    pub min_answers: u32,
}

fn default_day() -> Day {
    Day::Fri
}
fn default_time() -> ClockTime {
    ClockTime::new(14, 0).expect("14:00 is a time")
}
fn default_min() -> u32 {
    MIN_ANSWERS
}

impl Default for PulseConfig {
    fn default() -> Self {
        PulseConfig {
            enabled: false,
            day: default_day(),
            time: default_time(),
            min_answers: default_min(),
        }
    }
}

impl PulseConfig {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if self.min_answers < MIN_ANSWERS {
            p.push(
                "min_answers",
                format!("must be at least {MIN_ANSWERS}: fewer answers would tell who said what"),
            );
        }
        if self.min_answers > 1_000 {
            p.push("min_answers", "must be at most 1000");
        }
        if self.time == ClockTime::END_OF_DAY {
            p.push("time", "24:00 is the next day; use 00:00 to 23:59");
        }
        p.into_result()
    }

    /// The threshold in force: `min_answers`, never below [`MIN_ANSWERS`].
    pub fn threshold(&self) -> u32 {
        self.min_answers.max(MIN_ANSWERS)
    }
}

/// When a week's pulse is asked: the configured day and time of the week
/// starting `monday`, in `tz`, moved to the first instant the team policy
/// lets a non-urgent message through ([`crate::policy::delivery_time`]).
pub fn ask_at(
    config: &PulseConfig,
    policy: &crate::policy::TeamPolicy,
    tz: chrono_tz::Tz,
    monday: NaiveDate,
) -> chrono::DateTime<chrono::Utc> {
    let offset = Day::ALL.iter().position(|d| *d == config.day).unwrap_or(0);
    let date = monday + chrono::Duration::days(offset as i64);
    let planned = crate::policy::local_to_utc(&tz, config.time.on(date));
    crate::policy::delivery_time(policy, tz, planned, crate::policy::Urgency::Normal)
}

/// An answer as the API and the web take it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PulseAnswerInput, examples(json!({"workload": 4, "focus": 2, "note": "Two incidents and the quarterly planning"})))]
pub struct AnswerInput {
    /// How heavy was your workload this week: 1 (light) to 5 (too much).
    pub workload: i64,
    /// How well could you focus this week: 1 (not at all) to 5 (very well).
    pub focus: i64,
    /// What got in your way (optional; shown only in team aggregates).
    #[serde(default)]
    pub note: Option<String>,
}

/// A valid answer: what is stored, without anyone's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub workload: u8,
    pub focus: u8,
    pub note: Option<String>,
}

/// Checks one 1–5 rating.
fn rating(p: &mut Problems, field: &str, v: i64) -> u8 {
    if (1..=5).contains(&v) {
        v as u8
    } else {
        p.push(
            field,
            format!("must be a whole number from 1 to 5, not {v}"),
        );
        0
    }
}

/// Checks a note: trimmed, empty means none.
pub fn check_note(p: &mut Problems, note: Option<&str>) -> Option<String> {
    let note = note.map(str::trim).filter(|n| !n.is_empty())?;
    p.check(crate::text::bounded("note", note, NOTE_MAX));
    Some(note.to_owned())
}

impl AnswerInput {
    /// The answer, or every broken rule naming its field.
    pub fn validate(&self) -> Result<Answer, DomainError> {
        let mut p = Problems::new();
        let workload = rating(&mut p, "workload", self.workload);
        let focus = rating(&mut p, "focus", self.focus);
        let note = check_note(&mut p, self.note.as_deref());
        p.into_result()?;
        Ok(Answer {
            workload,
            focus,
            note,
        })
    }
}

/// The answers to one question in a week.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = PulseDistribution)]
pub struct Distribution {
    /// The arithmetic mean of the answers, 1–5.
    pub mean: f64,
    /// How many answered 1, 2, 3, 4 and 5 (five counts, in that order).
    pub counts: Vec<u32>,
}

impl Distribution {
    fn of(values: impl Iterator<Item = u8>) -> Option<Distribution> {
        let mut counts = vec![0u32; 5];
        let (mut sum, mut n) = (0u64, 0u32);
        for v in values.filter(|v| (1..=5).contains(v)) {
            counts[usize::from(v - 1)] += 1;
            sum += u64::from(v);
            n += 1;
        }
        (n > 0).then(|| Distribution {
            mean: sum as f64 / f64::from(n),
            counts,
        })
    }
}

/// A team's pulse for one week: aggregates only, and only above the
/// threshold.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = PulseWeek)]
pub struct PulseWeek {
    pub team: String,
    /// ISO week, e.g. `2026-W49`.
    pub week: String,
    /// The week's Monday.
    pub starts_on: NaiveDate,
    /// Answers this week (one per person: a second answer replaced the first).
    pub answers: u32,
    /// The team's enabled members now.
    pub members: u32,
    /// Answers needed before the figures are shown.
    pub min_answers: u32,
    /// Whether the figures are shown (`answers >= min_answers`).
    pub shown: bool,
    /// Workload 1–5; `null` below the threshold.
    pub workload: Option<Distribution>,
    /// Focus 1–5; `null` below the threshold.
    pub focus: Option<Distribution>,
    /// "What got in your way", sorted; empty below the threshold.
    pub notes: Vec<String>,
}

/// A week's figures from its answers: nothing but counts below `threshold`
/// (itself never below [`MIN_ANSWERS`]).
pub fn summarise(
    team: &str,
    week: &str,
    starts_on: NaiveDate,
    answers: &[Answer],
    members: u32,
    threshold: u32,
) -> PulseWeek {
    let threshold = threshold.max(MIN_ANSWERS);
    let n = u32::try_from(answers.len()).unwrap_or(u32::MAX);
    let shown = n >= threshold;
    let mut notes: Vec<String> = if shown {
        answers.iter().filter_map(|a| a.note.clone()).collect()
    } else {
        Vec::new()
    };
    notes.sort();
    PulseWeek {
        team: team.to_owned(),
        week: week.to_owned(),
        starts_on,
        answers: n,
        members,
        min_answers: threshold,
        shown,
        workload: shown
            .then(|| Distribution::of(answers.iter().map(|a| a.workload)))
            .flatten(),
        focus: shown
            .then(|| Distribution::of(answers.iter().map(|a| a.focus)))
            .flatten(),
        notes,
    }
}

/// One week of the pulse trend.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = PulseTrendPoint)]
pub struct TrendPoint {
    pub week: String,
    pub starts_on: NaiveDate,
    pub answers: u32,
    /// `null` below the threshold.
    pub workload_mean: Option<f64>,
    /// `null` below the threshold.
    pub focus_mean: Option<f64>,
}

impl From<&PulseWeek> for TrendPoint {
    fn from(w: &PulseWeek) -> Self {
        TrendPoint {
            week: w.week.clone(),
            starts_on: w.starts_on,
            answers: w.answers,
            workload_mean: w.workload.as_ref().map(|d| d.mean),
            focus_mean: w.focus.as_ref().map(|d| d.mean),
        }
    }
}

/// The weekly report's line.
pub fn report_line(w: &PulseWeek) -> String {
    match (&w.workload, &w.focus) {
        (Some(wl), Some(f)) if w.shown => format!(
            "Pulse: workload {:.1}/5, focus {:.1}/5 from {} answers",
            wl.mean, f.mean, w.answers
        ),
        _ => format!(
            "Pulse: too few answers to show ({} of {})",
            w.answers, w.members
        ),
    }
}

// ---------------------------------------------------------------------------
// Slack: the direct message, its buttons and the note modal
// ---------------------------------------------------------------------------

/// The `block_id` of the pulse message's buttons (the server dispatches
/// `block_actions` on it).
pub const SLACK_BLOCK: &str = "tandem_pulse";
/// The `callback_id` of the "what got in your way" modal.
pub const SLACK_NOTE_MODAL: &str = "tandem_pulse_note";

/// What a pulse button carries: the team, the week, and the workload once
/// chosen (the message is replaced after each click, so the state travels
/// in it and nothing is stored before both ratings are known).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ButtonValue {
    pub team: Uuid,
    pub week: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workload: Option<u8>,
}

impl ButtonValue {
    fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// A click on a pulse button, parsed from a `block_actions` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Click {
    /// A workload rating: ask for focus next.
    Workload(ButtonValue, u8),
    /// A focus rating after the workload: the answer is complete.
    Focus(ButtonValue, u8),
    /// "What got in your way": open the note modal.
    Note(ButtonValue),
}

const LABELS: [&str; 5] = ["1", "2", "3", "4", "5"];

fn buttons(kind: &str, value: &ButtonValue) -> Value {
    let elements: Vec<Value> = LABELS
        .iter()
        .enumerate()
        .map(|(i, label)| {
            json!({
                "type": "button",
                "action_id": format!("{kind}_{}", i + 1),
                "text": {"type": "plain_text", "text": label},
                "value": value.encode(),
            })
        })
        .collect();
    json!({"type": "actions", "block_id": SLACK_BLOCK, "elements": elements})
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": text}})
}

const PRIVACY: &str = "Answers are stored without your name; the team sees figures only \
                       once at least three people answered.";

/// The direct message that asks the pulse: the workload buttons.
/// Returns `(text, blocks)` (the text is the notification's fallback).
pub fn ask_message(team_name: &str, week: &str, team: Uuid) -> (String, Value) {
    let text = format!("Weekly pulse of {team_name} ({week}): how was your workload this week?");
    let value = ButtonValue {
        team,
        week: week.to_owned(),
        workload: None,
    };
    let blocks = json!([
        section(&format!(
            "*Weekly pulse of {team_name}* ({week})\nHow was your *workload* this week? \
             1 = light, 5 = far too much."
        )),
        buttons("workload", &value),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": PRIVACY}]},
    ]);
    (text, blocks)
}

/// The message after the workload click: the focus buttons.
pub fn focus_message(value: &ButtonValue, workload: u8) -> (String, Value) {
    let text = format!("Workload {workload}/5. How well could you focus this week?");
    let next = ButtonValue {
        workload: Some(workload),
        ..value.clone()
    };
    let blocks = json!([
        section(&format!(
            "Workload: *{workload}/5*.\nHow well could you *focus* this week? \
             1 = not at all, 5 = very well."
        )),
        buttons("focus", &next),
        {"type": "context", "elements": [{"type": "mrkdwn", "text": PRIVACY}]},
    ]);
    (text, blocks)
}

/// The message once the answer is stored: thanks, and the optional note.
pub fn thanks_message(value: &ButtonValue, workload: u8, focus: u8) -> (String, Value) {
    let text =
        format!("Thank you: workload {workload}/5, focus {focus}/5, stored without your name.");
    let note = ButtonValue {
        workload: None,
        ..value.clone()
    };
    let blocks = json!([
        section(&format!(
            "Thank you: workload *{workload}/5*, focus *{focus}/5*, stored without your name. \
             Answering again this week replaces it."
        )),
        {"type": "actions", "block_id": SLACK_BLOCK, "elements": [{
            "type": "button",
            "action_id": "note",
            "text": {"type": "plain_text", "text": "What got in your way? (optional)"},
            "value": note.encode(),
        }]},
    ]);
    (text, blocks)
}

/// The modal that asks "what got in your way".
pub fn note_modal(value: &ButtonValue) -> Value {
    json!({
        "type": "modal",
        "callback_id": SLACK_NOTE_MODAL,
        "private_metadata": value.encode(),
        "title": {"type": "plain_text", "text": "Weekly pulse"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [{
            "type": "input",
            "block_id": "note",
            "label": {"type": "plain_text", "text": "What got in your way this week?"},
            "hint": {"type": "plain_text", "text": PRIVACY},
            "element": {"type": "plain_text_input", "action_id": "value", "multiline": true,
                        "max_length": NOTE_MAX},
        }],
    })
}

/// The click in a `block_actions` payload (its first action).
pub fn parse_click(payload: &Value) -> Result<Click, String> {
    let action = &payload["actions"][0];
    let id = action["action_id"]
        .as_str()
        .ok_or("the action has no action_id")?;
    let value: ButtonValue = serde_json::from_str(action["value"].as_str().unwrap_or_default())
        .map_err(|e| format!("the button's value is not a pulse button's: {e}"))?;
    let rating = |s: &str| -> Result<u8, String> {
        s.parse::<u8>()
            .ok()
            .filter(|v| (1..=5).contains(v))
            .ok_or_else(|| format!("{id:?} is not a rating from 1 to 5"))
    };
    if let Some(n) = id.strip_prefix("workload_") {
        return Ok(Click::Workload(value, rating(n)?));
    }
    if let Some(n) = id.strip_prefix("focus_") {
        if value.workload.is_none() {
            return Err("a focus rating without the workload before it".into());
        }
        return Ok(Click::Focus(value, rating(n)?));
    }
    if id == "note" {
        return Ok(Click::Note(value));
    }
    Err(format!("{id:?} is not a pulse button"))
}

/// The note modal's submission: where it belongs and the note.
pub fn parse_note(view: &Value) -> Result<(ButtonValue, Option<String>), String> {
    let value: ButtonValue =
        serde_json::from_str(view["private_metadata"].as_str().unwrap_or_default())
            .map_err(|e| format!("the modal does not say which pulse it is: {e}"))?;
    let note = view["state"]["values"]["note"]["value"]["value"]
        .as_str()
        .map(str::to_owned);
    Ok((value, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(w: u8, f: u8, note: Option<&str>) -> Answer {
        Answer {
            workload: w,
            focus: f,
            note: note.map(str::to_owned),
        }
    }

    fn monday() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()
    }

    #[test]
    fn ratings_outside_one_to_five_name_their_field() {
        let e = AnswerInput {
            workload: 0,
            focus: 6,
            note: None,
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.fields(), ["workload", "focus"]);
        let ok = AnswerInput {
            workload: 5,
            focus: 1,
            note: Some("  ".into()),
        }
        .validate()
        .unwrap();
        assert_eq!(ok, a(5, 1, None));
        let e = AnswerInput {
            workload: 3,
            focus: 3,
            note: Some("x".repeat(NOTE_MAX + 1)),
        }
        .validate()
        .unwrap_err();
        assert_eq!(e.fields(), ["note"]);
    }

    #[test]
    fn two_answers_show_nothing_three_show_the_figures() {
        let two = [a(4, 2, Some("incidents")), a(2, 4, None)];
        let w = summarise("pay", "2026-W49", monday(), &two, 5, 3);
        assert!(!w.shown);
        assert_eq!((w.answers, w.members), (2, 5));
        assert_eq!((w.workload.clone(), w.focus.clone()), (None, None));
        assert!(w.notes.is_empty());
        assert_eq!(report_line(&w), "Pulse: too few answers to show (2 of 5)");

        let three = [
            a(4, 2, Some("incidents")),
            a(2, 4, None),
            a(3, 3, Some("Another")),
        ];
        let w = summarise("pay", "2026-W49", monday(), &three, 5, 3);
        assert!(w.shown);
        let wl = w.workload.clone().unwrap();
        assert_eq!(wl.mean, 3.0);
        assert_eq!(wl.counts, [0, 1, 1, 1, 0]);
        assert_eq!(w.notes, ["Another", "incidents"]);
        assert_eq!(
            report_line(&w),
            "Pulse: workload 3.0/5, focus 3.0/5 from 3 answers"
        );
        // A threshold below three is three.
        let w = summarise("pay", "2026-W49", monday(), &two, 5, 1);
        assert!(!w.shown);
        assert_eq!(w.min_answers, 3);
        // A higher one holds.
        let w = summarise("pay", "2026-W49", monday(), &three, 5, 4);
        assert!(!w.shown);
    }

    #[test]
    fn config_never_goes_below_three() {
        let c = PulseConfig {
            min_answers: 2,
            ..PulseConfig::default()
        };
        assert_eq!(c.validate().unwrap_err().fields(), ["min_answers"]);
        assert_eq!(c.threshold(), 3);
        PulseConfig::default().validate().unwrap();
        let c: PulseConfig = serde_json::from_str(r#"{"enabled":true,"min_answers":5}"#).unwrap();
        assert_eq!(c.day, Day::Fri);
        assert_eq!(c.threshold(), 5);
    }

    #[test]
    fn the_pulse_waits_for_a_time_the_policy_allows() {
        use crate::policy::TeamPolicy;
        let tz = chrono_tz::Europe::Berlin;
        let friday_two = PulseConfig::default();
        // Friday 4 Dec 2026 14:00 Berlin (UTC+1) is outside the focus block: as planned.
        assert_eq!(
            ask_at(&friday_two, &TeamPolicy::default(), tz, monday()).to_rfc3339(),
            "2026-12-04T13:00:00+00:00"
        );
        // Monday 10:00 is inside the focus block (09:00-12:00): it waits for 12:00.
        let monday_ten = PulseConfig {
            day: Day::Mon,
            time: ClockTime::new(10, 0).unwrap(),
            ..PulseConfig::default()
        };
        assert_eq!(
            ask_at(&monday_ten, &TeamPolicy::default(), tz, monday()).to_rfc3339(),
            "2026-11-30T11:00:00+00:00"
        );
    }

    #[test]
    fn buttons_round_trip_through_a_click() {
        let team = Uuid::nil();
        let (_, blocks) = ask_message("Payments", "2026-W49", team);
        let button = &blocks[1]["elements"][2];
        assert_eq!(blocks[1]["block_id"], SLACK_BLOCK);
        let payload = json!({"type": "block_actions", "actions": [{
            "action_id": button["action_id"], "block_id": SLACK_BLOCK, "value": button["value"]}]});
        let Click::Workload(v, 3) = parse_click(&payload).unwrap() else {
            panic!("not workload 3")
        };
        let (_, blocks) = focus_message(&v, 3);
        let button = &blocks[1]["elements"][4];
        let payload =
            json!({"actions": [{"action_id": button["action_id"], "value": button["value"]}]});
        assert_eq!(
            parse_click(&payload).unwrap(),
            Click::Focus(
                ButtonValue {
                    team,
                    week: "2026-W49".into(),
                    workload: Some(3)
                },
                5
            )
        );
        let forged = json!({"actions": [{"action_id": "focus_9", "value": button["value"]}]});
        assert!(parse_click(&forged).is_err());
        let early = json!({"actions": [{"action_id": "focus_2",
            "value": ButtonValue { team, week: "2026-W49".into(), workload: None }.encode()}]});
        assert!(parse_click(&early).is_err());
    }
}
