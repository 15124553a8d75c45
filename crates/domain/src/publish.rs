//! Publishing (issue 17, ADR 0033): what goes out to git, Notion,
//! Confluence and Jira, as pure functions. The app gathers the inputs and
//! talks to the providers; nothing here does I/O.
//!
//! - [`goal_at_version`]: a goal as it stood at one of its versions (the
//!   current goal with the later versions' changes undone), so every
//!   version is published as it was, even when several arrived between two
//!   runs.
//! - [`decision_record`]: a decision as an ADR-style Markdown record
//!   (context, options, decision, consequences, who and when, the forecast
//!   figures at that moment).
//! - [`blocks`]: Markdown (the agreement document, the decision record, the
//!   weekly report) read into a few block kinds (headings, paragraphs,
//!   lists, tables, callouts); [`notion_blocks`], [`storage_format`]
//!   (Confluence) and [`adf`] (Jira's Atlassian Document Format) write them
//!   in each provider's shape.
//! - [`task_context_blocks`]: the Jira comment of a work item's context.
//! - [`backoff_ms`]: the wait before a failed publication is tried again.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::decision::Decision;
use crate::goal::{Goal, GoalVersion};
use crate::planning::TaskContext;
use crate::string_enum;

string_enum! {
    /// Where Tandem publishes.
    PublishTarget {
        Git => "git",
        Notion => "notion",
        Confluence => "confluence",
        Jira => "jira",
    }
}

string_enum! {
    /// A publication's state: waiting (or retrying), done, or given up
    /// after the last attempt.
    PublicationStatus {
        Pending => "pending",
        Published => "published",
        Failed => "failed",
    }
}

string_enum! {
    /// What is published.
    DocKind {
        /// A goal's agreement document at one version.
        Goal => "goal",
        /// A decision record at one edit.
        Decision => "decision",
        /// A sent weekly report (its archive entry).
        Report => "report",
    }
}

/// The goal as it stood at `version`: `goal` with the changes of every
/// later version in `versions` undone (their `before` values put back).
/// `None` when a change cannot be undone (a field the goal does not have).
pub fn goal_at_version(goal: &Goal, versions: &[GoalVersion], version: i32) -> Option<Goal> {
    if version == goal.version {
        return Some(goal.clone());
    }
    let mut value = serde_json::to_value(goal).ok()?;
    let mut later: Vec<&GoalVersion> = versions.iter().filter(|v| v.version > version).collect();
    later.sort_by_key(|v| std::cmp::Reverse(v.version));
    let obj = value.as_object_mut()?;
    for v in later {
        for c in &v.changes {
            if c.field == "version" {
                continue;
            }
            let slot = obj.get_mut(&c.field)?;
            *slot = c.before.clone();
        }
    }
    obj.insert("version".into(), json!(version));
    if let Some(at) = versions.iter().find(|v| v.version == version) {
        obj.insert("updated_at".into(), json!(at.changed_at));
    }
    serde_json::from_value(value).ok()
}

/// The forecast figures of a decision's goal at the moment it is
/// published.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastFigures {
    /// The chance of finishing by the deadline, 0..=1.
    pub on_time_probability: Option<f64>,
    /// The 50th and 85th percentile finish dates.
    pub p50: Option<String>,
    pub p85: Option<String>,
    pub deadline: Option<String>,
}

