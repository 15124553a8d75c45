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
//!
//! The code: `render` (document out), `canonical` (text forms and escaping),
//! `parse` (document in), `template` (a draft to fill in) and `import` (what
//! applying a document does); their public items are re-exported here.

mod canonical;
pub mod changes;
mod import;
mod parse;
mod render;
mod template;
#[cfg(test)]
mod tests;

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Deserialize;
use uuid::Uuid;

use crate::error::{DomainError, FieldError};
use crate::goal::{
    Goal, GoalChange, GoalPatch, GoalStatus, NewGoal, Parties, SuccessMetric, Timeline,
};
use crate::metric::Direction;

use self::canonical::*;
pub use self::import::{ImportError, ImportPlan, Resolved, plan_import};
pub use self::parse::parse;
use self::parse::*;
pub use self::render::render;
use self::render::*;
pub use self::template::template;

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
