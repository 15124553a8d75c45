//! Unit tests of planning: backlog order, stage progress, the tech-debt budget and task context.

use super::*;
use crate::goal::{NewGoal, Parties, Timeline};
use crate::metric::Direction;
use crate::risk::Level;
use crate::stage::NewStage;
use crate::work_item::{NewWorkItem, Scores, WorkContext};
use chrono::TimeZone;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn day(d: i64) -> DateTime<Utc> {
    t0() + Duration::days(d)
}

fn item(kind: WorkKind, priority: Priority, state: WorkState, created: i64) -> WorkItem {
    NewWorkItem {
        team_id: Uuid::nil(),
        project_id: None,
        goal_id: None,
        stage_id: None,
        title: format!("{kind} {priority} {created}"),
        kind,
        priority: Some(priority),
        impact: None,
        complexity: None,
        state: Some(state),
        context: WorkContext::default(),
        scores: Scores::default(),
        external_key: None,
        source: None,
        created_at: Some(day(created)),
        started_at: None,
        done_at: None,
    }
    .into_item(Uuid::now_v7(), day(created.max(0) + 1))
    .unwrap()
}

fn done_on(kind: WorkKind, d: i64) -> WorkItem {
    let mut w = item(kind, Priority::P2, WorkState::Done, d - 1);
    w.started_at = Some(day(d));
    w.done_at = Some(day(d));
    w
}

fn wsjf(v: f64) -> Scores {
    Scores {
        business_value: Some(v),
        time_criticality: Some(0.0),
        risk_reduction: Some(0.0),
        job_size: Some(1.0),
        ..Scores::default()
    }
}

fn rice(v: f64) -> Scores {
    Scores {
        reach: Some(v),
        rice_impact: Some(1.0),
        confidence: Some(1.0),
        effort: Some(1.0),
        ..Scores::default()
    }
}

#[test]
fn backlog_orders_by_priority_then_score_then_age() {
    use Priority::*;
    use WorkState::*;
    let mut low_score = item(WorkKind::Feature, P1, Todo, 1);
    low_score.scores = wsjf(2.0);
    let mut high_score = item(WorkKind::Feature, P1, Todo, 5);
    high_score.scores = wsjf(8.0);
    let mut rice_scored = item(WorkKind::Feature, P1, InProgress, 6);
    rice_scored.scores = rice(5.0);
    let old_unscored = item(WorkKind::Feature, P1, Blocked, 0);
    let young_unscored = item(WorkKind::Feature, P1, Todo, 3);
    let p0 = item(WorkKind::Bug, P0, Todo, 9);
    let p3 = item(WorkKind::Chore, P3, Todo, -5);
    let done = item(WorkKind::Feature, P0, Done, 0);
    let cancelled = item(WorkKind::Feature, P0, Cancelled, 0);
    let items = vec![
        p3.clone(),
        young_unscored.clone(),
        done,
        low_score.clone(),
        cancelled,
        old_unscored.clone(),
        high_score.clone(),
        p0.clone(),
        rice_scored.clone(),
    ];
    let b = backlog(&items, &Matrix::default(), day(10));
    let order: Vec<Uuid> = b.iter().map(|e| e.id).collect();
    assert_eq!(
        order,
        vec![
            p0.id,
            high_score.id,
            rice_scored.id,
            low_score.id,
            old_unscored.id,
            young_unscored.id,
            p3.id
        ]
    );
    assert_eq!(b[0].rank, 1);
    assert_eq!(b[6].rank, 7);
    assert_eq!(
        (b[1].score, b[1].score_kind),
        (Some(8.0), Some(ScoreKind::Wsjf))
    );
    assert_eq!(
        (b[2].score, b[2].score_kind),
        (Some(5.0), Some(ScoreKind::Rice))
    );
    assert_eq!(b[4].age_days, 10);
    assert_eq!(b[6].age_days, 15);
    assert_eq!(b[0].priority_rule, "no impact/complexity: set by hand");
}

#[test]
fn wsjf_wins_over_rice_on_the_same_item() {
    let mut w = item(WorkKind::Feature, Priority::P2, WorkState::Todo, 0);
    w.scores = Scores {
        reach: Some(100.0),
        rice_impact: Some(1.0),
        confidence: Some(1.0),
        effort: Some(1.0),
        ..wsjf(3.0)
    };
    assert_eq!(score(&w), Some((3.0, ScoreKind::Wsjf)));
}

