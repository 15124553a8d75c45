//! Work items: features, bugs, debt, chores and incidents, with the context
//! an engineer needs (why, expected impact, current and target value).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::risk::Level;
use crate::{string_enum, text};

string_enum! {
    WorkKind {
        Feature => "feature",
        Bug => "bug",
        Debt => "debt",
        Chore => "chore",
        Incident => "incident",
    }
}

string_enum! {
    Priority {
        P0 => "P0",
        P1 => "P1",
        P2 => "P2",
        P3 => "P3",
    }
}

string_enum! {
    WorkState {
        Todo => "todo",
        InProgress => "in_progress",
        Blocked => "blocked",
        Done => "done",
        Cancelled => "cancelled",
    }
}

/// Why the item exists and what it should change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkContext {
    #[serde(default)]
    pub why: String,
    #[serde(default)]
    pub expected_impact: String,
    #[serde(default)]
    pub current_value: String,
    #[serde(default)]
    pub target_value: String,
}

/// Optional prioritisation inputs, for teams that score beyond the matrix.
///
/// RICE = reach × impact × confidence ÷ effort; WSJF = (business value + time
/// criticality + risk reduction) ÷ job size. A score is computed only when
/// all of its inputs are present.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Scores {
    /// RICE: people or events affected per period.
    #[serde(default)]
    pub reach: Option<f64>,
    /// RICE: impact per person (0.25 minimal … 3 massive).
    #[serde(default)]
    pub rice_impact: Option<f64>,
    /// RICE: confidence in the estimates, 0–1.
    #[serde(default)]
    pub confidence: Option<f64>,
    /// RICE: effort in person-weeks, above 0.
    #[serde(default)]
    pub effort: Option<f64>,
    /// WSJF: relative business value.
    #[serde(default)]
    pub business_value: Option<f64>,
    /// WSJF: relative time criticality.
    #[serde(default)]
    pub time_criticality: Option<f64>,
    /// WSJF: relative risk reduction or opportunity enablement.
    #[serde(default)]
    pub risk_reduction: Option<f64>,
    /// WSJF: relative job size, above 0.
    #[serde(default)]
    pub job_size: Option<f64>,
}

impl Scores {
    pub fn is_empty(&self) -> bool {
        *self == Scores::default()
    }

    /// reach × impact × confidence ÷ effort, when all four are given.
    pub fn rice(&self) -> Option<f64> {
        Some(self.reach? * self.rice_impact? * self.confidence? / self.effort?)
    }

    /// (business value + time criticality + risk reduction) ÷ job size.
    pub fn wsjf(&self) -> Option<f64> {
        Some(
            (self.business_value? + self.time_criticality? + self.risk_reduction?)
                / self.job_size?,
        )
    }

