//! Metric series (KPIs and delivery metrics) and their points.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::{string_enum, text};

string_enum! {
    /// Which way is better.
    Direction {
        Up => "up",
        Down => "down",
    }
}

impl Direction {
    pub fn better_word(self) -> &'static str {
        match self {
            Direction::Up => "higher",
            Direction::Down => "lower",
        }
    }
}

string_enum! {
    /// Who the metric is for: the team's engineering view or the business.
    Audience {
        Team => "team",
        Business => "business",
    }
}

string_enum! {
    /// A delivery metric a KPI is bound to: the KPI's values are computed
    /// from the team's deployments, commits and incidents by the same query
    /// as the DORA panel (`tandem_app::kpis`), not read from typed points.
    /// docs/metrics.md, "Bound KPIs".
    ComputedFrom {
        /// Deployments per week.
        DeploymentFrequency => "deployment-frequency",
        /// Median lead time for changes, in hours.
        LeadTime => "lead-time",
        /// Median time to restore, in hours (incidents).
        TimeToRestore => "time-to-restore",
        /// Change failure rate, in percent.
        ChangeFailureRate => "change-failure-rate",
    }
}

impl ComputedFrom {
    /// The unit the computed value is in.
    pub fn unit(self) -> &'static str {
        match self {
            ComputedFrom::DeploymentFrequency => "deploys",
            ComputedFrom::LeadTime | ComputedFrom::TimeToRestore => "hours",
            ComputedFrom::ChangeFailureRate => "%",
        }
    }

    /// How the value is computed, in one sentence.
    pub fn definition(self) -> &'static str {
        match self {
            ComputedFrom::DeploymentFrequency => {
                "production deployments of the team's projects per week (the DORA deployment frequency)"
            }
            ComputedFrom::LeadTime => {
                "median hours from commit to its production deployment (the DORA lead time)"
            }
            ComputedFrom::TimeToRestore => {
                "median hours from an incident's start to its resolution (the DORA time to restore)"
            }
            ComputedFrom::ChangeFailureRate => {
                "share of production deployments that caused an incident (the DORA change failure rate)"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Metric {
    pub id: Uuid,
    /// Unique key, e.g. `checkout-conversion`.
    pub key: String,
    pub name: String,
    pub description: String,
    pub unit: String,
    pub direction: Direction,
    pub audience: Audience,
    pub team_id: Option<Uuid>,
    /// Set when the metric is bound to a computed delivery metric of its
    /// team: its values come from that computation, not from points.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computed_from: Option<ComputedFrom>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMetric {
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub unit: String,
    pub direction: Direction,
    pub audience: Audience,
    #[serde(default)]
    pub team_id: Option<Uuid>,
    /// Binds the metric to a computed delivery metric of its team.
    #[serde(default)]
    pub computed_from: Option<ComputedFrom>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub unit: Option<String>,
    pub direction: Option<Direction>,
    pub audience: Option<Audience>,
    pub team_id: Option<Uuid>,
    pub computed_from: Option<ComputedFrom>,
}

impl NewMetric {
    pub fn into_metric(self, id: Uuid, now: DateTime<Utc>) -> Result<Metric, DomainError> {
        let now = crate::time::micros(now);
        let m = Metric {
            id,
            key: self.key,
            name: self.name,
            description: self.description,
            unit: self.unit,
            direction: self.direction,
            audience: self.audience,
            team_id: self.team_id,
            computed_from: self.computed_from,
            created_at: now,
            updated_at: now,
        };
        m.validate()?;
        Ok(m)
    }
}

/// Keys a stored metric cannot take: `/api/v1/metrics/{key}` serves the
/// computed delivery metrics under these names.
pub const RESERVED_KEYS: &[&str] = &[
    "dora",
    "lead-time",
    "review-time",
    "flow",
    "cycle-time",
    "throughput",
    "bugs",
    "debt-share",
    "coverage",
    "explain",
];

impl Metric {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("key", &self.key));
        if RESERVED_KEYS.contains(&self.key.as_str()) {
            p.push(
                "key",
                format!(
                    "{:?} is reserved: /api/v1/metrics/{} serves the delivery metric of that name",
                    self.key, self.key
                ),
            );
        }
        p.check(text::required("name", &self.name));
        p.check(text::bounded("description", &self.description, text::LONG));
        p.check(text::line("unit", &self.unit, 32));
        if self.computed_from.is_some() && self.team_id.is_none() {
            p.push(
                "team_id",
                "a metric computed from delivery data needs the team whose deliveries it counts",
            );
        }
        p.into_result()
    }

    pub fn apply(&mut self, patch: MetricPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(v) = patch.name {
            self.name = v;
        }
        if let Some(v) = patch.description {
            self.description = v;
        }
        if let Some(v) = patch.unit {
            self.unit = v;
        }
        if let Some(v) = patch.direction {
            self.direction = v;
        }
        if let Some(v) = patch.audience {
            self.audience = v;
        }
        if let Some(v) = patch.team_id {
            self.team_id = Some(v);
        }
        if let Some(v) = patch.computed_from {
            self.computed_from = Some(v);
        }
        self.updated_at = crate::time::micros(now);
        self.validate()
    }
}

/// One observation. A metric has at most one point per instant: writing the
/// same instant again replaces the value (so pushes are idempotent).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct MetricPoint {
    pub metric_id: Uuid,
    pub at: DateTime<Utc>,
    pub value: f64,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPoint {
    pub at: DateTime<Utc>,
    pub value: f64,
}

/// The most points one request may write.
pub const MAX_POINTS_PER_WRITE: usize = 10_000;

impl NewPoint {
    pub fn into_point(self, metric_id: Uuid, index: usize) -> Result<MetricPoint, DomainError> {
        if !self.value.is_finite() {
            return Err(DomainError::invalid(
                format!("points[{index}].value"),
                "must be a finite number",
            ));
        }
        Ok(MetricPoint {
            metric_id,
            at: crate::time::micros(self.at),
            value: self.value,
        })
    }
}
