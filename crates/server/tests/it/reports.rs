//! The weekly status report over the API, on the demo organisation.

use chrono::{Datelike, Duration, Utc};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    weekly_report_of_the_demo,
    weekly_report_refuses_bad_input,
    drafts_are_edited_approved_and_keep_their_edits,
    schedules_are_checked,
    numbers_show_the_weeks_deployments_and_incidents
);

/// Last week: the demo has a full week of history there.
fn last_week() -> String {
    let w = (Utc::now().date_naive() - Duration::days(7)).iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

async fn weekly_report_of_the_demo(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let week = last_week();
    let path = format!("/api/v1/teams/payments/reports/weekly?week={week}");
    // Stakeholders read approved reports only (below); the team reads drafts.
    for token in [&app.member, &app.manager] {
        let r = app.get(token, &path).await.ok(200);
        assert_eq!(r.body["week"], week.as_str());
        assert_eq!(r.body["team"]["key"], "payments");
        let kinds: Vec<&str> = r.body["sections"]
            .as_array()
            .expect("sections")
            .iter()
            .map(|s| s["kind"].as_str().expect("a kind"))
            .collect();
        assert_eq!(
            kinds,
            [
                "summary",
                "asks",
                "done",
                "in_progress",
                "risks",
                "next_steps",
                "numbers"
            ]
        );
        for s in r.body["sections"].as_array().expect("sections") {
            let lines = s["lines"].as_array().expect("lines");
            assert!(
                !lines.is_empty() || s["empty_message"].is_string(),
                "a section has lines or says it is empty: {s:#}"
            );
            for l in lines {
                assert!(l["id"].as_str().is_some_and(|id| !id.is_empty()));
            }
        }
    }
    let md = app
        .get(&app.member, &format!("{path}&format=markdown"))
        .await
        .ok(200);
    assert!(
        md.header("content-type")
            .is_some_and(|c| c.starts_with("text/markdown"))
    );
    let text = md.body.as_str().expect("markdown text");
    assert!(
        text.starts_with(&format!("# Payments — week {week} (")),
        "{text}"
    );
    for heading in [
        "## Done",
        "## In progress",
        "## Risks",
        "## Next steps",
        "## Numbers",
    ] {
        assert!(text.contains(heading), "{heading} in {text}");
    }
    // Without a week: the current one.
    let current = app
        .get(&app.member, "/api/v1/teams/payments/reports/weekly")
        .await
        .ok(200);
    let now = Utc::now().date_naive().iso_week();
    assert_eq!(
        current.body["week"],
        format!("{}-W{:02}", now.year(), now.week())
    );
}

async fn weekly_report_refuses_bad_input(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let base = "/api/v1/teams/payments/reports/weekly";
    for week in ["2026-W99", "last", "2026-47"] {
        let r = app
            .get(&app.stakeholder, &format!("{base}?week={week}"))
            .await;
        r.err_field(400, "bad_request", "week");
    }
    app.get(&app.stakeholder, &format!("{base}?format=pdf"))
        .await
        .err_field(400, "bad_request", "format");
    app.get(&app.stakeholder, "/api/v1/teams/nope/reports/weekly")
        .await
        .err(404, "not_found");
    let anonymous = app.send(app.request(reqwest::Method::GET, base)).await;
    assert_eq!(anonymous.status.as_u16(), 401);
}

async fn drafts_are_edited_approved_and_keep_their_edits(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let week = last_week();
    let draft = format!("/api/v1/teams/payments/reports/{week}/draft");
    // No draft yet: the report as assembled.
    let r = app.get(&app.member, &draft).await.ok(200);
    assert!(r.body["draft"].is_null());
    let numbers = r.body["report"]["sections"][6]["lines"]
        .as_array()
        .unwrap()
        .clone();
    let first = numbers[0]["id"].as_str().unwrap().to_owned();
    let second = numbers[1]["id"].as_str().unwrap().to_owned();

    // Only managers edit.
    let edit = serde_json::json!({
        "notes": {"risks": "We decide on Monday."},
        "hide": [first],
        "order": {"numbers": [second]},
    });
    app.patch(&app.member, &draft, edit.clone())
        .await
        .err(403, "forbidden");
    let r = app.patch(&app.manager, &draft, edit).await.ok(200);
    assert_eq!(r.body["draft"]["status"], "draft");
    let report = &r.body["report"];
    assert_eq!(report["sections"][4]["note"], "We decide on Monday.");
    let ids: Vec<&str> = report["sections"][6]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids[0], second);
    assert!(!ids.contains(&first.as_str()));

    // The preview shows the edits in every format.
    let md = app
        .get(
            &app.member,
            &format!("/api/v1/teams/payments/reports/weekly?week={week}&format=markdown"),
        )
        .await
        .ok(200);
    assert!(md.body.as_str().unwrap().contains("> We decide on Monday."));
    for format in ["html", "text"] {
        let r = app
            .get(
                &app.member,
                &format!("/api/v1/teams/payments/reports/weekly?week={week}&format={format}"),
            )
            .await
            .ok(200);
        assert!(
            r.body.as_str().unwrap().contains("We decide on Monday."),
            "{format}"
        );
    }
    let slack = app
        .get(
            &app.member,
            &format!("/api/v1/teams/payments/reports/weekly?week={week}&format=slack"),
        )
        .await
        .ok(200);
    assert!(slack.body["blocks"].as_array().unwrap().len() <= 50);

    // Bad edits name the field and change nothing.
    let r = app
        .patch(
            &app.manager,
            &draft,
            serde_json::json!({"hide": ["done:nope"], "notes": {"headline": "x"}}),
        )
        .await;
    let e = r.err_field(422, "invalid", "notes.headline");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("hide[0]: the report has no line"),
        "{e}"
    );
    let long = "x".repeat(4001);
    app.patch(
        &app.manager,
        &draft,
        serde_json::json!({"notes": {"done": long}}),
    )
    .await
    .err_field(422, "invalid", "notes.done");
    let r = app.get(&app.member, &draft).await.ok(200);
    assert_eq!(
        r.body["draft"]["edits"]["notes"]["risks"],
        "We decide on Monday."
    );
    assert!(r.body["draft"]["edits"]["notes"]["done"].is_null());

    // Sending needs an approval first; approving records who.
    let send = format!("/api/v1/teams/payments/reports/{week}/send");
    app.post(&app.manager, &send, serde_json::json!({}))
        .await
        .err(409, "conflict");
    let approve = format!("/api/v1/teams/payments/reports/{week}/approve");
    app.post(&app.member, &approve, serde_json::json!({}))
        .await
        .err(403, "forbidden");
    let r = app
        .post(&app.manager, &approve, serde_json::json!({}))
        .await
        .ok(200);
    assert_eq!(r.body["status"], "approved");
    assert_eq!(r.body["approved_by"], "token:manager");
    // No channel is configured in the test settings: a clear 409.
    let r = app.post(&app.manager, &send, serde_json::json!({})).await;
    let e = r.err(409, "conflict");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("no e-mail, Slack or webhook delivery is set up"),
        "{e}"
    );
    // An edit after approval withdraws it; the edits stay.
    let r = app
        .patch(&app.manager, &draft, serde_json::json!({"show": [first]}))
        .await
        .ok(200);
    assert_eq!(r.body["draft"]["status"], "draft");
    assert_eq!(
        r.body["draft"]["edits"]["notes"]["risks"],
        "We decide on Monday."
    );
    assert_eq!(
        r.body["draft"]["edits"]["hidden"].as_array().unwrap().len(),
        0
    );

    // Nothing was sent: the archive is empty.
    let r = app
        .get(&app.stakeholder, "/api/v1/reports/archive?team=payments")
        .await
        .ok(200);
    assert_eq!(r.body.as_array().unwrap().len(), 0);
    app.get(
        &app.stakeholder,
        &format!("/api/v1/teams/payments/reports/{week}/archive"),
    )
    .await
    .err(404, "not_found");
}

