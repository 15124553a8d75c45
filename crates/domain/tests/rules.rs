//! Property tests for the domain rules: agreement, goal versioning, text
//! limits, work-item timestamps and the string enums.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

use tandem_domain::DomainError;
use tandem_domain::goal::{
    Goal, GoalPatch, GoalStatus, GoalTransition, Parties, SuccessMetric, Timeline, diff,
};
use tandem_domain::metric::{Audience, Direction};
use tandem_domain::risk::{Level, RiskStatus};
use tandem_domain::text;
use tandem_domain::user::Role;
use tandem_domain::work_item::{
    NewWorkItem, Priority, WorkContext, WorkItemPatch, WorkKind, WorkState,
};

fn base_time() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

/// An instant with sub-microsecond noise, to exercise truncation.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..10_000_000, 0i64..1_000_000_000).prop_map(|(secs, nanos)| {
        base_time() + Duration::seconds(secs) + Duration::nanoseconds(nanos)
    })
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..400).prop_map(|d| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Duration::days(d))
}

/// Names that may be missing, empty, blank or real.
fn maybe_name() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(String::new())),
        1 => Just(Some("   ".to_owned())),
        4 => "[A-Za-z][A-Za-z ]{0,12}".prop_map(Some),
    ]
}

fn free_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just(String::new()),
        1 => Just(" \n ".to_owned()),
        4 => "[a-z][a-z ]{0,20}",
    ]
}

/// A success metric whose parts are each independently present or not, and
/// whose numbers always improve in the stated direction (so it is valid).
fn success_metric() -> impl Strategy<Value = SuccessMetric> {
    (
        select(Direction::ALL.to_vec()),
        proptest::option::weighted(0.85, -1000.0f64..1000.0),
        proptest::option::weighted(0.85, 0.5f64..500.0),
        proptest::option::weighted(0.7, date()),
        proptest::bool::weighted(0.85),
    )
        .prop_map(|(direction, baseline, delta, deadline, with_target)| {
            let target = match (with_target, baseline, delta) {
                (false, _, _) => None,
                (true, Some(b), Some(d)) => Some(match direction {
                    Direction::Up => b + d,
                    Direction::Down => b - d,
                }),
                (true, None, d) => d,
                (true, Some(b), None) => Some(match direction {
                    Direction::Up => b + 1.0,
                    Direction::Down => b - 1.0,
                }),
            };
            SuccessMetric {
                metric: "p95 latency of /users".to_owned(),
                metric_key: Some("users-p95-latency".to_owned()),
                baseline,
                target,
                direction,
                unit: "ms".to_owned(),
                deadline,
            }
        })
}

fn goal_with(
    status: GoalStatus,
    owner: Option<String>,
    business_goal: String,
    success_metrics: Vec<SuccessMetric>,
    deadline: Option<NaiveDate>,
) -> Goal {
    let version = if status == GoalStatus::Draft { 0 } else { 1 };
    Goal {
        id: Uuid::from_u128(1),
        team_id: Uuid::from_u128(2),
        project_id: None,
        title: "Faster user list".to_owned(),
        business_goal,
        technical_tasks: String::new(),
        hypotheses: vec![],
        success_metrics,
        parties: Parties {
            owner,
            requester: None,
            contributors: vec![],
        },
        timeline: Timeline {
            starts_on: None,
            deadline,
        },
        status,
        version,
        agreed_at: (status != GoalStatus::Draft).then(base_time),
        agreed_by: (status != GoalStatus::Draft).then(|| "ana".to_owned()),
        created_at: base_time(),
        updated_at: base_time(),
    }
}

/// Goals of any status, built from arbitrary optional parts.
fn any_goal() -> impl Strategy<Value = Goal> {
    (
        prop_oneof![
            6 => Just(GoalStatus::Draft),
            1 => select(GoalStatus::ALL.to_vec()),
        ],
        maybe_name(),
        free_text(),
        proptest::collection::vec(success_metric(), 0..3),
        proptest::option::of(date()),
    )
        .prop_map(|(status, owner, business_goal, metrics, deadline)| {
            goal_with(status, owner, business_goal, metrics, deadline)
        })
}

/// A draft that can be agreed.
fn agreeable_draft() -> Goal {
    goal_with(
        GoalStatus::Draft,
        Some("Ana".to_owned()),
        "More conversions".to_owned(),
        vec![SuccessMetric {
            metric: "p95 latency of /users".to_owned(),
            metric_key: None,
            baseline: Some(500.0),
            target: Some(300.0),
            direction: Direction::Down,
            unit: "ms".to_owned(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15),
        }],
        None,
    )
}

