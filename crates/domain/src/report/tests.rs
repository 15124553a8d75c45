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
    assert_eq!(up.describe("%"), "+2.5 % (2 → 2.05 %)");
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
        "G — forecast: 85 % likely done by 2026-12-18; 62 % chance on time"
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

fn demo_report() -> WeeklyReport {
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let demo = crate::demo::organisation(today);
    let team = demo
        .teams
        .iter()
        .find(|t| t.key == "payments")
        .unwrap()
        .clone();
    let input = ReportInput {
        week: w47(),
        items: demo
            .work_items
            .iter()
            .filter(|w| w.team_id == team.id)
            .cloned()
            .collect(),
        goals: demo
            .goals
            .iter()
            .filter(|g| g.team_id == team.id)
            .cloned()
            .collect(),
        stages: demo.stages.clone(),
        risks: demo
            .risks
            .iter()
            .filter(|r| r.team_id == team.id)
            .cloned()
            .collect(),
        metrics: demo.metrics.clone(),
        points: demo.points.clone(),
        forecasts: Vec::new(),
        debt_target_percent: 20.0,
        dora: None,
        team,
    };
    assemble(&input)
}

#[test]
fn the_demo_report_renders_as_markdown() {
    let report = demo_report();
    expect_test::expect_file!["../snapshots/weekly_report_payments_2026_w47.md"]
        .assert_eq(&to_markdown(&report));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["week"], "2026-W47");
    assert_eq!(json["sections"][0]["kind"], "done");
}

#[test]
fn the_demo_report_has_twelve_week_trends_for_its_numbers() {
    let report = demo_report();
    let numbers = section_of(&report, SectionKind::Numbers);
    assert!(!report.trends.is_empty());
    for t in &report.trends {
        assert!(
            numbers.lines.iter().any(|l| l.id == t.line_id),
            "{}",
            t.line_id
        );
        assert!(t.points.len() <= TREND_WEEKS as usize);
        assert_eq!(t.points.last().unwrap().week, "2026-W47");
        assert!(t.points.windows(2).all(|w| w[0].date < w[1].date));
    }
    assert!(report.trends.iter().any(|t| t.points.len() == 12));
}

/// The demo report with an editor's note on two sections and, for the
/// snapshots, a few edits.
fn edited_demo() -> WeeklyReport {
    let report = demo_report();
    let mut edits = ReportEdits::default();
    let req: EditRequest = serde_json::from_value(serde_json::json!({
        "notes": {
            "done": "A good week: the card vault migration is behind us.",
            "risks": "We will decide on the latency stage on Monday.\nAsk me if in doubt.",
        },
    }))
    .unwrap();
    edits.merge(&req, &report).unwrap();
    apply(&report, &edits)
}

#[test]
fn the_demo_report_renders_as_an_html_email() {
    let report = edited_demo();
    let charts: Vec<ChartRef> = report
        .trends
        .iter()
        .enumerate()
        .map(|(i, t)| ChartRef {
            line_id: t.line_id.clone(),
            cid: format!("chart-{i}@tandem"),
            alt: format!("{}: last 12 weeks", t.label),
            width: 270,
            height: 150,
        })
        .collect();
    let html = to_html(
        &report,
        &charts,
        Some("https://tandem.example/reports/payments/2026-W47"),
    );
    expect_test::expect_file!["../snapshots/weekly_report_payments_2026_w47.html"].assert_eq(&html);
    assert!(!html.contains("<style"), "styles are inline");
    assert!(!html.contains("<script"));
    for c in &charts {
        assert!(html.contains(&format!("src=\"cid:{}\"", c.cid)));
    }
}

#[test]
fn the_demo_report_renders_as_plain_text() {
    let text = to_text(&edited_demo(), Some("https://tandem.example/r"));
    expect_test::expect_file!["../snapshots/weekly_report_payments_2026_w47.txt"].assert_eq(&text);
    assert!(!text.contains('<'));
}

#[test]
fn the_demo_report_renders_as_slack_blocks() {
    let slack = to_slack(&edited_demo(), Some("https://tandem.example/r"));
    let pretty = serde_json::to_string_pretty(&slack).unwrap() + "\n";
    expect_test::expect_file!["../snapshots/weekly_report_payments_2026_w47.slack.json"]
        .assert_eq(&pretty);
    assert_slack_limits(&slack);
}

fn assert_slack_limits(slack: &serde_json::Value) {
    let blocks = slack["blocks"].as_array().unwrap();
    assert!(blocks.len() <= SLACK_MAX_BLOCKS, "{} blocks", blocks.len());
    for b in blocks {
        if let Some(t) = b["text"]["text"].as_str() {
            assert!(
                t.chars().count() <= SLACK_MAX_TEXT,
                "{} chars",
                t.chars().count()
            );
        }
    }
}