async fn schedules_are_checked(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let path = "/api/v1/teams/payments/reports/schedule";
    let r = app.get(&app.member, path).await.ok(200);
    assert_eq!(r.body["cron"], "0 16 * * 5");
    assert_eq!(r.body["default"], true);
    // The configured default was never saved: no invented timestamp (it was
    // year -262143, which no client parses as a date-time).
    assert_eq!(r.body["updated_at"], serde_json::Value::Null);
    assert!(r.body["next_due"].is_string());
    let put =
        |body: serde_json::Value| app.call(reqwest::Method::PUT, &app.manager, path, Some(body));
    put(serde_json::json!({"cron": "0 0 16 * * 5"}))
        .await
        .err_field(422, "invalid", "cron");
    put(serde_json::json!({"cron": "0 16 * * 5", "email_to": ["not an address"]}))
        .await
        .err_field(422, "invalid", "email_to[0]");
    let r = put(serde_json::json!({"cron": "30  9 * * 1", "auto_send": true, "email_to": ["ana@example.com"]}))
        .await
        .ok(200);
    assert_eq!(r.body["cron"], "30 9 * * 1");
    assert_eq!(r.body["default"], false);
    assert!(
        r.body["updated_at"]
            .as_str()
            .is_some_and(|t| t.parse::<chrono::DateTime<chrono::Utc>>().is_ok()),
        "{}",
        r.body
    );
    assert_eq!(r.body["auto_send"], true);
    app.call(
        reqwest::Method::PUT,
        &app.member,
        path,
        Some(serde_json::json!({"cron": "0 16 * * 5"})),
    )
    .await
    .err(403, "forbidden");
}

