//! Goals as agreements between the business and the team.
//!
//! A goal has the essay's five parts: the business goal, the technical tasks,
//! success metrics, the timeline (risks hang off it), and responsible parties.
//! Lifecycle: `draft → agreed → in_progress → done`, and any open goal may be
//! `dropped`. A goal cannot be agreed until it names an owner and at least one
//! success metric with a baseline, a target and a deadline. Every change after
//! agreement is kept as a [`GoalVersion`].

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::metric::Direction;
use crate::{string_enum, text};

string_enum! {
    GoalStatus {
        Draft => "draft",
        Agreed => "agreed",
        InProgress => "in_progress",
        Done => "done",
        Dropped => "dropped",
    }
}

impl GoalStatus {
    /// Done and dropped goals no longer change state.
    pub fn is_closed(self) -> bool {
        matches!(self, GoalStatus::Done | GoalStatus::Dropped)
    }
}

string_enum! {
    /// The lifecycle transitions a goal accepts.
    GoalTransition {
        Agree => "agree",
        Start => "start",
        Complete => "complete",
        Drop => "drop",
    }
}

/// How the goal's success is measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SuccessMetric {
    /// What is measured, in words: "p95 latency of /users".
    pub metric: String,
    /// The Tandem metric series that measures it, when there is one.
    #[serde(default)]
    pub metric_key: Option<String>,
    #[serde(default)]
    pub baseline: Option<f64>,
    #[serde(default)]
    pub target: Option<f64>,
    #[serde(default = "default_direction")]
    pub direction: Direction,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
}

fn default_direction() -> Direction {
    Direction::Up
}

/// Who is responsible. Names as people know them (not necessarily users).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Parties {
    #[serde(default)]
    pub owner: Option<String>,
    #[serde(default)]
    pub requester: Option<String>,
    #[serde(default)]
    pub contributors: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Timeline {
    #[serde(default)]
    pub starts_on: Option<NaiveDate>,
    #[serde(default)]
    pub deadline: Option<NaiveDate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"id": "0192f0c2-1a2b-7c3d-8e4f-5a6b7c8d9e01", "team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "project_id": "0192f0c1-9b1c-7d2e-8f3a-4b5c6d7e8f90", "title": "Checkout answers in under 300 ms", "business_goal": "Fewer abandoned baskets at peak hours", "technical_tasks": "Cache card tokens; move fraud checks off the request path", "hypotheses": ["Slow checkout loses customers"], "success_metrics": [{"metric": "p95 checkout latency", "metric_key": "checkout-p95", "baseline": 900.0, "target": 300.0, "unit": "ms", "direction": "down", "deadline": "2026-06-30"}], "parties": {"requester": "lee", "owner": "maria", "contributors": ["sam"]}, "timeline": {"starts_on": "2026-04-01", "deadline": "2026-06-30"}, "status": "in_progress", "version": 2, "agreed_at": "2026-03-28T10:00:00Z", "agreed_by": "maria", "created_at": "2026-03-20T09:00:00Z", "updated_at": "2026-04-02T08:15:00Z"})))]
pub struct Goal {
    pub id: Uuid,
    pub team_id: Uuid,
    pub project_id: Option<Uuid>,
    pub title: String,
    /// The business goal in the requester's words.
    pub business_goal: String,
    /// The technical tasks, in the team's words.
    pub technical_tasks: String,
    /// The hypotheses this goal tests.
    pub hypotheses: Vec<String>,
    pub success_metrics: Vec<SuccessMetric>,
    pub parties: Parties,
    pub timeline: Timeline,
    pub status: GoalStatus,
    /// 0 while a draft; 1 when agreed; +1 for every later change.
    pub version: i32,
    pub agreed_at: Option<DateTime<Utc>>,
    pub agreed_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "title": "Checkout answers in under 300 ms", "business_goal": "Fewer abandoned baskets at peak hours", "hypotheses": ["Slow checkout loses customers"], "success_metrics": [{"metric": "p95 checkout latency", "baseline": 900.0, "target": 300.0, "unit": "ms", "direction": "down"}], "parties": {"requester": "lee", "owner": "maria"}, "timeline": {"starts_on": "2026-04-01", "deadline": "2026-06-30"}})))]
