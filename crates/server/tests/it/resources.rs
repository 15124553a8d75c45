//! Create, read, update and list every resource; what is read back is
//! exactly what was written.

use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    teams_round_trip,
    projects_round_trip,
    goal_lifecycle_is_versioned,
    stages_are_positioned,
    work_item_states_stamp_times,
    closing_a_risk_stamps_it,
    metrics_and_points,
    decisions_round_trip,
);

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

async fn teams_round_trip(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app
        .create(
            "/api/v1/teams",
            json!({"key": "payments", "name": "Payments", "timezone": "Europe/Berlin"}),
        )
        .await;
    assert_eq!(team["key"], "payments");
    assert_eq!(team["timezone"], "Europe/Berlin");
    assert_eq!(team["created_at"], team["updated_at"]);
    let by_id = format!("/api/v1/teams/{}", id(&team));
    assert_eq!(app.get(&app.stakeholder, &by_id).await.ok(200).body, team);
    assert_eq!(
        app.get(&app.stakeholder, "/api/v1/teams/payments")
            .await
            .ok(200)
            .body,
        team
    );

    let patched = app
        .patch(
            &app.manager,
            "/api/v1/teams/payments",
            json!({"name": "Payments & Billing"}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(patched["name"], "Payments & Billing");
    assert_eq!(
        (&patched["key"], &patched["timezone"]),
        (&team["key"], &team["timezone"])
    );
    assert_eq!(patched["created_at"], team["created_at"]);
    assert_ne!(patched["updated_at"], team["updated_at"]);
    assert_eq!(
        app.get(&app.stakeholder, &by_id).await.ok(200).body,
        patched
    );

    let defaults = app.team("core").await;
    assert_eq!(defaults["timezone"], "UTC");
    let list = app.get(&app.stakeholder, "/api/v1/teams").await.ok(200);
    assert_eq!(list.items(), &vec![patched, defaults]);
    assert!(list.body.get("next_cursor").is_none(), "{:#}", list.body);
}

async fn projects_round_trip(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("payments").await;
    let other = app.team("core").await;
    let project = app
        .create(
            "/api/v1/projects",
            json!({"team_id": team["id"], "key": "checkout", "name": "Checkout",
                "repositories": ["acme/checkout"], "services": ["checkout-api", "checkout-web"]}),
        )
        .await;
    assert_eq!(project["services"], json!(["checkout-api", "checkout-web"]));
    let by_id = format!("/api/v1/projects/{}", id(&project));
    assert_eq!(
        app.get(&app.stakeholder, &by_id).await.ok(200).body,
        project
    );
    assert_eq!(
        app.get(&app.stakeholder, "/api/v1/projects/checkout")
            .await
            .ok(200)
            .body,
        project
    );

    let patched = app
        .patch(
            &app.manager,
            "/api/v1/projects/checkout",
            json!({"services": [], "name": "Checkout v2"}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(patched["services"], json!([]));
    assert_eq!(patched["repositories"], project["repositories"]);
    assert_eq!(
        app.get(&app.stakeholder, &by_id).await.ok(200).body,
        patched
    );
    app.patch(
        &app.manager,
        "/api/v1/projects/checkout",
        json!({"repositories": ["a", "a"]}),
    )
    .await
    .err_field(422, "invalid", "repositories[1]");
    assert_eq!(
        app.get(&app.stakeholder, &by_id).await.ok(200).body,
        patched
    );

    let mine = app
        .get(&app.stakeholder, "/api/v1/projects?team=payments")
        .await
        .ok(200);
    assert_eq!(mine.items(), &vec![patched.clone()]);
    let theirs = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/projects?team={}", id(&other)),
        )
        .await
        .ok(200);
    assert!(theirs.items().is_empty());
    assert_eq!(
        app.get(&app.stakeholder, "/api/v1/projects")
            .await
            .ok(200)
            .items(),
        &vec![patched]
    );
}

async fn goal_lifecycle_is_versioned(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "Faster user list").await;
    assert_eq!(
        (goal["status"].as_str(), goal["version"].as_i64()),
        (Some("draft"), Some(0))
    );
    assert!(goal["agreed_at"].is_null() && goal["agreed_by"].is_null());
    let path = format!("/api/v1/goals/{}", id(&goal));
    let versions = format!("{path}/versions");
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, goal);

    // Drafts change freely and keep no history.
    let metric = json!({"metric": "p95 latency of /users", "baseline": 500.0, "target": 300.0,
        "direction": "down", "unit": "ms", "deadline": "2026-12-15"});
    let draft = app
        .patch(
            &app.manager,
            &path,
            json!({"parties": {"owner": "Ana", "contributors": ["Bo"]}, "success_metrics": [metric],
                "hypotheses": ["Caching helps"], "timeline": {"starts_on": "2026-11-01"}}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(
        (draft["status"].as_str(), draft["version"].as_i64()),
        (Some("draft"), Some(0))
    );
    assert_eq!(
        draft["parties"],
        json!({"owner": "Ana", "requester": null, "contributors": ["Bo"]})
    );
    assert_eq!(draft["success_metrics"][0]["baseline"], 500.0);
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, draft);
    assert_eq!(
        app.get(&app.stakeholder, &versions).await.ok(200).body,
        json!([])
    );

    // Agreement records who signed off.
    let agreed = app
        .post(&app.manager, &format!("{path}/agree"), json!({}))
        .await
        .ok(200)
        .body;
    assert_eq!(agreed["status"], "agreed");
    assert_eq!(agreed["version"], 1);
    assert_eq!(agreed["agreed_by"], "token:manager");
    assert!(agreed["agreed_at"].is_string());
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, agreed);
    app.post(&app.manager, &format!("{path}/agree"), json!({}))
        .await
        .err(409, "conflict");

    // Later changes are versioned: who, what, before and after.
    let edited = app
        .patch(&app.admin, &path, json!({"title": "Fast user list"}))
        .await
        .ok(200)
        .body;
    assert_eq!(
        (edited["title"].as_str(), edited["version"].as_i64()),
        (Some("Fast user list"), Some(2))
    );
    assert_eq!(edited["agreed_by"], "token:manager");
    // A patch that changes nothing makes no version.
    let same = app
        .patch(&app.admin, &path, json!({"title": "Fast user list"}))
        .await
        .ok(200)
        .body;
    assert_eq!(same, edited);
    // An agreed goal cannot lose what agreement needs.
    app.patch(&app.manager, &path, json!({"success_metrics": []}))
        .await
        .err_field(422, "invalid", "success_metrics");
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, edited);

    let history = app.get(&app.stakeholder, &versions).await.ok(200).body;
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 2, "{history:#?}");
    assert_eq!(history[0]["version"], 1);
    assert_eq!(history[0]["action"], "agree");
    assert_eq!(history[0]["changed_by"], "token:manager");
    assert_eq!(
        history[0]["changes"],
        json!([{"field": "status", "before": "draft", "after": "agreed"}])
    );
    assert_eq!(history[1]["version"], 2);
    assert_eq!(history[1]["action"], "edit");
    assert_eq!(history[1]["changed_by"], "token:admin");
    assert_eq!(
        history[1]["changes"],
        json!([{"field": "title", "before": "Faster user list", "after": "Fast user list"}])
    );
    assert_eq!(history[1]["changed_at"], edited["updated_at"]);

    let started = app
        .post(&app.manager, &format!("{path}/start"), json!({}))
        .await
        .ok(200)
        .body;
    assert_eq!(
        (started["status"].as_str(), started["version"].as_i64()),
        (Some("in_progress"), Some(3))
    );
    let done = app
        .post(&app.manager, &format!("{path}/complete"), json!({}))
        .await
        .ok(200)
        .body;
    assert_eq!(
        (done["status"].as_str(), done["version"].as_i64()),
        (Some("done"), Some(4))
    );
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, done);
    let actions: Vec<Value> = app
        .get(&app.stakeholder, &versions)
        .await
        .ok(200)
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].clone())
        .collect();
    assert_eq!(
        actions,
        [
            json!("agree"),
            json!("edit"),
            json!("start"),
            json!("complete")
        ]
    );

    // Closed goals are final.
    app.patch(&app.manager, &path, json!({"title": "Again"}))
        .await
        .err_field(409, "conflict", "status");
    app.post(&app.manager, &format!("{path}/drop"), json!({}))
        .await
        .err_field(409, "conflict", "status");
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, done);

    // A draft may be dropped without ever being agreed: no version.
    let other = app.goal(&team, "Maybe later").await;
    let other_path = format!("/api/v1/goals/{}", id(&other));
    let dropped = app
        .post(&app.manager, &format!("{other_path}/drop"), json!({}))
        .await
        .ok(200)
        .body;
    assert_eq!(
        (dropped["status"].as_str(), dropped["version"].as_i64()),
        (Some("dropped"), Some(0))
    );
    assert_eq!(
        app.get(&app.stakeholder, &format!("{other_path}/versions"))
            .await
            .ok(200)
            .body,
        json!([])
    );

    let listed = app
        .get(&app.stakeholder, "/api/v1/goals?status=dropped")
        .await
        .ok(200);
    assert_eq!(listed.items(), &vec![dropped]);
    let listed = app
        .get(&app.stakeholder, "/api/v1/goals?team=core&status=done")
        .await
        .ok(200);
    assert_eq!(listed.items(), &vec![done]);
    // Managers and up change goals; members do not.
    app.post(&app.member, &format!("{other_path}/agree"), json!({}))
        .await
        .err(403, "forbidden");
}

