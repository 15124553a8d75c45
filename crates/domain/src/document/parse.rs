//! Parsing: a document back into a [`GoalDocument`]. Tolerant of CRLF, trailing
//! whitespace, section order and whole-line comments; every problem is a
//! `DomainError` naming the field or the line.
//!
//! Part of [`super`] (see its documentation for the layout and the
//! round-trip rules).

use super::*;

/// Exact values kept in the front matter (see the module documentation).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Verbatim {
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) business_goal: Option<String>,
    #[serde(default)]
    pub(super) technical_tasks: Option<String>,
    #[serde(default)]
    pub(super) hypotheses: Vec<String>,
}

impl Verbatim {
    pub(super) fn is_empty(&self) -> bool {
        self.title.is_none()
            && self.business_goal.is_none()
            && self.technical_tasks.is_none()
            && self.hypotheses.is_empty()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FrontMatter {
    #[serde(default)]
    pub(super) id: Option<Uuid>,
    pub(super) team: String,
    #[serde(default)]
    pub(super) project: Option<String>,
    #[serde(default = "draft")]
    pub(super) status: GoalStatus,
    #[serde(default)]
    pub(super) version: i32,
    #[serde(default)]
    pub(super) agreed_at: Option<TomlDateTime>,
    #[serde(default)]
    pub(super) agreed_by: Option<String>,
    #[serde(default)]
    pub(super) timeline: TimelineIn,
    #[serde(default)]
    pub(super) parties: Parties,
    #[serde(default)]
    pub(super) success_metrics: Vec<MetricIn>,
    #[serde(default)]
    pub(super) verbatim: Verbatim,
}

pub(super) fn draft() -> GoalStatus {
    GoalStatus::Draft
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct TimelineIn {
    #[serde(default)]
    pub(super) starts_on: Option<TomlDate>,
    #[serde(default)]
    pub(super) deadline: Option<TomlDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MetricIn {
    pub(super) metric: String,
    #[serde(default)]
    pub(super) metric_key: Option<String>,
    #[serde(default)]
    pub(super) baseline: Option<f64>,
    #[serde(default)]
    pub(super) target: Option<f64>,
    #[serde(default = "up")]
    pub(super) direction: Direction,
    #[serde(default)]
    pub(super) unit: String,
    #[serde(default)]
    pub(super) deadline: Option<TomlDate>,
}

pub(super) fn up() -> Direction {
    Direction::Up
}

/// A date written as a TOML date (`2026-12-15`) or a string.
#[derive(Debug)]
pub(super) struct TomlDate(NaiveDate);

/// An instant written as a TOML offset date-time or an RFC 3339 string.
#[derive(Debug)]
pub(super) struct TomlDateTime(DateTime<Utc>);

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
pub(super) struct DateText;

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

pub(super) fn body_error(line: usize, message: impl std::fmt::Display) -> DomainError {
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
pub(super) fn parse_front_matter(
    toml_text: &str,
    first_line: usize,
) -> Result<FrontMatter, DomainError> {
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
pub(super) fn field_of(path: &str, message: &str) -> String {
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
pub(super) struct Body {
    pub(super) title: String,
    pub(super) business_goal: String,
    pub(super) technical_tasks: String,
    pub(super) hypotheses: Vec<String>,
}

pub(super) fn is_h1(line: &str) -> bool {
    line == "#" || line.starts_with("# ") || line.starts_with("#\t")
}

pub(super) fn is_h2(line: &str) -> bool {
    line == "##" || line.starts_with("## ") || line.starts_with("##\t")
}

/// Parses the Markdown after the front matter; `first_line` is the document
/// line it starts on.
pub(super) fn parse_body(lines: &[&str], first_line: usize) -> Result<Body, DomainError> {
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

pub(super) fn parse_text(lines: &[(usize, &str)]) -> String {
    let lines: Vec<&str> = lines.iter().map(|(_, l)| *l).collect();
    let text = lines.join("\n");
    canonical_lines(&text)
        .into_iter()
        .map(unescape_line)
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn bullet(line: &str) -> Option<&str> {
    if line == "-" || line == "*" {
        return Some("");
    }
    ["- ", "* ", "-\t", "*\t"]
        .iter()
        .find_map(|m| line.strip_prefix(m))
}

/// A bullet list: `- ` (or `* `) starts an item; indented lines continue it,
/// blank lines between them included.
pub(super) fn parse_items(
    lines: &[(usize, &str)],
    field: &str,
) -> Result<Vec<String>, DomainError> {
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