#[test]
fn inflation_is_flagged_above_a_quarter() {
    use Priority::*;
    let open = |p| item(WorkKind::Feature, p, WorkState::Todo, 0);
    // Exactly a quarter: not flagged.
    let mut items = vec![open(P0), open(P2), open(P2), open(P3)];
    items.push(item(WorkKind::Feature, P0, WorkState::Done, 0));
    assert_eq!(priority_inflation(&items), None);
    items.push(open(P1));
    let f = priority_inflation(&items).unwrap();
    assert_eq!((f.open_items, f.p0_p1_items, f.percent), (5, 2, 40.0));
    assert!(
        f.message.starts_with("2 of 5 open items (40 %)"),
        "{}",
        f.message
    );
    assert_eq!(priority_inflation(&[]), None);
}

fn goal() -> Goal {
    NewGoal {
        team_id: Uuid::nil(),
        project_id: None,
        title: "Faster user list".into(),
        business_goal: "More sign-ups finish".into(),
        technical_tasks: String::new(),
        hypotheses: vec![],
        success_metrics: vec![
            SuccessMetric {
                metric: "conversion in words".into(),
                metric_key: None,
                baseline: Some(3.0),
                target: Some(5.0),
                direction: Direction::Up,
                unit: "%".into(),
                deadline: None,
            },
            SuccessMetric {
                metric: "p95 latency of /users".into(),
                metric_key: Some("users-p95".into()),
                baseline: Some(500.0),
                target: Some(300.0),
                direction: Direction::Down,
                unit: "ms".into(),
                deadline: None,
            },
        ],
        parties: Parties::default(),
        timeline: Timeline::default(),
    }
    .into_goal(Uuid::now_v7(), t0())
    .unwrap()
}

fn stage(goal: &Goal, position: i32, start: (u32, u32), end: (u32, u32)) -> Stage {
    NewStage {
        goal_id: goal.id,
        name: format!("Stage {position}"),
        description: String::new(),
        position: Some(position),
        starts_on: NaiveDate::from_ymd_opt(2026, start.0, start.1),
        ends_on: NaiveDate::from_ymd_opt(2026, end.0, end.1),
    }
    .into_stage(Uuid::now_v7(), position, t0())
    .unwrap()
}

#[test]
fn stages_are_flagged_measured_and_celebrated() {
    let g = goal();
    // 14 days (2–15 Nov): fine. 15 days: too long. No dates: no length.
    let s1 = stage(&g, 1, (11, 2), (11, 15));
    let s2 = stage(&g, 2, (11, 16), (11, 30));
    let mut s3 = stage(&g, 3, (12, 1), (12, 1));
    s3.starts_on = None;
    s3.ends_on = None;
    let in_stage = |s: &Stage, state, done: Option<i64>| {
        let mut w = item(WorkKind::Feature, Priority::P2, state, 0);
        w.goal_id = Some(g.id);
        w.stage_id = Some(s.id);
        if let Some(d) = done {
            w.started_at = Some(day(d));
            w.done_at = Some(day(d));
        }
        w
    };
    let items = vec![
        in_stage(&s1, WorkState::Done, Some(3)),
        in_stage(&s1, WorkState::Done, Some(7)),
        in_stage(&s1, WorkState::Cancelled, None),
        in_stage(&s2, WorkState::Done, Some(15)),
        in_stage(&s2, WorkState::InProgress, None),
        in_stage(&s2, WorkState::Todo, None),
        in_stage(&s3, WorkState::Cancelled, None),
        // Another goal's item naming s2 by mistake is ignored.
        WorkItem {
            goal_id: None,
            ..in_stage(&s2, WorkState::Done, Some(1))
        },
    ];
    let plan = goal_plan(
        &g,
        &[s3.clone(), s2.clone(), s1.clone()],
        &items,
        MAX_STAGE_DAYS,
    );
    let ids: Vec<Uuid> = plan.stages.iter().map(|s| s.id).collect();
    assert_eq!(ids, vec![s1.id, s2.id, s3.id]);

    let [p1, p2, p3] = [&plan.stages[0], &plan.stages[1], &plan.stages[2]];
    assert_eq!(
        (p1.length_days, p1.too_long, &p1.suggestion),
        (Some(14), false, &None)
    );
    assert_eq!((p2.length_days, p2.too_long), (Some(15), true));
    assert!(
        p2.suggestion
            .as_deref()
            .unwrap()
            .starts_with("15 days is longer than 14")
    );
    assert_eq!((p3.length_days, p3.too_long), (None, false));

    assert_eq!(
        p1.progress,
        StageProgress {
            done: 2,
            total: 2,
            percent: Some(100)
        }
    );
    assert_eq!(
        p2.progress,
        StageProgress {
            done: 1,
            total: 3,
            percent: Some(33)
        }
    );
    assert_eq!(
        p3.progress,
        StageProgress {
            done: 0,
            total: 0,
            percent: None
        }
    );
    assert!(p1.completed && !p2.completed && !p3.completed);
    assert_eq!(
        plan.small_wins,
        vec![SmallWin {
            stage_id: s1.id,
            name: "Stage 1".into(),
            items_done: 2,
            completed_on: Some(day(7).date_naive()),
        }]
    );
    // A configured limit.
    let plan = goal_plan(&g, &[s1, s2], &items, 10);
    assert!(plan.stages.iter().all(|s| s.too_long));
}

