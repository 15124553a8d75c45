//! Requests arriving through Slack and e-mail: the pure parts of both
//! channels (ADR 0022). What a Slack modal shows and what its submission
//! says, what a slash command asks for, and what an e-mail reply answers.
//!
//! Rules:
//! - The four clarifying questions of an agreement are asked in the same
//!   order and with the same keys everywhere (`request::Question::ALL`); a channel may
//!   leave any unanswered (the request lists them), never invent one.
//! - Parsing never fails on what a person wrote: unknown lines are kept as
//!   text, not dropped. Only a Slack submission without a title or with an
//!   unknown team is refused, naming the modal's block.
//! - Slack's own limits are kept here (modal title 24 characters, input
//!   values 3,000, select options 100 with 75-character labels), so Slack
//!   never refuses a view Tandem built.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::request::{Answers, Question};
use crate::string_enum;

/// Short labels a reply may use instead of the question's number.
const LABELS: [&[&str]; 4] = [
    &["business goal", "goal"],
    &["success measure", "success", "measured"],
    &["deadline", "by when", "when"],
    &["if not done", "if not", "otherwise"],
];

/// The modal's `callback_id`: the interactions endpoint dispatches on it.
pub const REQUEST_MODAL: &str = "tandem_request";
/// The message shortcut's `callback_id` (in the app manifest).
pub const MESSAGE_SHORTCUT: &str = "tandem_request_from_message";

/// Slack's limits on what Tandem sends it.
const MAX_INPUT: usize = 3000;
const MAX_OPTIONS: usize = 100;
const MAX_OPTION_TEXT: usize = 75;
/// Title of a request, as the requests core allows (and a Slack input).
pub const MAX_TITLE: usize = 200;

string_enum! {
    /// What became of a received e-mail: made a `request`, added to one as a
    /// `reply`, or kept raw and flagged as `broken` (unparseable MIME, no
    /// sender, or a team nobody has); `received` while it is being worked on.
    MailState {
        Received => "received",
        Request => "request",
        Reply => "reply",
        Broken => "broken",
    }
}

string_enum! {
    /// Where a raw e-mail came from: the IMAP mailbox or an MTA pipe
    /// (`tandem request mail`).
    MailSource {
        Imap => "imap",
        Pipe => "pipe",
    }
}

/// A request as a channel collected it, before the requests core takes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeForm {
    /// The team's key as chosen in the channel (`None`: the channel's default).
    pub team: Option<String>,
    pub title: String,
    pub details: String,
    pub answers: Answers,
}

/// A team offered in the modal's team select.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamChoice {
    pub key: String,
    pub name: String,
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

fn text_input(block: &str, label: &str, multiline: bool, optional: bool, initial: &str) -> Value {
    let mut element = json!({
        "type": "plain_text_input",
        "action_id": "value",
        "multiline": multiline,
        "max_length": MAX_INPUT,
    });
    if !initial.is_empty() {
        element["initial_value"] = Value::String(clip(initial, MAX_INPUT));
    }
    json!({
        "type": "input",
        "block_id": block,
        "optional": optional,
        "label": {"type": "plain_text", "text": label},
        "element": element,
    })
}

