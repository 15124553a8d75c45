//! Unit tests of goal documents: the exact round trip, tolerant parsing, errors by field and line, import rules.

use super::*;
use chrono::TimeZone;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn doc() -> GoalDocument {
    GoalDocument {
        id: Some(Uuid::from_u128(7)),
        team: "web".into(),
        project: Some("dashboard".into()),
        title: "Faster user list".into(),
        business_goal: "The dashboard feels slow.\n\nMore conversions once it is fast.".into(),
        technical_tasks: "- Cache the list\n- Index `users.created_at`".into(),
        hypotheses: vec!["Caching halves p95.".into(), "Users notice.".into()],
        success_metrics: vec![SuccessMetric {
            metric: "p95 latency of /users".into(),
            metric_key: Some("users-p95".into()),
            baseline: Some(500.0),
            target: Some(300.0),
            direction: Direction::Down,
            unit: "ms".into(),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15),
        }],
        parties: Parties {
            owner: Some("Ana".into()),
            requester: Some("Bo".into()),
            contributors: vec!["Cy".into(), "Di".into()],
        },
        timeline: Timeline {
            starts_on: NaiveDate::from_ymd_opt(2026, 11, 1),
            deadline: NaiveDate::from_ymd_opt(2026, 12, 15),
        },
        status: GoalStatus::Agreed,
        version: 2,
        agreed_at: Some(now() + chrono::Duration::microseconds(123_456)),
        agreed_by: Some("maria".into()),
    }
}

fn field_of_err(text: &str) -> (String, String) {
    match parse(text).unwrap_err() {
        DomainError::Invalid(e) => (e[0].field.clone(), e[0].message.clone()),
        other => panic!("{other:?}"),
    }
}

#[test]
fn renders_the_five_parts_in_order_and_reads_them_back() {
    let d = doc();
    let text = render(&d);
    let positions: Vec<usize> = SECTIONS
        .iter()
        .map(|s| text.find(&format!("\n## {s}\n")).expect(s))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(text.starts_with("+++\n"));
    assert!(text.contains("\n# Faster user list\n"));
    assert!(
        text.contains(
            "| p95 latency of /users | users-p95 | 500 | 300 | lower | ms | 2026-12-15 |"
        )
    );
    assert!(
        text.contains("agreed_at = 2026-11-02T09:00:00.123456Z\n"),
        "{text}"
    );
    assert!(text.contains("deadline = 2026-12-15\n"));
    assert!(
        !text.contains("[verbatim]"),
        "clean text needs no verbatim copy"
    );
    assert_eq!(parse(&text).unwrap(), d);
}

#[test]
fn tolerates_crlf_trailing_spaces_comments_and_section_order() {
    let d = doc();
    let text = render(&d)
        .lines()
        .map(|l| format!("{l}  \t"))
        .collect::<Vec<_>>()
        .join("\r\n");
    assert_eq!(parse(&text).unwrap(), d);

    let edited = render(&d).replace(
        "## Business goal\n",
        "## business goal\n\n<!-- a note\nover lines -->\n\n",
    );
    assert_eq!(parse(&edited).unwrap(), d);
}

#[test]
fn headings_inside_text_are_escaped() {
    let mut d = doc();
    d.business_goal =
        "## Not a section\n# Not a title\n\\ backslash\n  <!-- not a comment -->\n### deeper"
            .into();
    d.hypotheses = vec!["first\n## inside a bullet\n\n  indented".into()];
    let text = render(&d);
    assert!(text.contains("\n\\## Not a section\n\\# Not a title\n\\\\ backslash\n\\  <!-- not a comment -->\n\\### deeper\n"), "{text}");
    assert!(
        text.contains("\n- first\n  \\## inside a bullet\n\n    indented\n"),
        "{text}"
    );
    assert_eq!(parse(&text).unwrap(), d);
}

#[test]
fn whitespace_the_body_cannot_show_is_kept_verbatim_until_edited() {
    let mut d = doc();
    d.business_goal = "More conversions\r\n".into();
    d.title = " Padded ".into();
    d.hypotheses = vec!["Clean".into(), "  indented first line".into()];
    let text = render(&d);
    assert!(text.contains("[verbatim]\ntitle = \" Padded \"\nbusiness_goal = \"More conversions\\r\\n\"\nhypotheses = [\"Clean\", \"  indented first line\"]\n"), "{text}");
    assert_eq!(parse(&text).unwrap(), d);
    // Editing the section wins over the verbatim copy.
    let edited = text.replace("\nMore conversions\n", "\nFewer refunds\n");
    assert_eq!(parse(&edited).unwrap().business_goal, "Fewer refunds");
    assert_eq!(parse(&edited).unwrap().title, " Padded ");
}