    fn check(&self, p: &mut Problems) {
        let all = [
            ("reach", self.reach),
            ("rice_impact", self.rice_impact),
            ("confidence", self.confidence),
            ("effort", self.effort),
            ("business_value", self.business_value),
            ("time_criticality", self.time_criticality),
            ("risk_reduction", self.risk_reduction),
            ("job_size", self.job_size),
        ];
        for (name, v) in all {
            if let Some(v) = v
                && (!v.is_finite() || v < 0.0)
            {
                p.push(
                    format!("scores.{name}"),
                    "must be a finite number, 0 or more",
                );
            }
        }
        if self.confidence.is_some_and(|c| c > 1.0) {
            p.push("scores.confidence", "is a fraction between 0 and 1");
        }
        for (name, v) in [("effort", self.effort), ("job_size", self.job_size)] {
            if v == Some(0.0) {
                p.push(format!("scores.{name}"), "must be above 0 (it divides)");
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"id": "0192f0c3-2b3c-7d4e-8f5a-6b7c8d9e0f12", "team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "project_id": "0192f0c1-9b1c-7d2e-8f3a-4b5c6d7e8f90", "goal_id": "0192f0c2-1a2b-7c3d-8e4f-5a6b7c8d9e01", "stage_id": null, "title": "Cache card tokens", "kind": "feature", "priority": "P1", "impact": "high", "complexity": "medium", "state": "in_progress", "context": {"why": "Token lookups are a third of checkout latency", "expected_impact": "p95 down by 250 ms", "current_value": "900 ms", "target_value": "300 ms"}, "scores": {}, "external_key": "PAY-431", "source": "jira", "created_at": "2026-04-01T09:00:00Z", "started_at": "2026-04-03T10:00:00Z", "done_at": null, "updated_at": "2026-04-03T10:00:00Z"})))]
pub struct WorkItem {
    pub id: Uuid,
    pub team_id: Uuid,
    pub project_id: Option<Uuid>,
    pub goal_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub title: String,
    pub kind: WorkKind,
    pub priority: Priority,
    pub impact: Option<Level>,
    pub complexity: Option<Level>,
    pub state: WorkState,
    pub context: WorkContext,
    #[serde(default)]
    pub scores: Scores,
    /// The key in the system it came from (`PAY-123`), unique per source.
    pub external_key: Option<String>,
    /// `manual`, `jira`, `github`, `gitlab`, `csv`, `demo`, ...
    pub source: String,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub done_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Cache card tokens", "kind": "feature", "impact": "high", "complexity": "medium", "context": {"why": "Token lookups are a third of checkout latency"}, "external_key": "PAY-431"})))]
pub struct NewWorkItem {
    pub team_id: Uuid,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    #[serde(default)]
    pub goal_id: Option<Uuid>,
    #[serde(default)]
    pub stage_id: Option<Uuid>,
    pub title: String,
    pub kind: WorkKind,
    /// When absent the API applies the organisation's rules: P0 for a
    /// critical production bug, else the impact × complexity matrix when
    /// both are given, else P2.
    #[serde(default)]
    pub priority: Option<Priority>,
    #[serde(default)]
    pub impact: Option<Level>,
    #[serde(default)]
    pub complexity: Option<Level>,
    #[serde(default)]
    pub state: Option<WorkState>,
    #[serde(default)]
    pub context: WorkContext,
    #[serde(default)]
    pub scores: Scores,
    #[serde(default)]
    pub external_key: Option<String>,
    #[serde(default)]
    pub source: Option<String>,
    /// When the item was created in its source; defaults to now.
    #[serde(default)]
    pub created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub done_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkItemPatch {
    pub project_id: Option<Uuid>,
    pub goal_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    pub title: Option<String>,
    pub kind: Option<WorkKind>,
    pub priority: Option<Priority>,
    pub impact: Option<Level>,
    pub complexity: Option<Level>,
    pub state: Option<WorkState>,
    pub context: Option<WorkContext>,
    pub scores: Option<Scores>,
}

impl NewWorkItem {
    /// A bare item: `title` of `kind` in a team, every optional field empty
    /// (set what you know with struct update syntax).
    pub fn new(team_id: Uuid, title: impl Into<String>, kind: WorkKind) -> Self {
        NewWorkItem {
            team_id,
            project_id: None,
            goal_id: None,
            stage_id: None,
            title: title.into(),
            kind,
            priority: None,
            impact: None,
            complexity: None,
            state: None,
            context: WorkContext::default(),
            scores: Scores::default(),
            external_key: None,
            source: None,
            created_at: None,
            started_at: None,
            done_at: None,
        }
    }

    pub fn into_item(self, id: Uuid, now: DateTime<Utc>) -> Result<WorkItem, DomainError> {
        let now = crate::time::micros(now);
        let state = self.state.unwrap_or(WorkState::Todo);
        let mut item = WorkItem {
            id,
            team_id: self.team_id,
            project_id: self.project_id,
            goal_id: self.goal_id,
            stage_id: self.stage_id,
            title: self.title,
            kind: self.kind,
            priority: self.priority.unwrap_or(Priority::P2),
            impact: self.impact,
            complexity: self.complexity,
            state,
            context: self.context,
            scores: self.scores,
            external_key: self.external_key,
            source: self.source.unwrap_or_else(|| "manual".to_owned()),
            created_at: self.created_at.map(crate::time::micros).unwrap_or(now),
            started_at: crate::time::micros_opt(self.started_at),
            done_at: crate::time::micros_opt(self.done_at),
            updated_at: now,
        };
        item.stamp_state(now);
        item.validate()?;
        Ok(item)
    }
}

impl WorkItem {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("title", &self.title));
        p.check(text::key("source", &self.source));
        if let Some(k) = &self.external_key {
            p.check(text::required("external_key", k));
        }
        for (field, v) in [
            ("context.why", &self.context.why),
            ("context.expected_impact", &self.context.expected_impact),
            ("context.current_value", &self.context.current_value),
            ("context.target_value", &self.context.target_value),
        ] {
            p.check(text::bounded(field, v, text::LONG));
        }
        self.scores.check(&mut p);
        if let Some(started) = self.started_at
            && started < self.created_at
        {
            p.push("started_at", "is before created_at");
        }
        if let Some(done) = self.done_at {
            if done < self.created_at {
                p.push("done_at", "is before created_at");
            }
            if self.started_at.is_some_and(|s| done < s) {
                p.push("done_at", "is before started_at");
            }
        }
        if self.state != WorkState::Done && self.done_at.is_some() {
            p.push("done_at", format!("is set but the item is {}", self.state));
        }
        p.into_result()
    }

    /// Keeps the timestamps true to the state: work that is under way has
    /// started; done work has started and finished; reopened work is not done.
    fn stamp_state(&mut self, now: DateTime<Utc>) {
        match self.state {
            WorkState::InProgress | WorkState::Blocked => {
                self.started_at.get_or_insert(now);
                self.done_at = None;
            }
            WorkState::Done => {
                let done = *self.done_at.get_or_insert(now);
                self.started_at.get_or_insert(done);
            }
            WorkState::Todo | WorkState::Cancelled => self.done_at = None,
        }
    }

    pub fn apply(&mut self, patch: WorkItemPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        let now = crate::time::micros(now);
        if let Some(v) = patch.project_id {
            self.project_id = Some(v);
        }
        if let Some(v) = patch.goal_id {
            self.goal_id = Some(v);
        }
        if let Some(v) = patch.stage_id {
            self.stage_id = Some(v);
        }
        if let Some(v) = patch.title {
            self.title = v;
        }
        if let Some(v) = patch.kind {
            self.kind = v;
        }
        if let Some(v) = patch.priority {
            self.priority = v;
        }
        if let Some(v) = patch.impact {
            self.impact = Some(v);
        }
        if let Some(v) = patch.complexity {
            self.complexity = Some(v);
        }
        if let Some(v) = patch.context {
            self.context = v;
        }
        if let Some(v) = patch.scores {
            self.scores = v;
        }
        if let Some(state) = patch.state
            && state != self.state
        {
            self.state = state;
            self.stamp_state(now);
        }
        self.updated_at = now;
        self.validate()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn new_item(state: Option<WorkState>) -> NewWorkItem {
        NewWorkItem {
            state,
            ..NewWorkItem::new(Uuid::nil(), "Cache the user list", WorkKind::Feature)
        }
    }

    #[test]
    fn state_changes_stamp_times() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let t1 = Utc.with_ymd_and_hms(2026, 11, 3, 9, 0, 0).unwrap();
        let t2 = Utc.with_ymd_and_hms(2026, 11, 4, 9, 0, 0).unwrap();
        let mut item = new_item(None).into_item(Uuid::nil(), t0).unwrap();
        assert_eq!((item.priority, item.state), (Priority::P2, WorkState::Todo));
        item.apply(
            WorkItemPatch {
                state: Some(WorkState::InProgress),
                ..Default::default()
            },
            t1,
        )
        .unwrap();
        assert_eq!(item.started_at, Some(t1));
        item.apply(
            WorkItemPatch {
                state: Some(WorkState::Done),
                ..Default::default()
            },
            t2,
        )
        .unwrap();
        assert_eq!((item.started_at, item.done_at), (Some(t1), Some(t2)));
        item.apply(
            WorkItemPatch {
                state: Some(WorkState::InProgress),
                ..Default::default()
            },
            t2,
        )
        .unwrap();
        assert_eq!(item.done_at, None);
    }

    #[test]
    fn done_before_created_is_refused() {
        let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
        let mut n = new_item(Some(WorkState::Done));
        n.created_at = Some(t0);
        n.done_at = Some(t0 - chrono::Duration::days(1));
        let err = n.into_item(Uuid::nil(), t0).unwrap_err();
        assert!(err.fields().contains(&"done_at"));
    }
}
