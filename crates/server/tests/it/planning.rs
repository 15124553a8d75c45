//! Planning views over the API: priorities from the matrix on create, the
//! backlog, the tech-debt budget, a goal's plan, and a task's context.

use chrono::{Duration, Utc};
use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    new_items_take_their_priority_from_the_rules,
    backlog_orders_open_work_and_flags_inflation,
    backlog_refuses_bad_input,
    debt_budget_per_four_weeks,
    goal_plan_shows_stages_and_small_wins,
    work_item_context,
);

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

async fn item(app: &TestApp, team: &Value, extra: Value) -> Value {
    let mut body = json!({"team_id": team["id"], "title": "Work", "kind": "feature"});
    for (k, v) in extra.as_object().expect("an object") {
        body[k] = v.clone();
    }
    app.create("/api/v1/work-items", body).await
}

async fn new_items_take_their_priority_from_the_rules(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    for (extra, expected) in [
        (json!({"impact": "high", "complexity": "low"}), "P0"),
        (json!({"impact": "high", "complexity": "high"}), "P1"),
        (json!({"impact": "medium", "complexity": "low"}), "P1"),
        (json!({"impact": "low", "complexity": "low"}), "P2"),
        (json!({"impact": "low", "complexity": "high"}), "P3"),
        // A priority given by hand wins.
        (
            json!({"impact": "high", "complexity": "low", "priority": "P3"}),
            "P3",
        ),
        // Critical production bugs are P0 whatever the ratings.
        (json!({"kind": "incident"}), "P0"),
        (
            json!({"kind": "bug", "impact": "high", "complexity": "high"}),
            "P0",
        ),
        // Without both ratings the old default stays.
        (json!({"impact": "high"}), "P2"),
        (json!({}), "P2"),
    ] {
        let created = item(&app, &team, extra.clone()).await;
        assert_eq!(created["priority"], expected, "{extra}");
    }
}

async fn backlog_orders_open_work_and_flags_inflation(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let other = app.team("other").await;
    let now = Utc::now();
    let old = (now - Duration::days(10)).to_rfc3339();
    let p2_old = item(
        &app,
        &team,
        json!({"title": "Old P2", "impact": "medium", "complexity": "medium", "created_at": old}),
    )
    .await;
    let p2_scored = item(
        &app,
        &team,
        json!({"title": "Scored P2", "impact": "medium", "complexity": "high",
            "scores": {"business_value": 8, "time_criticality": 2, "risk_reduction": 0, "job_size": 5}}),
    )
    .await;
    let p0 = item(
        &app,
        &team,
        json!({"title": "Outage", "kind": "incident", "state": "in_progress", "external_key": "CORE-1"}),
    )
    .await;
    let p1 = item(
        &app,
        &team,
        json!({"title": "Hand-set P1", "priority": "P1", "impact": "low", "complexity": "low",
            "state": "blocked"}),
    )
    .await;
    let p3 = item(&app, &team, json!({"title": "Later", "priority": "P3"})).await;
    item(&app, &team, json!({"title": "Done", "state": "done"})).await;
    item(
        &app,
        &team,
        json!({"title": "Dropped", "state": "cancelled"}),
    )
    .await;
    item(&app, &other, json!({"title": "Elsewhere"})).await;

    let reply = app
        .get(&app.member, "/api/v1/backlog?team=core")
        .await
        .ok(200)
        .body;
    assert_eq!(reply["team"]["key"], "core");
    assert_eq!(reply["open_items"], 5);
    let entries = reply["entries"].as_array().unwrap();
    let order: Vec<&str> = entries.iter().map(id).collect();
    assert_eq!(
        order,
        vec![id(&p0), id(&p1), id(&p2_scored), id(&p2_old), id(&p3)]
    );
    assert_eq!(entries[0]["rank"], 1);
    assert_eq!(entries[0]["external_key"], "CORE-1");
    assert_eq!(entries[0]["priority_rule"], "critical production bug → P0");
    assert_eq!(
        entries[1]["priority_rule"],
        "set by hand (the matrix would give P2)"
    );
    assert_eq!(entries[2]["score"], 2.0);
    assert_eq!(entries[2]["score_kind"], "wsjf");
    assert_eq!(
        entries[3]["priority_rule"],
        "matrix: impact medium × complexity medium → P2"
    );
    assert_eq!(entries[3]["age_days"], 10);
    assert_eq!(
        entries[4]["priority_rule"],
        "no impact/complexity: set by hand"
    );
    // 2 of 5 open items are P0/P1: more than a quarter.
    let flag = &reply["inflation"];
    assert_eq!(flag["open_items"], 5);
    assert_eq!(flag["p0_p1_items"], 2);
    assert_eq!(flag["percent"], 40.0);
    assert!(reply["debt"]["periods"].is_array());

    // By team id too, and the same answer.
    let by_id = app
        .get(&app.member, &format!("/api/v1/backlog?team={}", id(&team)))
        .await
        .ok(200)
        .body;
    assert_eq!(by_id["entries"], reply["entries"]);

    // No inflation once enough lower-priority work is open.
    for _ in 0..4 {
        item(&app, &team, json!({"priority": "P3"})).await;
    }
    let reply = app
        .get(&app.member, "/api/v1/backlog?team=core")
        .await
        .ok(200)
        .body;
    assert!(reply["inflation"].is_null(), "{:#}", reply["inflation"]);
    assert_eq!(reply["open_items"], 9);
}