proptest! {
    /// (a) Agreement succeeds exactly when nothing is missing, and then
    /// records who agreed and when, as version 1. A refusal names the same
    /// fields as `agreement_gaps`.
    #[test]
    fn agreeing_succeeds_iff_there_are_no_gaps(goal in any_goal(), actor in "[a-z]{1,8}", now in instant()) {
        let gaps = goal.agreement_gaps();
        let result = goal.transition(GoalTransition::Agree, &actor, now);
        if goal.status != GoalStatus::Draft {
            let is_transition_error = matches!(result, Err(DomainError::InvalidTransition { .. }));
            prop_assert!(is_transition_error);
            return Ok(());
        }
        match result {
            Ok(change) => {
                prop_assert!(gaps.is_empty(), "agreed despite gaps {gaps:?}");
                let g = &change.goal;
                prop_assert_eq!(g.status, GoalStatus::Agreed);
                prop_assert_eq!(g.version, 1);
                prop_assert_eq!(g.agreed_by.as_deref(), Some(actor.as_str()));
                prop_assert_eq!(g.agreed_at, Some(tandem_domain::time::micros(now)));
                prop_assert_eq!(g.updated_at, tandem_domain::time::micros(now));
                let v = change.version.expect("agreeing is versioned");
                prop_assert_eq!((v.version, v.action.as_str()), (1, "agree"));
                prop_assert_eq!(v.changed_by, actor);
                prop_assert_eq!(g.agreement_gaps(), vec![]);
            }
            Err(err) => {
                prop_assert!(!gaps.is_empty());
                let is_invalid = matches!(err, DomainError::Invalid(_));
                prop_assert!(is_invalid);
                let expected: Vec<&str> = gaps.iter().map(|g| g.field.as_str()).collect();
                prop_assert_eq!(err.fields(), expected);
            }
        }
    }
}

#[derive(Debug, Clone)]
enum Op {
    Transition(GoalTransition),
    Title(String),
    ClearMetrics,
    Deadline(Option<NaiveDate>),
    AddHypothesis(String),
    Noop,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => select(GoalTransition::ALL.to_vec()).prop_map(Op::Transition),
        1 => prop_oneof![Just(" ".to_owned()), "[A-Za-z]{1,6}"].prop_map(Op::Title),
        1 => Just(Op::ClearMetrics),
        1 => proptest::option::of(date()).prop_map(Op::Deadline),
        1 => "[a-z]{1,6}".prop_map(Op::AddHypothesis),
        1 => Just(Op::Noop),
    ]
}

proptest! {
    /// (b) No sequence of changes moves a closed goal; versions never go
    /// down; every versioned change adds exactly one version, and after
    /// agreement every real change is versioned.
    #[test]
    fn goal_versions_only_grow(ops in proptest::collection::vec(op(), 0..25)) {
        let mut goal = agreeable_draft();
        let mut now = base_time();
        let mut history = Vec::new();
        for op in ops {
            now += Duration::minutes(7);
            let before = goal.clone();
            let result = match &op {
                Op::Transition(t) => before.transition(*t, "ana", now),
                Op::Title(t) => before.apply(GoalPatch { title: Some(t.clone()), ..GoalPatch::default() }, "ana", now),
                Op::ClearMetrics => before.apply(GoalPatch { success_metrics: Some(vec![]), ..GoalPatch::default() }, "ana", now),
                Op::Deadline(d) => before.apply(
                    GoalPatch { timeline: Some(Timeline { starts_on: None, deadline: *d }), ..GoalPatch::default() },
                    "ana",
                    now,
                ),
                Op::AddHypothesis(h) => {
                    let mut hs = before.hypotheses.clone();
                    hs.push(h.clone());
                    before.apply(GoalPatch { hypotheses: Some(hs), ..GoalPatch::default() }, "ana", now)
                }
                Op::Noop => before.apply(GoalPatch::default(), "ana", now),
            };
            let change = match result {
                Ok(change) => change,
                Err(err) => {
                    if before.status.is_closed() {
                        let is_transition_error = matches!(err, DomainError::InvalidTransition { .. });
                        prop_assert!(is_transition_error, "{err}");
                    }
                    continue;
                }
            };
            prop_assert!(!before.status.is_closed(), "{:?} moved a {} goal", op, before.status);
            let after = &change.goal;
            prop_assert!(after.version >= before.version);
            let expected_versioned = match op {
                Op::Transition(GoalTransition::Agree) => true,
                Op::Transition(GoalTransition::Drop) => before.status != GoalStatus::Draft,
                Op::Transition(_) => true,
                _ => before.status != GoalStatus::Draft && !diff(&before, after).is_empty(),
            };
            match &change.version {
                Some(v) => {
                    prop_assert!(expected_versioned, "{:?} was versioned", op);
                    prop_assert_eq!(after.version, before.version + 1);
                    prop_assert_eq!(v.version, after.version);
                    prop_assert_eq!(v.goal_id, before.id);
                    prop_assert_eq!(&v.changes, &diff(&before, after));
                    history.push(v.version);
                }
                None => {
                    prop_assert!(!expected_versioned, "{:?} was not versioned", op);
                    prop_assert_eq!(after.version, before.version);
                }
            }
            if after.status != GoalStatus::Draft && after.version > 0 {
                prop_assert_eq!(after.agreement_gaps(), vec![]);
                prop_assert!(after.agreed_at.is_some() && after.agreed_by.is_some());
            }
            goal = change.goal;
        }
        let expected: Vec<i32> = (1..=goal.version).collect();
        prop_assert_eq!(history, expected);
    }

    /// (c) `bounded` accepts exactly the strings of at most `max` characters.
    #[test]
    fn bounded_counts_characters(s in "\\PC{0,40}", max in 0usize..45) {
        let ok = text::bounded("field", &s, max);
        prop_assert_eq!(ok.is_ok(), s.chars().count() <= max);
        if let Err(e) = ok {
            prop_assert_eq!(e.field, "field");
        }
    }
}

