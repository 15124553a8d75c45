//! The weekly report as a Slack Block Kit message (for an incoming webhook).
//!
//! Slack's limits are kept: at most [`SLACK_MAX_BLOCKS`] blocks and at most
//! [`SLACK_MAX_TEXT`] characters in a section block's text, 150 in the
//! header. A section that does not fit one block continues in the next; when
//! the blocks run out, the message ends with "…and N more lines" and the link
//! to the full report. A single over-long line is cut with "…".

use serde_json::{Value, json};

use super::WeeklyReport;

/// Slack's limit on blocks per message.
pub const SLACK_MAX_BLOCKS: usize = 50;
/// Slack's limit on the text of a section block.
pub const SLACK_MAX_TEXT: usize = 3000;
const HEADER_MAX: usize = 150;

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `s` to at most `max` characters, ending with "…" when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A section block's text and how many report lines it carries.
struct Chunk {
    text: String,
    lines: usize,
}

/// The report as a Block Kit payload: `{"text": …, "blocks": […]}`.
pub fn to_slack(report: &WeeklyReport, link: Option<&str>) -> Value {
    // Each section: its chunks of text, then a divider.
    let mut blocks: Vec<(Value, usize)> = Vec::new();
    blocks.push((
        json!({"type": "header", "text": {"type": "plain_text", "text": cut(&report.title, HEADER_MAX), "emoji": false}}),
        0,
    ));
    for s in &report.sections {
        let mut head = format!("*{}*", esc(&s.heading));
        if let Some(note) = &s.note {
            head.push('\n');
            for l in note.lines() {
                head.push_str(&format!("\n>{}", esc(l)));
            }
        }
        let mut entries: Vec<String> = Vec::new();
        if let Some(empty) = &s.empty_message {
            head.push_str(&format!("\n_{}_", esc(empty)));
        }
        for l in &s.lines {
            let mut e = if l.children.is_empty() {
                format!("• {}", esc(&l.text))
            } else {
                format!("• *{}*", esc(&l.text))
            };
            for c in &l.children {
                e.push_str(&format!("\n      ◦ {}", esc(&c.text)));
            }
            entries.push(e);
        }
        let mut chunks = vec![Chunk {
            text: cut(&head, SLACK_MAX_TEXT),
            lines: 0,
        }];
        for e in entries {
            let e = cut(&e, SLACK_MAX_TEXT);
            let last = chunks.last_mut().expect("one chunk at least");
            if last.text.chars().count() + 1 + e.chars().count() <= SLACK_MAX_TEXT {
                last.text.push('\n');
                last.text.push_str(&e);
                last.lines += 1;
            } else {
                chunks.push(Chunk { text: e, lines: 1 });
            }
        }
        for c in chunks {
            blocks.push((
                json!({"type": "section", "text": {"type": "mrkdwn", "text": c.text}}),
                c.lines,
            ));
        }
        blocks.push((json!({"type": "divider"}), 0));
    }
    // The last divider is replaced by the footer.
    blocks.pop();
    let footer = |more: usize| {
        let mut parts = Vec::new();
        if more > 0 {
            parts.push(format!("…and {more} more lines"));
        }
        match link {
            Some(l) => parts.push(format!("<{}|Open the full report>", esc(l))),
            None => parts.push("Drafted by Tandem".to_owned()),
        }
        json!({"type": "context", "elements": [{"type": "mrkdwn", "text": parts.join(" — ")}]})
    };
    let mut out: Vec<Value>;
    if blocks.len() < SLACK_MAX_BLOCKS {
        out = blocks.into_iter().map(|(b, _)| b).collect();
        out.push(footer(0));
    } else {
        let keep = SLACK_MAX_BLOCKS - 1;
        let more: usize = blocks[keep..].iter().map(|(_, n)| n).sum();
        out = blocks.into_iter().take(keep).map(|(b, _)| b).collect();
        out.push(footer(more));
    }
    let mut message = json!({ "text": cut(&report.title, SLACK_MAX_TEXT), "blocks": out });
    // Keys in one order whether or not serde_json keeps insertion order (a
    // test-only dependency turns `preserve_order` on in workspace builds).
    message.sort_all_objects();
    message
}