#[test]
fn a_filled_in_template_imports_as_a_draft() {
    let t = template("payments");
    let err = parse(&t).map(|d| {
        plan_import(
            &d,
            None,
            Resolved {
                team_id: Uuid::nil(),
                project_id: None,
            },
            "ana",
            now(),
            Uuid::from_u128(1),
        )
    });
    // The unfilled template parses, but has no title yet.
    match err.unwrap().unwrap_err() {
        ImportError::Invalid(e) => assert_eq!(e.fields(), vec!["title"]),
        other => panic!("{other:?}"),
    }
    for q in [
        "Which specific metrics are we improving?",
        "What change do we expect?",
        "What hypotheses are we testing?",
        "How will we measure success?",
    ] {
        assert!(t.contains(q), "{q}");
    }
    let filled = t
        .replace("# \n", "# Fewer refunds\n")
        .replace("# owner = \"Who answers for the goal\"", "owner = \"Ana\"")
        .replace(
            "## Hypotheses\n",
            "## Hypotheses\n\n- Retries cause the double charges.\n",
        )
        .replace(
            "## Business goal\n",
            "## Business goal\n\nNo double charges before the audit.\n",
        );
    let d = parse(&filled).unwrap();
    assert_eq!(d.id, None);
    assert_eq!(d.team, "payments");
    assert_eq!(d.title, "Fewer refunds");
    assert_eq!(d.business_goal, "No double charges before the audit.");
    assert_eq!(d.hypotheses, vec!["Retries cause the double charges."]);
    assert_eq!(d.parties.owner.as_deref(), Some("Ana"));
    let plan = plan_import(
        &d,
        None,
        Resolved {
            team_id: Uuid::nil(),
            project_id: None,
        },
        "ana",
        now(),
        Uuid::from_u128(1),
    )
    .unwrap();
    let ImportPlan::Create(goal) = plan else {
        panic!("{plan:?}")
    };
    assert_eq!(
        (goal.id, goal.status, goal.version),
        (Uuid::from_u128(1), GoalStatus::Draft, 0)
    );
}

#[test]
fn broken_front_matter_names_the_field_and_line() {
    let text = render(&doc());
    let (field, message) = field_of_err(&text.replace("target = 300.0", "target = \"300\""));
    assert_eq!(field, "success_metrics[0].target");
    assert!(
        message.contains("invalid type") && message.contains("line 26"),
        "{message}"
    );

    let (field, message) = field_of_err(&text.replace("\"down\"", "\"sideways\""));
    assert_eq!(field, "success_metrics[0].direction");
    assert!(message.contains("sideways"), "{message}");

    let (field, message) = field_of_err(&text.replace("version = 2", "version = [2"));
    assert_eq!(field, "front_matter");
    assert!(message.contains("line 10"), "{message}");

    let (field, _) = field_of_err(&text.replace("team = \"web\"\n", ""));
    assert_eq!(field, "team");
    let (field, _) = field_of_err(&text.replace("team = ", "squad = "));
    assert_eq!(field, "squad");
    let (field, message) = field_of_err(&text.replace(
        "deadline = 2026-12-15\n\n[parties]",
        "deadline = 2026-13-15\n\n[parties]",
    ));
    assert_eq!(field, "front_matter", "{message}");
    let (field, message) = field_of_err(&text.replace(
        "deadline = 2026-12-15\n\n[parties]",
        "deadline = \"soon\"\n\n[parties]",
    ));
    assert_eq!(field, "timeline.deadline");
    assert!(message.contains("\"soon\" is not a date"), "{message}");
    let (field, _) = field_of_err(&text.replace(
        "agreed_at = 2026-11-02T09:00:00.123456Z",
        "agreed_at = 2026-11-02",
    ));
    assert_eq!(field, "agreed_at");
}

