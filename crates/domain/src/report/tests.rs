use chrono::TimeZone;

use super::*;
use crate::goal::{Parties, SuccessMetric, Timeline};
use crate::risk::{Level, RiskSource};
use crate::work_item::{Priority, WorkContext};

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0).unwrap()
}

fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

fn w47() -> IsoWeek {
    parse_week("2026-W47").unwrap()
}

fn team() -> Team {
    Team {
        id: id(1),
        key: "payments".into(),
        name: "Payments".into(),
        timezone: "UTC".into(),
        created_at: at(1, 0),
        updated_at: at(1, 0),
    }
}

fn item(n: u128, state: WorkState) -> WorkItem {
    WorkItem {
        id: id(n),
        team_id: id(1),
        project_id: None,
        goal_id: None,
        stage_id: None,
        title: format!("Item {n}"),
        kind: WorkKind::Feature,
        priority: Priority::P2,
        impact: None,
        complexity: None,
        state,
        context: WorkContext::default(),
        scores: Default::default(),
        external_key: Some(format!("PAY-{n}")),
        source: "manual".into(),
        created_at: at(1, 0),
        started_at: None,
        done_at: None,
        updated_at: at(1, 0),
    }
}

fn done_item(n: u128, done_at: DateTime<Utc>) -> WorkItem {
    WorkItem {
        done_at: Some(done_at),
        started_at: Some(at(2, 0)),
        ..item(n, WorkState::Done)
    }
}

fn goal(n: u128, title: &str, status: GoalStatus, metric_key: Option<&str>) -> Goal {
    Goal {
        id: id(n),
        team_id: id(1),
        project_id: None,
        title: title.into(),
        business_goal: String::new(),
        technical_tasks: String::new(),
        hypotheses: Vec::new(),
        success_metrics: vec![SuccessMetric {
            metric: "p95 latency of /users".into(),
            metric_key: metric_key.map(str::to_owned),
            baseline: None,
            target: None,
            direction: Direction::Down,
            unit: "ms".into(),
            deadline: None,
        }],
        parties: Parties::default(),
        timeline: Timeline::default(),
        status,
        version: 1,
        agreed_at: None,
        agreed_by: None,
        created_at: at(1, 0),
        updated_at: at(1, 0),
    }
}

fn stage(n: u128, goal: u128, position: i32, name: &str) -> Stage {
    Stage {
        id: id(n),
        goal_id: id(goal),
        name: name.into(),
        description: String::new(),
        position,
        starts_on: None,
        ends_on: None,
        created_at: at(1, 0),
        updated_at: at(1, 0),
    }
}

fn metric(n: u128, key: &str, name: &str, direction: Direction, audience: Audience) -> Metric {
    Metric {
        id: id(n),
        key: key.into(),
        name: name.into(),
        description: String::new(),
        unit: "ms".into(),
        direction,
        audience,
        team_id: Some(id(1)),
        computed_from: None,
        created_at: at(1, 0),
        updated_at: at(1, 0),
    }
}

fn point(metric: u128, at: DateTime<Utc>, value: f64) -> MetricPoint {
    MetricPoint {
        metric_id: id(metric),
        at,
        value,
    }
}

fn risk(n: u128, status: RiskStatus, drafted: &str) -> Risk {
    Risk {
        id: id(n),
        team_id: id(1),
        goal_id: None,
        stage_id: None,
        title: format!("Risk {n}"),
        description: String::new(),
        likelihood: Level::Medium,
        impact: Level::High,
        plan: String::new(),
        owner: None,
        schedule_impact_days: 0,
        status,
        source: RiskSource::Forecast,
        cause_key: None,
        drafted_update: drafted.into(),
        created_at: at(1, 0),
        updated_at: at(1, 0),
        closed_at: None,
    }
}

fn input() -> ReportInput {
    ReportInput {
        team: team(),
        week: w47(),
        items: Vec::new(),
        goals: Vec::new(),
        stages: Vec::new(),
        risks: Vec::new(),
        metrics: Vec::new(),
        points: Vec::new(),
        forecasts: Vec::new(),
        debt_target_percent: 20.0,
        dora: None,
        requests: Vec::new(),
        decisions: Vec::new(),
    }
}

