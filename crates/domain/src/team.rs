//! Teams and their membership.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "key": "payments", "name": "Payments", "timezone": "Europe/Berlin", "created_at": "2026-01-05T09:00:00Z", "updated_at": "2026-03-02T14:30:00Z"})))]
pub struct Team {
    pub id: Uuid,
    /// Short, unique, URL-safe name, e.g. `payments`.
    pub key: String,
    pub name: String,
    /// IANA time zone used for schedules and week boundaries.
    pub timezone: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"key": "search", "name": "Search", "timezone": "Europe/Berlin"})))]
pub struct NewTeam {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamPatch {
    pub name: Option<String>,
    pub timezone: Option<String>,
}

impl NewTeam {
    pub fn into_team(self, id: Uuid, now: DateTime<Utc>) -> Result<Team, DomainError> {
        let now = crate::time::micros(now);
        let team = Team {
            id,
            key: self.key,
            name: self.name,
            timezone: self.timezone.unwrap_or_else(|| "UTC".to_owned()),
            created_at: now,
            updated_at: now,
        };
        team.validate()?;
        Ok(team)
    }
}

impl Team {
    /// The team's zone (UTC if the stored name is unknown to the tz database).
    pub fn zone(&self) -> chrono_tz::Tz {
        crate::time::zone(&self.timezone)
    }

    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("key", &self.key));
        p.check(text::required("name", &self.name));
        p.check(validate_timezone(&self.timezone));
        p.into_result()
    }

    pub fn apply(&mut self, patch: TeamPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(name) = patch.name {
            self.name = name;
        }
        if let Some(tz) = patch.timezone {
            self.timezone = tz;
        }
        self.updated_at = crate::time::micros(now);
        self.validate()
    }
}

/// Accepts names in the IANA tz database (`Europe/Berlin`, `UTC`): every
/// week, done date, debt period and schedule of the team is computed in it,
/// so an unknown name is refused here rather than read as UTC later.
fn validate_timezone(tz: &str) -> Result<(), crate::FieldError> {
    if tz.len() <= 64 && tz.parse::<chrono_tz::Tz>().is_ok() {
        Ok(())
    } else {
        Err(crate::FieldError::new(
            "timezone",
            format!(
                "{tz:?} is not an IANA time zone name known to the tz database, such as \"Europe/Berlin\" or \"UTC\""
            ),
        ))
    }
}