#[test]
fn broken_structure_names_the_line() {
    let text = render(&doc());
    let (field, message) = field_of_err(&text.replacen("+++\n", "", 1));
    assert_eq!(field, "front_matter");
    assert!(message.contains("line 1"), "{message}");

    let unclosed = text.replace("\n+++\n", "\n");
    let (field, message) = field_of_err(&unclosed);
    assert_eq!(field, "front_matter");
    assert!(message.contains("no closing `+++`"), "{message}");

    let (field, message) = field_of_err(&text.replace("## Hypotheses", "## Assumptions"));
    assert_eq!(field, "body");
    assert!(
        message.contains("unknown section \"## Assumptions\""),
        "{message}"
    );

    let (field, message) =
        field_of_err(&text.replace("- Caching halves p95.", "Caching halves p95."));
    assert_eq!(field, "hypotheses");
    assert!(message.starts_with("line "), "{message}");

    let (field, _) = field_of_err(&text.replace("# Faster user list\n", ""));
    assert_eq!(field, "title");

    let (field, message) =
        field_of_err(&text.replace("More conversions once", "# More conversions once"));
    assert_eq!(field, "title");
    assert!(message.contains("\\#"), "{message}");

    let (field, message) = field_of_err(&format!("{text}\n<!-- open\n"));
    assert_eq!(field, "body");
    assert!(message.contains("never closed"), "{message}");

    let (field, _) = field_of_err(&text.replace(
        "## Business goal",
        "## Business goal\n\nx\n\n## Business goal",
    ));
    assert_eq!(field, "body");
}

#[test]
fn import_refuses_stale_documents_and_read_only_changes() {
    let d = doc();
    let team_id = Uuid::from_u128(1);
    let project_id = Some(Uuid::from_u128(2));
    let resolved = Resolved {
        team_id,
        project_id,
    };
    let stored = Goal {
        id: d.id.unwrap(),
        team_id,
        project_id,
        title: d.title.clone(),
        business_goal: d.business_goal.clone(),
        technical_tasks: d.technical_tasks.clone(),
        hypotheses: d.hypotheses.clone(),
        success_metrics: d.success_metrics.clone(),
        parties: d.parties.clone(),
        timeline: d.timeline.clone(),
        status: d.status,
        version: 3,
        agreed_at: d.agreed_at,
        agreed_by: d.agreed_by.clone(),
        created_at: now(),
        updated_at: now(),
    };
    let new_id = Uuid::from_u128(9);
    let err = plan_import(&d, Some(&stored), resolved, "bo", now(), new_id).unwrap_err();
    assert_eq!(
        err,
        ImportError::Stale {
            document: 2,
            stored: 3
        }
    );
    assert!(err.to_string().starts_with(
        "version: the document is version 2, the stored goal is version 3; export it again"
    ));

    let mut current = d.clone();
    current.version = 3;
    let plan = plan_import(&current, Some(&stored), resolved, "bo", now(), new_id).unwrap();
    assert!(matches!(plan, ImportPlan::Unchanged(_)), "{plan:?}");

    let mut moved = current.clone();
    moved.timeline.deadline = NaiveDate::from_ymd_opt(2026, 12, 22);
    let ImportPlan::Update(change) =
        plan_import(&moved, Some(&stored), resolved, "bo", now(), new_id).unwrap()
    else {
        panic!()
    };
    let v = change.version.unwrap();
    assert_eq!((v.version, v.action.as_str()), (4, "edit"));
    assert_eq!(
        changes::describe(&v.changes),
        vec!["timeline.deadline: 2026-12-15 → 2026-12-22"]
    );

    let fields = |doc: &GoalDocument, resolved| match plan_import(
        doc,
        Some(&stored),
        resolved,
        "bo",
        now(),
        new_id,
    ) {
        Err(ImportError::Invalid(e)) => {
            e.fields().iter().map(|f| f.to_string()).collect::<Vec<_>>()
        }
        other => panic!("{other:?}"),
    };
    let mut s = current.clone();
    s.status = GoalStatus::Done;
    assert_eq!(fields(&s, resolved), vec!["status"]);
    let mut s = current.clone();
    s.agreed_by = Some("mallory".into());
    assert_eq!(fields(&s, resolved), vec!["agreed_by"]);
    assert_eq!(
        fields(
            &current,
            Resolved {
                team_id: Uuid::from_u128(5),
                project_id
            }
        ),
        vec!["team"]
    );
    assert_eq!(
        fields(
            &current,
            Resolved {
                team_id,
                project_id: None
            }
        ),
        vec!["project"]
    );
    let mut s = current.clone();
    s.success_metrics.clear();
    assert_eq!(fields(&s, resolved), vec!["success_metrics"]);
}
