//! Agreements as documents: a goal as Markdown with TOML front matter, so an
//! agreement can live in git next to the code, be reviewed as a pull request,
//! and be applied back to Tandem.
//!
//! The layout:
//!
//! ```text
//! +++
//! id = "…"                 machine fields, TOML: the source of truth on import
//! team = "payments"        (keys, not ids: the edges resolve them)
//! status = "agreed"
//! version = 3
//! [timeline] [parties] [[success_metrics]] [verbatim]
//! +++
//!
//! # Title
//!
//! ## Business goal        free text (read on import)
//! ## Technical tasks      free text (read on import)
//! ## Success metrics      a table rendered from the front matter (ignored on import)
//! ## Hypotheses           a bullet list (read on import)
//! ## Timeline and risks   rendered from the front matter (ignored on import)
//! ## Responsible parties  rendered from the front matter (ignored on import)
//! ```
//!
//! Rules that make the round trip exact (`parse(render(d)) == d`):
//!
//! - Parsing is tolerant: CRLF line ends, trailing whitespace, blank lines
//!   around text, sections in any order and whole-line `<!-- … -->` comments
//!   (the template's guidance) are all accepted. Text is therefore read in a
//!   canonical form: each line without trailing whitespace, no leading or
//!   trailing blank lines.
//! - A text line that the parser would read as structure is escaped with one
//!   leading backslash: a line starting with `#` (a heading), with `\`, or
//!   whose first non-blank characters are `<!--` (a comment). This is also
//!   valid Markdown (`\#` shows a literal `#`). Parsing removes one leading
//!   backslash from every text line.
//! - Text whose exact form differs from its canonical form (say a trailing
//!   newline sent through the API) is also kept exactly in the front matter's
//!   `[verbatim]` table. On import a verbatim value is used only while its
//!   canonical form still matches the section, so an edited section wins and
//!   an untouched one keeps its exact bytes.
//!
//! Readable change descriptions and comparisons between versions are in
//! [`changes`].

pub mod changes;

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{DomainError, FieldError};
use crate::goal::{
    Goal, GoalChange, GoalPatch, GoalStatus, NewGoal, Parties, SuccessMetric, Timeline,
};
use crate::metric::Direction;

/// A goal as a document: every agreement field, with the team and project
/// named by key. `id` is absent in a new document (a filled-in template).
#[derive(Debug, Clone, PartialEq)]
pub struct GoalDocument {
    pub id: Option<Uuid>,
    /// The team's key.
    pub team: String,
    /// The project's key, when the goal belongs to one.
    pub project: Option<String>,
    pub title: String,
    pub business_goal: String,
    pub technical_tasks: String,
    pub hypotheses: Vec<String>,
    pub success_metrics: Vec<SuccessMetric>,
    pub parties: Parties,
    pub timeline: Timeline,
    pub status: GoalStatus,
    pub version: i32,
    pub agreed_at: Option<DateTime<Utc>>,
    pub agreed_by: Option<String>,
}

impl GoalDocument {
    /// The document of `goal`, whose team and project have these keys.
    pub fn of(goal: &Goal, team_key: &str, project_key: Option<&str>) -> Self {
        Self {
            id: Some(goal.id),
            team: team_key.to_owned(),
            project: project_key.map(str::to_owned),
            title: goal.title.clone(),
            business_goal: goal.business_goal.clone(),
            technical_tasks: goal.technical_tasks.clone(),
            hypotheses: goal.hypotheses.clone(),
            success_metrics: goal.success_metrics.clone(),
            parties: goal.parties.clone(),
            timeline: goal.timeline.clone(),
            status: goal.status,
            version: goal.version,
            agreed_at: goal.agreed_at,
            agreed_by: goal.agreed_by.clone(),
        }
    }
}

/// Renders `goal` as a document (see the module documentation).
pub fn render_goal(goal: &Goal, team_key: &str, project_key: Option<&str>) -> String {
    render(&GoalDocument::of(goal, team_key, project_key))
}

// ---------------------------------------------------------------------------
// Sections

const BUSINESS_GOAL: &str = "Business goal";
const TECHNICAL_TASKS: &str = "Technical tasks";
const SUCCESS_METRICS: &str = "Success metrics";
const HYPOTHESES: &str = "Hypotheses";
const TIMELINE: &str = "Timeline and risks";
const PARTIES: &str = "Responsible parties";

/// Every section, in the order they are written: the essay's template order,
/// with the hypotheses next to the metrics they explain.
const SECTIONS: [&str; 6] = [
    BUSINESS_GOAL,
    TECHNICAL_TASKS,
    SUCCESS_METRICS,
    HYPOTHESES,
    TIMELINE,
    PARTIES,
];

const METRICS_NOTE: &str = "<!-- This table is rendered from [[success_metrics]] in the front matter, which is the source of truth on import: change the numbers there, not here. -->";
const TIMELINE_NOTE: &str = "<!-- Rendered from [timeline] in the front matter, which is the source of truth on import: change the dates there. Risks are tracked in Tandem (GET /api/v1/risks?goal=<id>). -->";
const PARTIES_NOTE: &str = "<!-- Rendered from [parties] in the front matter, which is the source of truth on import: change the names there. -->";

// ---------------------------------------------------------------------------
// Rendering