#[test]
fn two_thirds_round_to_67_percent() {
    let s = Uuid::now_v7();
    let mut items: Vec<WorkItem> = (0..3)
        .map(|i| {
            let state = if i < 2 {
                WorkState::Done
            } else {
                WorkState::Todo
            };
            let mut w = item(WorkKind::Feature, Priority::P2, state, 0);
            w.stage_id = Some(s);
            w
        })
        .collect();
    assert_eq!(stage_progress(s, &items).percent, Some(67));
    items.truncate(0);
    assert_eq!(stage_progress(s, &items).total, 0);
}

#[test]
fn debt_budget_periods_and_flag() {
    // Today is day 83: periods are days 0–27, 28–55, 56–83.
    let today = day(83).date_naive();
    assert_eq!(debt_window_start(today, 3), day(0).date_naive());
    let mut items = Vec::new();
    // Period 1: 2 of 5 are debt (40 %).
    items.extend([0, 1].map(|d| done_on(WorkKind::Debt, d + 1)));
    items.extend([2, 3, 26].map(|d| done_on(WorkKind::Feature, d + 1)));
    // Period 2: 1 of 10 (10 %).
    items.push(done_on(WorkKind::Debt, 28));
    items.extend((0..9).map(|d| done_on(WorkKind::Bug, 29 + d)));
    // Period 3: 1 of 6 (16.7 %), plus work outside the window and undone work.
    items.push(done_on(WorkKind::Debt, 83));
    items.extend((0..5).map(|d| done_on(WorkKind::Feature, 60 + d)));
    items.push(done_on(WorkKind::Debt, 84));
    items.push(item(WorkKind::Debt, Priority::P2, WorkState::Todo, 70));

    let b = debt_budget(
        &items,
        today,
        3,
        DEFAULT_DEBT_TARGET_PERCENT,
        chrono_tz::UTC,
    );
    let shares: Vec<(u32, u32, Option<f64>, bool)> = b
        .periods
        .iter()
        .map(|p| (p.done_items, p.debt_items, p.debt_percent, p.below_target))
        .collect();
    assert_eq!(
        shares,
        vec![
            (5, 2, Some(40.0), false),
            (10, 1, Some(10.0), true),
            (6, 1, Some(16.7), true),
        ]
    );
    assert_eq!(b.periods[0].starts_on, day(0).date_naive());
    assert_eq!(b.periods[2].ends_on, today);
    assert_eq!(b.below_target_in_a_row, 2);
    assert!(b.flagged);
    assert!(
        b.message.as_deref().unwrap().contains("10 %, 16.7 %"),
        "{:?}",
        b.message
    );

    // Only the latest period below target: not flagged yet.
    let b = debt_budget(&items, today - Duration::days(28), 3, 20.0, chrono_tz::UTC);
    assert_eq!((b.below_target_in_a_row, b.flagged), (1, false));
    // Exactly on target is not below it; a lower target clears the flag.
    let b = debt_budget(&items, today, 3, 10.0, chrono_tz::UTC);
    assert!(!b.periods[1].below_target);
    assert!(!b.flagged && b.message.is_none());
    // A period without throughput is neither below nor on target.
    let b = debt_budget(&items, today + Duration::days(56), 3, 20.0, chrono_tz::UTC);
    assert_eq!(b.periods[2].debt_percent, None);
    assert!(!b.flagged);
}

