//! Cursor pagination and list filters.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(pages_cover_everything_once, work_item_filters_match);

async fn pages_cover_everything_once(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(app.team(&format!("team-{i}")).await["key"].clone());
    }

    let mut sizes = Vec::new();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/teams?limit=3&cursor={c}"),
            None => "/api/v1/teams?limit=3".to_owned(),
        };
        let page = app.get(&app.stakeholder, &path).await.ok(200);
        sizes.push(page.items().len());
        seen.extend(page.items().iter().map(|t| t["key"].clone()));
        match page.body.get("next_cursor") {
            Some(Value::String(next)) => cursor = Some(next.clone()),
            None => break,
            Some(other) => panic!("next_cursor is a string or absent, not {other}"),
        }
        assert!(sizes.len() < 10, "pagination does not end");
    }
    assert_eq!(sizes, [3, 3, 1]);
    let distinct: BTreeSet<String> = seen
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        distinct.len(),
        seen.len(),
        "no team is listed twice: {seen:?}"
    );
    assert_eq!(seen, created, "every team, in creation order");

    // A page that ends exactly at the last row has no cursor either.
    let exact = app
        .get(&app.stakeholder, "/api/v1/teams?limit=7")
        .await
        .ok(200);
    assert_eq!(exact.items().len(), 7);
    assert!(exact.body.get("next_cursor").is_none(), "{:#}", exact.body);
    let default = app.get(&app.stakeholder, "/api/v1/teams").await.ok(200);
    assert_eq!(default.items().len(), 7);
}

async fn work_item_filters_match(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    let core = app.team("core").await;
    let web = app.team("web").await;
    let project = app
        .create(
            "/api/v1/projects",
            json!({"team_id": core["id"], "key": "api", "name": "API"}),
        )
        .await;
    let goal = app.goal(&core, "Faster user list").await;
    let item = |team: &Value, title: &str, kind: &str, state: &str| json!({"team_id": team["id"], "title": title, "kind": kind, "state": state});
    let mut with_links = item(&core, "a", "feature", "todo");
    with_links["project_id"] = project["id"].clone();
    with_links["goal_id"] = goal["id"].clone();
    app.create("/api/v1/work-items", with_links).await;
    app.create("/api/v1/work-items", item(&core, "b", "bug", "todo"))
        .await;
    app.create("/api/v1/work-items", item(&core, "c", "bug", "in_progress"))
        .await;
    app.create("/api/v1/work-items", item(&web, "d", "bug", "todo"))
        .await;
    app.create("/api/v1/work-items", item(&web, "e", "debt", "done"))
        .await;

    let titles = |query: String| {
        let app = &app;
        async move {
            let reply = app
                .get(&app.member, &format!("/api/v1/work-items?{query}"))
                .await
                .ok(200);
            reply
                .items()
                .iter()
                .map(|w| w["title"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(titles("team=core".into()).await, ["a", "b", "c"]);
    assert_eq!(
        titles(format!("team={}", web["id"].as_str().unwrap())).await,
        ["d", "e"]
    );
    assert_eq!(titles("status=in_progress".into()).await, ["c"]);
    assert_eq!(titles("status=todo".into()).await, ["a", "b", "d"]);
    assert_eq!(titles("kind=bug".into()).await, ["b", "c", "d"]);
    assert_eq!(titles("team=core&kind=bug&status=todo".into()).await, ["b"]);
    assert_eq!(
        titles("team=web&kind=feature".into()).await,
        Vec::<String>::new()
    );
    assert_eq!(titles("project=api".into()).await, ["a"]);
    assert_eq!(
        titles(format!("goal={}", goal["id"].as_str().unwrap())).await,
        ["a"]
    );
    assert_eq!(titles("kind=bug&limit=2".into()).await, ["b", "c"]);
    assert_eq!(titles(String::new()).await.len(), 5);
}