/// The modal asking for a request: team, title, details and the four
/// questions (optional: unanswered ones are listed on the request).
/// `metadata` comes back verbatim in the submission (`private_metadata`).
pub fn request_modal(teams: &[TeamChoice], title: &str, details: &str, metadata: &str) -> Value {
    let options: Vec<Value> = teams
        .iter()
        .take(MAX_OPTIONS)
        .map(|t| {
            json!({
                "text": {"type": "plain_text", "text": clip(&t.name, MAX_OPTION_TEXT)},
                "value": t.key,
            })
        })
        .collect();
    let mut blocks = vec![
        json!({
            "type": "input",
            "block_id": "team",
            "label": {"type": "plain_text", "text": "Which team is it for?"},
            "element": {"type": "static_select", "action_id": "value", "options": options},
        }),
        text_input(
            "title",
            "What do you need?",
            false,
            false,
            &clip(title, MAX_TITLE),
        ),
        text_input("details", "Details", true, true, details),
    ];
    for q in Question::ALL {
        blocks.push(text_input(q.as_str(), q.text(), true, true, ""));
    }
    json!({
        "type": "modal",
        "callback_id": REQUEST_MODAL,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Request to a team"},
        "submit": {"type": "plain_text", "text": "Send request"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    })
}

/// Why a modal submission is refused: Slack shows each message under its
/// block (`response_action: errors`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormErrors(pub Vec<(String, String)>);

impl FormErrors {
    /// The body Slack expects to show the errors in the open modal.
    pub fn response(&self) -> Value {
        let errors: serde_json::Map<String, Value> = self
            .0
            .iter()
            .map(|(block, msg)| (block.clone(), Value::String(msg.clone())))
            .collect();
        json!({"response_action": "errors", "errors": errors})
    }
}

/// The value of one block of a submitted view's `state.values`: a text
/// input's `value` or a select's `selected_option.value`.
fn state_value(view: &Value, block: &str) -> Option<String> {
    let v = &view["state"]["values"][block]["value"];
    v["value"]
        .as_str()
        .or_else(|| v["selected_option"]["value"].as_str())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Reads a `view_submission`'s `view` into a form; `teams` are the keys
/// that exist. Refused with the block to show the message under.
pub fn parse_submission(view: &Value, teams: &[String]) -> Result<IntakeForm, FormErrors> {
    let mut errors = Vec::new();
    let team = state_value(view, "team");
    match &team {
        None => errors.push(("team".to_owned(), "Choose a team.".to_owned())),
        Some(t) if !teams.iter().any(|k| k == t) => {
            errors.push(("team".to_owned(), format!("There is no team {t:?}.")))
        }
        Some(_) => {}
    }
    let title = state_value(view, "title").unwrap_or_default();
    if title.is_empty() {
        errors.push(("title".to_owned(), "Say what you need.".to_owned()));
    } else if title.chars().count() > MAX_TITLE {
        errors.push((
            "title".to_owned(),
            format!("At most {MAX_TITLE} characters; put the rest in the details."),
        ));
    }
    if !errors.is_empty() {
        return Err(FormErrors(errors));
    }
    Ok(IntakeForm {
        team,
        title,
        details: state_value(view, "details").unwrap_or_default(),
        answers: Answers {
            business_goal: state_value(view, Question::BusinessGoal.as_str()),
            success_measure: state_value(view, Question::SuccessMeasure.as_str()),
            deadline: state_value(view, Question::Deadline.as_str()),
            if_not_done: state_value(view, Question::IfNotDone.as_str()),
        },
    })
}

/// What `/tandem …` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SlashCommand {
    /// `/tandem ask [what]`: open the request modal, the title pre-filled.
    Ask { title: String },
    /// Anything else: the help text.
    Help,
}

impl SlashCommand {
    pub fn parse(text: &str) -> SlashCommand {
        let text = text.trim();
        let (word, rest) = text.split_once(char::is_whitespace).unwrap_or((text, ""));
        if word.eq_ignore_ascii_case("ask") {
            SlashCommand::Ask {
                title: rest.trim().to_owned(),
            }
        } else {
            SlashCommand::Help
        }
    }
}

/// The help `/tandem` answers with (only to the person who typed it).
pub const SLASH_HELP: &str = "Ask a team for something: `/tandem ask <what you need>` opens a form \
with four short questions (the business goal, how success is measured, by when and why, what \
happens if it is not done). You will hear here when the team's manager decides.";

/// A title from the first line of a message (shortcut, e-mail subject).
pub fn title_from(text: &str) -> String {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut title = clip(first, MAX_TITLE - 1);
    if first.chars().count() > MAX_TITLE - 1 {
        title.push('…');
    }
    title
}

// ---- e-mail ---------------------------------------------------------------

/// A Message-ID without its angle brackets and surrounding space, the form
/// threads are stored in.
pub fn bare_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .trim()
        .to_owned()
}

/// The text of an e-mail reply without the quoted part: lines starting with
/// `>` and everything from an attribution line (`On … wrote:`) or a
/// signature separator (`-- `) on.
pub fn reply_text(body: &str) -> String {
    let mut out = Vec::new();
    for line in body.lines() {
        let t = line.trim_end();
        if t == "--" || t == "-- " || line == "-- " {
            break;
        }
        let lower = t.trim().to_lowercase();
        if lower.starts_with("on ") && lower.ends_with("wrote:") {
            break;
        }
        if lower.starts_with("-----original message") {
            break;
        }
        if t.trim_start().starts_with('>') {
            continue;
        }
        out.push(t);
    }
    while out.last().is_some_and(|l| l.trim().is_empty()) {
        out.pop();
    }
    while out.first().is_some_and(|l| l.trim().is_empty()) {
        out.remove(0);
    }
    out.join("\n")
}