async fn stages_are_positioned(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "Faster user list").await;
    let other_goal = app.goal(&team, "Other").await;
    let stage = |name: &str, goal: &Value| json!({"goal_id": goal["id"], "name": name});

    let first = app
        .create("/api/v1/stages", stage("Discovery", &goal))
        .await;
    let second = app.create("/api/v1/stages", stage("Build", &goal)).await;
    let elsewhere = app
        .create("/api/v1/stages", stage("Discovery", &other_goal))
        .await;
    assert_eq!(first["position"], 1);
    assert_eq!(second["position"], 2);
    assert_eq!(elsewhere["position"], 1);
    let mut explicit = stage("Launch", &goal);
    explicit["position"] = json!(10);
    explicit["starts_on"] = json!("2026-12-01");
    explicit["ends_on"] = json!("2026-12-14");
    let third = app.create("/api/v1/stages", explicit).await;
    assert_eq!(third["position"], 10);
    assert_eq!(
        app.create("/api/v1/stages", stage("Follow-up", &goal))
            .await["position"],
        11
    );

    let path = format!("/api/v1/stages/{}", id(&second));
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, second);
    let patched = app
        .patch(
            &app.manager,
            &path,
            json!({"description": "Ship it", "ends_on": "2026-11-30"}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(patched["description"], "Ship it");
    assert_eq!(patched["ends_on"], "2026-11-30");
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, patched);
    app.patch(&app.manager, &path, json!({"starts_on": "2026-12-31"}))
        .await
        .err_field(422, "invalid", "ends_on");
    app.patch(&app.manager, &path, json!({"position": 0}))
        .await
        .err_field(422, "invalid", "position");
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, patched);

    let of_goal = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/stages?goal={}", id(&goal)),
        )
        .await
        .ok(200);
    let names: Vec<&str> = of_goal
        .items()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Discovery", "Build", "Launch", "Follow-up"]);
    let of_team = app
        .get(&app.stakeholder, "/api/v1/stages?team=core")
        .await
        .ok(200);
    assert_eq!(of_team.items().len(), 5);
}