/// A decision as an ADR-style Markdown record.
pub fn decision_record(
    d: &Decision,
    team_key: &str,
    goal_title: Option<&str>,
    forecast: Option<&ForecastFigures>,
) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", one_line(&d.title));
    let _ = writeln!(s, "- Decision: `{}`", d.id);
    let _ = writeln!(s, "- Team: {team_key}");
    if let Some(g) = goal_title {
        let _ = writeln!(s, "- Goal: {}", one_line(g));
    }
    let _ = writeln!(
        s,
        "- Decided by: {}",
        d.decided_by.as_deref().unwrap_or("(not recorded)")
    );
    let _ = writeln!(s, "- Decided at: {}", stamp(d.decided_at));
    let _ = writeln!(s, "- Last edited: {}", stamp(d.updated_at));
    section(&mut s, "Context", &d.context);
    if !d.options.is_empty() {
        s.push_str("\n## Options considered\n\n");
        for o in &d.options {
            let _ = writeln!(s, "- {}", one_line(o));
        }
    }
    section(&mut s, "Decision", &d.decision);
    section(&mut s, "Consequences", &d.consequences);
    s.push_str("\n## Forecast at the time\n\n");
    match forecast {
        Some(f) => {
            s.push_str("| Figure | Value |\n| --- | --- |\n");
            let row = |s: &mut String, k: &str, v: Option<String>| {
                let _ = writeln!(s, "| {k} | {} |", v.unwrap_or_else(|| "unknown".into()));
            };
            row(
                &mut s,
                "Chance of meeting the deadline",
                f.on_time_probability.map(|p| format!("{:.0}%", p * 100.0)),
            );
            row(&mut s, "Likely finish (50%)", f.p50.clone());
            row(&mut s, "Safe finish (85%)", f.p85.clone());
            row(&mut s, "Deadline", f.deadline.clone());
        }
        None => s.push_str("No forecast: the decision is not tied to a goal with one.\n"),
    }
    s
}

fn section(s: &mut String, title: &str, text: &str) {
    let _ = write!(s, "\n## {title}\n\n");
    if text.trim().is_empty() {
        s.push_str("(none recorded)\n");
    } else {
        s.push_str(text.trim_end());
        s.push('\n');
    }
}

fn stamp(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One block of a published page.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// Level 1 to 3.
    Heading(u8, String),
    Paragraph(String),
    Bullets(Vec<String>),
    /// A header row, then the rows.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A highlighted note: a risk.
    Callout(String),
}

/// Reads Markdown into blocks: TOML front matter (`+++`) and whole-line
/// HTML comments are left out, `#`–`###` headings, `- `/`* ` lists, pipe
/// tables and paragraphs are kept; a leading backslash escape is removed.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = markdown.lines().peekable();
    if lines.peek().map(|l| l.trim()) == Some("+++") {
        lines.next();
        for l in lines.by_ref() {
            if l.trim() == "+++" {
                break;
            }
        }
    }
    let mut para: Vec<String> = Vec::new();
    let mut bullets: Vec<String> = Vec::new();
    let mut table: Vec<Vec<String>> = Vec::new();
    let flush = |out: &mut Vec<Block>,
                 para: &mut Vec<String>,
                 bullets: &mut Vec<String>,
                 table: &mut Vec<Vec<String>>| {
        if !para.is_empty() {
            out.push(Block::Paragraph(para.join(" ")));
            para.clear();
        }
        if !bullets.is_empty() {
            out.push(Block::Bullets(std::mem::take(bullets)));
        }
        if !table.is_empty() {
            let mut rows = std::mem::take(table);
            let header = rows.remove(0);
            out.push(Block::Table(header, rows));
        }
    };
    for raw in lines {
        let line = raw.trim_end();
        let t = line.trim_start();
        if t.starts_with("<!--") && t.ends_with("-->") {
            continue;
        }
        if t.is_empty() {
            flush(&mut out, &mut para, &mut bullets, &mut table);
            continue;
        }
        if let Some((level, text)) = heading(t) {
            flush(&mut out, &mut para, &mut bullets, &mut table);
            out.push(Block::Heading(level, text.to_owned()));
            continue;
        }
        if let Some(item) = t.strip_prefix("- ").or_else(|| t.strip_prefix("* ")) {
            if !para.is_empty() || !table.is_empty() {
                flush(&mut out, &mut para, &mut bullets, &mut table);
            }
            bullets.push(unescape(item).to_owned());
            continue;
        }
        if t.starts_with('|') && t.ends_with('|') && t.len() > 1 {
            if !para.is_empty() || !bullets.is_empty() {
                flush(&mut out, &mut para, &mut bullets, &mut table);
            }
            let cells: Vec<String> = t[1..t.len() - 1]
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect();
            let rule = cells
                .iter()
                .all(|c| !c.is_empty() && c.chars().all(|ch| matches!(ch, '-' | ':')));
            if !rule {
                table.push(cells);
            }
            continue;
        }
        if !bullets.is_empty() || !table.is_empty() {
            flush(&mut out, &mut para, &mut bullets, &mut table);
        }
        para.push(unescape(t).to_owned());
    }
    flush(&mut out, &mut para, &mut bullets, &mut table);
    out
}

