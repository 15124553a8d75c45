//! Decisions: the log of what was decided, why, and what follows from it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::text;

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