/// Which question a line starts answering, and the rest of the line:
/// `2. …`, `2) …`, `Q2: …` or a label (`Deadline: …`, `By when: …`).
fn answer_start(line: &str) -> Option<(usize, &str)> {
    let t = line.trim();
    let rest = t.strip_prefix(['Q', 'q']).unwrap_or(t);
    if let Some(d) = rest.chars().next().and_then(|c| c.to_digit(10))
        && (1..=4).contains(&d)
    {
        let after = &rest[1..];
        if let Some(answer) = after
            .strip_prefix('.')
            .or_else(|| after.strip_prefix(')'))
            .or_else(|| after.strip_prefix(':'))
        {
            return Some((d as usize - 1, answer.trim()));
        }
    }
    let (label, answer) = t.split_once(':')?;
    let label = label.trim().to_lowercase();
    LABELS
        .iter()
        .position(|names| names.contains(&label.as_str()))
        .map(|i| (i, answer.trim()))
}

/// Answers to the four questions written in a reply, when written simply:
/// one per numbered or labelled paragraph (`1. …`, `Goal: …`). Lines after
/// an answer up to a blank line continue it. Nothing is guessed: text that
/// starts no answer is ignored here (the reply keeps it as a comment).
pub fn parse_answers(text: &str) -> Answers {
    let mut out: [Option<String>; 4] = Default::default();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            current = None;
            continue;
        }
        if let Some((i, answer)) = answer_start(line) {
            current = Some(i);
            if out[i].is_none() {
                out[i] = Some(answer.to_owned());
            } else {
                current = None;
            }
            continue;
        }
        if let Some(i) = current
            && let Some(a) = out[i].as_mut()
        {
            if !a.is_empty() {
                a.push('\n');
            }
            a.push_str(line.trim());
        }
    }
    let [business_goal, success_measure, deadline, if_not_done] =
        out.map(|a| a.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
    Answers {
        business_goal,
        success_measure,
        deadline,
        if_not_done,
    }
}

/// The questions `answers` leaves open, numbered as a reply may answer
/// them (`2. …`).
pub fn open_questions(answers: &Answers) -> Vec<(usize, &'static str)> {
    Question::ALL
        .iter()
        .enumerate()
        .filter(|(_, q)| answers.get(**q).is_none())
        .map(|(i, q)| (i + 1, q.text()))
        .collect()
}

/// The subject of a reply: `Re: ` once.
pub fn reply_subject(subject: &str) -> String {
    let s = subject.trim();
    if s.len() >= 3 && s[..3].eq_ignore_ascii_case("re:") {
        s.to_owned()
    } else {
        format!("Re: {s}")
    }
}