/// Renders a document. Deterministic: the same document gives the same bytes.
pub fn render(doc: &GoalDocument) -> String {
    let mut verbatim = Verbatim::default();
    if canonical_title(&doc.title) != doc.title {
        verbatim.title = Some(doc.title.clone());
    }
    if canonical_text(&doc.business_goal) != doc.business_goal {
        verbatim.business_goal = Some(doc.business_goal.clone());
    }
    if canonical_text(&doc.technical_tasks) != doc.technical_tasks {
        verbatim.technical_tasks = Some(doc.technical_tasks.clone());
    }
    if doc.hypotheses.iter().any(|h| canonical_item(h) != *h) {
        verbatim.hypotheses = doc.hypotheses.clone();
    }

    let mut out = String::new();
    render_front_matter(&mut out, doc, &verbatim);
    out.push('\n');
    out.push_str("# ");
    out.push_str(&canonical_title(&doc.title));
    out.push('\n');

    for section in SECTIONS {
        out.push_str("\n## ");
        out.push_str(section);
        out.push_str("\n\n");
        let mut body = String::new();
        match section {
            BUSINESS_GOAL => body.push_str(&render_text(&doc.business_goal)),
            TECHNICAL_TASKS => body.push_str(&render_text(&doc.technical_tasks)),
            HYPOTHESES => {
                for h in &doc.hypotheses {
                    body.push_str(&render_item(h));
                }
            }
            SUCCESS_METRICS => render_metrics_view(&mut body, &doc.success_metrics),
            TIMELINE => render_timeline_view(&mut body, &doc.timeline),
            PARTIES => render_parties_view(&mut body, &doc.parties),
            _ => unreachable!("every section is rendered"),
        }
        if !body.is_empty() {
            out.push_str(&body);
            if !body.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}

fn render_front_matter(out: &mut String, doc: &GoalDocument, verbatim: &Verbatim) {
    out.push_str("+++\n");
    out.push_str(
        "# Tandem goal agreement. This front matter is the source of truth for the fields\n\
         # below on import (`tandem goal import FILE`, or PUT /api/v1/goals/{id}/document).\n\
         # Keep `version` as exported: a document older than the stored goal is refused.\n",
    );
    if let Some(id) = doc.id {
        kv(out, "id", &toml_str(&id.to_string()));
    }
    kv(out, "team", &toml_str(&doc.team));
    if let Some(p) = &doc.project {
        kv(out, "project", &toml_str(p));
    }
    kv(out, "status", &toml_str(doc.status.as_str()));
    kv(out, "version", &doc.version.to_string());
    if let Some(at) = doc.agreed_at {
        kv(out, "agreed_at", &toml_datetime(at));
    }
    if let Some(by) = &doc.agreed_by {
        kv(out, "agreed_by", &toml_str(by));
    }

    out.push_str("\n[timeline]\n");
    if let Some(d) = doc.timeline.starts_on {
        kv(out, "starts_on", &toml_date(d));
    }
    if let Some(d) = doc.timeline.deadline {
        kv(out, "deadline", &toml_date(d));
    }

    out.push_str("\n[parties]\n");
    if let Some(o) = &doc.parties.owner {
        kv(out, "owner", &toml_str(o));
    }
    if let Some(r) = &doc.parties.requester {
        kv(out, "requester", &toml_str(r));
    }
    kv(
        out,
        "contributors",
        &toml_str_array(&doc.parties.contributors),
    );

    for m in &doc.success_metrics {
        out.push_str("\n[[success_metrics]]\n");
        kv(out, "metric", &toml_str(&m.metric));
        if let Some(k) = &m.metric_key {
            kv(out, "metric_key", &toml_str(k));
        }
        if let Some(b) = m.baseline {
            kv(out, "baseline", &toml_float(b));
        }
        if let Some(t) = m.target {
            kv(out, "target", &toml_float(t));
        }
        kv(out, "direction", &toml_str(m.direction.as_str()));
        kv(out, "unit", &toml_str(&m.unit));
        if let Some(d) = m.deadline {
            kv(out, "deadline", &toml_date(d));
        }
    }

    if !verbatim.is_empty() {
        out.push_str(
            "\n# [verbatim] keeps the exact text of fields whose whitespace the sections\n\
             # below cannot show. It is used only while its section still says the same.\n\
             [verbatim]\n",
        );
        if let Some(t) = &verbatim.title {
            kv(out, "title", &toml_str(t));
        }
        if let Some(t) = &verbatim.business_goal {
            kv(out, "business_goal", &toml_str(t));
        }
        if let Some(t) = &verbatim.technical_tasks {
            kv(out, "technical_tasks", &toml_str(t));
        }
        if !verbatim.hypotheses.is_empty() {
            kv(out, "hypotheses", &toml_str_array(&verbatim.hypotheses));
        }
    }
    out.push_str("+++\n");
}

fn kv(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

/// A TOML basic string on one line: every control character is escaped, so
/// no value can produce a line of its own (such as a closing `+++`).
fn toml_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_str_array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

/// The shortest text that reads back as the same `f64`.
fn toml_float(v: f64) -> String {
    if v.is_nan() {
        "nan".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{v:?}")
    }
}

/// A TOML local date; years TOML cannot write become quoted strings.
fn toml_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    if (0..=9999).contains(&d.year()) {
        d.to_string()
    } else {
        toml_str(&d.to_string())
    }
}

fn toml_datetime(t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    if (0..=9999).contains(&t.year()) {
        text
    } else {
        toml_str(&text)
    }
}

/// Free text as section lines (see the module documentation).
fn render_text(text: &str) -> String {
    let mut out = String::new();
    for line in canonical_lines(text) {
        out.push_str(&escape_line(line));
        out.push('\n');
    }
    out
}

/// One hypothesis as a bullet; continuation lines are indented two spaces.
fn render_item(item: &str) -> String {
    let mut out = String::from("-");
    for (i, line) in item_lines(item).iter().enumerate() {
        if i == 0 {
            if !line.is_empty() {
                out.push(' ');
                out.push_str(&escape_line(line));
            }
        } else if !line.is_empty() {
            out.push_str("  ");
            out.push_str(&escape_line(line));
        }
        out.push('\n');
    }
    if out == "-" {
        out.push('\n');
    }
    out
}

fn render_metrics_view(out: &mut String, metrics: &[SuccessMetric]) {
    out.push_str(METRICS_NOTE);
    out.push_str("\n\n");
    if metrics.is_empty() {
        out.push_str("No success metrics yet.\n");
        return;
    }
    out.push_str("| Metric | Series | Baseline | Target | Better | Unit | Deadline |\n");
    out.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for m in metrics {
        let cells = [
            cell(&m.metric),
            m.metric_key.as_deref().map(cell).unwrap_or_else(dash),
            m.baseline.map(number).unwrap_or_else(dash),
            m.target.map(number).unwrap_or_else(dash),
            m.direction.better_word().to_owned(),
            cell(&m.unit),
            m.deadline.map(|d| d.to_string()).unwrap_or_else(dash),
        ];
        let _ = writeln!(out, "| {} |", cells.join(" | "));
    }
}

fn render_timeline_view(out: &mut String, t: &Timeline) {
    out.push_str(TIMELINE_NOTE);
    out.push_str("\n\n");
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(dash);
    let _ = writeln!(out, "- Starts: {}", date(t.starts_on));
    let _ = writeln!(out, "- Deadline: {}", date(t.deadline));
}

fn render_parties_view(out: &mut String, p: &Parties) {
    out.push_str(PARTIES_NOTE);
    out.push_str("\n\n");
    let name = |n: &Option<String>| n.as_deref().map(one_line).unwrap_or_else(dash);
    let _ = writeln!(out, "- Owner: {}", name(&p.owner));
    let _ = writeln!(out, "- Requester: {}", name(&p.requester));
    let contributors = if p.contributors.is_empty() {
        dash()
    } else {
        p.contributors
            .iter()
            .map(|c| one_line(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(out, "- Contributors: {contributors}");
}

fn dash() -> String {
    "—".to_owned()
}

/// Text for a line of a read-only view: line breaks become spaces, so a view
/// line can never be read as a heading or a comment.
fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_owned()
}

fn cell(s: &str) -> String {
    one_line(s).replace('|', "\\|")
}

/// A number as people write it: `300`, not `300.0`.
pub(crate) fn number(v: f64) -> String {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        v.to_string()
    }
}

// ---------------------------------------------------------------------------
// Canonical forms and escaping

/// The lines of `text` as a section shows them: trailing whitespace removed,
/// no leading or trailing blank lines.
fn canonical_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.split('\n').map(str::trim_end).collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    let first = lines
        .iter()
        .position(|l| !l.is_empty())
        .unwrap_or(lines.len());
    lines.drain(..first);
    lines
}

fn canonical_text(text: &str) -> String {
    canonical_lines(text).join("\n")
}

/// A hypothesis's lines: canonical, and the first without leading blanks
/// (the parser skips the blanks after a bullet).
fn item_lines(item: &str) -> Vec<&str> {
    let mut lines = canonical_lines(item);
    if let Some(first) = lines.first_mut() {
        *first = first.trim_start();
    }
    lines
}

fn canonical_item(item: &str) -> String {
    item_lines(item).join("\n")
}

/// A title as the `# ` line shows it: one line, trimmed.
fn canonical_title(title: &str) -> String {
    title.replace(['\r', '\n'], " ").trim().to_owned()
}

fn needs_escape(line: &str) -> bool {
    line.starts_with('#') || line.starts_with('\\') || line.trim_start().starts_with("<!--")
}

fn escape_line(line: &str) -> String {
    if needs_escape(line) {
        format!("\\{line}")
    } else {
        line.to_owned()
    }
}

fn unescape_line(line: &str) -> &str {
    line.strip_prefix('\\').unwrap_or(line)
}

// ---------------------------------------------------------------------------
// Parsing

/// Exact values kept in the front matter (see the module documentation).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Verbatim {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    business_goal: Option<String>,
    #[serde(default)]
    technical_tasks: Option<String>,
    #[serde(default)]
    hypotheses: Vec<String>,
}

impl Verbatim {
    fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.business_goal.is_none()
            && self.technical_tasks.is_none()
            && self.hypotheses.is_empty()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    #[serde(default)]
    id: Option<Uuid>,
    team: String,
    #[serde(default)]
    project: Option<String>,
    #[serde(default = "draft")]
    status: GoalStatus,
    #[serde(default)]
    version: i32,
    #[serde(default)]
    agreed_at: Option<TomlDateTime>,
    #[serde(default)]
    agreed_by: Option<String>,
    #[serde(default)]
    timeline: TimelineIn,
    #[serde(default)]
    parties: Parties,
    #[serde(default)]
    success_metrics: Vec<MetricIn>,
    #[serde(default)]
    verbatim: Verbatim,
}

fn draft() -> GoalStatus {
    GoalStatus::Draft
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TimelineIn {
    #[serde(default)]
    starts_on: Option<TomlDate>,
    #[serde(default)]
    deadline: Option<TomlDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MetricIn {
    metric: String,
    #[serde(default)]
    metric_key: Option<String>,
    #[serde(default)]
    baseline: Option<f64>,
    #[serde(default)]
    target: Option<f64>,
    #[serde(default = "up")]
    direction: Direction,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    deadline: Option<TomlDate>,
}

fn up() -> Direction {
    Direction::Up
}

/// A date written as a TOML date (`2026-12-15`) or a string.
#[derive(Debug)]
struct TomlDate(NaiveDate);

/// An instant written as a TOML offset date-time or an RFC 3339 string.
#[derive(Debug)]
struct TomlDateTime(DateTime<Utc>);

impl<'de> Deserialize<'de> for TomlDate {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(DateText)?;
        text.parse::<NaiveDate>().map(TomlDate).map_err(|_| {
            serde::de::Error::custom(format!("{text:?} is not a date like 2026-12-15"))
        })
    }
}

impl<'de> Deserialize<'de> for TomlDateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = d.deserialize_any(DateText)?;
        DateTime::parse_from_rfc3339(&text)
            .map(|t| TomlDateTime(t.with_timezone(&Utc)))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "{text:?} is not a date and time with an offset, like 2026-11-02T09:00:00Z"
                ))
            })
    }
}