#[test]
fn task_context_prefers_the_goal_and_its_metric() {
    let g = goal();
    let mut w = item(WorkKind::Feature, Priority::P0, WorkState::Todo, 0);
    w.goal_id = Some(g.id);
    w.impact = Some(Level::High);
    w.complexity = Some(Level::Low);
    w.context = WorkContext {
        why: "own why".into(),
        expected_impact: "p95 under 300 ms".into(),
        current_value: "512 ms".into(),
        target_value: "300 ms".into(),
    };
    let p = MetricPoint {
        metric_id: Uuid::nil(),
        at: day(3),
        value: 420.5,
    };
    let c = task_context(&w, Some(&g), Some(&p), &Matrix::default());
    assert_eq!(c.why, "More sign-ups finish");
    assert_eq!(c.expected_impact, "p95 under 300 ms");
    assert_eq!(
        c.success_metric.as_ref().unwrap().metric_key.as_deref(),
        Some("users-p95")
    );
    let cur = c.current.unwrap();
    assert_eq!(
        (cur.text.as_str(), cur.value, cur.source),
        ("420.5 ms", Some(420.5), ValueSource::Metric)
    );
    assert_eq!(cur.at, Some(day(3)));
    // (420.5 − 500) ÷ (300 − 500), to three decimals.
    assert_eq!(c.metric_progress, Some(0.398));
    let tgt = c.target.unwrap();
    assert_eq!(
        (tgt.text.as_str(), tgt.source),
        ("300 ms", ValueSource::SuccessMetric)
    );
    assert_eq!(c.priority.rule, "matrix: impact high × complexity low → P0");
    assert_eq!(c.goal.unwrap().title, "Faster user list");

    // No point yet: the item's own current value; no goal: its own why.
    let c = task_context(&w, Some(&g), None, &Matrix::default());
    assert_eq!(c.current.unwrap().source, ValueSource::WorkItem);
    let c = task_context(&w, None, None, &Matrix::default());
    assert_eq!(c.why, "own why");
    assert_eq!(c.target.as_ref().unwrap().text, "300 ms");
    assert_eq!(c.target.unwrap().source, ValueSource::WorkItem);

    // No expected impact of its own: the metric's baseline → target.
    w.context = WorkContext::default();
    let c = task_context(&w, Some(&g), None, &Matrix::default());
    assert_eq!(c.expected_impact, "p95 latency of /users: 500 → 300 ms");
    assert_eq!(c.current, None);
    let c = task_context(&w, None, None, &Matrix::default());
    assert_eq!((c.why.as_str(), c.current, c.target), ("", None, None));
}

#[test]
fn debt_periods_are_the_teams_local_days() {
    // Sydney is UTC+11 in summer. Today there is Sunday 2026-03-01; the
    // latest period is 2 Feb .. 1 Mar (local). 2026-02-01T14:30Z is
    // 2 Feb 01:30 in Sydney (in; UTC says 1 Feb, out); 2026-03-01T13:30Z
    // is 2 Mar 00:30 there (out; UTC says 1 Mar, in).
    let sydney: chrono_tz::Tz = "Australia/Sydney".parse().unwrap();
    let today = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    let mut early = done_on(WorkKind::Debt, 0);
    early.done_at = Some(at("2026-02-01T14:30:00Z"));
    let mut late = done_on(WorkKind::Feature, 0);
    late.done_at = Some(at("2026-03-01T13:30:00Z"));
    let mut mid = done_on(WorkKind::Feature, 0);
    mid.done_at = Some(at("2026-02-15T03:00:00Z"));
    let items = [early, late, mid];
    let local = debt_budget(&items, today, 1, 20.0, sydney);
    assert_eq!(
        local.periods[0].starts_on,
        NaiveDate::from_ymd_opt(2026, 2, 2).unwrap()
    );
    assert_eq!(
        (local.periods[0].done_items, local.periods[0].debt_items),
        (2, 1)
    );
    // Read in UTC the same items give another answer: the rule matters.
    let utc = debt_budget(&items, today, 1, 20.0, chrono_tz::UTC);
    assert_eq!(
        (utc.periods[0].done_items, utc.periods[0].debt_items),
        (2, 0)
    );
}