fn heading(t: &str) -> Option<(u8, &str)> {
    let level = t.bytes().take_while(|b| *b == b'#').count();
    if (1..=6).contains(&level) && t.as_bytes().get(level) == Some(&b' ') {
        Some((level.min(3) as u8, t[level + 1..].trim()))
    } else {
        None
    }
}

fn unescape(t: &str) -> &str {
    t.strip_prefix('\\').unwrap_or(t)
}

/// The blocks of a goal's page: its agreement document, and one callout per
/// open risk (`title: description (likelihood × impact)`).
pub fn goal_blocks(document: &str, risks: &[String]) -> Vec<Block> {
    let mut b = blocks(document);
    if !risks.is_empty() {
        b.push(Block::Heading(2, "Open risks".into()));
        b.extend(risks.iter().map(|r| Block::Callout(r.clone())));
    }
    b
}

/// Notion's rich text: one text object per 2,000 characters (Notion's limit
/// on one text content).
fn notion_text(s: &str) -> Value {
    let chars: Vec<char> = s.chars().collect();
    let parts: Vec<Value> = if chars.is_empty() {
        Vec::new()
    } else {
        chars
            .chunks(2000)
            .map(|c| json!({"type": "text", "text": {"content": c.iter().collect::<String>()}}))
            .collect()
    };
    Value::Array(parts)
}

/// Blocks as Notion block objects (children of a page).
pub fn notion_blocks(blocks: &[Block]) -> Vec<Value> {
    let mut out = Vec::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let kind = format!("heading_{level}");
                out.push(json!({"object": "block", "type": kind, kind.clone(): {"rich_text": notion_text(text)}}));
            }
            Block::Paragraph(text) => out.push(
                json!({"object": "block", "type": "paragraph", "paragraph": {"rich_text": notion_text(text)}}),
            ),
            Block::Bullets(items) => out.extend(items.iter().map(|i| {
                json!({"object": "block", "type": "bulleted_list_item", "bulleted_list_item": {"rich_text": notion_text(i)}})
            })),
            Block::Table(header, rows) => {
                let width = header.len().max(1);
                let row = |cells: &[String]| {
                    let mut cells: Vec<Value> = cells.iter().map(|c| notion_text(c)).collect();
                    cells.resize(width, Value::Array(Vec::new()));
                    cells.truncate(width);
                    json!({"object": "block", "type": "table_row", "table_row": {"cells": cells}})
                };
                let mut children = vec![row(header)];
                children.extend(rows.iter().map(|r| row(r)));
                out.push(json!({"object": "block", "type": "table", "table": {
                    "table_width": width, "has_column_header": true, "has_row_header": false,
                    "children": children}}));
            }
            Block::Callout(text) => out.push(json!({"object": "block", "type": "callout", "callout": {
                "rich_text": notion_text(text), "icon": {"type": "emoji", "emoji": "⚠️"}, "color": "yellow_background"}})),
        }
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Blocks in Confluence's storage format (XHTML; callouts as the `warning`
/// macro).
pub fn storage_format(blocks: &[Block]) -> String {
    let mut s = String::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = write!(s, "<h{level}>{}</h{level}>", xml(text));
            }
            Block::Paragraph(text) => {
                let _ = write!(s, "<p>{}</p>", xml(text));
            }
            Block::Bullets(items) => {
                s.push_str("<ul>");
                for i in items {
                    let _ = write!(s, "<li>{}</li>", xml(i));
                }
                s.push_str("</ul>");
            }
            Block::Table(header, rows) => {
                s.push_str("<table><tbody><tr>");
                for h in header {
                    let _ = write!(s, "<th>{}</th>", xml(h));
                }
                s.push_str("</tr>");
                for r in rows {
                    s.push_str("<tr>");
                    for c in r {
                        let _ = write!(s, "<td>{}</td>", xml(c));
                    }
                    s.push_str("</tr>");
                }
                s.push_str("</tbody></table>");
            }
            Block::Callout(text) => {
                let _ = write!(
                    s,
                    "<ac:structured-macro ac:name=\"warning\"><ac:rich-text-body><p>{}</p></ac:rich-text-body></ac:structured-macro>",
                    xml(text)
                );
            }
        }
    }
    s
}

