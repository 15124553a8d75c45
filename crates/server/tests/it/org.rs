//! Setting an organisation up through the API: service scopes of a project
//! and the members of a team, who may read and change them, and that a
//! refusal stores nothing.

use reqwest::Method;
use serde_json::{Value, json};
use tandem_domain::user::{Role, User};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    service_scopes,
    team_members,
    work_items_link_within_their_team
);

async fn put(app: &TestApp, token: &str, path: &str, body: Value) -> crate::support::Reply {
    app.call(Method::PUT, token, path, Some(body)).await
}

/// Team `payments` with project `pay` over `acme/mono` (services api, web).
async fn payments(app: &TestApp) -> (Value, Value) {
    let team = app.team("payments").await;
    let project = app
        .create(
            "/api/v1/projects",
            json!({"team_id": team["id"], "key": "pay", "name": "Payments",
                   "repositories": ["acme/mono"], "services": ["api", "web"]}),
        )
        .await;
    (team, project)
}

async fn service_scopes(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let (_, project) = payments(&app).await;
    let store = app.store().await;
    let pid: uuid::Uuid = project["id"].as_str().unwrap().parse().unwrap();
    let scopes = "/api/v1/projects/pay/scopes";
    assert_eq!(
        app.get(&app.stakeholder, scopes).await.ok(200).body,
        json!([])
    );

    let set = put(
        &app,
        &app.manager,
        "/api/v1/projects/pay/scopes/api",
        json!({"repo": "acme/mono", "path_prefixes": ["services/api/"]}),
    )
    .await
    .ok(200)
    .body;
    assert_eq!(
        set,
        json!({"service": "api", "repo": "acme/mono", "path_prefixes": ["services/api/"]})
    );
    // By id as well as key; absent prefixes are the whole repository.
    let by_id = format!(
        "/api/v1/projects/{}/scopes/web",
        project["id"].as_str().unwrap()
    );
    put(&app, &app.manager, &by_id, json!({"repo": "acme/mono"}))
        .await
        .ok(200);
    // Any signed-in role reads them.
    assert_eq!(
        app.get(&app.stakeholder, scopes).await.ok(200).body,
        json!([set, {"service": "web", "repo": "acme/mono", "path_prefixes": []}])
    );
    let before = store.list_service_scopes(pid).await.unwrap();

    // Refusals, each naming what is wrong; nothing stored changes.
    let r = put(
        &app,
        &app.manager,
        "/api/v1/projects/pay/scopes/billing",
        json!({"repo": "acme/mono"}),
    )
    .await;
    let e = r.err_field(422, "invalid", "service");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("its services: api, web"),
        "{e:#}"
    );
    let r = put(
        &app,
        &app.manager,
        "/api/v1/projects/pay/scopes/api",
        json!({"repo": "acme/other", "path_prefixes": ["x/"]}),
    )
    .await;
    let e = r.err_field(422, "invalid", "repo");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("its repositories: acme/mono"),
        "{e:#}"
    );
    put(
        &app,
        &app.manager,
        "/api/v1/projects/pay/scopes/api",
        json!({"repo": "acme/mono", "path_prefixes": ["/services/api/"]}),
    )
    .await
    .err_field(422, "invalid", "path_prefixes[0]");
    put(
        &app,
        &app.manager,
        "/api/v1/projects/pay/scopes/api",
        json!({"repo": "acme/mono", "service": "web"}),
    )
    .await
    .err_field(422, "invalid", "service");
    let r = put(
        &app,
        &app.manager,
        "/api/v1/projects/nope/scopes/api",
        json!({"repo": "acme/mono"}),
    )
    .await;
    let e = r.err(404, "not_found");
    assert!(e["message"].as_str().unwrap().contains("\"pay\""), "{e:#}");
    put(
        &app,
        &app.member,
        "/api/v1/projects/pay/scopes/api",
        json!({"repo": "acme/mono"}),
    )
    .await
    .err(403, "forbidden");
    app.delete(&app.member, "/api/v1/projects/pay/scopes/api")
        .await
        .err(403, "forbidden");
    // A scoped service or repository cannot be dropped from the project.
    app.patch(
        &app.manager,
        "/api/v1/projects/pay",
        json!({"services": ["web"]}),
    )
    .await
    .err_field(409, "conflict", "services");
    app.patch(
        &app.manager,
        "/api/v1/projects/pay",
        json!({"repositories": ["acme/new"]}),
    )
    .await
    .err_field(409, "conflict", "repositories");
    assert_eq!(store.list_service_scopes(pid).await.unwrap(), before);
    assert_eq!(
        app.get(&app.stakeholder, "/api/v1/projects/pay")
            .await
            .ok(200)
            .body,
        project
    );

    // Removing: 204, then 404 naming the services that still have one.
    app.delete(&app.manager, "/api/v1/projects/pay/scopes/api")
        .await
        .ok(204);
    let r = app
        .delete(&app.manager, "/api/v1/projects/pay/scopes/api")
        .await;
    let e = r.err(404, "not_found");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("scoped services: web"),
        "{e:#}"
    );
    assert_eq!(
        app.get(&app.member, scopes).await.ok(200).body,
        json!([{"service": "web", "repo": "acme/mono", "path_prefixes": []}])
    );
    // Now api can go from the project.
    app.patch(
        &app.manager,
        "/api/v1/projects/pay",
        json!({"services": ["web"]}),
    )
    .await
    .ok(200);
}

