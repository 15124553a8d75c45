//! Decisions recorded from the pages and the API (issue 13): the business
//! answers a goal at risk — accept the new date, cut scope to the cut line,
//! add people, drop — and the decision, the goal's new version, the risks
//! and the moved items are written together; the week's report lists it;
//! the decisions log filters by team and goal and downloads as Markdown.

use chrono::{Datelike, Utc};
use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::pages::{Browser, csrf_of};
use crate::support::TestApp;

tandem_testkit::per_engine!(
    a_stakeholder_decides_on_the_goal_page_and_the_report_lists_it,
    decisions_through_the_api_cut_scope_add_people_and_drop,
    the_decisions_log_filters_and_downloads_markdown,
);

const DEMO_PASSWORD: &str = tandem_app::demo::DEMO_PASSWORD;

/// A goal the demo's agenda says is at risk: (team key, its suggestion).
async fn goal_at_risk(app: &TestApp) -> (String, Value) {
    for team in ["payments", "growth", "platform"] {
        let agenda = app
            .get(&app.member, &format!("/api/v1/agenda?team={team}"))
            .await
            .ok(200)
            .body;
        if let Some(s) = agenda["postpone_to_save"]
            .as_array()
            .and_then(|a| a.first())
        {
            return (team.to_owned(), s.clone());
        }
    }
    panic!("the demo has no goal at risk");
}

fn this_week() -> String {
    let w = Utc::now().date_naive().iso_week();
    format!("{}-W{:02}", w.year(), w.week())
}