fn section_of(r: &WeeklyReport, kind: SectionKind) -> &ReportSection {
    r.sections.iter().find(|s| s.kind == kind).unwrap()
}

#[test]
fn weeks_parse_and_bound_monday_to_monday() {
    let w = w47();
    assert_eq!(week_label(w), "2026-W47");
    let (start, end) = week_bounds(w);
    assert_eq!(start, at(16, 0));
    assert_eq!(end, at(23, 0));
    assert_eq!(parse_week("2026w47").unwrap(), w);
    // Week 1 of 2026 starts on Monday 29 December 2025.
    let (s1, _) = week_bounds(parse_week("2026-W01").unwrap());
    assert_eq!(s1, Utc.with_ymd_and_hms(2025, 12, 29, 0, 0, 0).unwrap());
    assert!(
        parse_week("2026-W54")
            .unwrap_err()
            .contains("no ISO week 54")
    );
    assert!(parse_week("W47").unwrap_err().contains("2026-W47"));
    assert!(parse_week("2026-47").is_err());
    assert_eq!(day_range(w), "16–22 Nov");
    assert_eq!(day_range(parse_week("2026-W49").unwrap()), "30 Nov–6 Dec");
}

#[test]
fn an_empty_week_says_so_in_every_section() {
    let r = assemble(&input());
    assert_eq!(r.title, "Payments — week 2026-W47 (16–22 Nov)");
    let kinds: Vec<SectionKind> = r.sections.iter().map(|s| s.kind).collect();
    assert_eq!(kinds, SectionKind::ALL);
    let empty = |k| section_of(&r, k).empty_message.clone();
    assert_eq!(
        empty(SectionKind::Done).unwrap(),
        "Nothing finished this week."
    );
    assert_eq!(
        empty(SectionKind::Risks).unwrap(),
        "No open risks this week."
    );
    assert!(empty(SectionKind::InProgress).is_some());
    assert!(empty(SectionKind::NextSteps).is_some());
    // Numbers always carries the debt share.
    let numbers = section_of(&r, SectionKind::Numbers);
    assert_eq!(
        numbers.lines[0].text,
        "Tech debt: no items done this week (target 20 %)"
    );
    let md = to_markdown(&r);
    assert!(md.contains("## Done\n\n_Nothing finished this week._"));
    assert!(md.contains("## Risks\n\n_No open risks this week._"));
}

#[test]
fn done_groups_by_goal_with_the_metric_change_and_keeps_week_boundaries() {
    let mut i = input();
    i.goals = vec![goal(
        10,
        "Faster users API",
        GoalStatus::InProgress,
        Some("users-p95"),
    )];
    i.metrics = vec![metric(
        20,
        "users-p95",
        "Users p95",
        Direction::Down,
        Audience::Team,
    )];
    i.points = vec![
        point(20, at(9, 0), 500.0),
        point(20, at(20, 12), 350.0),
        point(20, at(22, 12), 300.0),
        point(20, at(24, 0), 100.0),
    ];
    let mut on_goal = done_item(100, at(16, 0));
    on_goal.goal_id = Some(id(10));
    i.items = vec![
        on_goal,
        done_item(101, at(22, 23)),
        done_item(102, at(15, 23)), // the Sunday before: not this week
        done_item(103, at(23, 0)),  // next Monday 00:00: not this week
    ];
    let r = assemble(&i);
    let done = section_of(&r, SectionKind::Done);
    assert_eq!(done.empty_message, None);
    assert_eq!(done.lines.len(), 2);
    assert_eq!(done.lines[0].id, format!("done-goal:{}", id(10)));
    assert_eq!(
        done.lines[0].text,
        "Faster users API — p95 latency of /users −40 % (500 → 300 ms)"
    );
    assert_eq!(done.lines[0].children[0].id, format!("done:{}", id(100)));
    assert_eq!(done.lines[0].children[0].text, "PAY-100 Item 100");
    assert_eq!(done.lines[1].text, "Other work");
    let ids: Vec<&str> = done.lines[1]
        .children
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(ids, [format!("done:{}", id(101))]);
}