/// Reads a TOML date-time (which the toml crate hands over as a one-entry
/// map) or a string, as text.
struct DateText;

impl<'de> serde::de::Visitor<'de> for DateText {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a TOML date or a string")
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let mut text = None;
        while let Some((_, v)) = map.next_entry::<String, String>()? {
            text = Some(v);
        }
        text.ok_or_else(|| serde::de::Error::custom("expected a date"))
    }
}

fn body_error(line: usize, message: impl std::fmt::Display) -> DomainError {
    DomainError::invalid("body", format!("line {line}: {message}"))
}

/// Parses a document. Errors name the field (or `front_matter` / `body`
/// for structure) and the line.
pub fn parse(text: &str) -> Result<GoalDocument, DomainError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let text = text.replace("\r\n", "\n");
    let lines: Vec<&str> = text.split('\n').collect();
    if lines.first().map(|l| l.trim_end()) != Some("+++") {
        return Err(DomainError::invalid(
            "front_matter",
            "line 1: a document starts with a `+++` line that opens the TOML front matter",
        ));
    }
    let close = lines
        .iter()
        .skip(1)
        .position(|l| l.trim_end() == "+++")
        .map(|i| i + 1)
        .ok_or_else(|| {
            DomainError::invalid(
                "front_matter",
                "the front matter opened on line 1 has no closing `+++` line",
            )
        })?;
    let fm = parse_front_matter(&lines[1..close].join("\n"), 2)?;
    let body = parse_body(&lines[close + 1..], close + 2)?;

    let title = match fm.verbatim.title {
        Some(v) if canonical_title(&v) == body.title => v,
        _ => body.title,
    };
    let text_field = |verbatim: Option<String>, parsed: String| match verbatim {
        Some(v) if canonical_text(&v) == parsed => v,
        _ => parsed,
    };
    let business_goal = text_field(fm.verbatim.business_goal, body.business_goal);
    let technical_tasks = text_field(fm.verbatim.technical_tasks, body.technical_tasks);
    let exact = fm.verbatim.hypotheses;
    let hypotheses = if exact
        .iter()
        .map(|v| canonical_item(v))
        .eq(body.hypotheses.iter().cloned())
    {
        exact
    } else {
        // The list was edited: keep the exact text of the entries still there.
        let mut exact: Vec<Option<String>> = exact.into_iter().map(Some).collect();
        body.hypotheses
            .into_iter()
            .map(|parsed| {
                exact
                    .iter_mut()
                    .find(|v| v.as_deref().is_some_and(|v| canonical_item(v) == parsed))
                    .and_then(Option::take)
                    .unwrap_or(parsed)
            })
            .collect()
    };

    Ok(GoalDocument {
        id: fm.id,
        team: fm.team,
        project: fm.project,
        title,
        business_goal,
        technical_tasks,
        hypotheses,
        success_metrics: fm
            .success_metrics
            .into_iter()
            .map(|m| SuccessMetric {
                metric: m.metric,
                metric_key: m.metric_key,
                baseline: m.baseline,
                target: m.target,
                direction: m.direction,
                unit: m.unit,
                deadline: m.deadline.map(|d| d.0),
            })
            .collect(),
        parties: fm.parties,
        timeline: Timeline {
            starts_on: fm.timeline.starts_on.map(|d| d.0),
            deadline: fm.timeline.deadline.map(|d| d.0),
        },
        status: fm.status,
        version: fm.version,
        agreed_at: fm.agreed_at.map(|t| t.0),
        agreed_by: fm.agreed_by,
    })
}

