//! Issue 18, defects 6 and 7: text a terminal would act on, numbers that
//! cannot be stored as written, empty lists that mean nothing, repeated
//! keys, and the headers that keep secrets out of caches.

use reqwest::Method;
use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    control_and_bidi_characters_are_refused_naming_the_field,
    numbers_empty_lists_and_repeated_keys,
    secrets_and_authenticated_responses_are_not_cached,
);

const REPO: &str = "acme/payments";

async fn control_and_bidi_characters_are_refused_naming_the_field(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "repositories": [REPO], "services": ["payments"]}),
    )
    .await;

    app.post(
        &app.manager,
        "/api/v1/teams",
        json!({"key": "esc", "name": "a\u{7}\u{1b}[31m"}),
    )
    .await
    .err_field(422, "invalid", "name");
    let reply = app
        .post(
            &app.manager,
            "/api/v1/goals",
            json!({"team_id": team["id"], "title": "Pay \u{202e}txt.exe"}),
        )
        .await;
    let error = reply.err_field(422, "invalid", "title");
    assert!(
        error["message"].as_str().unwrap().contains("U+202E"),
        "{error}"
    );
    app.post(
        &app.admin,
        "/api/v1/tokens",
        json!({"name": "ci\u{9b}", "role": "member"}),
    )
    .await
    .err_field(422, "invalid", "name");
    // Multi-line text keeps its line breaks and tabs, not other controls.
    app.post(
        &app.manager,
        "/api/v1/goals",
        json!({"team_id": team["id"], "title": "Fine", "business_goal": "one\n\ttwo\r\nthree"}),
    )
    .await
    .ok(201);
    app.post(
        &app.manager,
        "/api/v1/goals",
        json!({"team_id": team["id"], "title": "Bad", "business_goal": "one\u{1b}]0;pwned\u{7}"}),
    )
    .await
    .err_field(422, "invalid", "business_goal");

    for (field, value) in [
        ("environment", "prod\u{7}"),
        ("id", "d-\u{1b}[2J"),
        ("service", "pay\u{2066}ments"),
    ] {
        let mut body = json!({"id": "d-1", "service": "payments", "environment": "production",
            "started_at": "2026-03-01T10:00:00Z", "finished_at": "2026-03-01T10:05:00Z",
            "status": "success", "repo": REPO, "sha": "a".repeat(40)});
        body[field] = Value::from(value);
        let reply = app
            .post(&app.member, "/api/v1/events/deployments", body)
            .await;
        assert_eq!(reply.status.as_u16(), 422, "{field}: {:?}", reply.body);
        let named = reply.body["error"]["field"].as_str().unwrap_or("");
        assert!(
            named.ends_with(field) || named.ends_with("external_id"),
            "{field}: {}",
            reply.body
        );
    }
    let store = app.store().await;
    assert_eq!(store.get_deployment("api", "d-1").await.unwrap(), None);
    let teams = app.get(&app.admin, "/api/v1/teams").await.ok(200);
    assert_eq!(teams.items().len(), 1, "nothing stored");
}

async fn numbers_empty_lists_and_repeated_keys(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.create(
        "/api/v1/metrics",
        json!({"key": "latency", "name": "Latency", "direction": "down", "audience": "team"}),
    )
    .await;
    let points = "/api/v1/metrics/latency/points";
    let raw = |path: &str, body: &str| {
        app.request(Method::POST, path)
            .bearer_auth(&app.manager)
            .header("content-type", "application/json")
            .body(body.to_owned())
    };

    let reply = app
        .send(raw(
            points,
            r#"{"points": [{"at": "2026-01-01T00:00:00Z", "value": 1e-400}]}"#,
        ))
        .await;
    let error = reply.err_field(422, "invalid", "points[0].value");
    assert!(
        error["message"].as_str().unwrap().contains("too small"),
        "{error}"
    );
    app.send(raw(
        points,
        r#"{"points": [{"at": "2026-01-01T00:00:00Z", "value": 4e-320}]}"#,
    ))
    .await
    .err_field(422, "invalid", "points[0].value");
    app.send(raw(
        points,
        r#"{"points": [{"at": "2026-01-01T00:00:00Z", "value": 1e400}]}"#,
    ))
    .await
    .err_field(422, "invalid", "points[0].value");
    app.post(&app.manager, points, json!({"points": []}))
        .await
        .err_field(422, "invalid", "points");
    assert_eq!(app.get(&app.admin, points).await.ok(200).body, json!([]));
    // Zero written as zero, and small normal numbers, are fine.
    app.send(raw(
        points,
        r#"{"points": [{"at": "2026-01-01T00:00:00Z", "value": 0.0e-5}, {"at": "2026-01-02T00:00:00Z", "value": 2.5e-300}]}"#,
    ))
    .await
    .ok(200);
    let stored = app.get(&app.admin, points).await.ok(200).body;
    assert_eq!(stored[1]["value"], json!(2.5e-300), "{stored}");

    // A repeated key is refused on every route, naming it.
    let dup = r#"{"id": "d-1", "service": "payments", "environment": "production",
        "environment": "staging", "started_at": "2026-03-01T10:00:00Z", "status": "running"}"#;
    app.send(raw("/api/v1/events/deployments", dup))
        .await
        .err_field(422, "invalid", "environment");
    let dup = r#"{"items": [{"id": "i-1", "service": "payments", "title": "Down",
        "severity": "sev1", "severity": "sev3", "opened_at": "2026-03-01T10:00:00Z"}]}"#;
    app.send(raw("/api/v1/events/incidents", dup))
        .await
        .err_field(422, "invalid", "items[0].severity");
    app.send(raw(
        "/api/v1/teams",
        r#"{"key": "a", "name": "A", "key": "b"}"#,
    ))
    .await
    .err_field(422, "invalid", "key");
    assert!(
        app.get(&app.admin, "/api/v1/teams")
            .await
            .ok(200)
            .items()
            .is_empty()
    );
}

async fn secrets_and_authenticated_responses_are_not_cached(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let token = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            json!({"name": "ci", "role": "member"}),
        )
        .await
        .ok(201);
    assert_eq!(
        token.header("cache-control"),
        Some("no-store"),
        "a new secret"
    );
    let list = app.get(&app.member, "/api/v1/teams").await.ok(200);
    assert_eq!(list.header("cache-control"), Some("no-store"));
    let refused = app.get(&app.stakeholder, "/api/v1/work-items").await;
    assert_eq!(refused.header("cache-control"), Some("no-store"));
    let signed_in = app
        .sign_in("admin", crate::support::ADMIN_PASSWORD)
        .await
        .ok(200);
    assert_eq!(
        signed_in.header("cache-control"),
        Some("no-store"),
        "sets a session cookie"
    );
    // Public, credential-free responses keep their own policy.
    let css = app
        .send(app.request(Method::GET, "/static/tandem.css"))
        .await;
    assert_ne!(css.header("cache-control"), Some("no-store"));
    assert_eq!(list.header("strict-transport-security"), None, "plain http");
    app.stop().await;

    let app = TestApp::start_with(
        engine,
        &[("TANDEM_SERVER__PUBLIC_URL", "https://tandem.example.com")],
    )
    .await;
    let reply = app.send(app.request(Method::GET, "/healthz")).await;
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=31536000")
    );
    let reply = app.get(&app.admin, "/api/v1/teams").await.ok(200);
    assert_eq!(
        reply.header("strict-transport-security"),
        Some("max-age=31536000")
    );
}