#[test]
fn a_goal_metric_without_points_this_week_says_no_data() {
    let mut i = input();
    i.goals = vec![goal(10, "G", GoalStatus::InProgress, Some("users-p95"))];
    i.metrics = vec![metric(
        20,
        "users-p95",
        "Users p95",
        Direction::Down,
        Audience::Team,
    )];
    i.points = vec![point(20, at(9, 0), 500.0)];
    let mut d = done_item(100, at(17, 0));
    d.goal_id = Some(id(10));
    i.items = vec![d];
    let r = assemble(&i);
    assert_eq!(
        section_of(&r, SectionKind::Done).lines[0].text,
        "G — p95 latency of /users: no data this week"
    );
}

#[test]
fn metric_changes_are_worded_by_direction() {
    let c = Change {
        before: Some(500.0),
        after: 300.0,
    };
    assert_eq!(c.describe("ms"), "−40 % (500 → 300 ms)");
    assert_eq!(c.verdict(Direction::Down), Some("better"));
    assert_eq!(c.verdict(Direction::Up), Some("worse"));
    let up = Change {
        before: Some(2.0),
        after: 2.05,
    };
    // A percentage moves in points, never by a relative percentage.
    assert_eq!(up.describe("%"), "+0.05 points (2 → 2.05 %)");
    assert_eq!(up.describe("ms"), "+2.5 % (2 → 2.05 ms)");
    assert_eq!(up.verdict(Direction::Up), Some("better"));
    let same = Change {
        before: Some(3.0),
        after: 3.0,
    };
    assert_eq!(same.describe(""), "unchanged at 3");
    assert_eq!(same.verdict(Direction::Up), None);
    assert_eq!(
        Change {
            before: None,
            after: 7.0
        }
        .describe("ms"),
        "first value 7 ms"
    );
    assert_eq!(number(0.123), "0.12");
    assert_eq!(number(-12.345), "−12.3");
    assert_eq!(number(1234.6), "1235");
}

#[test]
fn numbers_report_business_and_team_metrics_and_the_debt_share() {
    let mut i = input();
    let mut conv = metric(
        30,
        "conversion",
        "Checkout conversion",
        Direction::Up,
        Audience::Business,
    );
    conv.unit = "%".into();
    conv.team_id = None;
    let mut other_team = metric(31, "other", "Other team's", Direction::Up, Audience::Team);
    other_team.team_id = Some(id(99));
    i.metrics = vec![
        metric(
            20,
            "users-p95",
            "Users p95",
            Direction::Down,
            Audience::Team,
        ),
        conv,
        other_team,
    ];
    i.points = vec![
        point(20, at(16, 0), 200.0),
        point(20, at(23, 0), 250.0),
        point(30, at(10, 0), 4.0),
    ];
    let mut debt = done_item(1, at(17, 0));
    debt.kind = WorkKind::Debt;
    i.items = vec![
        debt,
        done_item(2, at(17, 0)),
        done_item(3, at(18, 0)),
        done_item(4, at(19, 0)),
    ];
    let r = assemble(&i);
    let lines: Vec<(&str, &str)> = section_of(&r, SectionKind::Numbers)
        .lines
        .iter()
        .map(|l| (l.id.as_str(), l.text.as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (
                "metric:conversion",
                "Checkout conversion: no data this week"
            ),
            (
                "metric:users-p95",
                "Users p95: 250 ms, +25 % week over week (was 200 ms), worse"
            ),
            (
                "numbers:debt",
                "Tech debt: 1 of 4 items done this week (25 %), target 20 % — on target"
            ),
        ]
    );
}