pub struct NewGoal {
    pub team_id: Uuid,
    #[serde(default)]
    pub project_id: Option<Uuid>,
    pub title: String,
    #[serde(default)]
    pub business_goal: String,
    #[serde(default)]
    pub technical_tasks: String,
    #[serde(default)]
    pub hypotheses: Vec<String>,
    #[serde(default)]
    pub success_metrics: Vec<SuccessMetric>,
    #[serde(default)]
    pub parties: Parties,
    #[serde(default)]
    pub timeline: Timeline,
}

/// A partial update: absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GoalPatch {
    pub title: Option<String>,
    pub project_id: Option<Uuid>,
    pub business_goal: Option<String>,
    pub technical_tasks: Option<String>,
    pub hypotheses: Option<Vec<String>>,
    pub success_metrics: Option<Vec<SuccessMetric>>,
    pub parties: Option<Parties>,
    pub timeline: Option<Timeline>,
}

/// One changed field between two versions, as JSON values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FieldChange {
    pub field: String,
    /// The field's value before: any JSON value (a string for `status`, an
    /// object for `timeline`, …).
    pub before: serde_json::Value,
    /// The field's value after, as `before`.
    pub after: serde_json::Value,
}

/// A recorded change to an agreed goal: who, when, what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GoalVersion {
    pub goal_id: Uuid,
    pub version: i32,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    /// `agree`, `start`, `complete`, `drop`, `edit` or `decision`.
    pub action: String,
    pub changes: Vec<FieldChange>,
}

/// The outcome of a change: the new goal and, when the goal is under
/// agreement, the version entry to keep.
#[derive(Debug, Clone, PartialEq)]
pub struct GoalChange {
    pub goal: Goal,
    pub version: Option<GoalVersion>,
}

impl NewGoal {
    pub fn into_goal(self, id: Uuid, now: DateTime<Utc>) -> Result<Goal, DomainError> {
        let now = crate::time::micros(now);
        let goal = Goal {
            id,
            team_id: self.team_id,
            project_id: self.project_id,
            title: self.title,
            business_goal: self.business_goal,
            technical_tasks: self.technical_tasks,
            hypotheses: self.hypotheses,
            success_metrics: self.success_metrics,
            parties: self.parties,
            timeline: self.timeline,
            status: GoalStatus::Draft,
            version: 0,
            agreed_at: None,
            agreed_by: None,
            created_at: now,
            updated_at: now,
        };
        goal.validate()?;
        Ok(goal)
    }
}