fn adf_text(s: &str) -> Value {
    if s.is_empty() {
        json!([])
    } else {
        json!([{"type": "text", "text": s}])
    }
}

/// Blocks as an Atlassian Document Format document (Jira REST v3 bodies;
/// callouts as `panel` of type `warning`).
pub fn adf(blocks: &[Block]) -> Value {
    let para = |t: &str| json!({"type": "paragraph", "content": adf_text(t)});
    let mut content = Vec::new();
    for b in blocks {
        match b {
            Block::Heading(level, text) => content
                .push(json!({"type": "heading", "attrs": {"level": level}, "content": adf_text(text)})),
            Block::Paragraph(text) => content.push(para(text)),
            Block::Bullets(items) => content.push(json!({"type": "bulletList", "content":
                items.iter().map(|i| json!({"type": "listItem", "content": [para(i)]})).collect::<Vec<_>>()})),
            Block::Table(header, rows) => {
                let cell = |kind: &str, t: &String| json!({"type": kind, "content": [para(t)]});
                let mut trs = vec![json!({"type": "tableRow", "content":
                    header.iter().map(|h| cell("tableHeader", h)).collect::<Vec<_>>()})];
                trs.extend(rows.iter().map(|r| json!({"type": "tableRow", "content":
                    r.iter().map(|c| cell("tableCell", c)).collect::<Vec<_>>()})));
                content.push(json!({"type": "table", "content": trs}));
            }
            Block::Callout(text) => content.push(
                json!({"type": "panel", "attrs": {"panelType": "warning"}, "content": [para(text)]}),
            ),
        }
    }
    json!({"type": "doc", "version": 1, "content": content})
}

/// The first line of every Tandem comment in Jira: how Tandem finds its own
/// comment again when its mapping is lost.
pub const JIRA_COMMENT_MARK: &str = "Context from Tandem";

/// The blocks of a work item's context comment in Jira.
pub fn task_context_blocks(c: &TaskContext) -> Vec<Block> {
    let mut rows = vec![
        vec![
            "Goal".to_owned(),
            c.goal
                .as_ref()
                .map(|g| g.title.clone())
                .unwrap_or_else(|| "(no goal)".into()),
        ],
        vec!["Why it matters".to_owned(), or_none(&c.why)],
        vec!["Expected result".to_owned(), or_none(&c.expected_impact)],
    ];
    if let Some(m) = &c.success_metric {
        rows.push(vec!["Metric".to_owned(), m.metric.clone()]);
    }
    rows.push(vec![
        "Current".to_owned(),
        c.current
            .as_ref()
            .map(|v| v.text.clone())
            .unwrap_or_else(|| "not measured".into()),
    ]);
    rows.push(vec![
        "Target".to_owned(),
        c.target
            .as_ref()
            .map(|v| v.text.clone())
            .unwrap_or_else(|| "none set".into()),
    ]);
    rows.push(vec![
        "Priority".to_owned(),
        format!("{} ({})", c.priority.priority, c.priority.rule),
    ]);
    vec![
        Block::Heading(3, JIRA_COMMENT_MARK.to_owned()),
        Block::Table(vec!["".into(), "".into()], rows),
        Block::Paragraph("Kept up to date by Tandem: this comment is edited in place.".into()),
    ]
}

fn or_none(s: &str) -> String {
    if s.trim().is_empty() {
        "(not given)".into()
    } else {
        s.to_owned()
    }
}