fn new_item(state: Option<WorkState>, created_at: Option<DateTime<Utc>>) -> NewWorkItem {
    NewWorkItem {
        team_id: Uuid::from_u128(2),
        project_id: None,
        goal_id: None,
        stage_id: None,
        title: "Cache the /users list".to_owned(),
        kind: WorkKind::Feature,
        priority: None,
        impact: None,
        complexity: None,
        state,
        context: WorkContext::default(),
        scores: Default::default(),
        external_key: None,
        source: None,
        created_at,
        started_at: None,
        done_at: None,
    }
}

proptest! {
    /// (d) Any sequence of state changes, at non-decreasing times, keeps the
    /// item valid and its timestamps true to its state.
    #[test]
    fn work_item_state_changes_keep_it_valid(
        initial in proptest::option::of(select(WorkState::ALL.to_vec())),
        created_earlier in proptest::option::of(0i64..100_000),
        steps in proptest::collection::vec((select(WorkState::ALL.to_vec()), 0i64..100_000, 0i64..1_000), 0..20),
    ) {
        let mut now = base_time();
        let created_at = created_earlier.map(|s| now - Duration::seconds(s));
        let mut item = new_item(initial, created_at).into_item(Uuid::from_u128(3), now).unwrap();
        let check = |item: &tandem_domain::work_item::WorkItem| -> Result<(), TestCaseError> {
            prop_assert!(item.validate().is_ok(), "{:?}", item.validate());
            prop_assert_eq!(item.done_at.is_some(), item.state == WorkState::Done);
            if matches!(item.state, WorkState::InProgress | WorkState::Blocked | WorkState::Done) {
                prop_assert!(item.started_at.is_some());
            }
            Ok(())
        };
        check(&item)?;
        for (state, secs, nanos) in steps {
            now += Duration::seconds(secs) + Duration::nanoseconds(nanos);
            let patch = WorkItemPatch { state: Some(state), ..WorkItemPatch::default() };
            prop_assert!(item.apply(patch, now).is_ok());
            prop_assert_eq!(item.state, state);
            prop_assert_eq!(item.updated_at, tandem_domain::time::micros(now));
            check(&item)?;
        }
    }
}

/// (e) Every string enum round-trips through `Display`/`FromStr` and serde,
/// serialises as its `Display` text, and parses nothing else.
macro_rules! round_trips {
    ($($name:ident: $ty:ty),+ $(,)?) => {
        proptest! {
            $(
                #[test]
                fn $name(value in select(<$ty>::ALL.to_vec()), other in "[a-zA-Z0-9_ ]{0,12}") {
                    let text = value.to_string();
                    prop_assert_eq!(text.as_str(), value.as_str());
                    prop_assert_eq!(text.parse::<$ty>(), Ok(value));
                    let json = serde_json::to_string(&value).unwrap();
                    prop_assert_eq!(&json, &format!("\"{text}\""));
                    prop_assert_eq!(serde_json::from_str::<$ty>(&json).unwrap(), value);
                    let known = <$ty>::ALL.iter().any(|v| v.as_str() == other);
                    prop_assert_eq!(other.parse::<$ty>().is_ok(), known);
                    prop_assert_eq!(serde_json::from_value::<$ty>(serde_json::json!(other)).is_ok(), known);
                }
            )+
        }
    };
}

round_trips! {
    goal_status_round_trips: GoalStatus,
    goal_transition_round_trips: GoalTransition,
    direction_round_trips: Direction,
    audience_round_trips: Audience,
    role_round_trips: Role,
    level_round_trips: Level,
    risk_status_round_trips: RiskStatus,
    work_kind_round_trips: WorkKind,
    priority_round_trips: Priority,
    work_state_round_trips: WorkState,
}
