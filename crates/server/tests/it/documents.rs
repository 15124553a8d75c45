//! Agreements as documents over HTTP: `GET`/`PUT /api/v1/goals/{id}/document`
//! in text/markdown, with the same rules as `tandem goal import`.

use reqwest::Method;
use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::support::{Reply, TestApp};

tandem_testkit::per_engine!(document_round_trip_and_stale_refusal, document_errors);

fn id(v: &Value) -> &str {
    v["id"].as_str().expect("an id")
}

async fn put(app: &TestApp, token: &str, path: &str, content_type: &str, text: &str) -> Reply {
    app.send(
        app.request(Method::PUT, path)
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(text.to_owned()),
    )
    .await
}

async fn document(app: &TestApp, path: &str) -> String {
    let reply = app.get(&app.stakeholder, path).await.ok(200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/markdown; charset=utf-8")
    );
    reply.body.as_str().expect("a text body").to_owned()
}

/// An agreed goal of team `web` in project `dashboard`.
async fn agreed_goal(app: &TestApp) -> Value {
    let team = app.team("web").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "dashboard", "name": "Dashboard"}),
    )
    .await;
    let project = app
        .get(&app.stakeholder, "/api/v1/projects/dashboard")
        .await
        .ok(200)
        .body;
    let goal = app
        .create(
            "/api/v1/goals",
            json!({"team_id": team["id"], "project_id": project["id"], "title": "Faster user list",
                "business_goal": "The dashboard feels slow.\n\n## Not a section: just text",
                "hypotheses": ["Caching halves p95"],
                "parties": {"owner": "Ana", "contributors": ["Bo"]},
                "timeline": {"starts_on": "2026-11-01", "deadline": "2026-12-01"},
                "success_metrics": [{"metric": "p95 latency of /users", "baseline": 500.0,
                    "target": 300.0, "direction": "down", "unit": "ms"}]}),
        )
        .await;
    app.post(
        &app.manager,
        &format!("/api/v1/goals/{}/agree", id(&goal)),
        json!({}),
    )
    .await
    .ok(200)
    .body
}

async fn document_round_trip_and_stale_refusal(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let goal = agreed_goal(&app).await;
    let path = format!("/api/v1/goals/{}", id(&goal));
    let doc_path = format!("{path}/document");
    let v1 = document(&app, &doc_path).await;
    assert!(v1.contains("\nversion = 1\n"), "{v1}");
    assert!(v1.contains("\nproject = \"dashboard\"\n"), "{v1}");
    assert!(v1.contains("\n# Faster user list\n"), "{v1}");
    assert!(v1.contains("\n\\## Not a section: just text\n"), "{v1}");

    // The document as exported changes nothing.
    let same = put(&app, &app.manager, &doc_path, "text/markdown", &v1)
        .await
        .ok(200)
        .body;
    assert_eq!(same, goal);

    // Moving the deadline is a new version with a field-level diff.
    let v2_text = v1.replace("deadline = 2026-12-01", "deadline = 2026-12-15");
    let edited = put(
        &app,
        &app.manager,
        &doc_path,
        "text/markdown; charset=utf-8",
        &v2_text,
    )
    .await
    .ok(200)
    .body;
    assert_eq!(edited["version"], 2);
    assert_eq!(edited["timeline"]["deadline"], "2026-12-15");
    assert_eq!(edited["business_goal"], goal["business_goal"]);
    let versions = app
        .get(&app.stakeholder, &format!("{path}/versions"))
        .await
        .ok(200)
        .body;
    let last = &versions[1];
    assert_eq!(
        (&last["version"], &last["action"], &last["changed_by"]),
        (&json!(2), &json!("edit"), &json!("token:manager"))
    );
    assert_eq!(last["changes"][0]["field"], "timeline");
    assert_eq!(last["changes"][0]["after"]["deadline"], "2026-12-15");
    assert!(document(&app, &doc_path).await.contains("\nversion = 2\n"));

    // The old document is refused, naming `version`; nothing changes.
    let reply = put(&app, &app.manager, &doc_path, "text/markdown", &v1).await;
    let error = reply.err_field(409, "conflict", "version");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("the document is version 1, the stored goal is version 2"),
        "{message}"
    );
    assert_eq!(app.get(&app.stakeholder, &path).await.ok(200).body, edited);

    // Reading needs stakeholder, writing manager.
    put(&app, &app.member, &doc_path, "text/markdown", &v2_text)
        .await
        .err(403, "forbidden");
    app.send(app.request(Method::GET, &doc_path))
        .await
        .err(401, "unauthorized");

    // A filled-in template PUT to a new id is a new draft with that id.
    let new_id = "01900000-0000-7000-8000-0000000000ff";
    let text = "+++\nteam = \"web\"\n[parties]\nowner = \"Ana\"\n+++\n\n# Fewer refunds\n\n## Business goal\n\nNo double charges.\n\n## Hypotheses\n\n- Retries cause them.\n";
    let created = put(
        &app,
        &app.manager,
        &format!("/api/v1/goals/{new_id}/document"),
        "text/markdown",
        text,
    )
    .await
    .ok(201)
    .body;
    assert_eq!(
        (
            id(&created),
            &created["status"],
            &created["version"],
            &created["hypotheses"]
        ),
        (
            new_id,
            &json!("draft"),
            &json!(0),
            &json!(["Retries cause them."])
        )
    );
    assert!(
        document(&app, &format!("/api/v1/goals/{new_id}/document"))
            .await
            .contains(&format!("id = \"{new_id}\""))
    );
    app.stop().await;
}