impl Goal {
    /// Rules that hold in every state: lengths, shapes, consistent numbers.
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::required("title", &self.title));
        p.check(text::bounded(
            "business_goal",
            &self.business_goal,
            text::LONG,
        ));
        p.check(text::bounded(
            "technical_tasks",
            &self.technical_tasks,
            text::LONG,
        ));
        if self.hypotheses.len() > 50 {
            p.push("hypotheses", "more than 50 hypotheses");
        }
        for (i, h) in self.hypotheses.iter().enumerate() {
            let field = format!("hypotheses[{i}]");
            if h.trim().is_empty() {
                p.push(field, "must not be empty");
            } else {
                p.check(text::bounded(&field, h, text::LONG));
            }
        }
        if self.success_metrics.len() > 20 {
            p.push("success_metrics", "more than 20 success metrics");
        }
        for (i, m) in self.success_metrics.iter().enumerate() {
            m.check_shape(&format!("success_metrics[{i}]"), &mut p);
        }
        for (field, who) in [
            ("parties.owner", &self.parties.owner),
            ("parties.requester", &self.parties.requester),
        ] {
            if let Some(who) = who {
                p.check(text::required(field, who));
            }
        }
        crate::project::check_list(&mut p, "parties.contributors", &self.parties.contributors);
        if let (Some(start), Some(end)) = (self.timeline.starts_on, self.timeline.deadline)
            && end < start
        {
            p.push(
                "timeline.deadline",
                format!("{end} is before the start date {start}"),
            );
        }
        p.into_result()
    }

    /// What is missing before this goal can be agreed. Each problem names its
    /// field; an empty list means the goal is ready.
    pub fn agreement_gaps(&self) -> Vec<crate::FieldError> {
        let mut p = Vec::new();
        let missing = |field: String, what: &str| crate::FieldError::new(field, what.to_owned());
        if self
            .parties
            .owner
            .as_deref()
            .is_none_or(|o| o.trim().is_empty())
        {
            p.push(missing(
                "parties.owner".into(),
                "an agreed goal needs an owner",
            ));
        }
        if self.business_goal.trim().is_empty() {
            p.push(missing(
                "business_goal".into(),
                "an agreed goal states the business goal",
            ));
        }
        if self.success_metrics.is_empty() {
            p.push(missing(
                "success_metrics".into(),
                "an agreed goal needs at least one success metric with baseline, target and deadline",
            ));
        }
        for (i, m) in self.success_metrics.iter().enumerate() {
            if m.baseline.is_none() {
                p.push(missing(
                    format!("success_metrics[{i}].baseline"),
                    "is missing",
                ));
            }
            if m.target.is_none() {
                p.push(missing(
                    format!("success_metrics[{i}].target"),
                    "is missing",
                ));
            }
            if m.deadline.is_none() && self.timeline.deadline.is_none() {
                p.push(missing(
                    format!("success_metrics[{i}].deadline"),
                    "is missing (and the goal's timeline has no deadline)",
                ));
            }
        }
        p
    }

    /// Applies a lifecycle transition by `actor` at `now`.
    pub fn transition(
        &self,
        action: GoalTransition,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<GoalChange, DomainError> {
        use GoalStatus::*;
        let now = crate::time::micros(now);
        let to = match (action, self.status) {
            (GoalTransition::Agree, Draft) => Agreed,
            (GoalTransition::Start, Agreed) => InProgress,
            (GoalTransition::Complete, InProgress) => Done,
            (GoalTransition::Drop, from) if !from.is_closed() => Dropped,
            (_, from) => {
                return Err(DomainError::InvalidTransition {
                    entity: "goal",
                    action: action.as_str(),
                    from: from.to_string(),
                });
            }
        };
        if action == GoalTransition::Agree {
            let gaps = self.agreement_gaps();
            if !gaps.is_empty() {
                return Err(DomainError::Invalid(gaps));
            }
        }
        let mut next = self.clone();
        next.status = to;
        next.updated_at = now;
        if action == GoalTransition::Agree {
            next.agreed_at = Some(now);
            next.agreed_by = Some(actor.to_owned());
        }
        let version = if self.status == Draft && to == Dropped {
            // A dropped draft was never agreed: nothing to version.
            None
        } else {
            next.version += 1;
            Some(GoalVersion {
                goal_id: self.id,
                version: next.version,
                changed_at: now,
                changed_by: actor.to_owned(),
                action: action.as_str().to_owned(),
                changes: diff(self, &next),
            })
        };
        Ok(GoalChange {
            goal: next,
            version,
        })
    }

    /// Applies an edit. Closed goals cannot be edited; edits to agreed goals
    /// are versioned, and must keep the goal agreeable.
    pub fn apply(
        &self,
        patch: GoalPatch,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<GoalChange, DomainError> {
        if self.status.is_closed() {
            return Err(DomainError::InvalidTransition {
                entity: "goal",
                action: "edit",
                from: self.status.to_string(),
            });
        }
        let now = crate::time::micros(now);
        let mut next = self.clone();
        if let Some(v) = patch.title {
            next.title = v;
        }
        if let Some(v) = patch.project_id {
            next.project_id = Some(v);
        }
        if let Some(v) = patch.business_goal {
            next.business_goal = v;
        }
        if let Some(v) = patch.technical_tasks {
            next.technical_tasks = v;
        }
        if let Some(v) = patch.hypotheses {
            next.hypotheses = v;
        }
        if let Some(v) = patch.success_metrics {
            next.success_metrics = v;
        }
        if let Some(v) = patch.parties {
            next.parties = v;
        }
        if let Some(v) = patch.timeline {
            next.timeline = v;
        }
        next.validate()?;
        let changes = diff(self, &next);
        if changes.is_empty() {
            return Ok(GoalChange {
                goal: self.clone(),
                version: None,
            });
        }
        next.updated_at = now;
        if self.status == GoalStatus::Draft {
            return Ok(GoalChange {
                goal: next,
                version: None,
            });
        }
        let gaps = next.agreement_gaps();
        if !gaps.is_empty() {
            return Err(DomainError::Invalid(gaps));
        }
        next.version += 1;
        Ok(GoalChange {
            version: Some(GoalVersion {
                goal_id: self.id,
                version: next.version,
                changed_at: now,
                changed_by: actor.to_owned(),
                action: "edit".to_owned(),
                changes,
            }),
            goal: next,
        })
    }
}

impl Goal {
    /// Records a business decision about a goal under agreement (agreed or
    /// in progress): `patch` applied to its fields (it may be empty) and
    /// `extra`, the changes outside them (items moved out of its scope), as
    /// one version with the action `decision`. A decision that changes
    /// nothing is refused.
    pub fn decide(
        &self,
        patch: GoalPatch,
        extra: Vec<FieldChange>,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<GoalChange, DomainError> {
        if !matches!(self.status, GoalStatus::Agreed | GoalStatus::InProgress) {
            return Err(DomainError::InvalidTransition {
                entity: "goal",
                action: "decide",
                from: self.status.to_string(),
            });
        }
        let now = crate::time::micros(now);
        let applied = self.apply(patch, actor, now)?;
        let mut changes = applied.version.map(|v| v.changes).unwrap_or_default();
        changes.extend(extra);
        if changes.is_empty() {
            return Err(DomainError::invalid(
                "choice",
                "this decision changes nothing about the goal",
            ));
        }
        let mut next = applied.goal;
        next.version = self.version + 1;
        next.updated_at = now;
        Ok(GoalChange {
            version: Some(GoalVersion {
                goal_id: self.id,
                version: next.version,
                changed_at: now,
                changed_by: actor.to_owned(),
                action: "decision".to_owned(),
                changes,
            }),
            goal: next,
        })
    }
}

impl SuccessMetric {
    /// How far `current` has moved from the baseline towards the target:
    /// (current − baseline) ÷ (target − baseline). 0 at the baseline, 1 at the
    /// target, below 0 when things got worse, above 1 past the target. The
    /// direction is in the sign of (target − baseline), so the same formula
    /// holds for "lower is better". None without baseline and target.
    pub fn progress(&self, current: f64) -> Option<f64> {
        let (baseline, target) = (self.baseline?, self.target?);
        let span = target - baseline;
        (span != 0.0 && current.is_finite()).then(|| (current - baseline) / span)
    }

    /// True when `current` meets or beats the target in the metric's direction.
    pub fn is_met(&self, current: f64) -> Option<bool> {
        let target = self.target?;
        Some(match self.direction {
            Direction::Up => current >= target,
            Direction::Down => current <= target,
        })
    }

    fn check_shape(&self, field: &str, p: &mut Problems) {
        p.check(text::required(&format!("{field}.metric"), &self.metric));
        if let Some(key) = &self.metric_key {
            p.check(text::key(&format!("{field}.metric_key"), key));
        }
        p.check(text::line(&format!("{field}.unit"), &self.unit, 32));
        for (name, v) in [("baseline", self.baseline), ("target", self.target)] {
            if v.is_some_and(|v| !v.is_finite()) {
                p.push(format!("{field}.{name}"), "must be a finite number");
            }
        }
        if let (Some(b), Some(t)) = (self.baseline, self.target) {
            let wrong_way = match self.direction {
                Direction::Up => t <= b,
                Direction::Down => t >= b,
            };
            if wrong_way {
                p.push(
                    format!("{field}.target"),
                    format!(
                        "target {t} does not improve on baseline {b} when {} is better",
                        self.direction.better_word()
                    ),
                );
            }
        }
    }
}

/// A goal whose deadline has passed, with whether every success metric met
/// its target by the deadline (the latest value at or before it).
#[derive(Debug, Clone, PartialEq)]
pub struct GoalOutcome {
    pub goal_id: Uuid,
    pub deadline: NaiveDate,
    pub achieved: bool,
}

/// Goal achievement rate: achieved goals ÷ goals whose deadline falls in
/// `[from, to)`. None when no deadline falls in the period.
pub fn achievement_rate(outcomes: &[GoalOutcome], from: NaiveDate, to: NaiveDate) -> Option<f64> {
    let due: Vec<_> = outcomes
        .iter()
        .filter(|o| o.deadline >= from && o.deadline < to)
        .collect();
    if due.is_empty() {
        return None;
    }
    let achieved = due.iter().filter(|o| o.achieved).count();
    Some(achieved as f64 / due.len() as f64)
}

/// The agreement fields that differ between two goals, in a fixed order.
pub fn diff(old: &Goal, new: &Goal) -> Vec<FieldChange> {
    let a = agreement_fields(old);
    let b = agreement_fields(new);
    a.into_iter()
        .zip(b)
        .filter(|((_, x), (_, y))| x != y)
        .map(|((field, before), (_, after))| FieldChange {
            field: field.to_owned(),
            before,
            after,
        })
        .collect()
}

fn agreement_fields(g: &Goal) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        ("title", json!(g.title)),
        ("project_id", json!(g.project_id)),
        ("business_goal", json!(g.business_goal)),
        ("technical_tasks", json!(g.technical_tasks)),
        ("hypotheses", json!(g.hypotheses)),
        ("success_metrics", json!(g.success_metrics)),
        ("parties", json!(g.parties)),
        ("timeline", json!(g.timeline)),
        ("status", json!(g.status)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
    }

    fn draft() -> Goal {
        NewGoal {
            team_id: Uuid::nil(),
            project_id: None,
            title: "Faster user list".into(),
            business_goal: "More conversions".into(),
            technical_tasks: String::new(),
            hypotheses: vec![],
            success_metrics: vec![],
            parties: Parties::default(),
            timeline: Timeline::default(),
        }
        .into_goal(Uuid::nil(), now())
        .unwrap()
    }

    fn metric() -> SuccessMetric {
        SuccessMetric {
            metric: "p95 latency of /users".into(),
            metric_key: None,
            baseline: Some(500.0),
            target: Some(300.0),
            direction: Direction::Down,
            unit: "ms".into(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15),
        }
    }

    #[test]
    fn agreeing_names_every_missing_part() {
        let err = draft()
            .transition(GoalTransition::Agree, "ana", now())
            .unwrap_err();
        assert_eq!(err.fields(), vec!["parties.owner", "success_metrics"]);

        let mut g = draft();
        g.success_metrics = vec![SuccessMetric {
            baseline: None,
            deadline: None,
            ..metric()
        }];
        let err = g
            .transition(GoalTransition::Agree, "ana", now())
            .unwrap_err();
        assert_eq!(
            err.fields(),
            vec![
                "parties.owner",
                "success_metrics[0].baseline",
                "success_metrics[0].deadline"
            ]
        );
    }

    #[test]
    fn agreed_goal_records_sign_off_and_versions_edits() {
        let mut g = draft();
        g.parties.owner = Some("Ana".into());
        g.success_metrics = vec![metric()];
        let agreed = g.transition(GoalTransition::Agree, "ana", now()).unwrap();
        assert_eq!(agreed.goal.status, GoalStatus::Agreed);
        assert_eq!(agreed.goal.agreed_by.as_deref(), Some("ana"));
        assert_eq!(agreed.goal.version, 1);
        let v = agreed.version.unwrap();
        assert_eq!(v.action, "agree");
        assert_eq!(v.changes[0].field, "status");

        let patch = GoalPatch {
            title: Some("Fast user list".into()),
            ..GoalPatch::default()
        };
        let edited = agreed.goal.apply(patch, "bo", now()).unwrap();
        let v = edited.version.unwrap();
        assert_eq!((v.version, v.changed_by.as_str()), (2, "bo"));
        assert_eq!(v.changes.len(), 1);
        assert_eq!(v.changes[0].before, serde_json::json!("Faster user list"));

        // An edit to an agreed goal may not remove what agreement needs.
        let patch = GoalPatch {
            success_metrics: Some(vec![]),
            ..GoalPatch::default()
        };
        let err = edited.goal.apply(patch, "bo", now()).unwrap_err();
        assert_eq!(err.fields(), vec!["success_metrics"]);
    }

    #[test]
    fn draft_edits_are_not_versioned_and_noop_edits_change_nothing() {
        let g = draft();
        let change = g
            .apply(
                GoalPatch {
                    title: Some("New".into()),
                    ..GoalPatch::default()
                },
                "ana",
                now(),
            )
            .unwrap();
        assert!(change.version.is_none());
        assert_eq!(change.goal.title, "New");
        let same = g.apply(GoalPatch::default(), "ana", now()).unwrap();
        assert_eq!(same.goal, g);
    }

    #[test]
    fn lifecycle_refuses_skips() {
        let g = draft();
        let err = g
            .transition(GoalTransition::Complete, "ana", now())
            .unwrap_err();
        assert_eq!(err.to_string(), "cannot complete a goal that is draft");
        let dropped = g.transition(GoalTransition::Drop, "ana", now()).unwrap();
        assert!(dropped.version.is_none());
        assert!(
            dropped
                .goal
                .transition(GoalTransition::Drop, "ana", now())
                .is_err()
        );
    }

    #[test]
    fn progress_follows_direction() {
        let down = metric(); // 500 → 300 ms, lower is better
        assert_eq!(down.progress(500.0), Some(0.0));
        assert_eq!(down.progress(400.0), Some(0.5));
        assert_eq!(down.progress(300.0), Some(1.0));
        assert_eq!(down.progress(600.0), Some(-0.5));
        assert_eq!(down.is_met(299.0), Some(true));
        assert_eq!(down.is_met(301.0), Some(false));
        let up = SuccessMetric {
            baseline: Some(2.0),
            target: Some(2.5),
            direction: Direction::Up,
            ..metric()
        };
        assert_eq!(up.progress(2.25), Some(0.5));
        assert_eq!(up.is_met(2.5), Some(true));
        let incomplete = SuccessMetric {
            baseline: None,
            ..metric()
        };
        assert_eq!(incomplete.progress(1.0), None);
    }

    #[test]
    fn achievement_rate_counts_goals_due_in_the_period() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let o = |day: u32, achieved| GoalOutcome {
            goal_id: Uuid::nil(),
            deadline: d(10, day),
            achieved,
        };
        let outcomes = [o(1, true), o(10, false), o(20, true), o(31, true)];
        assert_eq!(
            achievement_rate(&outcomes, d(10, 1), d(10, 31)),
            Some(2.0 / 3.0)
        );
        assert_eq!(achievement_rate(&outcomes, d(11, 1), d(12, 1)), None);
    }

    #[test]
    fn target_must_improve_on_baseline() {
        let mut g = draft();
        g.success_metrics = vec![SuccessMetric {
            direction: Direction::Up,
            ..metric()
        }];
        let err = g.validate().unwrap_err();
        assert_eq!(err.fields(), vec!["success_metrics[0].target"]);
    }
}
