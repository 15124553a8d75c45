//! The manager's edits to a weekly report: a note per section, hidden lines
//! and a line order, kept apart from the data part so that they survive when
//! the data is assembled again.
//!
//! Rules:
//! - Edits refer to lines by their stable ids (`done:<item>`, `risk:<id>`…).
//!   When the data is assembled again, a hidden or ordered line that is gone
//!   is simply skipped; a line that is new appears after the ordered ones, in
//!   the assembled order.
//! - `order` of a section lists line ids of either level: top-level lines are
//!   sorted by it, and so are the children of each line.
//! - A section whose lines are all hidden says so ("All lines hidden by the
//!   editor") rather than looking like a section with no data.
//! - An edit request is checked against the current report: an unknown
//!   section, an id not in the report (or not in the section it is ordered
//!   in) or an over-long note is refused with the field named.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::{ReportLine, ReportSection, SectionKind, WeeklyReport};
use crate::error::{DomainError, FieldError};

/// The longest note a section may carry, in characters.
pub const MAX_NOTE_CHARS: usize = 4000;

/// What an editor hid, moved and wrote; empty by default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReportEdits {
    /// A note per section, shown under its heading.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, String>)]
    pub notes: BTreeMap<SectionKind, String>,
    /// Ids of hidden lines (top-level or children).
    #[serde(default)]
    pub hidden: BTreeSet<String>,
    /// Per section, line ids in the order the editor wants them.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, Vec<String>>)]
    pub order: BTreeMap<SectionKind, Vec<String>>,
}

/// A change to a draft's edits. Every part is optional; parts not given stay.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditRequest {
    /// Notes to set, by section (`done`, `in_progress`, `risks`,
    /// `next_steps`, `numbers`); an empty text removes the note.
    #[serde(default)]
    pub notes: BTreeMap<String, String>,
    /// Line ids to hide.
    #[serde(default)]
    pub hide: Vec<String>,
    /// Line ids to show again.
    #[serde(default)]
    pub show: Vec<String>,
    /// Per section, the new order of its lines (replaces the previous
    /// order of that section; an empty list restores the assembled order).
    #[serde(default)]
    pub order: BTreeMap<String, Vec<String>>,
}

impl EditRequest {
    pub fn is_empty(&self) -> bool {
        self.notes.is_empty()
            && self.hide.is_empty()
            && self.show.is_empty()
            && self.order.is_empty()
    }
}

/// Every line id of a section, top-level and children.
fn section_ids(s: &ReportSection) -> impl Iterator<Item = &str> {
    s.lines.iter().flat_map(|l| {
        std::iter::once(l.id.as_str()).chain(l.children.iter().map(|c| c.id.as_str()))
    })
}

fn parse_section(field: String, s: &str) -> Result<SectionKind, FieldError> {
    s.parse::<SectionKind>()
        .map_err(|e| FieldError::new(field, e))
}

impl ReportEdits {
    /// Applies `req` to these edits, checked against `report` (the current
    /// data). Nothing changes when any part is refused.
    pub fn merge(&mut self, req: &EditRequest, report: &WeeklyReport) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        let mut next = self.clone();
        let known = |id: &str| {
            report
                .sections
                .iter()
                .any(|s| section_ids(s).any(|i| i == id))
        };
        for (key, text) in &req.notes {
            let field = format!("notes.{key}");
            match parse_section(field.clone(), key) {
                Err(e) => errors.push(e),
                Ok(kind) => {
                    let text = text.trim();
                    let chars = text.chars().count();
                    if chars > MAX_NOTE_CHARS {
                        errors.push(FieldError::new(
                            field,
                            format!("a note may have at most {MAX_NOTE_CHARS} characters, this one has {chars}"),
                        ));
                    } else if text.is_empty() {
                        next.notes.remove(&kind);
                    } else {
                        next.notes.insert(kind, text.to_owned());
                    }
                }
            }
        }
        for (i, id) in req.hide.iter().enumerate() {
            if known(id) {
                next.hidden.insert(id.clone());
            } else {
                errors.push(FieldError::new(
                    format!("hide[{i}]"),
                    format!("the report has no line {id:?}"),
                ));
            }
        }
        for id in &req.show {
            // Showing a line that is gone is harmless: forget it.
            next.hidden.remove(id);
        }
        for (key, ids) in &req.order {
            let field = format!("order.{key}");
            let kind = match parse_section(field.clone(), key) {
                Ok(k) => k,
                Err(e) => {
                    errors.push(e);
                    continue;
                }
            };
            let section = report.sections.iter().find(|s| s.kind == kind);
            let mut seen = BTreeSet::new();
            for (i, id) in ids.iter().enumerate() {
                if !section.is_some_and(|s| section_ids(s).any(|x| x == id)) {
                    errors.push(FieldError::new(
                        format!("{field}[{i}]"),
                        format!("the section {kind} has no line {id:?}"),
                    ));
                } else if !seen.insert(id) {
                    errors.push(FieldError::new(
                        format!("{field}[{i}]"),
                        format!("{id:?} is listed twice"),
                    ));
                }
            }
            if ids.is_empty() {
                next.order.remove(&kind);
            } else {
                next.order.insert(kind, ids.clone());
            }
        }
        if !errors.is_empty() {
            return Err(DomainError::Invalid(errors));
        }
        *self = next;
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.notes.is_empty() && self.hidden.is_empty() && self.order.is_empty()
    }
}

/// Sorts `items` by their position in `order` (listed first, in that order),
/// keeping the assembled order for the others (after the listed ones).
fn sort_by_order<T>(items: &mut [T], order: &[String], id: impl Fn(&T) -> &str) {
    items.sort_by_key(|x| order.iter().position(|o| o == id(x)).unwrap_or(usize::MAX));
}

/// The report as edited: notes set, hidden lines removed, lines reordered.
pub fn apply(report: &WeeklyReport, edits: &ReportEdits) -> WeeklyReport {
    let mut out = report.clone();
    for s in &mut out.sections {
        s.note = edits.notes.get(&s.kind).cloned();
        let had_lines = !s.lines.is_empty();
        s.lines.retain(|l| !edits.hidden.contains(&l.id));
        for l in &mut s.lines {
            l.children.retain(|c| !edits.hidden.contains(&c.id));
        }
        if let Some(order) = edits.order.get(&s.kind) {
            sort_by_order(&mut s.lines, order, |l: &ReportLine| &l.id);
            for l in &mut s.lines {
                sort_by_order(&mut l.children, order, |c| &c.id);
            }
        }
        if had_lines && s.lines.is_empty() {
            s.empty_message = Some("All lines hidden by the editor.".to_owned());
        }
    }
    out.trends.retain(|t| !edits.hidden.contains(&t.line_id));
    out
}