async fn document_errors(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let goal = agreed_goal(&app).await;
    let doc_path = format!("/api/v1/goals/{}/document", id(&goal));
    let text = document(&app, &doc_path).await;
    let version_before = app
        .get(&app.stakeholder, &format!("/api/v1/goals/{}", id(&goal)))
        .await
        .ok(200)
        .body;

    let bad = |from: &str, to: &str| {
        assert!(text.contains(from), "{from:?} is not in {text}");
        text.replace(from, to)
    };
    let cases = [
        (
            bad("target = 300.0", "target = \"x\""),
            "success_metrics[0].target",
        ),
        (
            bad("\"down\"", "\"sideways\""),
            "success_metrics[0].direction",
        ),
        (bad("team = \"web\"", "team = \"nope\""), "team"),
        (
            bad("project = \"dashboard\"", "project = \"nope\""),
            "project",
        ),
        (bad("status = \"agreed\"", "status = \"done\""), "status"),
        (bad("\n+++\n", "\n"), "front_matter"),
        (bad("## Hypotheses", "## Assumptions"), "body"),
        (
            bad("The dashboard feels slow.", "The dashboard\0 feels slow."),
            "business_goal",
        ),
        (bad("owner = \"Ana\"\n", ""), "parties.owner"),
        (
            bad(
                &format!("id = \"{}\"", id(&goal)),
                "id = \"01900000-0000-7000-8000-0000000000aa\"",
            ),
            "id",
        ),
    ];
    for (body, field) in &cases {
        let reply = put(&app, &app.manager, &doc_path, "text/markdown", body).await;
        reply.err_field(422, "invalid", field);
    }

    put(&app, &app.manager, &doc_path, "application/json", &text)
        .await
        .err(415, "unsupported_media_type");
    app.send(
        app.request(Method::PUT, &doc_path)
            .bearer_auth(&app.manager)
            .header("content-type", "text/markdown")
            .body(vec![0xff, 0xfe]),
    )
    .await
    .err(400, "bad_request");
    app.get(
        &app.stakeholder,
        "/api/v1/goals/01900000-0000-7000-8000-0000000000aa/document",
    )
    .await
    .err(404, "not_found");

    // Nothing above changed the goal.
    assert_eq!(
        app.get(&app.stakeholder, &format!("/api/v1/goals/{}", id(&goal)))
            .await
            .ok(200)
            .body,
        version_before
    );
    app.stop().await;
}
