//! Bad input: each is refused with the right status and a field name, and
//! nothing stored changes.

use reqwest::Method;
use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    agreeing_names_every_missing_part,
    malformed_bodies_are_refused,
    conflicts_and_missing_references,
    bad_queries_are_400,
    unknown_things_are_404,
    text_the_engines_cannot_store_is_refused,
);

async fn agreeing_names_every_missing_part(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "Faster user list").await;
    let path = format!("/api/v1/goals/{}", goal["id"].as_str().unwrap());

    let reply = app
        .post(&app.manager, &format!("{path}/agree"), json!({}))
        .await;
    let error = reply.err_field(422, "invalid", "parties.owner");
    let fields: Vec<&str> = error["details"]
        .as_array()
        .expect("details list every problem")
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["parties.owner", "success_metrics"]);
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("parties.owner") && message.contains("success_metrics"),
        "{message}"
    );

    assert_eq!(app.get(&app.admin, &path).await.ok(200).body, goal);
    let versions = app
        .get(&app.admin, &format!("{path}/versions"))
        .await
        .ok(200)
        .body;
    assert_eq!(versions, json!([]));
}

async fn malformed_bodies_are_refused(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goals_before = app.get(&app.admin, "/api/v1/goals").await.ok(200).body;
    let teams_before = app.get(&app.admin, "/api/v1/teams").await.ok(200).body;
    let team_id = team["id"].clone();
    let raw = |body: &str| {
        app.request(Method::POST, "/api/v1/goals")
            .bearer_auth(&app.manager)
            .header("content-type", "application/json")
            .body(body.to_owned())
    };

    app.send(raw(r#"{"team_id": "#))
        .await
        .err(400, "bad_request");
    app.send(raw("not json")).await.err(400, "bad_request");
    app.send(raw(&format!(
        r#"{{"team_id": {team_id}, "title": "x"}} trailing"#
    )))
    .await
    .err(400, "bad_request");

    let post = |body: Value| app.post(&app.manager, "/api/v1/goals", body);
    post(json!({"team_id": team_id, "title": 5}))
        .await
        .err_field(422, "invalid", "title");
    post(json!({"team_id": team_id}))
        .await
        .err_field(422, "invalid", "title");
    post(json!({"title": "x"}))
        .await
        .err_field(422, "invalid", "team_id");
    post(json!({"team_id": team_id, "title": "x", "colour": "red"}))
        .await
        .err_field(422, "invalid", "colour");
    post(json!({"team_id": "not-a-uuid", "title": "x"}))
        .await
        .err_field(422, "invalid", "team_id");
    post(json!({"team_id": team_id, "title": "x".repeat(201)}))
        .await
        .err_field(422, "invalid", "title");
    post(json!({"team_id": team_id, "title": "x", "parties": {"owner": 1}}))
        .await
        .err_field(422, "invalid", "parties.owner");
    post(json!({"team_id": team_id, "title": "x", "success_metrics": [{"metric": "m", "target": 1, "baseline": 2}]}))
        .await
        .err_field(422, "invalid", "success_metrics[0].target");
    post(json!([1, 2])).await.err(422, "invalid");

    let big = json!({"team_id": team_id, "title": "x", "business_goal": "y".repeat(1024 * 1024)});
    app.post(&app.manager, "/api/v1/goals", big)
        .await
        .err(413, "payload_too_large");
    let untyped = app
        .request(Method::POST, "/api/v1/goals")
        .bearer_auth(&app.manager)
        .body(json!({"team_id": team_id, "title": "x"}).to_string());
    app.send(untyped).await.err(415, "unsupported_media_type");
    let text = app
        .request(Method::POST, "/api/v1/teams")
        .bearer_auth(&app.manager)
        .header("content-type", "text/plain")
        .body(json!({"key": "x", "name": "X"}).to_string());
    app.send(text).await.err(415, "unsupported_media_type");

    // A team patch with a bad value changes nothing either.
    app.patch(
        &app.manager,
        "/api/v1/teams/core",
        json!({"timezone": "Central European Time"}),
    )
    .await
    .err_field(422, "invalid", "timezone");
    app.patch(&app.manager, "/api/v1/teams/core", json!({"name": ""}))
        .await
        .err_field(422, "invalid", "name");

    assert_eq!(
        app.get(&app.admin, "/api/v1/goals").await.ok(200).body,
        goals_before
    );
    assert_eq!(
        app.get(&app.admin, "/api/v1/teams").await.ok(200).body,
        teams_before
    );

    // Exactly at the limit of 200 characters is fine.
    let ok = app
        .post(
            &app.manager,
            "/api/v1/goals",
            json!({"team_id": team_id, "title": "x".repeat(200)}),
        )
        .await
        .ok(201);
    assert_eq!(ok.body["title"].as_str().unwrap().len(), 200);
}

async fn conflicts_and_missing_references(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;

    // Lifecycle: a draft cannot be completed.
    let goal = app.goal(&team, "Faster user list").await;
    let path = format!("/api/v1/goals/{}", goal["id"].as_str().unwrap());
    for action in ["complete", "start"] {
        app.post(&app.manager, &format!("{path}/{action}"), json!({}))
            .await
            .err_field(409, "conflict", "status");
    }
    assert_eq!(app.get(&app.admin, &path).await.ok(200).body, goal);

    // Unique keys.
    let teams_before = app.get(&app.admin, "/api/v1/teams").await.ok(200).body;
    let dup = app
        .post(
            &app.manager,
            "/api/v1/teams",
            json!({"key": "core", "name": "Other"}),
        )
        .await;
    let error = dup.err_field(409, "conflict", "key");
    assert!(
        error["message"].as_str().unwrap().contains("core"),
        "{error}"
    );
    assert_eq!(
        app.get(&app.admin, "/api/v1/teams").await.ok(200).body,
        teams_before
    );
    assert_eq!(
        app.get(&app.admin, "/api/v1/teams/core").await.ok(200).body["name"],
        "CORE"
    );

    let item = json!({"team_id": team["id"], "title": "Fix login", "kind": "bug",
        "source": "jira", "external_key": "CORE-1"});
    app.create("/api/v1/work-items", item.clone()).await;
    let items_before = app.get(&app.admin, "/api/v1/work-items").await.ok(200).body;
    app.post(&app.manager, "/api/v1/work-items", item.clone())
        .await
        .err_field(409, "conflict", "external_key");
    assert_eq!(
        app.get(&app.admin, "/api/v1/work-items").await.ok(200).body,
        items_before
    );
    // The same key from another source is a different item.
    let mut other_source = item.clone();
    other_source["source"] = json!("github");
    app.create("/api/v1/work-items", other_source).await;

    app.create(
        "/api/v1/metrics",
        json!({"key": "latency", "name": "Latency", "direction": "down", "audience": "team"}),
    )
    .await;
    app.post(
        &app.manager,
        "/api/v1/metrics",
        json!({"key": "latency", "name": "Again", "direction": "up", "audience": "team"}),
    )
    .await
    .err_field(409, "conflict", "key");

    // References to things that do not exist.
    let nobody = uuid::Uuid::now_v7();
    app.post(
        &app.manager,
        "/api/v1/projects",
        json!({"team_id": nobody, "key": "web", "name": "Web"}),
    )
    .await
    .err_field(422, "invalid", "team_id");
    assert!(
        app.get(&app.admin, "/api/v1/projects")
            .await
            .items()
            .is_empty()
    );
    app.post(
        &app.manager,
        "/api/v1/goals",
        json!({"team_id": nobody, "title": "x"}),
    )
    .await
    .err_field(422, "invalid", "team_id");
    app.post(
        &app.manager,
        "/api/v1/stages",
        json!({"goal_id": nobody, "name": "x"}),
    )
    .await
    .err_field(422, "invalid", "goal_id");
    assert!(
        app.get(&app.admin, "/api/v1/stages")
            .await
            .items()
            .is_empty()
    );
    app.patch(&app.manager, &path, json!({"project_id": nobody}))
        .await
        .err_field(422, "invalid", "project_id");
    assert_eq!(app.get(&app.admin, &path).await.ok(200).body, goal);
    app.post(
        &app.manager,
        "/api/v1/metrics/nope/points",
        json!({"points": [{"at": "2026-01-01T00:00:00Z", "value": 1.0}]}),
    )
    .await
    .err(404, "not_found");
}

async fn bad_queries_are_400(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.team("core").await;
    let get = |path: &'static str| app.get(&app.admin, path);

    let reply = get("/api/v1/teams?kind=bug").await;
    let error = reply.err_field(400, "bad_request", "kind");
    assert!(
        error["message"].as_str().unwrap().contains("kind"),
        "{error}"
    );
    get("/api/v1/teams?team=core")
        .await
        .err_field(400, "bad_request", "team");
    get("/api/v1/metrics?status=open")
        .await
        .err_field(400, "bad_request", "status");

    let reply = get("/api/v1/work-items?status=nope").await;
    let error = reply.err_field(400, "bad_request", "status");
    assert!(
        error["message"].as_str().unwrap().contains("in_progress"),
        "lists the values: {error}"
    );
    get("/api/v1/work-items?kind=nope")
        .await
        .err_field(400, "bad_request", "kind");
    get("/api/v1/goals?status=doing")
        .await
        .err_field(400, "bad_request", "status");
    get("/api/v1/metrics?audience=everyone")
        .await
        .err_field(400, "bad_request", "audience");
    get("/api/v1/work-items?team=nope")
        .await
        .err_field(400, "bad_request", "team");

    let reply = get("/api/v1/teams?colour=red").await;
    let error = reply.err(400, "bad_request");
    assert!(
        error["message"].as_str().unwrap().contains("colour"),
        "{error}"
    );
    get("/api/v1/teams?cursor=zzz")
        .await
        .err_field(400, "bad_request", "cursor");
    get("/api/v1/teams?limit=0")
        .await
        .err_field(400, "bad_request", "limit");
    get("/api/v1/teams?limit=501")
        .await
        .err_field(400, "bad_request", "limit");
    get("/api/v1/teams?limit=abc").await.err(400, "bad_request");
    get("/api/v1/work-items?goal=not-a-uuid")
        .await
        .err(400, "bad_request");

    app.create(
        "/api/v1/metrics",
        json!({"key": "latency", "name": "Latency", "direction": "down", "audience": "team"}),
    )
    .await;
    get("/api/v1/metrics/latency/points?from=yesterday")
        .await
        .err(400, "bad_request");
    get("/api/v1/metrics/latency/points?limit=0")
        .await
        .err_field(400, "bad_request", "limit");
    get("/api/v1/metrics/latency/points?cursor=x")
        .await
        .err(400, "bad_request");
    get("/api/v1/teams?limit=500").await.ok(200);
}

async fn unknown_things_are_404(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "A goal").await;
    let nobody = uuid::Uuid::now_v7();
    for path in [
        "/api/v1/goals/not-a-uuid".to_owned(),
        format!("/api/v1/goals/{nobody}"),
        format!("/api/v1/goals/{nobody}/versions"),
        "/api/v1/goals/not-a-uuid/versions".to_owned(),
        "/api/v1/stages/42".to_owned(),
        "/api/v1/work-items/42".to_owned(),
        "/api/v1/risks/42".to_owned(),
        "/api/v1/decisions/42".to_owned(),
        "/api/v1/teams/nope".to_owned(),
        format!("/api/v1/teams/{nobody}"),
        "/api/v1/projects/nope".to_owned(),
        "/api/v1/metrics/nope".to_owned(),
        "/api/v1/metrics/nope/points".to_owned(),
        "/api/v1/nope".to_owned(),
        "/api/v2/teams".to_owned(),
        "/nope".to_owned(),
    ] {
        let reply = app.get(&app.admin, &path).await;
        assert_eq!(reply.status.as_u16(), 404, "{path}: {:#}", reply.body);
        reply.err(404, "not_found");
        assert!(
            reply
                .header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{path}"
        );
    }
    let id = goal["id"].as_str().unwrap();
    app.post(
        &app.manager,
        &format!("/api/v1/goals/{id}/bogus"),
        json!({}),
    )
    .await
    .err(404, "not_found");
    app.post(
        &app.manager,
        &format!("/api/v1/goals/{nobody}/agree"),
        json!({}),
    )
    .await
    .err(404, "not_found");
    app.patch(
        &app.manager,
        &format!("/api/v1/goals/{nobody}"),
        json!({"title": "x"}),
    )
    .await
    .err(404, "not_found");
    app.patch(&app.manager, "/api/v1/teams/nope", json!({"name": "x"}))
        .await
        .err(404, "not_found");
    assert_eq!(
        app.get(&app.admin, &format!("/api/v1/goals/{id}"))
            .await
            .ok(200)
            .body,
        goal
    );

    // A known path with the wrong method is a JSON error too.
    let reply = app
        .send(
            app.request(Method::DELETE, "/api/v1/teams")
                .bearer_auth(&app.admin),
        )
        .await;
    reply.err(405, "method_not_allowed");
    assert_eq!(reply.header("allow"), Some("GET,HEAD,POST"));
    app.send(app.request(Method::POST, "/healthz"))
        .await
        .err(405, "method_not_allowed");
}

/// PostgreSQL refuses NUL characters and years before 4713 BC; SQLite keeps
/// times as text, where years past 9999 sort out of order. The API refuses
/// both the same way on either engine, naming the field.
async fn text_the_engines_cannot_store_is_refused(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("core").await;
    let goal = app.goal(&team, "A goal").await;
    app.create(
        "/api/v1/metrics",
        json!({"key": "latency", "name": "Latency", "direction": "down", "audience": "team"}),
    )
    .await;
    let lists = [
        "/api/v1/teams",
        "/api/v1/goals",
        "/api/v1/stages",
        "/api/v1/work-items",
        "/api/v1/decisions",
        "/api/v1/metrics/latency/points",
    ];
    let mut before = Vec::new();
    for path in lists {
        before.push(app.get(&app.admin, path).await.ok(200).body);
    }

    app.post(
        &app.manager,
        "/api/v1/teams",
        json!({"key": "nul", "name": "a\u{0}b"}),
    )
    .await
    .err_field(422, "invalid", "name");
    app.post(
        &app.manager,
        "/api/v1/goals",
        json!({"team_id": team["id"], "title": "x", "hypotheses": ["ok", "a\u{0}"]}),
    )
    .await
    .err_field(422, "invalid", "hypotheses[1]");
    app.sign_in("ad\u{0}min", "whatever-password")
        .await
        .err_field(422, "invalid", "username");
    app.get(&app.admin, "/api/v1/teams/co%00re")
        .await
        .err(400, "bad_request");
    app.patch(
        &app.admin,
        "/api/v1/users/admin%00",
        json!({"disabled": true}),
    )
    .await
    .err(400, "bad_request");
    app.get(&app.admin, "/api/v1/metrics/%FF")
        .await
        .err(400, "bad_request");
    app.get(&app.member, "/api/v1/work-items?team=core%00")
        .await
        .err_field(400, "bad_request", "team");

    app.post(
        &app.manager,
        "/api/v1/stages",
        json!({"goal_id": goal["id"], "name": "Old", "starts_on": "-5000-01-01"}),
    )
    .await
    .err_field(422, "invalid", "starts_on");
    app.post(
        &app.manager,
        "/api/v1/work-items",
        json!({"team_id": team["id"], "title": "x", "kind": "bug", "created_at": "+10000-01-01T00:00:00Z"}),
    )
    .await
    .err_field(422, "invalid", "created_at");
    app.post(
        &app.manager,
        "/api/v1/decisions",
        json!({"team_id": team["id"], "title": "x", "decision": "y", "decided_at": "9999-12-31T23:00:00-05:00"}),
    )
    .await
    .err_field(422, "invalid", "decided_at");
    let points = "/api/v1/metrics/latency/points";
    app.post(
        &app.manager,
        points,
        json!({"points": [{"at": "2026-01-01T00:00:00Z", "value": 1.0}, {"at": "-0001-12-31T00:00:00Z", "value": 2.0}]}),
    )
    .await
    .err_field(422, "invalid", "points[1].at");
    app.get(
        &app.admin,
        &format!("{points}?from=%2B10000-01-01T00:00:00Z"),
    )
    .await
    .err_field(400, "bad_request", "from");

    for (path, before) in lists.iter().zip(&before) {
        assert_eq!(
            &app.get(&app.admin, path).await.ok(200).body,
            before,
            "{path} changed"
        );
    }

    // The years 0000 and 9999 are fine, and sort in order on both engines.
    app.post(
        &app.manager,
        points,
        json!({"points": [
            {"at": "9999-12-31T23:59:59.999999Z", "value": 3.0},
            {"at": "0000-01-01T00:00:00Z", "value": 1.0},
            {"at": "2026-06-01T12:00:00+02:00", "value": 2.0},
        ]}),
    )
    .await
    .ok(200);
    let read = app.get(&app.admin, points).await.ok(200).body;
    let at: Vec<&str> = read
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["at"].as_str().unwrap())
        .collect();
    assert_eq!(
        at,
        [
            "0000-01-01T00:00:00Z",
            "2026-06-01T10:00:00Z",
            "9999-12-31T23:59:59.999999Z"
        ]
    );
    let late = app
        .get(
            &app.admin,
            &format!("{points}?from=2026-06-01T10:00:00.000001Z"),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(late.as_array().unwrap().len(), 1, "{late}");
}
