//! The weekly report of the demo organisation's Payments team in week
//! 2026-W47: snapshots of every rendering (Markdown, HTML e-mail, plain text,
//! Slack blocks), Slack's limits, and editing. These tests need the demo, which
//! lives in this crate, so they are here rather than in the domain's report
//! module (the domain must not depend on the demo).

use chrono::{IsoWeek, NaiveDate};
use tandem_domain::report::*;

fn w47() -> IsoWeek {
    parse_week("2026-W47").unwrap()
}

fn section_of(r: &WeeklyReport, kind: SectionKind) -> &ReportSection {
    r.sections.iter().find(|s| s.kind == kind).unwrap()
}

fn demo_report() -> WeeklyReport {
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let demo = tandem_demo::organisation(today);
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
        requests: Vec::new(),
        decisions: Vec::new(),
        team,
    };
    assemble(&input)
}

#[test]
fn the_demo_report_renders_as_markdown() {
    let report = demo_report();
    expect_test::expect_file!["snapshots/weekly_report_payments_2026_w47.md"]
        .assert_eq(&to_markdown(&report));
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["week"], "2026-W47");
    assert_eq!(json["sections"][0]["kind"], "summary");
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
    expect_test::expect_file!["snapshots/weekly_report_payments_2026_w47.html"].assert_eq(&html);
    assert!(!html.contains("<style"), "styles are inline");
    assert!(!html.contains("<script"));
    for c in &charts {
        assert!(html.contains(&format!("src=\"cid:{}\"", c.cid)));
    }
}

#[test]
fn the_demo_report_renders_as_plain_text() {
    let text = to_text(&edited_demo(), Some("https://tandem.example/r"));
    expect_test::expect_file!["snapshots/weekly_report_payments_2026_w47.txt"].assert_eq(&text);
    assert!(!text.contains('<'));
}

#[test]
fn the_demo_report_renders_as_slack_blocks() {
    let slack = to_slack(&edited_demo(), Some("https://tandem.example/r"));
    let pretty = serde_json::to_string_pretty(&slack).unwrap() + "\n";
    expect_test::expect_file!["snapshots/weekly_report_payments_2026_w47.slack.json"]
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
            ("totals".to_owned(), "x".to_owned()),
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
            "notes.totals",
            "hide[0]",
            "order.numbers[1]",
            "order.numbers[2]"
        ]
    );
    assert!(err.to_string().contains("at most 4000 characters"), "{err}");
    assert!(
        err.to_string().contains("\"totals\" is not one of"),
        "{err}"
    );
    assert!(edits.is_empty(), "nothing applied");
}