async fn backlog_refuses_bad_input(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.team("core").await;
    app.get(&app.stakeholder, "/api/v1/backlog?team=core")
        .await
        .err(403, "forbidden");
    let r = app.get(&app.member, "/api/v1/backlog?team=nope").await;
    let e = r.err_field(400, "bad_request", "team");
    assert!(e["message"].as_str().unwrap().contains("\"nope\""), "{e}");
    app.get(&app.member, "/api/v1/backlog")
        .await
        .err_field(400, "bad_request", "team");
    app.get(&app.member, "/api/v1/backlog?team=core&limit=3")
        .await
        .err(400, "bad_request");
    app.get(&app.stakeholder, "/api/v1/teams/nope/debt")
        .await
        .err(404, "not_found");
    app.get(
        &app.member,
        "/api/v1/work-items/00000000-0000-0000-0000-000000000000/context",
    )
    .await
    .err(404, "not_found");
    app.get(&app.member, "/api/v1/work-items/NOPE-1/context")
        .await
        .err(404, "not_found");
    app.get(&app.stakeholder, "/api/v1/goals/not-a-goal/plan")
        .await
        .err(404, "not_found");
}

async fn debt_budget_per_four_weeks(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let now = Utc::now();
    // 1 of 10 done items is debt in each of the last two periods: 10 %.
    for days_ago in [2, 30] {
        let at = now - Duration::days(days_ago);
        for n in 0..10 {
            let kind = if n == 0 { "debt" } else { "feature" };
            item(
                &app,
                &team,
                json!({"kind": kind, "state": "done",
                    "created_at": (at - Duration::hours(1)).to_rfc3339(), "done_at": at.to_rfc3339()}),
            )
            .await;
        }
    }
    // Open debt does not count; neither does another team's work.
    item(&app, &team, json!({"kind": "debt"})).await;
    let other = app.team("other").await;
    item(&app, &other, json!({"kind": "debt", "state": "done"})).await;

    let reply = app
        .get(&app.stakeholder, "/api/v1/teams/core/debt")
        .await
        .ok(200)
        .body;
    assert_eq!(reply["team"]["key"], "core");
    let debt = &reply["debt"];
    assert_eq!(debt["target_percent"], 20.0);
    assert_eq!(debt["period_days"], 28);
    let periods = debt["periods"].as_array().unwrap();
    assert_eq!(periods.len(), 6);
    let last = &periods[5];
    assert_eq!(last["ends_on"], now.date_naive().to_string());
    assert_eq!(
        (
            &last["done_items"],
            &last["debt_items"],
            &last["debt_percent"]
        ),
        (&json!(10), &json!(1), &json!(10.0))
    );
    assert_eq!(periods[4]["debt_percent"], 10.0);
    assert_eq!(periods[3]["debt_percent"], Value::Null);
    assert_eq!(debt["below_target_in_a_row"], 2);
    assert_eq!(debt["flagged"], true);
    assert!(debt["message"].as_str().unwrap().contains("20 % target"));

    // The backlog carries the same budget.
    let backlog = app
        .get(&app.member, &format!("/api/v1/backlog?team={}", id(&team)))
        .await
        .ok(200)
        .body;
    assert_eq!(backlog["debt"], reply["debt"]);
}

