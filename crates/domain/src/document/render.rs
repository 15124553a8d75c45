//! Rendering: a goal document as Markdown with TOML front matter.
//! Deterministic: the same document gives the same bytes; text the parser would
//! read as structure is escaped, and text that differs from its canonical form
//! is also kept in `[verbatim]`.
//!
//! Part of [`super`] (see its documentation for the layout and the
//! round-trip rules).

use super::*;

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

pub(super) fn render_front_matter(out: &mut String, doc: &GoalDocument, verbatim: &Verbatim) {
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

pub(super) fn kv(out: &mut String, key: &str, value: &str) {
    let _ = writeln!(out, "{key} = {value}");
}

/// A TOML basic string on one line: every control character is escaped, so
/// no value can produce a line of its own (such as a closing `+++`).
pub(super) fn toml_str(s: &str) -> String {
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

pub(super) fn toml_str_array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| toml_str(s)).collect();
    format!("[{}]", items.join(", "))
}

/// The shortest text that reads back as the same `f64`.
pub(super) fn toml_float(v: f64) -> String {
    if v.is_nan() {
        "nan".to_owned()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.to_owned()
    } else {
        format!("{v:?}")
    }
}

/// A TOML local date; years TOML cannot write become quoted strings.
pub(super) fn toml_date(d: NaiveDate) -> String {
    use chrono::Datelike;
    if (0..=9999).contains(&d.year()) {
        d.to_string()
    } else {
        toml_str(&d.to_string())
    }
}

pub(super) fn toml_datetime(t: DateTime<Utc>) -> String {
    use chrono::Datelike;
    let text = t.to_rfc3339_opts(SecondsFormat::AutoSi, true);
    if (0..=9999).contains(&t.year()) {
        text
    } else {
        toml_str(&text)
    }
}

/// Free text as section lines (see the module documentation).
pub(super) fn render_text(text: &str) -> String {
    let mut out = String::new();
    for line in canonical_lines(text) {
        out.push_str(&escape_line(line));
        out.push('\n');
    }
    out
}

/// One hypothesis as a bullet; continuation lines are indented two spaces.
pub(super) fn render_item(item: &str) -> String {
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

pub(super) fn render_metrics_view(out: &mut String, metrics: &[SuccessMetric]) {
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

pub(super) fn render_timeline_view(out: &mut String, t: &Timeline) {
    out.push_str(TIMELINE_NOTE);
    out.push_str("\n\n");
    let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_else(dash);
    let _ = writeln!(out, "- Starts: {}", date(t.starts_on));
    let _ = writeln!(out, "- Deadline: {}", date(t.deadline));
}

pub(super) fn render_parties_view(out: &mut String, p: &Parties) {
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

pub(super) fn dash() -> String {
    "—".to_owned()
}

/// Text for a line of a read-only view: line breaks become spaces, so a view
/// line can never be read as a heading or a comment.
pub(super) fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ").trim().to_owned()
}

pub(super) fn cell(s: &str) -> String {
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
