//! Decisions: the log of what was decided, why, and what follows from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::{string_enum, text};

string_enum! {
    /// What the business decides about a goal at risk of missing its
    /// deadline (the agenda's options).
    GoalDecisionChoice {
        /// Keep the scope, move the deadline (to the forecast's 85 % date
        /// unless another date is given).
        AcceptDate => "accept_date",
        /// Keep the deadline, move the items beyond the cut line out of the
        /// goal (they stay in the backlog).
        CutScope => "cut_scope",
        /// Keep both, add people to the goal's contributors.
        AddPeople => "add_people",
        /// Stop the goal.
        Drop => "drop",
    }
}

impl GoalDecisionChoice {
    /// "Accept the new date", for people.
    pub fn words(self) -> &'static str {
        match self {
            Self::AcceptDate => "Accept the new date",
            Self::CutScope => "Cut scope to the cut line",
            Self::AddPeople => "Add people",
            Self::Drop => "Drop the goal",
        }
    }
}

/// A decision about a goal at risk, as a stakeholder or manager records it
/// (`POST /api/v1/goals/{id}/decision`, the goal page's form).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalDecisionInput {
    pub choice: GoalDecisionChoice,
    /// Why: the reason people will read in the decisions log and the report.
    pub reason: String,
    /// For `accept_date`: the new deadline; defaults to the forecast's
    /// 85 % date.
    #[serde(default)]
    pub new_deadline: Option<chrono::NaiveDate>,
    /// For `add_people`: who joins (names as people know them).
    #[serde(default)]
    pub people: Vec<String>,
    /// A risk the decision answers besides the goal's deadline risk: closed
    /// (or, when people are added, marked mitigating).
    #[serde(default)]
    pub risk_id: Option<Uuid>,
}

impl GoalDecisionInput {
    /// The input's own rules (the goal's are checked against the goal).
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if self.reason.trim().is_empty() {
            p.push(
                "reason",
                "say why, in a sentence: people read it in the decisions log and the weekly report",
            );
        } else {
            p.check(text::bounded("reason", &self.reason, text::LONG));
        }
        if self.choice == GoalDecisionChoice::AddPeople {
            if self.people.iter().all(|n| n.trim().is_empty()) {
                p.push("people", "name at least one person who joins the goal");
            }
            crate::project::check_list(&mut p, "people", &self.people);
        } else if !self.people.is_empty() {
            p.push(
                "people",
                "people are named only when the decision adds people",
            );
        }
        if self.new_deadline.is_some() && self.choice != GoalDecisionChoice::AcceptDate {
            p.push(
                "new_deadline",
                "a new deadline goes with accepting a new date only",
            );
        }
        p.into_result()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    pub id: Uuid,
    pub team_id: Uuid,
    pub goal_id: Option<Uuid>,
    pub title: String,
    pub context: String,
    pub options: Vec<String>,
    pub decision: String,
    pub consequences: String,
    pub decided_by: Option<String>,
    pub decided_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewDecision {
    pub team_id: Uuid,
    #[serde(default)]
    pub goal_id: Option<Uuid>,
    pub title: String,
    #[serde(default)]
    pub context: String,
    #[serde(default)]
    pub options: Vec<String>,
    pub decision: String,
    #[serde(default)]
    pub consequences: String,
    #[serde(default)]
    pub decided_by: Option<String>,
    /// Defaults to now.
    #[serde(default)]
    pub decided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionPatch {
    pub goal_id: Option<Uuid>,
    pub title: Option<String>,
    pub context: Option<String>,
    pub options: Option<Vec<String>>,
    pub decision: Option<String>,
    pub consequences: Option<String>,
    pub decided_by: Option<String>,
}

impl NewDecision {
    pub fn into_decision(self, id: Uuid, now: DateTime<Utc>) -> Result<Decision, DomainError> {
        let now = crate::time::micros(now);
        let d = Decision {
            id,
            team_id: self.team_id,
            goal_id: self.goal_id,
            title: self.title,
            context: self.context,
            options: self.options,
            decision: self.decision,
            consequences: self.consequences,
            decided_by: self.decided_by,
            decided_at: self.decided_at.map(crate::time::micros).unwrap_or(now),
            created_at: now,
            updated_at: now,
        };
        d.validate()?;
        Ok(d)
    }
}

impl Decision {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("title", &self.title));
        p.check(text::bounded("context", &self.context, text::LONG));
        p.check(text::bounded(
            "consequences",
            &self.consequences,
            text::LONG,
        ));
        if self.decision.trim().is_empty() {
            p.push("decision", "must not be empty");
        }
        p.check(text::bounded("decision", &self.decision, text::LONG));
        crate::project::check_list(&mut p, "options", &self.options);
        if let Some(who) = &self.decided_by {
            p.check(text::required("decided_by", who));
        }
        p.into_result()
    }

