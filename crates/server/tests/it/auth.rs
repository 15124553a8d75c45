//! Authentication, roles, sessions, CSRF defence and token revocation.

use reqwest::Method;
use serde_json::json;
use tandem_store::EngineKind;

use crate::support::{ADMIN_PASSWORD, Reply, TestApp};

tandem_testkit::per_engine!(
    requests_without_credentials_are_401,
    roles_are_enforced,
    probes_are_open_and_the_server_stops_cleanly,
    sign_in_sets_a_session_cookie,
    wrong_password_and_unknown_user_look_the_same,
    cookie_writes_need_the_same_origin,
    sign_out_ends_the_session,
    disabled_users_lose_their_sessions,
    revoked_tokens_stop_working,
    an_empty_session_cookie_is_no_cookie,
    the_status_page_is_open_only_when_configured,
);

/// The `name=value` part of a `Set-Cookie` header.
fn cookie_of(reply: &Reply) -> String {
    let set = reply.header("set-cookie").expect("a Set-Cookie header");
    set.split(';').next().unwrap().to_owned()
}

async fn requests_without_credentials_are_401(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let none = app.send(app.request(Method::GET, "/api/v1/teams")).await;
    none.err(401, "unauthorized");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"tandem\"")
    );

    for token in ["tdm_not-a-token", ""] {
        let reply = app.get(token, "/api/v1/teams").await;
        reply.err(401, "unauthorized");
        assert!(reply.header("www-authenticate").is_some());
    }
    let basic = app
        .send(
            app.request(Method::GET, "/api/v1/teams")
                .header("authorization", "Basic YTpi"),
        )
        .await;
    basic.err(401, "unauthorized");

    // A write without credentials is refused before its body is looked at.
    let write = app
        .send(
            app.request(Method::POST, "/api/v1/teams")
                .json(&json!({"key": "x", "name": "X"})),
        )
        .await;
    write.err(401, "unauthorized");

    // The document is not public either.
    let doc = app
        .send(app.request(Method::GET, "/api/v1/openapi.json"))
        .await;
    doc.err(401, "unauthorized");
    app.get(&app.stakeholder, "/api/v1/openapi.json")
        .await
        .ok(200);
    app.get(&app.admin, "/api/v1/teams").await.ok(200);
    assert!(
        app.get(&app.admin, "/api/v1/teams")
            .await
            .items()
            .is_empty()
    );
}

async fn roles_are_enforced(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    // Stakeholders read plans but not work items.
    app.get(&app.stakeholder, "/api/v1/teams").await.ok(200);
    app.get(&app.stakeholder, "/api/v1/goals").await.ok(200);
    app.get(&app.stakeholder, "/api/v1/work-items")
        .await
        .err(403, "forbidden");
    app.get(&app.member, "/api/v1/work-items").await.ok(200);

    // Members do not write.
    app.post(
        &app.member,
        "/api/v1/teams",
        json!({"key": "core", "name": "Core"}),
    )
    .await
    .err(403, "forbidden");
    app.post(
        &app.stakeholder,
        "/api/v1/teams",
        json!({"key": "core", "name": "Core"}),
    )
    .await
    .err(403, "forbidden");
    assert!(
        app.get(&app.admin, "/api/v1/teams")
            .await
            .items()
            .is_empty()
    );
    app.post(
        &app.manager,
        "/api/v1/teams",
        json!({"key": "core", "name": "Core"}),
    )
    .await
    .ok(201);

    // Users and tokens are the admin's.
    for path in ["/api/v1/users", "/api/v1/tokens"] {
        app.get(&app.manager, path).await.err(403, "forbidden");
        app.get(&app.admin, path).await.ok(200);
    }
    app.post(
        &app.manager,
        "/api/v1/tokens",
        json!({"name": "mine", "role": "admin"}),
    )
    .await
    .err(403, "forbidden");
    let users = app.get(&app.admin, "/api/v1/users").await.ok(200).body;
    assert_eq!(users.as_array().unwrap().len(), 1);
    assert_eq!(users[0]["username"], "admin");
    assert_eq!(users[0]["role"], "admin");
    assert!(users[0].get("password_hash").is_none(), "{users}");

    let me = app.get(&app.manager, "/api/v1/me").await.ok(200).body;
    assert_eq!(
        me,
        json!({"name": "token:manager", "role": "manager", "user": null})
    );
}