async fn work_item_states_stamp_times(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let item = app
        .create(
            "/api/v1/work-items",
            json!({"team_id": team["id"], "title": "Cache the user list", "kind": "feature",
                "impact": "high", "context": {"why": "Slow page", "target_value": "300 ms"}}),
        )
        .await;
    assert_eq!(item["state"], "todo");
    assert_eq!(item["priority"], "P2");
    assert_eq!(item["source"], "manual");
    assert_eq!(item["context"]["why"], "Slow page");
    assert!(item["started_at"].is_null() && item["done_at"].is_null());
    let path = format!("/api/v1/work-items/{}", id(&item));
    assert_eq!(app.get(&app.member, &path).await.ok(200).body, item);

    let started = app
        .patch(
            &app.manager,
            &path,
            json!({"state": "in_progress", "priority": "P1"}),
        )
        .await
        .ok(200)
        .body;
    assert!(started["started_at"].is_string(), "{started:#}");
    assert!(started["done_at"].is_null());
    assert_eq!(started["priority"], "P1");
    assert_eq!(app.get(&app.member, &path).await.ok(200).body, started);

    let done = app
        .patch(&app.manager, &path, json!({"state": "done"}))
        .await
        .ok(200)
        .body;
    assert!(done["done_at"].is_string());
    assert_eq!(done["started_at"], started["started_at"]);
    assert_eq!(app.get(&app.member, &path).await.ok(200).body, done);

    let reopened = app
        .patch(&app.manager, &path, json!({"state": "in_progress"}))
        .await
        .ok(200)
        .body;
    assert!(reopened["done_at"].is_null());
    assert_eq!(reopened["started_at"], started["started_at"]);
    assert_eq!(app.get(&app.member, &path).await.ok(200).body, reopened);

    // Imported history keeps its own times.
    let imported = app
        .create(
            "/api/v1/work-items",
            json!({"team_id": team["id"], "title": "Old bug", "kind": "bug", "state": "done",
                "source": "jira", "external_key": "CORE-7",
                "created_at": "2026-01-01T09:00:00Z", "done_at": "2026-01-03T17:30:00.123456Z"}),
        )
        .await;
    assert_eq!(imported["created_at"], "2026-01-01T09:00:00Z");
    assert_eq!(imported["done_at"], "2026-01-03T17:30:00.123456Z");
    assert_eq!(imported["started_at"], imported["done_at"]);
    assert_eq!(
        app.get(
            &app.member,
            &format!("/api/v1/work-items/{}", id(&imported))
        )
        .await
        .ok(200)
        .body,
        imported
    );
    app.patch(&app.manager, &path, json!({"state": "finished"}))
        .await
        .err_field(422, "invalid", "state");
    app.get(&app.stakeholder, &path).await.err(403, "forbidden");
}