    pub fn apply(&mut self, patch: DecisionPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(v) = patch.goal_id {
            self.goal_id = Some(v);
        }
        if let Some(v) = patch.title {
            self.title = v;
        }
        if let Some(v) = patch.context {
            self.context = v;
        }
        if let Some(v) = patch.options {
            self.options = v;
        }
        if let Some(v) = patch.decision {
            self.decision = v;
        }
        if let Some(v) = patch.consequences {
            self.consequences = v;
        }
        if let Some(v) = patch.decided_by {
            self.decided_by = Some(v);
        }
        self.updated_at = crate::time::micros(now);
        self.validate()
    }
}

/// A decision with the names people know its team and goal by.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    pub decision: Decision,
    pub team: String,
    pub goal: Option<String>,
}

/// The decisions log as Markdown, newest first: a `##` heading per decision
/// with its date, then who, the goal, the decision, why (its context), the
/// options and the consequences. Text is written as it was recorded
/// (Markdown in it stays Markdown), one line per field.
pub fn log_markdown(title: &str, entries: &[LogEntry]) -> String {
    use std::fmt::Write as _;
    let mut out = format!("# {title}\n");
    if entries.is_empty() {
        out.push_str("\nNo decision recorded.\n");
        return out;
    }
    for e in entries {
        let d = &e.decision;
        let _ = write!(
            out,
            "\n## {} — {}\n\n",
            d.decided_at.format("%Y-%m-%d"),
            one_line(&d.title)
        );
        let _ = writeln!(out, "- **Team:** {}", one_line(&e.team));
        if let Some(g) = &e.goal {
            let _ = writeln!(out, "- **Goal:** {}", one_line(g));
        }
        let _ = writeln!(
            out,
            "- **Decided by:** {} on {}",
            d.decided_by.as_deref().map_or("–".to_owned(), one_line),
            d.decided_at.format("%a %-d %b %Y %H:%M UTC")
        );
        let _ = writeln!(out, "- **Decision:** {}", one_line(&d.decision));
        if !d.context.trim().is_empty() {
            let _ = writeln!(out, "- **Why:** {}", one_line(&d.context));
        }
        if !d.options.is_empty() {
            let _ = writeln!(
                out,
                "- **Options:** {}",
                d.options
                    .iter()
                    .map(|o| one_line(o))
                    .collect::<Vec<_>>()
                    .join("; ")
            );
        }
        if !d.consequences.trim().is_empty() {
            let _ = writeln!(out, "- **Consequences:** {}", one_line(&d.consequences));
        }
    }
    out
}

/// Line breaks folded into spaces, so a field stays one list item.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn decision(title: &str, context: &str) -> Decision {
        let at = Utc.with_ymd_and_hms(2026, 12, 7, 9, 30, 0).unwrap();
        Decision {
            id: Uuid::nil(),
            team_id: Uuid::nil(),
            goal_id: None,
            title: title.into(),
            context: context.into(),
            options: vec!["Accept the new date".into(), "Drop the goal".into()],
            decision: "Accept the new date: the deadline moves.".into(),
            consequences: String::new(),
            decided_by: Some("lee".into()),
            decided_at: at,
            created_at: at,
            updated_at: at,
        }
    }

    #[test]
    fn the_log_in_markdown_keeps_each_field_on_one_line() {
        let md = log_markdown(
            "Decisions — Payments",
            &[LogEntry {
                decision: decision(
                    "Checkout: accept the new date",
                    "Launch can wait.\n\nForecast then: 2 %",
                ),
                team: "Payments".into(),
                goal: Some("Checkout".into()),
            }],
        );
        assert!(md.starts_with("# Decisions — Payments\n"), "{md}");
        assert!(
            md.contains("## 2026-12-07 — Checkout: accept the new date\n"),
            "{md}"
        );
        assert!(
            md.contains("- **Decided by:** lee on Mon 7 Dec 2026 09:30 UTC\n"),
            "{md}"
        );
        assert!(
            md.contains("- **Why:** Launch can wait. Forecast then: 2 %\n"),
            "{md}"
        );
        assert!(
            md.contains("- **Options:** Accept the new date; Drop the goal\n"),
            "{md}"
        );
        assert!(!md.contains("Consequences"), "{md}");
        assert_eq!(
            log_markdown("Empty", &[]),
            "# Empty\n\nNo decision recorded.\n"
        );
    }

    #[test]
    fn a_goal_decision_names_what_is_wrong_in_words() {
        let input = GoalDecisionInput {
            choice: GoalDecisionChoice::AcceptDate,
            reason: "  ".into(),
            new_deadline: None,
            people: vec!["sam".into()],
            risk_id: None,
        };
        let DomainError::Invalid(errors) = input.validate().unwrap_err() else {
            panic!("not a field error");
        };
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["reason", "people"]);
        let people = GoalDecisionInput {
            choice: GoalDecisionChoice::AddPeople,
            reason: "Launch needs it".into(),
            new_deadline: None,
            people: vec![],
            risk_id: None,
        };
        assert!(people.validate().is_err());
    }
}
