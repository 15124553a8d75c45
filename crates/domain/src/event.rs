//! Raw engineering events (deliveries from webhooks, CI, incident tools).
//! High volume: stored through the batched bulk path, deduplicated on
//! `(source, external_id)` so a replayed delivery counts once.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    pub id: Uuid,
    /// Where it came from: `github`, `gitlab`, `api`, ...
    pub source: String,
    /// The delivery's own id, unique within the source.
    pub external_id: String,
    /// What it is: `deployment`, `incident`, `push`, ...
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
}

impl Event {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("source", &self.source));
        p.check(text::required("external_id", &self.external_id));
        p.check(text::key("kind", &self.kind));
        p.into_result()
    }
}
