//! The weekly status report over the API, on the demo organisation.

use chrono::{Datelike, Duration, Utc};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(weekly_report_of_the_demo, weekly_report_refuses_bad_input);

/// Last week: the demo has a full week of history there.
fn last_week() -> String {
    let w = (Utc::now().date_naive() - Duration::days(7)).iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

async fn weekly_report_of_the_demo(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let week = last_week();
    let path = format!("/api/v1/teams/payments/reports/weekly?week={week}");
    for token in [&app.stakeholder, &app.member] {
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
            ["done", "in_progress", "risks", "next_steps", "numbers"]
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
        .get(&app.stakeholder, &format!("{path}&format=markdown"))
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
        .get(&app.stakeholder, "/api/v1/teams/payments/reports/weekly")
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
