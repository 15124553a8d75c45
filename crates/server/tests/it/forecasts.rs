//! Forecasts, risk checks and the sync agenda over the demo organisation.

use serde_json::{Value, json};
use tandem_testkit::{EngineKindReexport as EngineKind, per_engine};

use crate::support::TestApp;

per_engine!(
    demo_goal_at_risk_gets_one_honest_risk,
    forecast_refuses_goals_it_cannot_forecast,
    agenda_suggests_what_to_postpone,
    achievement_rate_over_a_period
);

async fn achievement_rate_over_a_period(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Duration::days(365);
    let a = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/goals/achievement?from={from}&to={today}"),
        )
        .await
        .ok(200);
    let due = a.body["due"].as_u64().unwrap();
    let achieved = a.body["achieved"].as_u64().unwrap();
    assert!(
        due >= 2,
        "the demo has goals whose deadline passed: {}",
        a.body
    );
    assert_eq!(a.body["goals"].as_array().unwrap().len() as u64, due);
    let rate = a.body["rate"].as_f64().unwrap();
    assert!((rate - achieved as f64 / due as f64).abs() < 1e-9);
    // A period with no deadline in it has no rate, not a rate of 0.
    let empty = app
        .get(
            &app.stakeholder,
            "/api/v1/goals/achievement?from=2000-01-01&to=2000-02-01",
        )
        .await
        .ok(200);
    assert!(empty.body["rate"].is_null());
    app.get(
        &app.stakeholder,
        &format!("/api/v1/goals/achievement?from={today}&to={from}"),
    )
    .await
    .err_field(400, "bad_request", "to");
    app.get(
        &app.stakeholder,
        "/api/v1/goals/achievement?from=yesterday&to=2026-01-01",
    )
    .await
    .err(400, "bad_request");
    app.stop().await;
}

async fn latency_goal(app: &TestApp) -> Value {
    let goals = app
        .get(
            &app.stakeholder,
            "/api/v1/goals?team=platform&status=in_progress",
        )
        .await
        .ok(200);
    goals
        .items()
        .iter()
        .find(|g| g["title"].as_str().unwrap().contains("latency"))
        .cloned()
        .expect("the demo's latency goal")
}

async fn demo_goal_at_risk_gets_one_honest_risk(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let goal = latency_goal(&app).await;
    let id = goal["id"].as_str().unwrap();

    let f = app
        .get(&app.stakeholder, &format!("/api/v1/goals/{id}/forecast"))
        .await
        .ok(200);
    let fc = &f.body["forecast"];
    assert_eq!(fc["outcome"], "ready");
    let g = &fc["goal"];
    let p = |k: &str| g[k].as_str().unwrap().to_owned();
    assert!(
        p("p50") <= p("p70") && p("p70") <= p("p85") && p("p85") <= p("p95"),
        "{g}"
    );
    assert!(g["on_time_probability"].as_f64().unwrap() < 0.7, "{g}");
    let cut = g["cut_line"].as_u64().unwrap();
    assert!(cut < g["remaining"].as_u64().unwrap(), "{g}");
    assert!(!fc["stages"].as_array().unwrap().is_empty());
    // The same data gives the same answer.
    let again = app
        .get(&app.stakeholder, &format!("/api/v1/goals/{id}/forecast"))
        .await
        .ok(200);
    assert_eq!(again.body, f.body);

    // Only managers run the checks; running twice raises no duplicates.
    app.post(&app.member, "/api/v1/risks/check", json!({}))
        .await
        .err(403, "forbidden");
    let first = app
        .post(&app.manager, "/api/v1/risks/check", json!({}))
        .await
        .ok(200);
    assert!(
        first.body["opened"].as_u64().unwrap() >= 1,
        "{}",
        first.body
    );
    let second = app
        .post(&app.manager, "/api/v1/risks/check", json!({}))
        .await
        .ok(200);
    assert_eq!(
        (
            second.body["opened"].as_u64(),
            second.body["updated"].as_u64()
        ),
        (Some(0), Some(0))
    );

    let risks = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/risks?goal={id}&status=open"),
        )
        .await
        .ok(200);
    let forecast_risks: Vec<&Value> = risks
        .items()
        .iter()
        .filter(|r| r["source"] == "forecast" && r["stage_id"].is_null())
        .collect();
    assert_eq!(
        forecast_risks.len(),
        1,
        "one risk for the goal, not one per run"
    );
    let update = forecast_risks[0]["drafted_update"].as_str().unwrap();
    for part in [
        "Found:",
        "Deadline at risk:",
        "Plan:",
        "New realistic ETA (85 % confidence):",
        "Alternative: ship the",
    ] {
        assert!(update.contains(part), "{part:?} missing from {update}");
    }
    assert!(
        update.contains(&p("p85")),
        "the ETA is the P85 date: {update}"
    );
    let history = app
        .get(
            &app.stakeholder,
            &format!(
                "/api/v1/risks/{}/history",
                forecast_risks[0]["id"].as_str().unwrap()
            ),
        )
        .await
        .ok(200);
    assert_eq!(history.body[0]["note"], "opened by Tandem's checks");
    app.stop().await;
}