/// One received e-mail, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InboundMail {
    pub id: uuid::Uuid,
    /// The Message-ID without brackets, else `sha256:<hex>` of the bytes.
    pub dedupe_key: String,
    pub message_id: Option<String>,
    pub source: MailSource,
    pub sender: String,
    pub subject: String,
    #[serde(skip)]
    pub raw: Vec<u8>,
    pub state: MailState,
    /// Why it is `broken` (empty otherwise).
    pub error: String,
    /// The request it made or was added to.
    pub request_id: Option<uuid::Uuid>,
    pub team: Option<String>,
    pub received_at: chrono::DateTime<chrono::Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slash_commands() {
        assert_eq!(
            SlashCommand::parse("ask  A CSV export of invoices "),
            SlashCommand::Ask {
                title: "A CSV export of invoices".into()
            }
        );
        assert_eq!(
            SlashCommand::parse("ASK"),
            SlashCommand::Ask { title: "".into() }
        );
        assert_eq!(SlashCommand::parse(""), SlashCommand::Help);
        assert_eq!(SlashCommand::parse("asking x"), SlashCommand::Help);
    }

    fn submission(team: &str, title: &str) -> Value {
        json!({"state": {"values": {
            "team": {"value": {"type": "static_select", "selected_option": {"value": team}}},
            "title": {"value": {"type": "plain_text_input", "value": title}},
            "details": {"value": {"type": "plain_text_input", "value": null}},
            "business_goal": {"value": {"type": "plain_text_input", "value": "More sales"}},
            "success_measure": {"value": {"type": "plain_text_input", "value": "  "}},
            "deadline": {"value": {"type": "plain_text_input", "value": "Q3, trade fair"}},
            "if_not_done": {"value": {"type": "plain_text_input"}},
        }}})
    }

    #[test]
    fn a_submission_becomes_a_form_or_names_its_blocks() {
        let teams = vec!["checkout".to_owned()];
        let form = parse_submission(&submission("checkout", " Export "), &teams).unwrap();
        assert_eq!(form.team.as_deref(), Some("checkout"));
        assert_eq!(form.title, "Export");
        assert_eq!(form.details, "");
        assert_eq!(
            form.answers,
            Answers {
                business_goal: Some("More sales".into()),
                success_measure: None,
                deadline: Some("Q3, trade fair".into()),
                if_not_done: None,
            }
        );
        let err = parse_submission(&submission("nope", ""), &teams).unwrap_err();
        let blocks: Vec<&str> = err.0.iter().map(|(b, _)| b.as_str()).collect();
        assert_eq!(blocks, ["team", "title"]);
        assert_eq!(err.response()["response_action"], "errors");
        assert!(
            err.response()["errors"]["team"]
                .as_str()
                .unwrap()
                .contains("nope")
        );
    }

    #[test]
    fn the_modal_keeps_slacks_limits_and_asks_the_four_questions() {
        let teams: Vec<TeamChoice> = (0..150)
            .map(|i| TeamChoice {
                key: format!("t{i}"),
                name: "x".repeat(100),
            })
            .collect();
        let view = request_modal(&teams, &"y".repeat(5000), "details", "meta");
        assert_eq!(view["callback_id"], REQUEST_MODAL);
        assert_eq!(view["private_metadata"], "meta");
        assert!(view["title"]["text"].as_str().unwrap().chars().count() <= 24);
        let blocks = view["blocks"].as_array().unwrap();
        let options = blocks[0]["element"]["options"].as_array().unwrap();
        assert_eq!(options.len(), 100);
        assert_eq!(
            options[0]["text"]["text"].as_str().unwrap().chars().count(),
            75
        );
        assert_eq!(
            blocks[1]["element"]["initial_value"]
                .as_str()
                .unwrap()
                .chars()
                .count(),
            MAX_TITLE
        );
        let ids: Vec<&str> = blocks
            .iter()
            .map(|b| b["block_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            [
                "team",
                "title",
                "details",
                "business_goal",
                "success_measure",
                "deadline",
                "if_not_done"
            ]
        );
    }

    #[test]
    fn replies_lose_their_quotes_and_answer_numbered_or_labelled_questions() {
        let body = "1. Win the Acme deal\n   worth 2 M\n\nBy when: end of June, the contract\n\
                    4) We lose Acme\nsomething else\n\n\
                    On Mon, 1 Jun 2026, Tandem <t@example.com> wrote:\n> 2. How will success be measured?\n";
        let text = reply_text(body);
        assert!(!text.contains("wrote:") && !text.contains('>'));
        let a = parse_answers(&text);
        assert_eq!(
            a.business_goal.as_deref(),
            Some("Win the Acme deal\nworth 2 M")
        );
        assert_eq!(a.success_measure, None);
        assert_eq!(a.deadline.as_deref(), Some("end of June, the contract"));
        assert_eq!(
            a.if_not_done.as_deref(),
            Some("We lose Acme\nsomething else")
        );
        assert_eq!(
            parse_answers("Thanks, no idea yet.\nDear team: hello"),
            Answers::default()
        );
        assert_eq!(reply_text("ok\n-- \nAlice\n"), "ok");
    }

    #[test]
    fn message_ids_subjects_titles() {
        assert_eq!(bare_message_id(" <a.b@c> "), "a.b@c");
        assert_eq!(reply_subject("Re: x"), "Re: x");
        assert_eq!(reply_subject("x"), "Re: x");
        assert_eq!(title_from("\n  first line\nsecond"), "first line");
        assert_eq!(title_from(&"z".repeat(300)).chars().count(), MAX_TITLE);
        let open = open_questions(&Answers {
            business_goal: Some("a".into()),
            ..Answers::default()
        });
        assert_eq!(open.first().map(|(n, _)| *n), Some(2));
        assert_eq!(open.len(), 3);
    }
}