#[test]
fn an_over_long_report_is_cut_to_slack_limits_with_a_count_and_a_link() {
    let mut report = demo_report();
    let risks = report
        .sections
        .iter_mut()
        .find(|s| s.kind == SectionKind::Risks)
        .unwrap();
    risks.empty_message = None;
    risks.lines = (0..400)
        .map(|i| ReportLine {
            id: format!("risk:{i}"),
            text: format!("Risk number {i} {}", "with a long explanation ".repeat(20)),
            children: Vec::new(),
        })
        .collect();
    // One line longer than a whole block.
    risks.lines[0].text = "x".repeat(5000);
    let slack = to_slack(&report, Some("https://tandem.example/r"));
    assert_slack_limits(&slack);
    let blocks = slack["blocks"].as_array().unwrap();
    assert_eq!(blocks.len(), SLACK_MAX_BLOCKS);
    let footer = blocks.last().unwrap()["elements"][0]["text"]
        .as_str()
        .unwrap();
    assert!(footer.starts_with("…and "), "{footer}");
    assert!(footer.contains("more lines"), "{footer}");
    assert!(footer.contains("<https://tandem.example/r|Open the full report>"));
    let shown: usize = blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .map(|t| t.matches("• ").count())
        .sum();
    let more: usize = footer
        .trim_start_matches("…and ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let total: usize = report.sections.iter().map(|s| s.lines.len()).sum();
    assert_eq!(shown + more, total, "every line is shown or counted");
}

#[test]
fn edits_hide_reorder_and_note_and_survive_new_data() {
    let report = demo_report();
    let numbers = section_of(&report, SectionKind::Numbers);
    let ids: Vec<String> = numbers.lines.iter().map(|l| l.id.clone()).collect();
    assert!(ids.len() >= 3);
    let mut edits = ReportEdits::default();
    let req = EditRequest {
        notes: [(
            "numbers".to_owned(),
            "  Latency is what matters.  ".to_owned(),
        )]
        .into(),
        hide: vec![ids[0].clone()],
        show: Vec::new(),
        order: [("numbers".to_owned(), vec![ids[2].clone(), ids[1].clone()])].into(),
    };
    edits.merge(&req, &report).unwrap();
    let edited = apply(&report, &edits);
    let n = section_of(&edited, SectionKind::Numbers);
    assert_eq!(n.note.as_deref(), Some("Latency is what matters."));
    assert_eq!(n.lines[0].id, ids[2]);
    assert_eq!(n.lines[1].id, ids[1]);
    assert!(n.lines.iter().all(|l| l.id != ids[0]));
    assert_eq!(n.lines.len(), ids.len() - 1);
    assert!(
        edited.trends.iter().all(|t| t.line_id != ids[0]),
        "a hidden metric has no chart"
    );

    // New data: the ordered line ids[2] vanished and a new line appeared.
    let mut regenerated = report.clone();
    let ns = regenerated
        .sections
        .iter_mut()
        .find(|s| s.kind == SectionKind::Numbers)
        .unwrap();
    ns.lines.retain(|l| l.id != ids[2]);
    ns.lines.insert(
        0,
        ReportLine {
            id: "metric:new".into(),
            text: "New metric: 1".into(),
            children: Vec::new(),
        },
    );
    let edited = apply(&regenerated, &edits);
    let order: Vec<&str> = section_of(&edited, SectionKind::Numbers)
        .lines
        .iter()
        .map(|l| l.id.as_str())
        .collect();
    assert_eq!(
        order[0], ids[1],
        "the ordered line that is left comes first"
    );
    assert!(order[1..].contains(&"metric:new"), "a new line is appended");
    assert!(!order.contains(&ids[0].as_str()), "still hidden");

    // Showing again, and removing the note with an empty text.
    edits
        .merge(
            &EditRequest {
                notes: [("numbers".to_owned(), String::new())].into(),
                show: vec![ids[0].clone()],
                ..EditRequest::default()
            },
            &report,
        )
        .unwrap();
    assert!(edits.notes.is_empty());
    assert!(edits.hidden.is_empty());
}

#[test]
fn hiding_every_line_of_a_section_says_so() {
    let report = demo_report();
    let risks = section_of(&report, SectionKind::Risks);
    let edits = ReportEdits {
        hidden: risks.lines.iter().map(|l| l.id.clone()).collect(),
        ..ReportEdits::default()
    };
    let edited = apply(&report, &edits);
    let r = section_of(&edited, SectionKind::Risks);
    assert!(r.lines.is_empty());
    assert_eq!(
        r.empty_message.as_deref(),
        Some("All lines hidden by the editor.")
    );
}

#[test]
fn bad_edits_name_the_field_and_change_nothing() {
    let report = demo_report();
    let mut edits = ReportEdits::default();
    let req = EditRequest {
        notes: [
            ("summary".to_owned(), "x".to_owned()),
            ("done".to_owned(), "y".repeat(MAX_NOTE_CHARS + 1)),
            ("risks".to_owned(), "fine".to_owned()),
        ]
        .into(),
        hide: vec!["done:nope".into()],
        show: Vec::new(),
        order: [(
            "numbers".to_owned(),
            vec![
                "numbers:debt".into(),
                "numbers:debt".into(),
                "risk:x".into(),
            ],
        )]
        .into(),
    };
    let err = edits.merge(&req, &report).unwrap_err();
    let fields = err.fields();
    assert_eq!(
        fields,
        vec![
            "notes.done",
            "notes.summary",
            "hide[0]",
            "order.numbers[1]",
            "order.numbers[2]"
        ]
    );
    assert!(err.to_string().contains("at most 4000 characters"), "{err}");
    assert!(
        err.to_string().contains("\"summary\" is not one of"),
        "{err}"
    );
    assert!(edits.is_empty(), "nothing applied");
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