#[test]
fn in_progress_shows_stage_progress_and_forecasts() {
    let mut i = input();
    i.goals = vec![goal(10, "G", GoalStatus::InProgress, None)];
    i.stages = vec![stage(50, 10, 1, "Build")];
    i.forecasts = vec![GoalForecastSummary {
        goal_id: id(10),
        p85: NaiveDate::from_ymd_opt(2026, 12, 18),
        on_time_probability: Some(0.624),
        cut_line: None,
    }];
    let in_stage = |mut w: WorkItem| {
        w.goal_id = Some(id(10));
        w.stage_id = Some(id(50));
        w
    };
    i.items = vec![
        in_stage(item(1, WorkState::InProgress)),
        in_stage(item(2, WorkState::Blocked)),
        in_stage(done_item(3, at(3, 0))),
        in_stage(item(4, WorkState::Cancelled)),
        in_stage(item(5, WorkState::Todo)),
        item(6, WorkState::InProgress),
    ];
    let r = assemble(&i);
    let s = section_of(&r, SectionKind::InProgress);
    assert_eq!(
        s.lines[0].text,
        "G — forecast: 85 % likely done by Fri 18 Dec; 62 % chance on time"
    );
    let texts: Vec<&str> = s.lines[0]
        .children
        .iter()
        .map(|c| c.text.as_str())
        .collect();
    assert_eq!(
        texts,
        [
            "PAY-1 Item 1 — stage “Build”: 1/4 done",
            "PAY-2 Item 2 (blocked) — stage “Build”: 1/4 done",
        ]
    );
    assert_eq!(s.lines[1].children[0].id, format!("progress:{}", id(6)));
}

#[test]
fn risks_list_open_ones_with_their_drafted_update() {
    let mut i = input();
    i.risks = vec![
        risk(
            1,
            RiskStatus::Open,
            "New ETA 18 Dec; alternative: cut refunds.",
        ),
        risk(2, RiskStatus::Closed, ""),
        risk(3, RiskStatus::Mitigating, ""),
    ];
    let r = assemble(&i);
    let s = section_of(&r, SectionKind::Risks);
    assert_eq!(s.lines.len(), 2);
    assert_eq!(s.lines[0].id, format!("risk:{}", id(1)));
    assert_eq!(s.lines[0].text, "Risk 1 — medium likelihood, high impact");
    assert_eq!(
        s.lines[0].children[0].text,
        "New ETA 18 Dec; alternative: cut refunds."
    );
    assert!(s.lines[1].text.ends_with("(mitigating)"));
}

#[test]
fn next_steps_name_the_next_untouched_stage_and_the_top_of_the_backlog() {
    let mut i = input();
    i.goals = vec![goal(10, "G", GoalStatus::InProgress, None)];
    i.stages = vec![
        stage(50, 10, 1, "One"),
        stage(51, 10, 2, "Two"),
        stage(52, 10, 3, "Three"),
    ];
    let in_stage = |mut w: WorkItem, s: u128| {
        w.goal_id = Some(id(10));
        w.stage_id = Some(id(s));
        w
    };
    let mut backlog: Vec<WorkItem> = (20..28).map(|n| item(n, WorkState::Todo)).collect();
    backlog[7].priority = Priority::P0;
    i.items = vec![
        in_stage(item(1, WorkState::InProgress), 50),
        in_stage(item(2, WorkState::Todo), 51),
        in_stage(item(3, WorkState::Todo), 52),
    ];
    i.items.extend(backlog);
    let r = assemble(&i);
    let s = section_of(&r, SectionKind::NextSteps);
    assert_eq!(s.lines[0].id, format!("next-stage:{}", id(51)));
    assert_eq!(s.lines[0].text, "G: next stage “Two” (1 items)");
    assert_eq!(s.lines[0].children[0].id, format!("next:{}", id(2)));
    assert_eq!(s.lines[1].id, "next-backlog");
    let top: Vec<&str> = s.lines[1].children.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(top.len(), BACKLOG_TOP);
    assert_eq!(top[0], format!("backlog:{}", id(27)), "P0 first");
    assert_eq!(top[1], format!("backlog:{}", id(3)), "then by age and id");
}