async fn closing_a_risk_stamps_it(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "Faster user list").await;
    let risk = app
        .create(
            "/api/v1/risks",
            json!({"team_id": team["id"], "goal_id": goal["id"], "title": "Cache invalidation",
                "likelihood": "medium", "impact": "high", "schedule_impact_days": 5}),
        )
        .await;
    assert_eq!(risk["status"], "open");
    assert!(risk["closed_at"].is_null());
    let path = format!("/api/v1/risks/{}", id(&risk));
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, risk);

    let mitigating = app
        .patch(
            &app.manager,
            &path,
            json!({"status": "mitigating", "plan": "Short TTLs", "owner": "Bo"}),
        )
        .await
        .ok(200)
        .body;
    assert!(mitigating["closed_at"].is_null());
    assert_eq!(mitigating["owner"], "Bo");
    let closed = app
        .patch(&app.manager, &path, json!({"status": "closed"}))
        .await
        .ok(200)
        .body;
    assert_eq!(closed["status"], "closed");
    assert!(closed["closed_at"].is_string());
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, closed);
    let reopened = app
        .patch(&app.manager, &path, json!({"status": "open"}))
        .await
        .ok(200)
        .body;
    assert!(reopened["closed_at"].is_null());

    app.patch(&app.manager, &path, json!({"schedule_impact_days": -1}))
        .await
        .err_field(422, "invalid", "schedule_impact_days");
    assert_eq!(
        app.get(&app.stakeholder, &path).await.ok(200).body,
        reopened
    );
    let open = app
        .get(&app.stakeholder, "/api/v1/risks?status=open")
        .await
        .ok(200);
    assert_eq!(open.items(), &vec![reopened]);
    let closed_list = app
        .get(&app.stakeholder, "/api/v1/risks?status=closed")
        .await
        .ok(200);
    assert!(closed_list.items().is_empty());
}

