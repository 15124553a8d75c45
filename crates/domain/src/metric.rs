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