async fn probes_are_open_and_the_server_stops_cleanly(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    for path in ["/healthz", "/readyz"] {
        let reply = app.send(app.request(Method::GET, path)).await.ok(200);
        assert!(
            reply.header("x-request-id").is_some(),
            "{path} carries a request id"
        );
    }
    app.stop().await;
}

/// `/status` and `/status/{team}` are the only pages without a session, and
/// only when `[status_page]` makes them public (off by default); the API's
/// `/api/v1/status` always needs credentials.
async fn the_status_page_is_open_only_when_configured(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let mut visitor = crate::pages::Browser::new(&app);
    let page = visitor.get("/status").await;
    assert_eq!(page.status, 303, "private by default");
    assert!(page.location.unwrap().starts_with("/sign-in"));
    app.send(app.request(Method::GET, "/api/v1/status"))
        .await
        .err(401, "unauthorized");
    app.stop().await;
    let app = TestApp::start_with(engine, &[("TANDEM_STATUS_PAGE__PUBLIC", "true")]).await;
    let mut visitor = crate::pages::Browser::new(&app);
    assert_eq!(visitor.get("/status").await.status, 200);
    app.send(app.request(Method::GET, "/api/v1/status"))
        .await
        .err(401, "unauthorized");
    app.stop().await;
}

async fn sign_in_sets_a_session_cookie(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let reply = app.sign_in("admin", ADMIN_PASSWORD).await.ok(200);
    assert_eq!(reply.body["username"], "admin");
    assert!(reply.body.get("password_hash").is_none());
    let set = reply.header("set-cookie").unwrap().to_owned();
    let attributes: Vec<&str> = set.split(';').map(str::trim).collect();
    assert!(attributes[0].starts_with("tandem_session=tdm_"), "{set}");
    assert!(attributes.contains(&"HttpOnly"), "{set}");
    assert!(attributes.contains(&"SameSite=Lax"), "{set}");
    assert!(attributes.contains(&"Path=/"), "{set}");
    assert!(attributes.contains(&"Max-Age=43200"), "{set}");
    assert!(
        !attributes.contains(&"Secure"),
        "http public URL, no Secure: {set}"
    );

    let cookie = cookie_of(&reply);
    let me = app
        .send(app.with_cookie(Method::GET, "/api/v1/me", &cookie))
        .await
        .ok(200)
        .body;
    assert_eq!(me["name"], "admin");
    assert_eq!(me["role"], "admin");
    assert_eq!(me["user"]["username"], "admin");
    // The session works for the rest of the API too.
    app.send(app.with_cookie(Method::GET, "/api/v1/users", &cookie))
        .await
        .ok(200);
    // A cookie that is not a live session is refused.
    app.send(app.with_cookie(Method::GET, "/api/v1/me", "tandem_session=tdm_forged"))
        .await
        .err(401, "unauthorized");
}

async fn wrong_password_and_unknown_user_look_the_same(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let wrong = app.sign_in("admin", "not-the-password").await;
    let unknown = app.sign_in("nobody", "not-the-password").await;
    wrong.err(401, "unauthorized");
    unknown.err(401, "unauthorized");
    assert_eq!(wrong.body, unknown.body);
    assert!(wrong.header("set-cookie").is_none());
    assert!(unknown.header("set-cookie").is_none());
    // A malformed sign-in is a validation error, not a 500.
    app.send(
        app.request(Method::POST, "/api/v1/session")
            .json(&json!({"username": "admin"})),
    )
    .await
    .err_field(422, "invalid", "password");
}