async fn team_members(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.team("payments").await;
    let store = app.store().await;
    let mut users = Vec::new();
    for (name, role) in [("zoe", Role::Manager), ("ana", Role::Member)] {
        let user = User {
            id: uuid::Uuid::now_v7(),
            username: name.into(),
            display_name: name.to_uppercase(),
            email: None,
            role,
            disabled: false,
            created_at: tandem_domain::time::micros(chrono::Utc::now()),
        };
        store.create_user(&user, "not-a-real-hash").await.unwrap();
        users.push(serde_json::to_value(&user).unwrap());
    }
    let members = "/api/v1/teams/payments/members";
    assert_eq!(app.get(&app.member, members).await.ok(200).body, json!([]));

    let added = put(&app, &app.manager, &format!("{members}/zoe"), json!({}))
        .await
        .ok(200)
        .body;
    assert_eq!(added, users[0]);
    // Adding again changes nothing; no body is needed.
    app.call(Method::PUT, &app.manager, &format!("{members}/zoe"), None)
        .await
        .ok(200);
    put(&app, &app.manager, &format!("{members}/ana"), json!({}))
        .await
        .ok(200);
    assert_eq!(
        app.get(&app.member, members).await.ok(200).body,
        json!([users[1], users[0]])
    );
    // People are not for stakeholders; writes are for managers.
    app.get(&app.stakeholder, members)
        .await
        .err(403, "forbidden");
    put(&app, &app.member, &format!("{members}/ana"), json!({}))
        .await
        .err(403, "forbidden");
    app.delete(&app.member, &format!("{members}/ana"))
        .await
        .err(403, "forbidden");

    // Unknown user or team: 404 naming the ones there are.
    let r = put(&app, &app.manager, &format!("{members}/bob"), json!({})).await;
    let e = r.err(404, "not_found");
    assert!(
        e["message"]
            .as_str()
            .unwrap()
            .contains("users: admin, ana, zoe"),
        "{e:#}"
    );
    let r = app.get(&app.member, "/api/v1/teams/search/members").await;
    let e = r.err(404, "not_found");
    assert!(
        e["message"].as_str().unwrap().contains("\"payments\""),
        "{e:#}"
    );

    app.delete(&app.manager, &format!("{members}/ana"))
        .await
        .ok(204);
    app.delete(&app.manager, &format!("{members}/ana"))
        .await
        .err(404, "not_found");
    assert_eq!(
        app.get(&app.member, members).await.ok(200).body,
        json!([users[0]])
    );

    // The authorisation sweep (tests/it/authorisation.rs) walks the
    // document's writes: these are in it.
    let doc = tandem_server::openapi::document();
    for (path, method) in [
        ("/api/v1/teams/{team}/members/{username}", "put"),
        ("/api/v1/teams/{team}/members/{username}", "delete"),
        ("/api/v1/projects/{project}/scopes/{service}", "put"),
        ("/api/v1/projects/{project}/scopes/{service}", "delete"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is documented"
        );
    }
}

async fn work_items_link_within_their_team(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let (team, project) = payments(&app).await;
    let other = app.team("search").await;
    let goal = app.goal(&team, "Fewer refunds").await;
    let other_goal = app.goal(&other, "Faster search").await;
    let stage = app
        .create(
            "/api/v1/stages",
            json!({"goal_id": other_goal["id"], "name": "Index"}),
        )
        .await;

    app.post(
        &app.manager,
        "/api/v1/work-items",
        json!({"team_id": other["id"], "project_id": project["id"], "title": "x", "kind": "bug"}),
    )
    .await
    .err_field(422, "invalid", "project_id");
    app.post(
        &app.manager,
        "/api/v1/work-items",
        json!({"team_id": team["id"], "goal_id": other_goal["id"], "title": "x", "kind": "bug"}),
    )
    .await
    .err_field(422, "invalid", "goal_id");
    app.post(
        &app.manager,
        "/api/v1/work-items",
        json!({"team_id": team["id"], "goal_id": goal["id"], "stage_id": stage["id"],
               "title": "x", "kind": "bug"}),
    )
    .await
    .err_field(422, "invalid", "stage_id");
    assert!(
        app.get(&app.member, "/api/v1/work-items")
            .await
            .ok(200)
            .items()
            .is_empty()
    );

    let item = app
        .create(
            "/api/v1/work-items",
            json!({"team_id": team["id"], "project_id": project["id"], "goal_id": goal["id"],
                   "title": "Refund split payments", "kind": "feature",
                   "impact": "medium", "complexity": "low"}),
        )
        .await;
    // The matrix set the priority (medium impact, low complexity).
    assert_eq!(item["priority"], "P1");
    let path = format!("/api/v1/work-items/{}", item["id"].as_str().unwrap());
    app.patch(&app.manager, &path, json!({"goal_id": other_goal["id"]}))
        .await
        .err_field(422, "invalid", "goal_id");
    assert_eq!(app.get(&app.member, &path).await.ok(200).body, item);
}