/// The retry delay after `attempts` failed attempts: `base_ms` doubled each
/// time, capped at one hour.
pub fn backoff_ms(base_ms: u64, attempts: u32) -> u64 {
    base_ms
        .saturating_mul(1u64 << attempts.saturating_sub(1).min(20))
        .min(3_600_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_reads_into_blocks() {
        let md = "+++\nid = \"x\"\n+++\n\n# Title\n\n<!-- note -->\nSome text\nmore\n\n- a\n- b\n\n| A | B |\n| --- | --- |\n| 1 | 2 |\n\n\\# not a heading\n";
        assert_eq!(
            blocks(md),
            vec![
                Block::Heading(1, "Title".into()),
                Block::Paragraph("Some text more".into()),
                Block::Bullets(vec!["a".into(), "b".into()]),
                Block::Table(
                    vec!["A".into(), "B".into()],
                    vec![vec!["1".into(), "2".into()]]
                ),
                Block::Paragraph("# not a heading".into()),
            ]
        );
    }

    #[test]
    fn providers_get_their_shapes() {
        let b = vec![
            Block::Heading(2, "H".into()),
            Block::Bullets(vec!["x".into()]),
            Block::Callout("risk <1>".into()),
            Block::Table(vec!["A".into()], vec![vec!["1".into()]]),
        ];
        let n = notion_blocks(&b);
        assert_eq!(n[0]["type"], "heading_2");
        assert_eq!(n[0]["heading_2"]["rich_text"][0]["text"]["content"], "H");
        assert_eq!(n[1]["type"], "bulleted_list_item");
        assert_eq!(n[2]["type"], "callout");
        assert_eq!(n[3]["table"]["table_width"], 1);
        assert_eq!(n[3]["table"]["children"].as_array().unwrap().len(), 2);
        let s = storage_format(&b);
        assert!(s.starts_with("<h2>H</h2><ul><li>x</li></ul>"));
        assert!(s.contains("<p>risk &lt;1&gt;</p>"));
        let a = adf(&b);
        assert_eq!(a["version"], 1);
        assert_eq!(a["content"][0]["attrs"]["level"], 2);
        assert_eq!(a["content"][2]["attrs"]["panelType"], "warning");
    }

    #[test]
    fn a_goal_is_rebuilt_at_each_of_its_versions() {
        use crate::goal::{GoalPatch, GoalTransition, NewGoal, Parties, SuccessMetric};
        use crate::metric::Direction;
        use chrono::TimeZone;
        let now = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let mut g = NewGoal {
            team_id: uuid::Uuid::nil(),
            project_id: None,
            title: "Faster user list".into(),
            business_goal: "More conversions".into(),
            technical_tasks: String::new(),
            hypotheses: vec![],
            success_metrics: vec![],
            parties: Parties::default(),
            timeline: Default::default(),
        }
        .into_goal(uuid::Uuid::nil(), now)
        .unwrap();
        g.parties.owner = Some("Ana".into());
        g.success_metrics = vec![SuccessMetric {
            metric: "p95".into(),
            metric_key: None,
            baseline: Some(500.0),
            target: Some(300.0),
            direction: Direction::Down,
            unit: "ms".into(),
            deadline: chrono::NaiveDate::from_ymd_opt(2026, 12, 15),
        }];
        let v1 = g.transition(GoalTransition::Agree, "ana", now).unwrap();
        let later = now + chrono::Duration::hours(1);
        let v2 = v1
            .goal
            .apply(
                GoalPatch {
                    title: Some("Fast user list".into()),
                    hypotheses: Some(vec!["Caching helps".into()]),
                    ..GoalPatch::default()
                },
                "bo",
                later,
            )
            .unwrap();
        let versions = vec![v1.version.clone().unwrap(), v2.version.clone().unwrap()];
        let at1 = goal_at_version(&v2.goal, &versions, 1).unwrap();
        assert_eq!(at1.title, "Faster user list");
        assert!(at1.hypotheses.is_empty());
        assert_eq!(at1.version, 1);
        assert_eq!(at1.updated_at, v1.goal.updated_at);
        assert_eq!(goal_at_version(&v2.goal, &versions, 2).unwrap(), v2.goal);
    }

    #[test]
    fn backoff_doubles_and_caps() {
        assert_eq!(backoff_ms(1000, 1), 1000);
        assert_eq!(backoff_ms(1000, 3), 4000);
        assert_eq!(backoff_ms(1000, 60), 3_600_000);
    }
}