async fn cookie_writes_need_the_same_origin(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let cookie = cookie_of(&app.sign_in("admin", ADMIN_PASSWORD).await.ok(200));
    let team = |key: &str| json!({"key": key, "name": "Team"});

    let foreign = app
        .send(
            app.with_cookie(Method::POST, "/api/v1/teams", &cookie)
                .header("origin", "https://evil.example")
                .json(&team("evil")),
        )
        .await;
    foreign.err(403, "forbidden");
    let null_origin = app
        .send(
            app.with_cookie(Method::POST, "/api/v1/teams", &cookie)
                .header("origin", "null")
                .json(&team("null")),
        )
        .await;
    null_origin.err(403, "forbidden");
    assert!(
        app.get(&app.admin, "/api/v1/teams")
            .await
            .items()
            .is_empty()
    );

    // Reads are safe from any origin.
    app.send(
        app.with_cookie(Method::GET, "/api/v1/teams", &cookie)
            .header("origin", "https://evil.example"),
    )
    .await
    .ok(200);

    // Issue 18, defect 7: a cookie write that names no origin at all (no
    // Origin, no Referer) is refused too; a foreign Referer is no better.
    app.send(
        app.with_cookie(Method::POST, "/api/v1/teams", &cookie)
            .json(&team("silent")),
    )
    .await
    .err(403, "forbidden");
    app.send(
        app.with_cookie(Method::POST, "/api/v1/teams", &cookie)
            .header("referer", "https://evil.example/page")
            .json(&team("referer")),
    )
    .await
    .err(403, "forbidden");

    // Same origin, by Origin or (when a browser leaves Origin out) Referer.
    app.send(
        app.with_cookie(Method::POST, "/api/v1/teams", &cookie)
            .header("origin", app.base.as_str())
            .json(&team("same")),
    )
    .await
    .ok(201);
    app.send(
        app.with_cookie(Method::POST, "/api/v1/teams", &cookie)
            .header("referer", format!("{}/setup/teams", app.base))
            .json(&team("plain")),
    )
    .await
    .ok(201);
    // Tokens are not cookies: no Origin check.
    app.send(
        app.request(Method::POST, "/api/v1/teams")
            .bearer_auth(&app.manager)
            .header("origin", "https://elsewhere.example")
            .json(&team("token")),
    )
    .await
    .ok(201);
    let keys: Vec<_> = app
        .get(&app.admin, "/api/v1/teams")
        .await
        .items()
        .iter()
        .map(|t| t["key"].clone())
        .collect();
    assert_eq!(keys, [json!("same"), json!("plain"), json!("token")]);
}

async fn sign_out_ends_the_session(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let cookie = cookie_of(&app.sign_in("admin", ADMIN_PASSWORD).await.ok(200));
    app.send(app.with_cookie(Method::GET, "/api/v1/me", &cookie))
        .await
        .ok(200);
    let out = app
        .send(app.with_cookie(Method::DELETE, "/api/v1/session", &cookie))
        .await
        .ok(204);
    let cleared = out.header("set-cookie").expect("the cookie is cleared");
    assert!(cleared.starts_with("tandem_session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    app.send(app.with_cookie(Method::GET, "/api/v1/me", &cookie))
        .await
        .err(401, "unauthorized");
    app.send(app.request(Method::DELETE, "/api/v1/session"))
        .await
        .err(401, "unauthorized");
}

async fn disabled_users_lose_their_sessions(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let password = "dana-password-123";
    let dana = app
        .post(
            &app.admin,
            "/api/v1/users",
            json!({"username": "dana", "role": "manager", "password": password}),
        )
        .await
        .ok(201)
        .body;
    assert_eq!(
        (dana["role"].as_str(), dana["disabled"].as_bool()),
        (Some("manager"), Some(false))
    );
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": "dana", "role": "member", "password": password}),
    )
    .await
    .err_field(409, "conflict", "username");
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": "eve", "role": "member", "password": "short"}),
    )
    .await
    .err_field(422, "invalid", "password");

    let cookie = cookie_of(&app.sign_in("dana", password).await.ok(200));
    app.send(app.with_cookie(Method::GET, "/api/v1/me", &cookie))
        .await
        .ok(200);

    let disabled = app
        .patch(&app.admin, "/api/v1/users/dana", json!({"disabled": true}))
        .await
        .ok(200)
        .body;
    assert_eq!(disabled["disabled"], true);
    app.send(app.with_cookie(Method::GET, "/api/v1/me", &cookie))
        .await
        .err(401, "unauthorized");
    let again = app.sign_in("dana", password).await;
    again.err(401, "unauthorized");
    assert_eq!(again.body, app.sign_in("nobody", password).await.body);

    app.patch(&app.admin, "/api/v1/users/dana", json!({"disabled": false}))
        .await
        .ok(200);
    app.sign_in("dana", password).await.ok(200);
    app.patch(
        &app.admin,
        "/api/v1/users/nobody",
        json!({"disabled": true}),
    )
    .await
    .err(404, "not_found");
    // An admin cannot lock themselves out.
    let admin_cookie = cookie_of(&app.sign_in("admin", ADMIN_PASSWORD).await.ok(200));
    app.send(
        app.with_cookie(Method::PATCH, "/api/v1/users/admin", &admin_cookie)
            .header("origin", app.base.as_str())
            .json(&json!({"disabled": true})),
    )
    .await
    .err_field(409, "conflict", "disabled");
}

