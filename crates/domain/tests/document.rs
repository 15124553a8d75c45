//! Property tests for agreements as documents: any goal renders to a document
//! that parses back to the same goal, also after an editor has changed the
//! line ends and added trailing whitespace; the readable diff of a change
//! names every changed field.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use proptest::prelude::*;
use proptest::sample::select;
use uuid::Uuid;

use tandem_domain::document::{GoalDocument, changes, parse, render};
use tandem_domain::goal::{GoalStatus, Parties, SuccessMetric, Timeline};
use tandem_domain::metric::Direction;

/// Pieces that trip up a Markdown document: headings, comments, the front
/// matter fence, escapes, list markers, line ends and invisible whitespace.
const PIECES: &[&str] = &[
    "## ",
    "# ",
    "#",
    "## Business goal",
    "\n",
    "\n",
    "\r\n",
    "\r",
    " ",
    "  ",
    "\t",
    "\u{a0}",
    "<!--",
    "-->",
    "\\",
    "+++",
    "- ",
    "* ",
    "|",
    "\"",
    "'''",
    "```",
    "word",
    "More conversions",
    "é",
    "\u{feff}",
    "\u{0}",
    "\u{7f}",
];

fn tricky() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(select(PIECES), 0..14).prop_map(|p| p.concat()),
        1 => any::<String>(),
        2 => "[A-Za-z0-9 .,]{0,40}",
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    (0i64..200_000).prop_map(|d| NaiveDate::from_ymd_opt(1900, 1, 1).unwrap() + Duration::days(d))
}

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..4_000_000_000_000_000).prop_map(|micros| {
        Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap() + Duration::microseconds(micros)
    })
}

fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        (-10_000i32..10_000).prop_map(f64::from),
        prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO,
    ]
}

fn metric() -> impl Strategy<Value = SuccessMetric> {
    (
        tricky(),
        prop::option::of(tricky()),
        prop::option::of(number()),
        prop::option::of(number()),
        select(Direction::ALL),
        tricky(),
        prop::option::of(date()),
    )
        .prop_map(
            |(metric, metric_key, baseline, target, direction, unit, deadline)| SuccessMetric {
                metric,
                metric_key,
                baseline,
                target,
                direction,
                unit,
                deadline,
            },
        )
}

fn document() -> impl Strategy<Value = GoalDocument> {
    let texts = (
        tricky(),
        tricky(),
        tricky(),
        prop::collection::vec(tricky(), 0..5),
    );
    let machine = (
        prop::option::of(any::<u128>().prop_map(Uuid::from_u128)),
        tricky(),
        prop::option::of(tricky()),
        select(GoalStatus::ALL),
        any::<i32>(),
        prop::option::of(instant()),
        prop::option::of(tricky()),
    );
    let parts = (
        prop::collection::vec(metric(), 0..3),
        (
            prop::option::of(tricky()),
            prop::option::of(tricky()),
            prop::collection::vec(tricky(), 0..3),
        ),
        (prop::option::of(date()), prop::option::of(date())),
    );
    (texts, machine, parts).prop_map(
        |(
            (title, business_goal, technical_tasks, hypotheses),
            (id, team, project, status, version, agreed_at, agreed_by),
            (success_metrics, (owner, requester, contributors), (starts_on, deadline)),
        )| GoalDocument {
            id,
            team,
            project,
            title,
            business_goal,
            technical_tasks,
            hypotheses,
            success_metrics,
            parties: Parties {
                owner,
                requester,
                contributors,
            },
            timeline: Timeline {
                starts_on,
                deadline,
            },
            status,
            version,
            agreed_at,
            agreed_by,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn every_document_round_trips_exactly(doc in document()) {
        let text = render(&doc);
        let back = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &doc, "{}", text);
        prop_assert_eq!(render(&back), text);
    }

    #[test]
    fn editors_line_ends_and_trailing_whitespace_change_nothing(doc in document(), crlf: bool, pad in select(&["", " ", "  ", "\t "][..])) {
        let text = render(&doc);
        let mut edited: String = text.split('\n').map(|l| format!("{l}{pad}")).collect::<Vec<_>>().join(if crlf { "\r\n" } else { "\n" });
        edited.insert(0, '\u{feff}');
        let back = parse(&edited).map_err(|e| TestCaseError::fail(format!("{e}\n{edited}")))?;
        prop_assert_eq!(back, doc);
    }

    #[test]
    fn a_changed_field_is_described(a in document(), b in document()) {
        let ga = goal_of(&a);
        let gb = goal_of(&b);
        let diff = tandem_domain::goal::diff(&ga, &gb);
        let lines = changes::describe(&diff);
        for c in &diff {
            prop_assert!(lines.iter().any(|l| l.starts_with(&c.field)), "{} missing from {:?}", c.field, lines);
        }
    }
}

fn goal_of(d: &GoalDocument) -> tandem_domain::goal::Goal {
    let now = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap();
    tandem_domain::goal::Goal {
        id: Uuid::nil(),
        team_id: Uuid::nil(),
        project_id: None,
        title: d.title.clone(),
        business_goal: d.business_goal.clone(),
        technical_tasks: d.technical_tasks.clone(),
        hypotheses: d.hypotheses.clone(),
        success_metrics: d.success_metrics.clone(),
        parties: d.parties.clone(),
        timeline: d.timeline.clone(),
        status: d.status,
        version: d.version,
        agreed_at: d.agreed_at,
        agreed_by: d.agreed_by.clone(),
        created_at: now,
        updated_at: now,
    }
}

#[test]
fn a_heading_inside_the_business_goal_stays_text() {
    let doc = GoalDocument {
        id: None,
        team: "web".into(),
        project: None,
        title: "Faster user list".into(),
        business_goal: "Why:\n## Technical tasks\nis a line of text here, not a section.".into(),
        technical_tasks: String::new(),
        hypotheses: vec![],
        success_metrics: vec![],
        parties: Parties::default(),
        timeline: Timeline::default(),
        status: GoalStatus::Draft,
        version: 0,
        agreed_at: None,
        agreed_by: None,
    };
    let text = render(&doc);
    assert!(
        text.contains("\nWhy:\n\\## Technical tasks\nis a line"),
        "{text}"
    );
    assert_eq!(parse(&text).unwrap(), doc);
}
