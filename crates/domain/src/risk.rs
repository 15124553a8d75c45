//! Risks: what could make a deadline slip, and what is being done about it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::{string_enum, text};

string_enum! {
    /// How likely a risk is, or how much it would hurt.
    #[schema(as = RiskLevel)]
    Level {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

string_enum! {
    /// Who raised the risk: a person, or one of Tandem's own checks.
    RiskSource {
        Manual => "manual",
        /// The forecast says a deadline is at risk.
        Forecast => "forecast",
        /// Work in progress that has not changed for days.
        Stale => "stale",
        /// Work marked blocked.
        Blocked => "blocked",
    }
}

string_enum! {
    RiskStatus {
        Open => "open",
        Mitigating => "mitigating",
        Closed => "closed",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Risk {
    pub id: Uuid,
    pub team_id: Uuid,
    pub goal_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub title: String,
    pub description: String,
    pub likelihood: Level,
    pub impact: Level,
    /// What is being done about it.
    pub plan: String,
    pub owner: Option<String>,
    /// How many days the schedule moves if the risk happens.
    pub schedule_impact_days: i32,
    pub status: RiskStatus,
    /// `manual` for risks people raise; Tandem's checks raise the others.
    #[serde(default = "manual")]
    pub source: RiskSource,
    /// What raised it, e.g. `forecast:goal:<id>`: at most one risk per cause,
    /// so a check that runs again updates its risk instead of adding one.
    #[serde(default)]
    pub cause_key: Option<String>,
    /// The update to send, drafted by Tandem: what was found, the deadline at
    /// risk, the plan, the realistic ETA, and an alternative.
    #[serde(default)]
    pub drafted_update: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
}

fn manual() -> RiskSource {
    RiskSource::Manual
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRisk {
    pub team_id: Uuid,
    #[serde(default)]
    pub goal_id: Option<Uuid>,
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub likelihood: Level,
    pub impact: Level,
    #[serde(default)]
    pub plan: String,
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub schedule_impact_days: i32,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskPatch {
    pub title: Option<String>,
    pub description: Option<String>,
    pub likelihood: Option<Level>,
    pub impact: Option<Level>,
    pub plan: Option<String>,
    pub owner: Option<String>,
    pub schedule_impact_days: Option<i32>,
    pub status: Option<RiskStatus>,
}

impl NewRisk {
    pub fn into_risk(self, id: Uuid, now: DateTime<Utc>) -> Result<Risk, DomainError> {
        let now = crate::time::micros(now);
        let r = Risk {
            id,
            team_id: self.team_id,
            goal_id: self.goal_id,
            stage_id: self.stage_id,
            title: self.title,
            description: self.description,
            likelihood: self.likelihood,
            impact: self.impact,
            plan: self.plan,
            owner: self.owner,
            schedule_impact_days: self.schedule_impact_days,
            status: RiskStatus::Open,
            source: RiskSource::Manual,
            cause_key: None,
            drafted_update: String::new(),
            created_at: now,
            updated_at: now,
            closed_at: None,
        };
        r.validate()?;
        Ok(r)
    }
}

impl Risk {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("title", &self.title));
        p.check(text::bounded("description", &self.description, text::LONG));
        p.check(text::bounded("plan", &self.plan, text::LONG));
        p.check(text::bounded(
            "drafted_update",
            &self.drafted_update,
            text::LONG,
        ));
        if let Some(key) = &self.cause_key {
            p.check(text::required("cause_key", key));
        }
        if let Some(o) = &self.owner {
            p.check(text::required("owner", o));
        }
        if !(0..=3650).contains(&self.schedule_impact_days) {
            p.push(
                "schedule_impact_days",
                format!("{} is outside 0..=3650", self.schedule_impact_days),
            );
        }
        p.into_result()
    }

    /// Applies an edit; closing stamps `closed_at`, reopening clears it.
    pub fn apply(&mut self, patch: RiskPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        let now = crate::time::micros(now);
        if let Some(v) = patch.title {
            self.title = v;
        }
        if let Some(v) = patch.description {
            self.description = v;
        }
        if let Some(v) = patch.likelihood {
            self.likelihood = v;
        }
        if let Some(v) = patch.impact {
            self.impact = v;
        }
        if let Some(v) = patch.plan {
            self.plan = v;
        }
        if let Some(v) = patch.owner {
            self.owner = Some(v);
        }
        if let Some(v) = patch.schedule_impact_days {
            self.schedule_impact_days = v;
        }
        if let Some(status) = patch.status {
            match (self.status, status) {
                (RiskStatus::Closed, RiskStatus::Closed) => {}
                (_, RiskStatus::Closed) => self.closed_at = Some(now),
                _ => self.closed_at = None,
            }
            self.status = status;
        }
        self.updated_at = now;
        self.validate()
    }
}