async fn metrics_and_points(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let metric = app
        .create(
            "/api/v1/metrics",
            json!({"key": "users-p95", "name": "p95 latency of /users", "unit": "ms",
                "direction": "down", "audience": "team", "team_id": team["id"]}),
        )
        .await;
    assert_eq!(
        app.get(&app.stakeholder, "/api/v1/metrics/users-p95")
            .await
            .ok(200)
            .body,
        metric
    );
    let by_id = format!("/api/v1/metrics/{}", id(&metric));
    assert_eq!(app.get(&app.stakeholder, &by_id).await.ok(200).body, metric);
    let patched = app
        .patch(
            &app.manager,
            "/api/v1/metrics/users-p95",
            json!({"audience": "business"}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(patched["audience"], "business");
    assert_eq!(
        app.get(&app.stakeholder, &by_id).await.ok(200).body,
        patched
    );
    let business = app
        .get(&app.stakeholder, "/api/v1/metrics?audience=business")
        .await
        .ok(200);
    assert_eq!(business.items(), &vec![patched.clone()]);
    assert!(
        app.get(&app.stakeholder, "/api/v1/metrics?audience=team")
            .await
            .ok(200)
            .items()
            .is_empty()
    );

    let points = "/api/v1/metrics/users-p95/points";
    let written = app
        .post(
            &app.manager,
            points,
            json!({"points": [
                {"at": "2026-01-01T00:00:00Z", "value": 510.5},
                {"at": "2026-01-02T00:00:00Z", "value": 480.0},
                {"at": "2026-01-03T00:00:00.000001Z", "value": 450.25},
            ]}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(written, json!({"written": 3}));
    // The same instant again replaces the value; within one write, the last
    // one wins.
    app.post(
        &app.manager,
        points,
        json!({"points": [{"at": "2026-01-02T00:00:00Z", "value": 470.0}, {"at": "2026-01-02T00:00:00Z", "value": 475.0}]}),
    )
    .await
    .ok(200);
    let all = app.get(&app.stakeholder, points).await.ok(200).body;
    let metric_id = metric["id"].clone();
    assert_eq!(
        all,
        json!([
            {"metric_id": metric_id, "at": "2026-01-01T00:00:00Z", "value": 510.5},
            {"metric_id": metric_id, "at": "2026-01-02T00:00:00Z", "value": 475.0},
            {"metric_id": metric_id, "at": "2026-01-03T00:00:00.000001Z", "value": 450.25},
        ])
    );
    let range = app
        .get(
            &app.stakeholder,
            &format!("{points}?from=2026-01-02T00:00:00Z&to=2026-01-03T00:00:00.000001Z"),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(range, json!([all[1]]));
    let from = app
        .get(
            &app.stakeholder,
            &format!("{by_id}/points?from=2026-01-02T00:00:00Z&limit=1"),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(from, json!([all[1]]));

    // A bad point refuses the whole write.
    app.post(
        &app.manager,
        points,
        json!({"points": [{"at": "2026-02-01T00:00:00Z", "value": 1.0}, {"at": "2026-02-02", "value": 2.0}]}),
    )
    .await
    .err_field(422, "invalid", "points[1].at");
    app.post(&app.member, points, json!({"points": []}))
        .await
        .err(403, "forbidden");
    assert_eq!(app.get(&app.stakeholder, points).await.ok(200).body, all);
}

async fn decisions_round_trip(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "Faster user list").await;
    let decision = app
        .create(
            "/api/v1/decisions",
            json!({"team_id": team["id"], "goal_id": goal["id"], "title": "Cache in Redis",
                "context": "The list is slow", "options": ["Redis", "In-process"],
                "decision": "Redis", "decided_by": "Ana", "decided_at": "2026-11-02T09:00:00Z"}),
        )
        .await;
    assert_eq!(decision["decided_at"], "2026-11-02T09:00:00Z");
    assert_eq!(decision["options"], json!(["Redis", "In-process"]));
    let path = format!("/api/v1/decisions/{}", id(&decision));
    assert_eq!(
        app.get(&app.stakeholder, &path).await.ok(200).body,
        decision
    );
    let patched = app
        .patch(
            &app.manager,
            &path,
            json!({"consequences": "One more service to run"}),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(patched["consequences"], "One more service to run");
    assert_eq!(patched["decided_at"], decision["decided_at"]);
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, patched);
    app.patch(&app.manager, &path, json!({"decision": " "}))
        .await
        .err_field(422, "invalid", "decision");
    let of_goal = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/decisions?goal={}", id(&goal)),
        )
        .await
        .ok(200);
    assert_eq!(of_goal.items(), &vec![patched]);
    let undecided = app
        .post(
            &app.manager,
            "/api/v1/decisions",
            json!({"team_id": team["id"], "title": "Which DB?"}),
        )
        .await;
    undecided.err_field(422, "invalid", "decision");
}