async fn revoked_tokens_stop_working(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let created = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            json!({"name": "ci", "role": "member"}),
        )
        .await
        .ok(201)
        .body;
    let secret = created["secret"].as_str().unwrap().to_owned();
    let id = created["id"].as_str().unwrap().to_owned();
    assert_eq!(created["role"], "member");
    assert!(secret.starts_with(created["prefix"].as_str().unwrap()));
    app.get(&secret, "/api/v1/work-items").await.ok(200);

    let listed = app.get(&app.admin, "/api/v1/tokens").await.ok(200).body;
    let ci = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .expect("listed");
    assert!(
        ci.get("secret").is_none() && ci.get("token_hash").is_none(),
        "{ci}"
    );
    assert!(ci["revoked_at"].is_null());

    app.delete(&app.member, &format!("/api/v1/tokens/{id}"))
        .await
        .err(403, "forbidden");
    app.get(&secret, "/api/v1/work-items").await.ok(200);
    app.delete(&app.admin, &format!("/api/v1/tokens/{id}"))
        .await
        .ok(204);
    let reply = app.get(&secret, "/api/v1/work-items").await;
    reply.err(401, "unauthorized");
    assert!(reply.header("www-authenticate").is_some());
    let listed = app.get(&app.admin, "/api/v1/tokens").await.ok(200).body;
    let ci = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id.as_str())
        .unwrap();
    assert!(ci["revoked_at"].is_string());

    app.delete(&app.admin, "/api/v1/tokens/not-a-uuid")
        .await
        .err(404, "not_found");
    app.delete(
        &app.admin,
        &format!("/api/v1/tokens/{}", uuid::Uuid::now_v7()),
    )
    .await
    .err(404, "not_found");
    app.post(
        &app.admin,
        "/api/v1/tokens",
        json!({"name": " ", "role": "member"}),
    )
    .await
    .err_field(422, "invalid", "name");
    app.post(
        &app.admin,
        "/api/v1/tokens",
        json!({"name": "x", "role": "root"}),
    )
    .await
    .err_field(422, "invalid", "role");
}

/// An empty session cookie (what a cleared cookie looks like) is no cookie,
/// and a later non-empty one counts (the pages use the same parser).
async fn an_empty_session_cookie_is_no_cookie(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let empty = app
        .send(app.with_cookie(Method::GET, "/api/v1/me", "tandem_session="))
        .await;
    let body = empty.err(401, "unauthorized").to_string();
    assert!(
        body.contains("sign in") && !body.contains("expired"),
        "{body}"
    );
    let signed_in = app.sign_in("admin", ADMIN_PASSWORD).await.ok(200);
    let both = format!("tandem_session=; {}", cookie_of(&signed_in));
    let me = app
        .send(app.with_cookie(Method::GET, "/api/v1/me", &both))
        .await
        .ok(200);
    assert_eq!(me.body["name"], "admin");
}