/// Parses the TOML between the `+++` lines; `first_line` is the document
/// line the TOML starts on, for messages.
fn parse_front_matter(toml_text: &str, first_line: usize) -> Result<FrontMatter, DomainError> {
    let line_of = |err: &toml::de::Error| {
        err.span().map(|s| {
            first_line
                + toml_text[..s.start.min(toml_text.len())]
                    .matches('\n')
                    .count()
        })
    };
    let de = toml::Deserializer::new(toml_text);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let message = inner.message().trim().to_owned();
        let field = field_of(&path, &message);
        let at = line_of(&inner)
            .map(|l| format!(" (front matter, line {l})"))
            .unwrap_or_else(|| " (front matter)".to_owned());
        DomainError::Invalid(vec![FieldError::new(field, format!("{message}{at}"))])
    })
}

/// The field a serde error is about: its path, plus the name in "missing
/// field `x`" / "unknown field `x`" messages; a TOML syntax error is about
/// the front matter as a whole.
fn field_of(path: &str, message: &str) -> String {
    let named = ["missing field `", "unknown field `"]
        .iter()
        .find_map(|p| message.split_once(p))
        .and_then(|(_, rest)| rest.split_once('`'))
        .map(|(name, _)| name);
    let ends_with = |p: &str, name: &str| p == name || p.ends_with(&format!(".{name}"));
    match (path, named) {
        ("." | "", Some(name)) => name.to_owned(),
        ("." | "", None) => "front_matter".to_owned(),
        (p, Some(name)) if ends_with(p, name) => p.to_owned(),
        (p, Some(name)) => format!("{p}.{name}"),
        (p, None) => p.to_owned(),
    }
}

#[derive(Debug, Default)]
struct Body {
    title: String,
    business_goal: String,
    technical_tasks: String,
    hypotheses: Vec<String>,
}

fn is_h1(line: &str) -> bool {
    line == "#" || line.starts_with("# ") || line.starts_with("#\t")
}

fn is_h2(line: &str) -> bool {
    line == "##" || line.starts_with("## ") || line.starts_with("##\t")
}