#[test]
fn numbers_show_the_dora_keys_and_incidents_of_the_week() {
    use crate::dora::{self, Bucket, DoraInputs, MetricScope, Range};
    let mon = week_start(w47());
    let range = Range::new(mon, mon + Duration::days(6), Bucket::Week).unwrap();
    let scope = MetricScope {
        project_ids: vec![id(50)],
        service: None,
        environment: "production".into(),
    };
    let mut d = dora::report(&scope, &range, &DoraInputs::default());
    let mut input = input();
    input.dora = Some(d.clone());
    let lines = |input: &ReportInput| -> Vec<String> {
        section_of(&assemble(input), SectionKind::Numbers)
            .lines
            .iter()
            .filter(|l| l.id.starts_with("dora:"))
            .map(|l| format!("{} | {}", l.id, l.text))
            .collect()
    };
    assert_eq!(
        lines(&input),
        [
            "dora:deployment_frequency | Deployments: none this week",
            "dora:lead_time | Lead time for changes: no commits shipped this week",
            "dora:change_failure_rate | Change failure rate: no changes deployed this week",
            "dora:incidents | Incidents: none this week",
        ]
    );
    d.deployment_frequency.deployments = 6;
    d.deployment_frequency.deploy_days = 4;
    d.deployment_frequency.level = Some(dora::Level::High);
    d.lead_time.commits = 31;
    d.lead_time.median_hours = Some(52.0);
    d.lead_time.level = Some(dora::Level::High);
    d.change_failure_rate.changes = 6;
    d.change_failure_rate.failed = 1;
    d.change_failure_rate.rate = Some(1.0 / 6.0);
    d.change_failure_rate.level = Some(dora::Level::Medium);
    d.time_to_restore.incidents = 2;
    d.time_to_restore.resolved = 1;
    d.time_to_restore.median_hours = Some(3.5);
    d.time_to_restore.level = Some(dora::Level::High);
    input.dora = Some(d);
    assert_eq!(
        lines(&input),
        [
            "dora:deployment_frequency | Deployments: 6 this week, on 4 of 7 days — high",
            "dora:lead_time | Lead time for changes: median 2.17 days over 31 commits — high",
            "dora:change_failure_rate | Change failure rate: 17 % (1 of 6 changes) — medium",
            "dora:incidents | Incidents: 2 this week, 1 resolved; median time to restore 3.5 h — high",
        ]
    );
    // The debt line stays last.
    let report = assemble(&input);
    let numbers = section_of(&report, SectionKind::Numbers);
    assert_eq!(numbers.lines.last().unwrap().id, "numbers:debt");
}

#[test]
fn a_week_is_the_teams_monday_to_sunday_in_its_zone() {
    // Brisbane is UTC+10 all year. Week 2026-W47 there is
    // 2026-11-15T14:00Z .. 2026-11-22T14:00Z.
    let mut input = input();
    input.team.timezone = "Australia/Brisbane".into();
    let utc = |d: u32, h: u32, m: u32| Utc.with_ymd_and_hms(2026, 11, d, h, m, 0).unwrap();
    input.items = vec![
        done_item(101, utc(15, 14, 30)), // Mon 00:30 local: in (UTC says last week)
        done_item(102, utc(22, 13, 0)),  // Sun 23:00 local: in
        done_item(103, utc(22, 19, 0)),  // next Mon 05:00 local: out (UTC says this week)
        done_item(104, utc(15, 13, 0)),  // Sun 23:00 local, last week: out
    ];
    let r = assemble(&input);
    assert_eq!((r.starts_at, r.ends_at), (utc(15, 14, 0), utc(22, 14, 0)));
    let done: Vec<String> = section_of(&r, SectionKind::Done)
        .lines
        .iter()
        .flat_map(|l| l.children.iter().map(|c| c.id.clone()))
        .collect();
    assert_eq!(
        done,
        [format!("done:{}", id(101)), format!("done:{}", id(102))]
    );
}