async fn goal_plan_shows_stages_and_small_wins(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "New dashboard").await;
    let stage = |name: &str, starts: &str, ends: &str| json!({"goal_id": goal["id"], "name": name, "starts_on": starts, "ends_on": ends});
    let s1 = app
        .create(
            "/api/v1/stages",
            stage("Prototype", "2026-11-02", "2026-11-15"),
        )
        .await;
    let s2 = app
        .create(
            "/api/v1/stages",
            stage("Integrations", "2026-11-16", "2026-12-06"),
        )
        .await;
    for (stage, state) in [
        (&s1, "done"),
        (&s1, "done"),
        (&s1, "cancelled"),
        (&s2, "done"),
        (&s2, "in_progress"),
        (&s2, "todo"),
        (&s2, "todo"),
    ] {
        item(
            &app,
            &team,
            json!({"goal_id": goal["id"], "stage_id": stage["id"], "state": state}),
        )
        .await;
    }
    item(&app, &team, json!({"goal_id": goal["id"], "state": "done"})).await;

    let path = format!("/api/v1/goals/{}/plan", id(&goal));
    let plan = app.get(&app.stakeholder, &path).await.ok(200).body;
    assert_eq!(plan["goal_id"], goal["id"]);
    assert_eq!(plan["max_stage_days"], 14);
    let stages = plan["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 2);
    assert_eq!(stages[0]["id"], s1["id"]);
    assert_eq!(stages[0]["length_days"], 14);
    assert_eq!(stages[0]["too_long"], false);
    assert_eq!(
        stages[0]["progress"],
        json!({"done": 2, "total": 2, "percent": 100})
    );
    assert_eq!(stages[0]["completed"], true);
    assert_eq!(stages[1]["length_days"], 21);
    assert_eq!(stages[1]["too_long"], true);
    assert!(
        stages[1]["suggestion"]
            .as_str()
            .unwrap()
            .starts_with("21 days is longer than 14"),
        "{:#}",
        stages[1]
    );
    assert_eq!(
        stages[1]["progress"],
        json!({"done": 1, "total": 4, "percent": 25})
    );
    let wins = plan["small_wins"].as_array().unwrap();
    assert_eq!(wins.len(), 1);
    assert_eq!(wins[0]["stage_id"], s1["id"]);
    assert_eq!(wins[0]["items_done"], 2);
    assert_eq!(
        plan["unstaged"],
        json!({"done": 1, "total": 1, "percent": 100})
    );
    // Work and stages only: nothing about people.
    let text = plan.to_string();
    for word in ["owner", "contributors", "assignee", "user"] {
        assert!(!text.contains(word), "the plan mentions {word}: {text}");
    }
    app.get(
        &app.stakeholder,
        "/api/v1/goals/00000000-0000-0000-0000-000000000000/plan",
    )
    .await
    .err(404, "not_found");
}

async fn work_item_context(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    app.create(
        "/api/v1/metrics",
        json!({"key": "users-p95", "name": "p95 latency of /users", "unit": "ms",
            "direction": "down", "audience": "team"}),
    )
    .await;
    app.post(
        &app.manager,
        "/api/v1/metrics/users-p95/points",
        json!({"points": [
            {"at": "2026-01-03T00:00:00Z", "value": 420.5},
            {"at": "2026-01-01T00:00:00Z", "value": 500.0},
        ]}),
    )
    .await
    .ok(200);
    let goal = app
        .create(
            "/api/v1/goals",
            json!({"team_id": team["id"], "title": "Faster user list",
            "business_goal": "/users endpoint needed for the new dashboard",
            "success_metrics": [
                {"metric": "conversion", "baseline": 3, "target": 5, "unit": "%"},
                {"metric": "p95 latency of /users", "metric_key": "users-p95",
                    "baseline": 500, "target": 300, "direction": "down", "unit": "ms"}
            ]}),
        )
        .await;
    let task = item(
        &app,
        &team,
        json!({"title": "Cache the user list", "goal_id": goal["id"], "external_key": "PAY-123",
            "impact": "high", "complexity": "low",
            "context": {"why": "own why", "expected_impact": "Business expects 5% conversion growth",
                "current_value": "500 ms", "target_value": "300 ms"}}),
    )
    .await;

    let ctx = app
        .get(&app.member, "/api/v1/work-items/PAY-123/context")
        .await
        .ok(200)
        .body;
    assert_eq!(ctx["id"], task["id"]);
    assert_eq!(ctx["goal"]["title"], "Faster user list");
    assert_eq!(ctx["why"], "/users endpoint needed for the new dashboard");
    assert_eq!(
        ctx["expected_impact"],
        "Business expects 5% conversion growth"
    );
    assert_eq!(ctx["success_metric"]["metric_key"], "users-p95");
    assert_eq!(
        ctx["current"],
        json!({"text": "420.5 ms", "value": 420.5, "source": "metric", "at": "2026-01-03T00:00:00Z"})
    );
    assert_eq!(
        ctx["target"],
        json!({"text": "300 ms", "value": 300.0, "source": "success_metric", "at": null})
    );
    assert_eq!(ctx["metric_progress"], 0.398);
    assert_eq!(
        ctx["priority"],
        json!({"priority": "P0", "rule": "matrix: impact high × complexity low → P0",
            "rule_priority": "P0", "set_by_hand": false})
    );
    let by_id = app
        .get(
            &app.member,
            &format!("/api/v1/work-items/{}/context", id(&task)),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(by_id, ctx);
    app.get(&app.stakeholder, "/api/v1/work-items/PAY-123/context")
        .await
        .err(403, "forbidden");

    // Without a goal: the item's own text.
    let lone = item(
        &app,
        &team,
        json!({"priority": "P1", "context": {"why": "Slow page", "current_value": "500 ms",
            "target_value": "300 ms"}}),
    )
    .await;
    let ctx = app
        .get(
            &app.member,
            &format!("/api/v1/work-items/{}/context", id(&lone)),
        )
        .await
        .ok(200)
        .body;
    assert!(ctx["goal"].is_null());
    assert_eq!(ctx["why"], "Slow page");
    assert_eq!(ctx["current"]["text"], "500 ms");
    assert_eq!(ctx["current"]["source"], "work_item");
    assert_eq!(ctx["target"]["source"], "work_item");
    assert_eq!(ctx["priority"]["rule"], "no impact/complexity: set by hand");
}