/// Parses the Markdown after the front matter; `first_line` is the document
/// line it starts on.
fn parse_body(lines: &[&str], first_line: usize) -> Result<Body, DomainError> {
    let mut title: Option<(String, usize)> = None;
    let mut comment_from: Option<usize> = None;
    let mut current: Option<usize> = None;
    let mut seen: [Option<usize>; SECTIONS.len()] = [None; SECTIONS.len()];
    let mut content: [Vec<(usize, &str)>; SECTIONS.len()] = Default::default();

    for (i, raw) in lines.iter().enumerate() {
        let n = first_line + i;
        let line = raw.trim_end();
        if comment_from.is_some() {
            if line.contains("-->") {
                comment_from = None;
            }
            continue;
        }
        if let Some(rest) = line.trim_start().strip_prefix("<!--") {
            if !rest.contains("-->") {
                comment_from = Some(n);
            }
            continue;
        }
        if is_h1(line) {
            if let Some((_, first)) = &title {
                return Err(DomainError::invalid(
                    "title",
                    format!(
                        "line {n}: a second `# ` title line (the title is on line {first}); \
                         to start a line of text with `#`, write `\\#`"
                    ),
                ));
            }
            if current.is_some() {
                return Err(DomainError::invalid(
                    "title",
                    format!("line {n}: the `# ` title line must come before the sections"),
                ));
            }
            title = Some((line[1..].trim().to_owned(), n));
            continue;
        }
        if is_h2(line) {
            let name = line[2..].trim();
            let Some(index) = SECTIONS.iter().position(|s| s.eq_ignore_ascii_case(name)) else {
                return Err(body_error(
                    n,
                    format!(
                        "unknown section \"## {name}\"; the sections are: {}",
                        SECTIONS.join(", ")
                    ),
                ));
            };
            if let Some(first) = seen[index] {
                return Err(body_error(
                    n,
                    format!(
                        "section \"## {}\" appears twice (first on line {first})",
                        SECTIONS[index]
                    ),
                ));
            }
            if title.is_none() {
                return Err(DomainError::invalid(
                    "title",
                    format!("line {n}: the document needs a `# ` title line before its sections"),
                ));
            }
            seen[index] = Some(n);
            current = Some(index);
            continue;
        }
        match current {
            Some(index) => content[index].push((n, line)),
            None if line.is_empty() => {}
            None => {
                return Err(body_error(
                    n,
                    "text outside a section: put it under one of the `## ` headings",
                ));
            }
        }
    }
    if let Some(from) = comment_from {
        return Err(body_error(
            from,
            "a `<!--` comment is never closed with `-->`",
        ));
    }
    let Some((title, _)) = title else {
        return Err(DomainError::invalid(
            "title",
            "the document has no `# ` title line",
        ));
    };
    let section = |name: &str| &content[SECTIONS.iter().position(|s| *s == name).unwrap_or(0)];
    Ok(Body {
        title,
        business_goal: parse_text(section(BUSINESS_GOAL)),
        technical_tasks: parse_text(section(TECHNICAL_TASKS)),
        hypotheses: parse_items(section(HYPOTHESES), "hypotheses")?,
    })
}

fn parse_text(lines: &[(usize, &str)]) -> String {
    let lines: Vec<&str> = lines.iter().map(|(_, l)| *l).collect();
    let text = lines.join("\n");
    canonical_lines(&text)
        .into_iter()
        .map(unescape_line)
        .collect::<Vec<_>>()
        .join("\n")
}

fn bullet(line: &str) -> Option<&str> {
    if line == "-" || line == "*" {
        return Some("");
    }
    ["- ", "* ", "-\t", "*\t"]
        .iter()
        .find_map(|m| line.strip_prefix(m))
}

/// A bullet list: `- ` (or `* `) starts an item; indented lines continue it,
/// blank lines between them included.
fn parse_items(lines: &[(usize, &str)], field: &str) -> Result<Vec<String>, DomainError> {
    let mut items: Vec<Vec<&str>> = Vec::new();
    let mut blanks = 0;
    for &(n, line) in lines {
        if line.is_empty() {
            if !items.is_empty() {
                blanks += 1;
            }
            continue;
        }
        if let Some(rest) = bullet(line) {
            items.push(vec![unescape_line(rest.trim_start())]);
            blanks = 0;
            continue;
        }
        let indented = line.starts_with(' ') || line.starts_with('\t');
        match items.last_mut() {
            Some(item) if indented => {
                item.extend(std::iter::repeat_n("", blanks));
                blanks = 0;
                let text = line.strip_prefix("  ").unwrap_or_else(|| line.trim_start());
                item.push(unescape_line(text));
            }
            _ => {
                return Err(DomainError::invalid(
                    field,
                    format!(
                        "line {n}: each entry is a bullet (`- …`); indent the lines that continue it by two spaces"
                    ),
                ));
            }
        }
    }
    Ok(items.into_iter().map(|lines| lines.join("\n")).collect())
}

// ---------------------------------------------------------------------------
// Template

/// A draft agreement for `team_key` to fill in: the five parts, with the
/// clarifying questions to ask the business as comments (which the parser
/// ignores). A filled-in template imports as a new draft goal.
pub fn template(team_key: &str) -> String {
    format!(
        r##"+++
# A draft goal agreement for team {team}. Fill in the title, the sections and
# this front matter, then `tandem goal import FILE` creates it as a draft goal
# (or PUT it to /api/v1/goals/{{new id}}/document). Lines starting with `#`
# here, and <!-- comments --> below, are guidance and are ignored.
team = {team_value}
# project = "checkout"          # the project's key, if the goal belongs to one
status = "draft"
version = 0

[timeline]
# starts_on = 2026-11-01
# deadline = 2026-12-15

[parties]
# owner = "Who answers for the goal"        # needed to agree it
# requester = "Who in the business asked for it"
contributors = []

# Success metrics: one [[success_metrics]] block per metric. Agreeing needs at
# least one, each with a baseline, a target and a deadline (its own or the
# timeline's).
#   Which specific metric are we improving?   metric, metric_key
#   What change do we expect?                 baseline, target, direction, unit
#   How will we measure success?              metric_key (the series), deadline
#
# [[success_metrics]]
# metric = "p95 latency of /users"
# metric_key = "users-p95"      # a Tandem metric series, if there is one
# baseline = 500
# target = 300
# direction = "down"            # "up" or "down": which way is better
# unit = "ms"
# deadline = 2026-12-15
+++

<!-- The title: one line, after "# ". -->
# 

## {BUSINESS_GOAL}

<!-- The business goal in the requester's words: what should change for the
business, and why now? ("More conversions" is a start; which conversions?) -->

## {TECHNICAL_TASKS}

<!-- What the team will do, specifically: "optimise API load time", "add
caching (Redis)", "improve monitoring", "A/B test the new flow". -->

## {SUCCESS_METRICS}

<!-- Which specific metrics are we improving? What change do we expect? How
will we measure success? Write them as [[success_metrics]] in the front
matter, which is the source of truth; an exported document shows them here as
a table. -->

## {HYPOTHESES}

<!-- What hypotheses are we testing? One bullet each, e.g.
- Caching the user list brings p95 latency under 300 ms.
-->

## {TIMELINE}

<!-- Set the dates in [timeline] in the front matter. Record the risks to
the timeline in Tandem once the goal exists (POST /api/v1/risks). -->

## {PARTIES}

<!-- Set the owner, the requester and the contributors in [parties] in the
front matter. -->
"##,
        team = team_key.replace(['\r', '\n'], " "),
        team_value = toml_str(team_key),
    )
}