#[test]
fn a_sydney_week_across_the_end_of_summer_time_holds_its_monday_to_sunday() {
    // Sydney leaves summer time on Sunday 2026-04-05 (UTC+11 -> UTC+10), the
    // last day of week 2026-W14: 2026-03-29T13:00Z .. 2026-04-05T14:00Z.
    let mut input = input();
    input.week = parse_week("2026-W14").unwrap();
    input.team.timezone = "Australia/Sydney".into();
    let utc =
        |m: u32, d: u32, h: u32, min: u32| Utc.with_ymd_and_hms(2026, m, d, h, min, 0).unwrap();
    input.items = vec![
        done_item(201, utc(3, 29, 13, 30)), // Mon 00:30 (UTC+11): in
        done_item(202, utc(4, 5, 13, 30)),  // Sun 23:30 (UTC+10), the 25-hour day: in
        done_item(203, utc(4, 5, 14, 30)),  // next Mon 00:30: out (UTC says Sunday)
        done_item(204, utc(3, 29, 12, 30)), // Sun 23:30 the week before: out
    ];
    let r = assemble(&input);
    assert_eq!(
        (r.starts_at, r.ends_at),
        (utc(3, 29, 13, 0), utc(4, 5, 14, 0))
    );
    assert_eq!((r.ends_at - r.starts_at).num_hours(), 169);
    let done: Vec<String> = section_of(&r, SectionKind::Done)
        .lines
        .iter()
        .flat_map(|l| l.children.iter().map(|c| c.id.clone()))
        .collect();
    assert_eq!(
        done,
        [format!("done:{}", id(201)), format!("done:{}", id(202))]
    );
}

#[test]
fn a_week_across_a_dst_change_is_167_hours() {
    // Berlin moves to summer time on Sunday 2026-03-29 (week 2026-W13).
    let (start, end) = team_week_bounds(parse_week("2026-W13").unwrap(), "Europe/Berlin");
    assert_eq!(start, Utc.with_ymd_and_hms(2026, 3, 22, 23, 0, 0).unwrap());
    assert_eq!(end, Utc.with_ymd_and_hms(2026, 3, 29, 22, 0, 0).unwrap());
    assert_eq!((end - start).num_hours(), 167);
    // A UTC team keeps UTC weeks.
    assert_eq!(team_week_bounds(w47(), "UTC"), week_bounds(w47()));
}

#[test]
fn the_update_opens_with_a_summary_and_the_decisions_needed() {
    let mut i = input();
    let mut g = goal(10, "Checkout", GoalStatus::InProgress, None);
    g.timeline.deadline = NaiveDate::from_ymd_opt(2026, 12, 4);
    i.goals = vec![g];
    i.forecasts = vec![GoalForecastSummary {
        goal_id: id(10),
        p85: NaiveDate::from_ymd_opt(2026, 12, 18),
        on_time_probability: Some(0.31),
        cut_line: Some("5 of the 9 remaining items fit by Fri 4 Dec at 85 % confidence".into()),
    }];
    let mut d = done_item(100, at(17, 0));
    d.goal_id = Some(id(10));
    i.items = vec![d];
    let mut r = risk(60, RiskStatus::Open, "");
    r.plan = "Cut scope or accept the new date".into();
    i.risks = vec![r];
    let report = assemble(&i);
    assert_eq!(report.sections[0].kind, SectionKind::Summary);
    assert_eq!(report.sections[1].kind, SectionKind::Asks);
    let summary: Vec<&str> = report.sections[0]
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        summary,
        [
            "The team finished 1 items this week, for “Checkout”.",
            "“Checkout” is at risk: 31 % likely by its deadline, Fri 4 Dec; 85 % likely by Fri 18 Dec.",
            "1 open risks; the heaviest: “Risk 60” (medium likelihood, high impact).",
        ]
    );
    let asks: Vec<&str> = report.sections[1]
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        asks,
        [
            "“Checkout”: cut scope to what fits (5 of the 9 remaining items fit by Fri 4 Dec at 85 % confidence), or accept the new date Fri 18 Dec?",
            "“Risk 60” — proposed: Cut scope or accept the new date",
        ]
    );
    // The Markdown update reads summary and asks before the ticket lists.
    let md = to_markdown(&report);
    let (summary_at, asks_at, done_at) = (
        md.find("## Summary").unwrap(),
        md.find("## Decisions needed").unwrap(),
        md.find("## Done").unwrap(),
    );
    assert!(summary_at < asks_at && asks_at < done_at, "{md}");
}