async fn a_stakeholder_decides_on_the_goal_page_and_the_report_lists_it(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let (team, at_risk) = goal_at_risk(&app).await;
    let id = at_risk["goal_id"].as_str().unwrap().to_owned();
    let before = app
        .get(&app.member, &format!("/api/v1/goals/{id}"))
        .await
        .ok(200)
        .body;

    let mut lee = Browser::new(&app);
    lee.sign_in("lee", DEMO_PASSWORD).await;
    let page = lee.get(&format!("/goals/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("Record a decision"),
        "the form is offered"
    );
    assert!(page.body.contains("value=\"accept_date\""));
    let csrf = csrf_of(&page.body);

    let decisions = format!("/api/v1/decisions?goal={id}");
    let earlier = app.get(&app.member, &decisions).await.ok(200).items().len();
    // Without a reason: refused in words, nothing written.
    let bad = lee
        .post(
            &format!("/goals/{id}/decision"),
            &[("csrf", &csrf), ("choice", "accept_date"), ("reason", " ")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("Say why, in a sentence"), "{}", bad.body);
    assert_eq!(
        app.get(&app.member, &decisions).await.ok(200).items().len(),
        earlier
    );

    let done = lee
        .post(
            &format!("/goals/{id}/decision"),
            &[
                ("csrf", &csrf),
                ("choice", "accept_date"),
                ("new_deadline", ""),
                ("people", ""),
                ("reason", "The launch can wait for the whole scope."),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let back = done.location.unwrap();
    assert!(
        back.starts_with(&format!("/goals/{id}?done=decision")),
        "{back}"
    );

    // The goal: a new version by lee, the deadline moved, shown at once.
    let after = app
        .get(&app.member, &format!("/api/v1/goals/{id}"))
        .await
        .ok(200)
        .body;
    assert_eq!(
        after["version"].as_i64().unwrap(),
        before["version"].as_i64().unwrap() + 1
    );
    assert_ne!(
        after["timeline"]["deadline"],
        before["timeline"]["deadline"]
    );
    let versions = app
        .get(&app.member, &format!("/api/v1/goals/{id}/versions"))
        .await
        .ok(200)
        .body;
    let last = versions.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "decision");
    assert_eq!(last["changed_by"], "lee");
    let page = lee.get(&back).await;
    assert!(
        page.body.contains("Your decision is recorded"),
        "{}",
        page.body
    );
    assert!(page.body.contains(&format!(
        "Version {}</strong> — decision by lee",
        after["version"]
    )));

    // The decision: who, why and the forecast figures of the moment.
    let listed = app.get(&app.member, &decisions).await.ok(200);
    assert_eq!(listed.items().len(), earlier + 1);
    let d = listed
        .items()
        .iter()
        .find(|d| d["decided_by"] == "lee")
        .expect("lee's decision")
        .clone();
    assert_eq!(d["decided_by"], "lee");
    let context = d["context"].as_str().unwrap();
    assert!(
        context.starts_with("The launch can wait for the whole scope."),
        "{context}"
    );
    assert!(context.contains("Forecast on "), "{context}");
    assert!(context.contains("85 % likely by "), "{context}");
    // The goal's forecast risks are answered.
    let open = app
        .get(
            &app.member,
            &format!("/api/v1/risks?goal={id}&status=open&limit=500"),
        )
        .await
        .ok(200);
    assert!(
        open.items().iter().all(|r| r["source"] != "forecast"),
        "a forecast risk left open: {:?}",
        open.items()
    );

    // This week's report lists the decision in the asks section.
    let report = app
        .get(
            &app.manager,
            &format!("/api/v1/teams/{team}/reports/weekly?week={}", this_week()),
        )
        .await
        .ok(200)
        .body;
    let asks = report["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "asks")
        .unwrap();
    let line = asks["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == format!("decision:{}", d["id"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("the decision is not in the report: {asks}"));
    let text = line["text"].as_str().unwrap();
    assert!(text.starts_with("Decided on "), "{text}");
    assert!(text.contains(" by lee: "), "{text}");
    assert!(text.contains("Why: The launch can wait"), "{text}");
}

async fn decisions_through_the_api_cut_scope_add_people_and_drop(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let (_, at_risk) = goal_at_risk(&app).await;
    let id = at_risk["goal_id"].as_str().unwrap().to_owned();
    let path = format!("/api/v1/goals/{id}/decision");
    let earlier = app
        .get(&app.member, &format!("/api/v1/decisions?goal={id}"))
        .await
        .ok(200)
        .items()
        .len();
    let postponed: Vec<String> = at_risk["postpone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!postponed.is_empty());

    // Field errors name the field.
    app.post(
        &app.stakeholder,
        &path,
        json!({"choice": "add_people", "reason": "More hands", "people": []}),
    )
    .await
    .err_field(422, "invalid", "people");
    app.post(
        &app.stakeholder,
        &path,
        json!({"choice": "cut_scope", "reason": "Ship what fits", "new_deadline": "2030-01-01"}),
    )
    .await
    .err_field(422, "invalid", "new_deadline");

    // Cut scope: the items beyond the cut line leave the goal.
    let cut = app
        .post(
            &app.stakeholder,
            &path,
            json!({"choice": "cut_scope", "reason": "The deadline is the launch."}),
        )
        .await
        .ok(201)
        .body;
    let moved: Vec<&str> = cut["moved_items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(moved, postponed);
    for item in &postponed {
        let got = app
            .get(&app.member, &format!("/api/v1/work-items/{item}"))
            .await
            .ok(200)
            .body;
        assert!(got["goal_id"].is_null(), "{got}");
    }
    let versions = app
        .get(&app.member, &format!("/api/v1/goals/{id}/versions"))
        .await
        .ok(200)
        .body;
    let last = versions.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["action"], "decision");
    assert_eq!(last["changes"][0]["field"], "scope");

    // Add people: contributors grow; naming someone twice changes nothing.
    let added = app
        .post(
            &app.manager,
            &path,
            json!({"choice": "add_people", "reason": "Two from Growth help", "people": ["Ana", "Bo"]}),
        )
        .await
        .ok(201)
        .body;
    let contributors = added["goal"]["parties"]["contributors"].as_array().unwrap();
    assert!(contributors.contains(&json!("Ana")) && contributors.contains(&json!("Bo")));
    app.post(
        &app.manager,
        &path,
        json!({"choice": "add_people", "reason": "Again", "people": ["Ana"]}),
    )
    .await
    .err_field(400, "bad_request", "people");

    // Drop: the goal is dropped and its open risks closed; no more decisions.
    let dropped = app
        .post(
            &app.stakeholder,
            &path,
            json!({"choice": "drop", "reason": "The market moved."}),
        )
        .await
        .ok(201)
        .body;
    assert_eq!(dropped["goal"]["status"], "dropped");
    let open = app
        .get(
            &app.member,
            &format!("/api/v1/risks?goal={id}&status=open&limit=500"),
        )
        .await
        .ok(200);
    assert!(open.items().is_empty(), "{:?}", open.items());
    app.post(
        &app.stakeholder,
        &path,
        json!({"choice": "accept_date", "reason": "Too late"}),
    )
    .await
    .err_field(409, "conflict", "status");
    let all = app
        .get(&app.member, &format!("/api/v1/decisions?goal={id}"))
        .await
        .ok(200);
    assert_eq!(all.items().len(), earlier + 3);
}

async fn the_decisions_log_filters_and_downloads_markdown(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let (team, at_risk) = goal_at_risk(&app).await;
    let id = at_risk["goal_id"].as_str().unwrap().to_owned();
    let title = at_risk["goal"].as_str().unwrap().to_owned();
    app.post(
        &app.stakeholder,
        &format!("/api/v1/goals/{id}/decision"),
        json!({"choice": "accept_date", "reason": "Quality first."}),
    )
    .await
    .ok(201);
    let other = ["payments", "growth", "platform"]
        .into_iter()
        .find(|t| *t != team)
        .unwrap();

    let mut lee = Browser::new(&app);
    lee.sign_in("lee", DEMO_PASSWORD).await;
    let log = lee.get(&format!("/decisions?team={team}")).await;
    assert_eq!(log.status, 200, "{}", log.body);
    assert!(log.body.contains("Quality first."), "{}", log.body);
    assert!(
        log.body
            .contains(&format!("href=\"/decisions.md?team={team}\""))
    );
    let by_goal = lee.get(&format!("/decisions?goal={id}")).await;
    assert!(by_goal.body.contains("Quality first."));
    let elsewhere = lee.get(&format!("/decisions?team={other}")).await;
    assert!(!elsewhere.body.contains("Quality first."));
    assert_eq!(lee.get("/decisions?team=nope").await.status, 404);
    assert_eq!(lee.get("/decisions?goal=not-a-goal").await.status, 404);

    let md = lee.get(&format!("/decisions.md?team={team}")).await;
    assert_eq!(md.status, 200);
    assert!(
        md.content_type.starts_with("text/markdown"),
        "{}",
        md.content_type
    );
    assert!(
        md.body.starts_with(&format!("# Decisions — {team}\n")),
        "{}",
        md.body
    );
    assert!(
        md.body.contains(&format!("— {title}: accept the new date")),
        "{}",
        md.body
    );
    assert!(
        md.body.contains("- **Decided by:** token:stakeholder on "),
        "{}",
        md.body
    );
    assert!(
        md.body.contains("- **Why:** Quality first. Forecast on "),
        "{}",
        md.body
    );
}