// ---------------------------------------------------------------------------
// Import

/// What importing a document does to the stored goals.
#[derive(Debug, Clone, PartialEq)]
pub enum ImportPlan {
    /// No goal has the document's id (or it has none): a new draft.
    Create(Goal),
    /// An edit of the stored goal; save it with the stored version as the
    /// read version. `change.version` is set when the goal is under agreement.
    Update(GoalChange),
    /// The document says what the stored goal says.
    Unchanged(Goal),
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ImportError {
    /// The document was exported from another version of the goal than the
    /// stored one.
    #[error(
        "version: the document is version {document}, the stored goal is version {stored}; export it again and re-apply your edit"
    )]
    Stale { document: i32, stored: i32 },
    #[error(transparent)]
    Invalid(#[from] DomainError),
}

/// The team and project a document's keys name, resolved by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Resolved {
    pub team_id: Uuid,
    pub project_id: Option<Uuid>,
}

/// Decides what importing `doc` does, given the stored goal with the
/// document's id (`None` when there is none).
///
/// - No stored goal: a new draft with the document's id (or `new_id`).
///   Agreement is never imported: a document that says `agreed` still makes
///   a draft, to be agreed in Tandem.
/// - A stored goal: the document's `version` must equal the stored one
///   (otherwise [`ImportError::Stale`], naming `version`); the team, status
///   and sign-off are Tandem's to change and must match; the rest is applied
///   as an edit with [`Goal::apply`], which versions it if the goal is agreed.
pub fn plan_import(
    doc: &GoalDocument,
    stored: Option<&Goal>,
    resolved: Resolved,
    actor: &str,
    now: DateTime<Utc>,
    new_id: Uuid,
) -> Result<ImportPlan, ImportError> {
    let Some(goal) = stored else {
        let goal = NewGoal {
            team_id: resolved.team_id,
            project_id: resolved.project_id,
            title: doc.title.clone(),
            business_goal: doc.business_goal.clone(),
            technical_tasks: doc.technical_tasks.clone(),
            hypotheses: doc.hypotheses.clone(),
            success_metrics: doc.success_metrics.clone(),
            parties: doc.parties.clone(),
            timeline: doc.timeline.clone(),
        }
        .into_goal(doc.id.unwrap_or(new_id), now)?;
        return Ok(ImportPlan::Create(goal));
    };
    if doc.version != goal.version {
        return Err(ImportError::Stale {
            document: doc.version,
            stored: goal.version,
        });
    }
    if resolved.team_id != goal.team_id {
        return Err(DomainError::invalid(
            "team",
            format!(
                "the goal belongs to another team than {:?}; a document cannot move it",
                doc.team
            ),
        )
        .into());
    }
    if doc.status != goal.status {
        return Err(DomainError::invalid(
            "status",
            format!(
                "the document says {}, the stored goal is {}; change the status with agree, start, complete or drop, not in the document",
                doc.status, goal.status
            ),
        )
        .into());
    }
    if doc.agreed_at != goal.agreed_at || doc.agreed_by != goal.agreed_by {
        let field = if doc.agreed_at != goal.agreed_at {
            "agreed_at"
        } else {
            "agreed_by"
        };
        return Err(DomainError::invalid(
            field,
            "is recorded by Tandem when the goal is agreed; keep it as exported",
        )
        .into());
    }
    if goal.project_id.is_some() && resolved.project_id.is_none() {
        return Err(DomainError::invalid(
            "project",
            "a goal's project cannot be removed; keep the project key as exported",
        )
        .into());
    }
    let patch = GoalPatch {
        title: Some(doc.title.clone()),
        project_id: resolved.project_id,
        business_goal: Some(doc.business_goal.clone()),
        technical_tasks: Some(doc.technical_tasks.clone()),
        hypotheses: Some(doc.hypotheses.clone()),
        success_metrics: Some(doc.success_metrics.clone()),
        parties: Some(doc.parties.clone()),
        timeline: Some(doc.timeline.clone()),
    };
    let change = goal.apply(patch, actor, now)?;
    Ok(if change.goal == *goal {
        ImportPlan::Unchanged(change.goal)
    } else {
        ImportPlan::Update(change)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn doc() -> GoalDocument {
        GoalDocument {
            id: Some(Uuid::from_u128(7)),
            team: "web".into(),
            project: Some("dashboard".into()),
            title: "Faster user list".into(),
            business_goal: "The dashboard feels slow.\n\nMore conversions once it is fast.".into(),
            technical_tasks: "- Cache the list\n- Index `users.created_at`".into(),
            hypotheses: vec!["Caching halves p95.".into(), "Users notice.".into()],
            success_metrics: vec![SuccessMetric {
                metric: "p95 latency of /users".into(),
                metric_key: Some("users-p95".into()),
                baseline: Some(500.0),
                target: Some(300.0),
                direction: Direction::Down,
                unit: "ms".into(),
                deadline: NaiveDate::from_ymd_opt(2026, 12, 15),
            }],
            parties: Parties {
                owner: Some("Ana".into()),
                requester: Some("Bo".into()),
                contributors: vec!["Cy".into(), "Di".into()],
            },
            timeline: Timeline {
                starts_on: NaiveDate::from_ymd_opt(2026, 11, 1),
                deadline: NaiveDate::from_ymd_opt(2026, 12, 15),
            },
            status: GoalStatus::Agreed,
            version: 2,
            agreed_at: Some(now() + chrono::Duration::microseconds(123_456)),
            agreed_by: Some("maria".into()),
        }
    }

    fn field_of_err(text: &str) -> (String, String) {
        match parse(text).unwrap_err() {
            DomainError::Invalid(e) => (e[0].field.clone(), e[0].message.clone()),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn renders_the_five_parts_in_order_and_reads_them_back() {
        let d = doc();
        let text = render(&d);
        let positions: Vec<usize> = SECTIONS
            .iter()
            .map(|s| text.find(&format!("\n## {s}\n")).expect(s))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert!(text.starts_with("+++\n"));
        assert!(text.contains("\n# Faster user list\n"));
        assert!(text.contains(
            "| p95 latency of /users | users-p95 | 500 | 300 | lower | ms | 2026-12-15 |"
        ));
        assert!(
            text.contains("agreed_at = 2026-11-02T09:00:00.123456Z\n"),
            "{text}"
        );
        assert!(text.contains("deadline = 2026-12-15\n"));
        assert!(
            !text.contains("[verbatim]"),
            "clean text needs no verbatim copy"
        );
        assert_eq!(parse(&text).unwrap(), d);
    }

    #[test]
    fn tolerates_crlf_trailing_spaces_comments_and_section_order() {
        let d = doc();
        let text = render(&d)
            .lines()
            .map(|l| format!("{l}  \t"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(parse(&text).unwrap(), d);

        let edited = render(&d).replace(
            "## Business goal\n",
            "## business goal\n\n<!-- a note\nover lines -->\n\n",
        );
        assert_eq!(parse(&edited).unwrap(), d);
    }

    #[test]
    fn headings_inside_text_are_escaped() {
        let mut d = doc();
        d.business_goal =
            "## Not a section\n# Not a title\n\\ backslash\n  <!-- not a comment -->\n### deeper"
                .into();
        d.hypotheses = vec!["first\n## inside a bullet\n\n  indented".into()];
        let text = render(&d);
        assert!(text.contains("\n\\## Not a section\n\\# Not a title\n\\\\ backslash\n\\  <!-- not a comment -->\n\\### deeper\n"), "{text}");
        assert!(
            text.contains("\n- first\n  \\## inside a bullet\n\n    indented\n"),
            "{text}"
        );
        assert_eq!(parse(&text).unwrap(), d);
    }

    #[test]
    fn whitespace_the_body_cannot_show_is_kept_verbatim_until_edited() {
        let mut d = doc();
        d.business_goal = "More conversions\r\n".into();
        d.title = " Padded ".into();
        d.hypotheses = vec!["Clean".into(), "  indented first line".into()];
        let text = render(&d);
        assert!(text.contains("[verbatim]\ntitle = \" Padded \"\nbusiness_goal = \"More conversions\\r\\n\"\nhypotheses = [\"Clean\", \"  indented first line\"]\n"), "{text}");
        assert_eq!(parse(&text).unwrap(), d);
        // Editing the section wins over the verbatim copy.
        let edited = text.replace("\nMore conversions\n", "\nFewer refunds\n");
        assert_eq!(parse(&edited).unwrap().business_goal, "Fewer refunds");
        assert_eq!(parse(&edited).unwrap().title, " Padded ");
    }

    #[test]
    fn a_filled_in_template_imports_as_a_draft() {
        let t = template("payments");
        let err = parse(&t).map(|d| {
            plan_import(
                &d,
                None,
                Resolved {
                    team_id: Uuid::nil(),
                    project_id: None,
                },
                "ana",
                now(),
                Uuid::from_u128(1),
            )
        });
        // The unfilled template parses, but has no title yet.
        match err.unwrap().unwrap_err() {
            ImportError::Invalid(e) => assert_eq!(e.fields(), vec!["title"]),
            other => panic!("{other:?}"),
        }
        for q in [
            "Which specific metrics are we improving?",
            "What change do we expect?",
            "What hypotheses are we testing?",
            "How will we measure success?",
        ] {
            assert!(t.contains(q), "{q}");
        }
        let filled = t
            .replace("# \n", "# Fewer refunds\n")
            .replace("# owner = \"Who answers for the goal\"", "owner = \"Ana\"")
            .replace(
                "## Hypotheses\n",
                "## Hypotheses\n\n- Retries cause the double charges.\n",
            )
            .replace(
                "## Business goal\n",
                "## Business goal\n\nNo double charges before the audit.\n",
            );
        let d = parse(&filled).unwrap();
        assert_eq!(d.id, None);
        assert_eq!(d.team, "payments");
        assert_eq!(d.title, "Fewer refunds");
        assert_eq!(d.business_goal, "No double charges before the audit.");
        assert_eq!(d.hypotheses, vec!["Retries cause the double charges."]);
        assert_eq!(d.parties.owner.as_deref(), Some("Ana"));
        let plan = plan_import(
            &d,
            None,
            Resolved {
                team_id: Uuid::nil(),
                project_id: None,
            },
            "ana",
            now(),
            Uuid::from_u128(1),
        )
        .unwrap();
        let ImportPlan::Create(goal) = plan else {
            panic!("{plan:?}")
        };
        assert_eq!(
            (goal.id, goal.status, goal.version),
            (Uuid::from_u128(1), GoalStatus::Draft, 0)
        );
    }

    #[test]
    fn broken_front_matter_names_the_field_and_line() {
        let text = render(&doc());
        let (field, message) = field_of_err(&text.replace("target = 300.0", "target = \"300\""));
        assert_eq!(field, "success_metrics[0].target");
        assert!(
            message.contains("invalid type") && message.contains("line 26"),
            "{message}"
        );

        let (field, message) = field_of_err(&text.replace("\"down\"", "\"sideways\""));
        assert_eq!(field, "success_metrics[0].direction");
        assert!(message.contains("sideways"), "{message}");

        let (field, message) = field_of_err(&text.replace("version = 2", "version = [2"));
        assert_eq!(field, "front_matter");
        assert!(message.contains("line 10"), "{message}");

        let (field, _) = field_of_err(&text.replace("team = \"web\"\n", ""));
        assert_eq!(field, "team");
        let (field, _) = field_of_err(&text.replace("team = ", "squad = "));
        assert_eq!(field, "squad");
        let (field, message) = field_of_err(&text.replace(
            "deadline = 2026-12-15\n\n[parties]",
            "deadline = 2026-13-15\n\n[parties]",
        ));
        assert_eq!(field, "front_matter", "{message}");
        let (field, message) = field_of_err(&text.replace(
            "deadline = 2026-12-15\n\n[parties]",
            "deadline = \"soon\"\n\n[parties]",
        ));
        assert_eq!(field, "timeline.deadline");
        assert!(message.contains("\"soon\" is not a date"), "{message}");
        let (field, _) = field_of_err(&text.replace(
            "agreed_at = 2026-11-02T09:00:00.123456Z",
            "agreed_at = 2026-11-02",
        ));
        assert_eq!(field, "agreed_at");
    }

    #[test]
    fn broken_structure_names_the_line() {
        let text = render(&doc());
        let (field, message) = field_of_err(&text.replacen("+++\n", "", 1));
        assert_eq!(field, "front_matter");
        assert!(message.contains("line 1"), "{message}");

        let unclosed = text.replace("\n+++\n", "\n");
        let (field, message) = field_of_err(&unclosed);
        assert_eq!(field, "front_matter");
        assert!(message.contains("no closing `+++`"), "{message}");

        let (field, message) = field_of_err(&text.replace("## Hypotheses", "## Assumptions"));
        assert_eq!(field, "body");
        assert!(
            message.contains("unknown section \"## Assumptions\""),
            "{message}"
        );

        let (field, message) =
            field_of_err(&text.replace("- Caching halves p95.", "Caching halves p95."));
        assert_eq!(field, "hypotheses");
        assert!(message.starts_with("line "), "{message}");

        let (field, _) = field_of_err(&text.replace("# Faster user list\n", ""));
        assert_eq!(field, "title");

        let (field, message) =
            field_of_err(&text.replace("More conversions once", "# More conversions once"));
        assert_eq!(field, "title");
        assert!(message.contains("\\#"), "{message}");

        let (field, message) = field_of_err(&format!("{text}\n<!-- open\n"));
        assert_eq!(field, "body");
        assert!(message.contains("never closed"), "{message}");

        let (field, _) = field_of_err(&text.replace(
            "## Business goal",
            "## Business goal\n\nx\n\n## Business goal",
        ));
        assert_eq!(field, "body");
    }

    #[test]
    fn import_refuses_stale_documents_and_read_only_changes() {
        let d = doc();
        let team_id = Uuid::from_u128(1);
        let project_id = Some(Uuid::from_u128(2));
        let resolved = Resolved {
            team_id,
            project_id,
        };
        let stored = Goal {
            id: d.id.unwrap(),
            team_id,
            project_id,
            title: d.title.clone(),
            business_goal: d.business_goal.clone(),
            technical_tasks: d.technical_tasks.clone(),
            hypotheses: d.hypotheses.clone(),
            success_metrics: d.success_metrics.clone(),
            parties: d.parties.clone(),
            timeline: d.timeline.clone(),
            status: d.status,
            version: 3,
            agreed_at: d.agreed_at,
            agreed_by: d.agreed_by.clone(),
            created_at: now(),
            updated_at: now(),
        };
        let new_id = Uuid::from_u128(9);
        let err = plan_import(&d, Some(&stored), resolved, "bo", now(), new_id).unwrap_err();
        assert_eq!(
            err,
            ImportError::Stale {
                document: 2,
                stored: 3
            }
        );
        assert!(err.to_string().starts_with(
            "version: the document is version 2, the stored goal is version 3; export it again"
        ));

        let mut current = d.clone();
        current.version = 3;
        let plan = plan_import(&current, Some(&stored), resolved, "bo", now(), new_id).unwrap();
        assert!(matches!(plan, ImportPlan::Unchanged(_)), "{plan:?}");

        let mut moved = current.clone();
        moved.timeline.deadline = NaiveDate::from_ymd_opt(2026, 12, 22);
        let ImportPlan::Update(change) =
            plan_import(&moved, Some(&stored), resolved, "bo", now(), new_id).unwrap()
        else {
            panic!()
        };
        let v = change.version.unwrap();
        assert_eq!((v.version, v.action.as_str()), (4, "edit"));
        assert_eq!(
            changes::describe(&v.changes),
            vec!["timeline.deadline: 2026-12-15 → 2026-12-22"]
        );

        let fields = |doc: &GoalDocument, resolved| match plan_import(
            doc,
            Some(&stored),
            resolved,
            "bo",
            now(),
            new_id,
        ) {
            Err(ImportError::Invalid(e)) => {
                e.fields().iter().map(|f| f.to_string()).collect::<Vec<_>>()
            }
            other => panic!("{other:?}"),
        };
        let mut s = current.clone();
        s.status = GoalStatus::Done;
        assert_eq!(fields(&s, resolved), vec!["status"]);
        let mut s = current.clone();
        s.agreed_by = Some("mallory".into());
        assert_eq!(fields(&s, resolved), vec!["agreed_by"]);
        assert_eq!(
            fields(
                &current,
                Resolved {
                    team_id: Uuid::from_u128(5),
                    project_id
                }
            ),
            vec!["team"]
        );
        assert_eq!(
            fields(
                &current,
                Resolved {
                    team_id,
                    project_id: None
                }
            ),
            vec!["project"]
        );
        let mut s = current.clone();
        s.success_metrics.clear();
        assert_eq!(fields(&s, resolved), vec!["success_metrics"]);
    }
}