async fn numbers_show_the_weeks_deployments_and_incidents(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let week = last_week();
    let monday =
        tandem_domain::report::week_start(tandem_domain::report::parse_week(&week).unwrap());
    let at = |day: i64, hour: u32| {
        (monday + Duration::days(day))
            .and_hms_opt(hour, 0, 0)
            .unwrap()
            .and_utc()
    };
    // Three deployments on two days, one of which caused an incident that was
    // resolved two hours later; one deployment outside the week.
    for (id, day) in [("d1", 0), ("d2", 0), ("d3", 3), ("outside", 8)] {
        app.post(
            &app.member,
            "/api/v1/events/deployments",
            serde_json::json!({
                "id": id, "service": "payments-api", "environment": "production",
                "project": "payments-api",
                "started_at": at(day, 10).to_rfc3339(),
                "finished_at": at(day, 11).to_rfc3339(),
                "status": "success"
            }),
        )
        .await
        .ok(200);
    }
    app.post(
        &app.member,
        "/api/v1/events/incidents",
        serde_json::json!({
            "id": "inc-1", "service": "payments-api", "severity": "sev2",
            "project": "payments-api",
            "opened_at": at(3, 12).to_rfc3339(),
            "resolved_at": at(3, 14).to_rfc3339(),
            "caused_by_deployment": "d3",
            "title": "Refunds failing"
        }),
    )
    .await
    .ok(200);
    let r = app
        .get(
            &app.member,
            &format!("/api/v1/teams/payments/reports/weekly?week={week}"),
        )
        .await
        .ok(200);
    let lines: Vec<(String, String)> = r.body["sections"][6]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap().to_owned(),
                l["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let find = |id: &str| {
        lines
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, t)| t.clone())
            .unwrap_or_else(|| panic!("no {id} in {lines:#?}"))
    };
    assert!(
        find("dora:deployment_frequency").starts_with("Deployments: 3 this week, on 2 of 7 days"),
        "{lines:#?}"
    );
    assert!(
        find("dora:change_failure_rate").starts_with("Change failure rate: 33 % (1 of 3 changes)"),
        "{lines:#?}"
    );
    assert!(
        find("dora:incidents")
            .starts_with("Incidents: 1 this week, 1 resolved; median time to restore 2 h"),
        "{lines:#?}"
    );
    assert_eq!(lines.last().unwrap().0, "numbers:debt");
}