async fn forecast_refuses_goals_it_cannot_forecast(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let drafts = app
        .get(&app.stakeholder, "/api/v1/goals?status=draft")
        .await
        .ok(200);
    let draft = drafts.items()[0]["id"].as_str().unwrap().to_owned();
    // A draft has no deadline: there is no on-time probability to give.
    app.get(&app.stakeholder, &format!("/api/v1/goals/{draft}/forecast"))
        .await
        .err_field(422, "invalid", "timeline.deadline");
    let done = app
        .get(&app.stakeholder, "/api/v1/goals?status=done")
        .await
        .ok(200);
    let done = done.items()[0]["id"].as_str().unwrap().to_owned();
    app.get(&app.stakeholder, &format!("/api/v1/goals/{done}/forecast"))
        .await
        .err(409, "conflict");

    // A team with too little history is told so, never given a date.
    let team = app.team("fresh").await;
    let mut goal = app.goal(&team, "New goal").await;
    let id = goal["id"].as_str().unwrap().to_owned();
    goal = app
        .patch(
            &app.manager,
            &format!("/api/v1/goals/{id}"),
            json!({
                "parties": {"owner": "Ana"},
                "success_metrics": [{"metric": "Conversion", "baseline": 2.0, "target": 2.5, "unit": "%", "deadline": "2030-01-01"}],
                "timeline": {"deadline": "2030-01-01"}
            }),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(goal["status"], "draft");
    app.post(
        &app.manager,
        &format!("/api/v1/goals/{id}/agree"),
        json!({}),
    )
    .await
    .ok(200);
    let f = app
        .get(&app.stakeholder, &format!("/api/v1/goals/{id}/forecast"))
        .await
        .ok(200);
    assert_eq!(f.body["forecast"]["outcome"], "too_little_history");
    assert_eq!(f.body["forecast"]["done_in_window"], 0);
    assert!(f.body["forecast"]["goal"].is_null());
    app.stop().await;
}

async fn agenda_suggests_what_to_postpone(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    app.get(&app.stakeholder, "/api/v1/agenda?team=platform")
        .await
        .err(403, "forbidden");
    app.get(&app.member, "/api/v1/agenda?team=nope")
        .await
        .err_field(400, "bad_request", "team");
    app.post(&app.manager, "/api/v1/risks/check", json!({}))
        .await
        .ok(200);
    let a = app
        .get(&app.member, "/api/v1/agenda?team=platform")
        .await
        .ok(200);
    let saves = a.body["postpone_to_save"].as_array().unwrap();
    assert_eq!(saves.len(), 1, "{}", a.body);
    let s = &saves[0];
    let (remaining, fits) = (
        s["remaining"].as_u64().unwrap(),
        s["fits"].as_u64().unwrap(),
    );
    assert_eq!(
        s["postpone"].as_array().unwrap().len() as u64,
        remaining - fits
    );
    // Lowest priority first.
    let priorities: Vec<&str> = s["postpone"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["priority"].as_str().unwrap())
        .collect();
    let mut sorted = priorities.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(priorities, sorted);
    assert!(
        !a.body["risks_awaiting_decision"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.stop().await;
}
