//! Stages: the steps a goal is broken into (the essay: at most two weeks each).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::text;

/// The largest stage position: far more stages than any goal needs, and room
/// to append without overflow.
pub const MAX_POSITION: i32 = 10_000;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Stage {
    pub id: Uuid,
    pub goal_id: Uuid,
    pub name: String,
    pub description: String,
    /// Order within the goal, from 1.
    pub position: i32,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewStage {
    pub goal_id: Uuid,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub position: Option<i32>,
    #[serde(default)]
    pub starts_on: Option<NaiveDate>,
    #[serde(default)]
    pub ends_on: Option<NaiveDate>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StagePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub position: Option<i32>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

impl NewStage {
    /// `next_position` is used when the input names none.
    pub fn into_stage(
        self,
        id: Uuid,
        next_position: i32,
        now: DateTime<Utc>,
    ) -> Result<Stage, DomainError> {
        let now = crate::time::micros(now);
        let s = Stage {
            id,
            goal_id: self.goal_id,
            name: self.name,
            description: self.description,
            position: self.position.unwrap_or(next_position),
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            created_at: now,
            updated_at: now,
        };
        s.validate()?;
        Ok(s)
    }
}

impl Stage {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("name", &self.name));
        p.check(text::bounded("description", &self.description, text::LONG));
        if !(1..=MAX_POSITION).contains(&self.position) {
            p.push("position", format!("must be between 1 and {MAX_POSITION}"));
        }
        if let (Some(s), Some(e)) = (self.starts_on, self.ends_on)
            && e < s
        {
            p.push("ends_on", format!("{e} is before the start date {s}"));
        }
        p.into_result()
    }

    /// Calendar days from start to end, both included, when both are known.
    pub fn length_days(&self) -> Option<i64> {
        Some((self.ends_on? - self.starts_on?).num_days() + 1)
    }

    pub fn apply(&mut self, patch: StagePatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(v) = patch.name {
            self.name = v;
        }
        if let Some(v) = patch.description {
            self.description = v;
        }
        if let Some(v) = patch.position {
            self.position = v;
        }
        if let Some(v) = patch.starts_on {
            self.starts_on = Some(v);
        }
        if let Some(v) = patch.ends_on {
            self.ends_on = Some(v);
        }
        self.updated_at = crate::time::micros(now);
        self.validate()
    }
}