#[test]
fn trends_leave_weeks_without_data_out() {
    let mut i = input();
    i.metrics = vec![metric(
        20,
        "conversion",
        "Conversion",
        Direction::Up,
        Audience::Business,
    )];
    // A point in W45 and one in W47; W46 has none.
    i.points = vec![
        point(
            20,
            Utc.with_ymd_and_hms(2026, 11, 4, 12, 0, 0).unwrap(),
            2.0,
        ),
        point(20, at(18, 12), 2.4),
    ];
    let r = assemble(&i);
    let weeks: Vec<&str> = r.trends[0].points.iter().map(|p| p.week.as_str()).collect();
    // Before the fix, W46 carried W45's 2.0 forward.
    assert_eq!(weeks, ["2026-W45", "2026-W47"]);
}

#[test]
fn the_weeks_decisions_follow_what_is_still_asked() {
    let mut i = input();
    let decided = crate::decision::Decision {
        id: id(70),
        team_id: id(1),
        goal_id: Some(id(10)),
        title: "Checkout: accept the new date".into(),
        context: "The launch can wait.\n\nForecast on Mon 16 Nov: 31 % likely by the deadline"
            .into(),
        options: Vec::new(),
        decision: "Accept the new date: the deadline moves from Fri 4 Dec to Fri 18 Dec.".into(),
        consequences: String::new(),
        decided_by: Some("lee".into()),
        decided_at: at(17, 9),
        created_at: at(17, 9),
        updated_at: at(17, 9),
    };
    let mut other_team = decided.clone();
    other_team.id = id(71);
    other_team.team_id = id(2);
    i.decisions = vec![decided, other_team];
    let r = assemble(&i);
    let asks = section_of(&r, SectionKind::Asks);
    assert_eq!(asks.lines.len(), 1, "{:?}", asks.lines);
    assert_eq!(asks.lines[0].id, format!("decision:{}", id(70)));
    assert_eq!(
        asks.lines[0].text,
        "Decided on Tue 17 Nov by lee: Checkout: accept the new date — Accept the new date: \
         the deadline moves from Fri 4 Dec to Fri 18 Dec. Why: The launch can wait."
    );
    assert_eq!(asks.empty_message, None);
}

#[test]
fn a_decision_about_a_goal_is_one_version() {
    let mut g = goal(10, "Checkout", GoalStatus::InProgress, None);
    g.version = 3;
    let moved = crate::goal::FieldChange {
        field: "scope".into(),
        before: serde_json::json!({"remaining_items": 9}),
        after: serde_json::json!({"remaining_items": 5}),
    };
    let change = g
        .decide(
            crate::goal::GoalPatch::default(),
            vec![moved],
            "lee",
            at(17, 9),
        )
        .unwrap();
    assert_eq!(change.goal.version, 4);
    let v = change.version.unwrap();
    assert_eq!(
        (v.version, v.action.as_str(), v.changed_by.as_str()),
        (4, "decision", "lee")
    );
    assert_eq!(v.changes.len(), 1);
    // Nothing changed: refused; a draft takes no decision.
    assert!(
        g.decide(
            crate::goal::GoalPatch::default(),
            Vec::new(),
            "lee",
            at(17, 9)
        )
        .is_err()
    );
    let draft = goal(11, "Draft", GoalStatus::Draft, None);
    assert!(
        draft
            .decide(
                crate::goal::GoalPatch::default(),
                Vec::new(),
                "lee",
                at(17, 9)
            )
            .is_err()
    );
}
