//! Publishing (issue 17, ADR 0033) against a local bare git remote and a
//! local stand-in speaking the real request and response shapes of the
//! Notion API (`/v1/pages`, `/v1/blocks/{id}/children`, `Notion-Version`,
//! `{"object":"error",…}`), Confluence Cloud REST v2 (`/wiki/api/v2/pages`,
//! `version.number`) and Jira REST v3 (issue comments with ADF bodies).
//!
//! - A goal agreed and then changed: two commits in the remote (authored by
//!   the versions' editors), one Notion page and one Confluence page, each
//!   updated in place on the change; a run with nothing new writes nothing.
//! - A decision as an ADR-style record in git; the Jira item's context as one
//!   comment, edited (not duplicated) when the goal changes.
//! - Wrong credentials: the publisher is failing with the provider's message
//!   and Tandem keeps answering; a page deleted in Notion is created again.

use std::collections::BTreeMap;
use std::path::Path as FsPath;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine as _;
use serde_json::{Value, json};
use tandem_app::Settings;
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    an_agreed_then_changed_goal_is_two_commits_and_one_page_each,
    wrong_credentials_mark_the_publisher_failing_and_deleted_pages_come_back
);

const NOTION_TOKEN: &str = "ntn_test_secret";
const DATABASE: &str = "8e2c8d7a-0b4f-4b5e-9f43-2d1c0a7b6e11";
const ATL_EMAIL: &str = "bot@example.com";
const ATL_TOKEN: &str = "atl-token";
const SPACE: &str = "98305";

#[derive(Debug, Default)]
struct Fake {
    /// Notion pages: id → (page object, children blocks).
    notion: BTreeMap<String, (Value, Vec<Value>)>,
    /// Confluence pages: id → page object (with version and body).
    confluence: BTreeMap<String, Value>,
    /// Jira comments: (issue key, id) → body.
    jira: BTreeMap<(String, String), Value>,
    /// Every request: "METHOD path".
    calls: Vec<String>,
    /// Answer the next Notion request 429 with Retry-After.
    throttle_notion: bool,
    next_id: u64,
}

type Shared = Arc<Mutex<Fake>>;

fn notion_error(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(
            json!({"object": "error", "status": status.as_u16(), "code": code, "message": message}),
        ),
    )
        .into_response()
}

/// Checks Notion's bearer token and version header; the error answer if wrong.
fn notion_check(fake: &mut Fake, h: &HeaderMap, call: String) -> Option<Response> {
    fake.calls.push(call);
    if fake.throttle_notion {
        fake.throttle_notion = false;
        let mut r = notion_error(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "You have been rate limited. Please try again in a few minutes.",
        );
        r.headers_mut()
            .insert("retry-after", "1".parse().expect("a header value"));
        return Some(r);
    }
    if h.get("notion-version").is_none() {
        return Some(notion_error(
            StatusCode::BAD_REQUEST,
            "missing_version",
            "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`.",
        ));
    }
    let auth = h.get("authorization").and_then(|v| v.to_str().ok());
    if auth != Some(&format!("Bearer {NOTION_TOKEN}")) {
        return Some(notion_error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "API token is invalid.",
        ));
    }
    None
}

fn uuid_like(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

fn with_ids(fake: &mut Fake, children: &[Value]) -> Vec<Value> {
    children
        .iter()
        .map(|c| {
            assert_eq!(c["object"], "block", "a block object: {c}");
            let kind = c["type"].as_str().expect("a block type");
            assert!(
                c.get(kind).is_some(),
                "the block has its {kind} content: {c}"
            );
            fake.next_id += 1;
            let mut b = c.clone();
            b["id"] = json!(uuid_like(fake.next_id));
            b["has_children"] = json!(kind == "table");
            b["archived"] = json!(false);
            b
        })
        .collect()
}

async fn notion_create(State(s): State<Shared>, h: HeaderMap, body: String) -> Response {
    let mut f = s.lock().unwrap();
    if let Some(r) = notion_check(&mut f, &h, "POST /v1/pages".into()) {
        return r;
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    if body["parent"]["database_id"] != DATABASE {
        return notion_error(
            StatusCode::NOT_FOUND,
            "object_not_found",
            "Could not find database. Make sure the relevant pages and databases are shared with your integration.",
        );
    }
    if body["properties"]["Name"]["title"][0]["text"]["content"]
        .as_str()
        .is_none()
    {
        return notion_error(
            StatusCode::BAD_REQUEST,
            "validation_error",
            "body failed validation: Name is not a property that exists.",
        );
    }
    f.next_id += 1;
    let id = uuid_like(f.next_id);
    let children = with_ids(&mut f, body["children"].as_array().unwrap_or(&Vec::new()));
    let page = json!({"object": "page", "id": id, "archived": false, "in_trash": false,
        "parent": {"type": "database_id", "database_id": DATABASE},
        "properties": body["properties"], "url": format!("https://www.notion.so/{id}")});
    f.notion.insert(id, (page.clone(), children));
    axum::Json(page).into_response()
}

fn not_found_page(id: &str) -> Response {
    notion_error(
        StatusCode::NOT_FOUND,
        "object_not_found",
        &format!(
            "Could not find page with ID: {id}. Make sure the relevant pages and databases are shared with your integration."
        ),
    )
}

async fn notion_get_page(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut f = s.lock().unwrap();
    if let Some(r) = notion_check(&mut f, &h, format!("GET /v1/pages/{id}")) {
        return r;
    }
    match f.notion.get(&id) {
        Some((page, _)) => axum::Json(page.clone()).into_response(),
        None => not_found_page(&id),
    }
}

async fn notion_patch_page(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let mut f = s.lock().unwrap();
    if let Some(r) = notion_check(&mut f, &h, format!("PATCH /v1/pages/{id}")) {
        return r;
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    let Some((page, _)) = f.notion.get_mut(&id) else {
        return not_found_page(&id);
    };
    if page["archived"] == true {
        return notion_error(
            StatusCode::BAD_REQUEST,
            "validation_error",
            "Can't edit block that is archived. You must unarchive the block before editing.",
        );
    }
    page["properties"] = body["properties"].clone();
    axum::Json(page.clone()).into_response()
}

async fn notion_children(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut f = s.lock().unwrap();
    if let Some(r) = notion_check(&mut f, &h, format!("GET /v1/blocks/{id}/children")) {
        return r;
    }
    match f.notion.get(&id) {
        Some((_, children)) => axum::Json(json!({"object": "list", "results": children,
            "next_cursor": null, "has_more": false, "type": "block", "block": {}}))
        .into_response(),
        None => not_found_page(&id),
    }
}

async fn notion_append(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let mut f = s.lock().unwrap();
    if let Some(r) = notion_check(&mut f, &h, format!("PATCH /v1/blocks/{id}/children")) {
        return r;
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    let children = body["children"].as_array().expect("children").clone();
    assert!(children.len() <= 100, "Notion takes at most 100 blocks");
    let added = with_ids(&mut f, &children);
    let Some((_, existing)) = f.notion.get_mut(&id) else {
        return not_found_page(&id);
    };
    existing.extend(added.clone());
    axum::Json(json!({"object": "list", "results": added, "next_cursor": null, "has_more": false}))
        .into_response()
}

async fn notion_delete_block(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let mut f = s.lock().unwrap();
    if let Some(r) = notion_check(&mut f, &h, format!("DELETE /v1/blocks/{id}")) {
        return r;
    }
    for (_, children) in f.notion.values_mut() {
        if let Some(i) = children.iter().position(|b| b["id"] == id.as_str()) {
            let mut b = children.remove(i);
            b["archived"] = json!(true);
            return axum::Json(b).into_response();
        }
    }
    not_found_page(&id)
}

fn atlassian_auth(h: &HeaderMap) -> bool {
    let want = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{ATL_EMAIL}:{ATL_TOKEN}"))
    );
    h.get("authorization").and_then(|v| v.to_str().ok()) == Some(want.as_str())
}

fn confluence_error(status: StatusCode, code: &str, title: &str) -> Response {
    (
        status,
        axum::Json(json!({"errors": [{"status": status.as_u16(), "code": code, "title": title, "detail": null}]})),
    )
        .into_response()
}

async fn confluence_create(State(s): State<Shared>, h: HeaderMap, body: String) -> Response {
    let mut f = s.lock().unwrap();
    f.calls.push("POST /wiki/api/v2/pages".into());
    if !atlassian_auth(&h) {
        return confluence_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized");
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["spaceId"], SPACE);
    assert_eq!(body["body"]["representation"], "storage");
    f.next_id += 1;
    let id = (65536 + f.next_id).to_string();
    let page = json!({"id": id, "status": "current", "title": body["title"], "spaceId": SPACE,
        "parentId": body["parentId"], "parentType": "page", "authorId": "5b10a2844c20165700ede21g",
        "version": {"number": 1, "message": "", "minorEdit": false, "authorId": "5b10a2844c20165700ede21g"},
        "body": {"storage": {"representation": "storage", "value": body["body"]["value"]}},
        "_links": {"webui": format!("/spaces/TANDEM/pages/{id}")}});
    f.confluence.insert(id, page.clone());
    axum::Json(page).into_response()
}

async fn confluence_get(State(s): State<Shared>, h: HeaderMap, Path(id): Path<String>) -> Response {
    let mut f = s.lock().unwrap();
    f.calls.push(format!("GET /wiki/api/v2/pages/{id}"));
    if !atlassian_auth(&h) {
        return confluence_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized");
    }
    match f.confluence.get(&id) {
        Some(p) => axum::Json(p.clone()).into_response(),
        None => confluence_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found"),
    }
}

async fn confluence_put(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(id): Path<String>,
    body: String,
) -> Response {
    let mut f = s.lock().unwrap();
    f.calls.push(format!("PUT /wiki/api/v2/pages/{id}"));
    if !atlassian_auth(&h) {
        return confluence_error(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", "Unauthorized");
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    let Some(page) = f.confluence.get_mut(&id) else {
        return confluence_error(StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found");
    };
    let current = page["version"]["number"].as_i64().expect("a version");
    if body["version"]["number"].as_i64() != Some(current + 1) {
        return confluence_error(
            StatusCode::CONFLICT,
            "CONFLICT",
            &format!("Version must be incremented on update. Current version is: {current}"),
        );
    }
    assert_eq!(body["id"], id.as_str());
    page["title"] = body["title"].clone();
    page["version"]["number"] = json!(current + 1);
    page["version"]["message"] = body["version"]["message"].clone();
    page["body"]["storage"]["value"] = body["body"]["value"].clone();
    axum::Json(page.clone()).into_response()
}

fn jira_comment(key: &str, id: &str, body: &Value) -> Value {
    json!({"self": format!("https://example.atlassian.net/rest/api/3/issue/{key}/comment/{id}"),
        "id": id, "author": {"accountId": "5b10a2844c20165700ede21g", "displayName": "Tandem bot"},
        "body": body, "created": "2026-12-07T10:00:00.000+0000", "updated": "2026-12-07T10:00:00.000+0000",
        "jsdPublic": true})
}

async fn jira_create(
    State(s): State<Shared>,
    h: HeaderMap,
    Path(key): Path<String>,
    body: String,
) -> Response {
    let mut f = s.lock().unwrap();
    f.calls
        .push(format!("POST /rest/api/3/issue/{key}/comment"));
    if !atlassian_auth(&h) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"errorMessages": ["You are not authenticated. Authentication required to perform this operation."], "errors": {}})),
        )
            .into_response();
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(body["body"]["type"], "doc", "an ADF body");
    assert_eq!(body["body"]["version"], 1);
    f.next_id += 1;
    let id = (10000 + f.next_id).to_string();
    f.jira
        .insert((key.clone(), id.clone()), body["body"].clone());
    (
        StatusCode::CREATED,
        axum::Json(jira_comment(&key, &id, &body["body"])),
    )
        .into_response()
}

async fn jira_update(
    State(s): State<Shared>,
    h: HeaderMap,
    Path((key, id)): Path<(String, String)>,
    body: String,
) -> Response {
    let mut f = s.lock().unwrap();
    f.calls
        .push(format!("PUT /rest/api/3/issue/{key}/comment/{id}"));
    if !atlassian_auth(&h) {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let body: Value = serde_json::from_str(&body).expect("JSON");
    match f.jira.get_mut(&(key.clone(), id.clone())) {
        Some(b) => {
            *b = body["body"].clone();
            axum::Json(jira_comment(&key, &id, &body["body"])).into_response()
        }
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"errorMessages": [format!("Can not find a comment for the id: {id}.")], "errors": {}})),
        )
            .into_response(),
    }
}

/// Starts the stand-in; its base URL.
async fn stand_in(shared: Shared) -> String {
    let app = Router::new()
        .route("/v1/pages", post(notion_create))
        .route(
            "/v1/pages/{id}",
            get(notion_get_page).patch(notion_patch_page),
        )
        .route(
            "/v1/blocks/{id}/children",
            get(notion_children).patch(notion_append),
        )
        .route(
            "/v1/blocks/{id}",
            axum::routing::delete(notion_delete_block),
        )
        .route("/wiki/api/v2/pages", post(confluence_create))
        .route(
            "/wiki/api/v2/pages/{id}",
            get(confluence_get).put(confluence_put),
        )
        .route("/rest/api/3/issue/{key}/comment", post(jira_create))
        .route("/rest/api/3/issue/{key}/comment/{id}", put(jira_update))
        .with_state(shared);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn git(dir: &FsPath, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The publishing environment: a bare remote, a work dir, the stand-in.
struct Setup {
    _tmp: tempfile::TempDir,
    remote: std::path::PathBuf,
    env: Vec<(String, String)>,
}

fn setup(base: &str, notion_token: &str) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("agreements.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "--quiet", "--bare"]);
    let work = tmp.path().join("work");
    let env = [
        ("TANDEM_PUBLISH__INTERVAL_SECONDS", "0".to_owned()),
        ("TANDEM_PUBLISH__RETRY_BASE_MS", "1".to_owned()),
        ("TANDEM_PUBLISH__GIT__REPO", remote.display().to_string()),
        ("TANDEM_PUBLISH__GIT__WORK_DIR", work.display().to_string()),
        ("TANDEM_PUBLISH__NOTION__API_URL", base.to_owned()),
        ("TANDEM_PUBLISH__NOTION__TOKEN", notion_token.to_owned()),
        ("TANDEM_PUBLISH__NOTION__DATABASE_ID", DATABASE.to_owned()),
        ("TANDEM_PUBLISH__CONFLUENCE__API_URL", base.to_owned()),
        ("TANDEM_PUBLISH__CONFLUENCE__EMAIL", ATL_EMAIL.to_owned()),
        ("TANDEM_PUBLISH__CONFLUENCE__TOKEN", ATL_TOKEN.to_owned()),
        ("TANDEM_PUBLISH__CONFLUENCE__SPACE_ID", SPACE.to_owned()),
        ("TANDEM_PUBLISH__CONFLUENCE__PARENT_ID", "65540".to_owned()),
        ("TANDEM_PUBLISH__JIRA__API_URL", base.to_owned()),
        ("TANDEM_PUBLISH__JIRA__EMAIL", ATL_EMAIL.to_owned()),
        ("TANDEM_PUBLISH__JIRA__TOKEN", ATL_TOKEN.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    Setup {
        _tmp: tmp,
        remote,
        env,
    }
}

fn settings(env: &[(String, String)]) -> Settings {
    let example = FsPath::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tandem.example.toml"));
    Settings::load_from(Some(example), env).expect("settings")
}

async fn agreed_goal(app: &TestApp) -> Value {
    let team = app.team("pay").await;
    let goal = app
        .create(
            "/api/v1/goals",
            json!({"team_id": team["id"], "title": "Checkout under 300 ms",
                "business_goal": "Fewer abandoned baskets at peak hours.",
                "hypotheses": ["Slow checkout loses customers"],
                "parties": {"requester": "lee", "owner": "maria"},
                "timeline": {"starts_on": "2026-11-01", "deadline": "2027-02-01"},
                "success_metrics": [{"metric": "p95 checkout latency", "baseline": 900.0,
                    "target": 300.0, "direction": "down", "unit": "ms"}]}),
        )
        .await;
    let id = goal["id"].as_str().unwrap().to_owned();
    app.post(
        &app.manager,
        &format!("/api/v1/goals/{id}/agree"),
        json!({}),
    )
    .await
    .ok(200)
    .body
}

async fn an_agreed_then_changed_goal_is_two_commits_and_one_page_each(engine: EngineKind) {
    let fake: Shared = Arc::default();
    let base = stand_in(fake.clone()).await;
    let s = setup(&base, NOTION_TOKEN);
    let env: Vec<(&str, &str)> = s
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = TestApp::start_with(engine, &env).await;
    let store = app.store().await;
    let cfg = settings(&s.env);

    let goal = agreed_goal(&app).await;
    let id = goal["id"].as_str().unwrap().to_owned();
    // A work item imported from Jira, and a decision on the goal.
    app.create(
        "/api/v1/work-items",
        json!({"team_id": goal["team_id"], "goal_id": id, "title": "Cache card tokens",
            "kind": "feature", "impact": "high", "complexity": "low",
            "external_key": "PAY-431", "source": "jira"}),
    )
    .await;

    // Nothing is published by the write itself.
    assert!(fake.lock().unwrap().calls.is_empty());
    // Notion's first answer is a rate limit: waited out, not a failure.
    fake.lock().unwrap().throttle_notion = true;
    let passes = tandem_app::publish::run(&store, &cfg, "test-a")
        .await
        .unwrap();
    for p in &passes {
        assert!(p.ran && p.failed == 0, "{p:?}");
    }
    assert_eq!(git(&s.remote, &["rev-list", "--count", "main"]).trim(), "1");
    {
        let f = fake.lock().unwrap();
        assert_eq!(f.notion.len(), 1);
        assert_eq!(f.confluence.len(), 1);
        assert_eq!(f.jira.len(), 1);
        let (page, blocks) = f.notion.values().next().unwrap();
        assert_eq!(
            page["properties"]["Name"]["title"][0]["text"]["content"],
            "Agreement: Checkout under 300 ms"
        );
        assert!(
            blocks.iter().any(|b| b["type"] == "table"),
            "the metrics table"
        );
        assert!(blocks.iter().any(|b| b["type"] == "heading_2"));
    }

    // The change: version 2, by another editor.
    app.patch(
        &app.admin,
        &format!("/api/v1/goals/{id}"),
        json!({"title": "Checkout under 250 ms", "business_goal": "Fewer abandoned baskets, all day."}),
    )
    .await
    .ok(200);
    app.create(
        "/api/v1/decisions",
        json!({"team_id": goal["team_id"], "goal_id": id, "title": "Cache tokens in Redis",
            "context": "Token lookups are a third of checkout latency.",
            "options": ["Redis", "In-process cache"], "decision": "Use Redis with a 5 minute TTL.",
            "consequences": "One more service to run.", "decided_by": "maria"}),
    )
    .await;
    let passes = tandem_app::publish::run(&store, &cfg, "test-b")
        .await
        .unwrap();
    for p in &passes {
        assert!(p.ran && p.failed == 0, "{p:?}");
    }
    // Two commits for the goal's versions (plus one for the decision), each
    // authored by the version's editor.
    let log = git(&s.remote, &["log", "--reverse", "--format=%an|%s", "main"]);
    let lines: Vec<&str> = log.lines().collect();
    let versions = app
        .get(&app.stakeholder, &format!("/api/v1/goals/{id}/versions"))
        .await
        .ok(200)
        .body;
    let editors: Vec<String> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["changed_by"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(lines.len(), 3, "{log}");
    assert_eq!(
        lines[0],
        format!("{}|Checkout under 300 ms: version 1 (agree)", editors[0])
    );
    assert_eq!(
        lines[1],
        format!("{}|Checkout under 250 ms: version 2 (edit)", editors[1])
    );
    assert_eq!(lines[2], "maria|Decision: Cache tokens in Redis");
    let show = |rev: &str, path: &str| git(&s.remote, &["show", &format!("{rev}:{path}")]);
    let goal_path = format!("goals/pay/{id}.md");
    assert!(show("main~2", &goal_path).contains("# Checkout under 300 ms"));
    let now = show("main", &goal_path);
    assert!(
        now.contains("# Checkout under 250 ms") && now.contains("version = 2"),
        "{now}"
    );
    let files = git(&s.remote, &["ls-tree", "-r", "--name-only", "main"]);
    let record_path = files
        .lines()
        .find(|l| l.starts_with("decisions/pay/"))
        .unwrap();
    let record = show("main", record_path);
    for part in [
        "## Context",
        "## Decision",
        "## Consequences",
        "Decided by: maria",
        "## Forecast at the time",
    ] {
        assert!(record.contains(part), "{part} in {record}");
    }
    {
        let f = fake.lock().unwrap();
        // One page each, updated in place (and one for the decision).
        assert_eq!(f.notion.len(), 2);
        let agreement = |p: &Value| {
            p["properties"]["Name"]["title"][0]["text"]["content"]
                .as_str()
                .unwrap()
                .starts_with("Agreement:")
        };
        let goal_pages: Vec<&(Value, Vec<Value>)> =
            f.notion.values().filter(|(p, _)| agreement(p)).collect();
        assert_eq!(goal_pages.len(), 1);
        let (page, blocks) = goal_pages[0];
        assert_eq!(
            page["properties"]["Name"]["title"][0]["text"]["content"],
            "Agreement: Checkout under 250 ms"
        );
        let text = serde_json::to_string(blocks).unwrap();
        assert!(
            text.contains("all day") && !text.contains("at peak hours"),
            "{text}"
        );
        // Notion: the goal and the decision, no more (and the one refused
        // with 429 before).
        assert_eq!(f.calls.iter().filter(|c| *c == "POST /v1/pages").count(), 3);
        let goal_pages: Vec<&Value> = f
            .confluence
            .values()
            .filter(|p| p["title"].as_str().unwrap().starts_with("Agreement:"))
            .collect();
        assert_eq!(goal_pages.len(), 1);
        assert_eq!(goal_pages[0]["version"]["number"], 2);
        assert_eq!(goal_pages[0]["title"], "Agreement: Checkout under 250 ms");
        assert_eq!(goal_pages[0]["parentId"], "65540");
        // The Jira comment: one, edited in place.
        assert_eq!(f.jira.len(), 1);
        assert_eq!(
            f.calls
                .iter()
                .filter(|c| c.starts_with("PUT /rest/api/3/issue/PAY-431/comment/"))
                .count(),
            1
        );
        let comment = serde_json::to_string(f.jira.values().next().unwrap()).unwrap();
        assert!(
            comment.contains("Checkout under 250 ms") && comment.contains("all day"),
            "{comment}"
        );
    }

    // Nothing new: no commit, no request to the providers.
    let calls_before = fake.lock().unwrap().calls.len();
    tandem_app::publish::run(&store, &cfg, "test-c")
        .await
        .unwrap();
    assert_eq!(git(&s.remote, &["rev-list", "--count", "main"]).trim(), "3");
    assert_eq!(fake.lock().unwrap().calls.len(), calls_before);
    // `tandem publish git` into the same remote finds everything there.
    let sync = tandem_app::publish::git_sync(&store, &cfg, cfg.publish.git.as_ref().unwrap())
        .await
        .unwrap();
    assert!(sync.commits.is_empty(), "{sync:?}");
    assert_eq!(git(&s.remote, &["rev-list", "--count", "main"]).trim(), "3");

    // The state, through the API.
    let state = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/goals/{id}/publications"),
        )
        .await
        .ok(200)
        .body;
    let targets: Vec<(&str, &str, i64)> = state["targets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap(),
                t["status"].as_str().unwrap(),
                t["revision"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        targets,
        vec![
            ("confluence", "published", 2),
            ("git", "published", 2),
            ("jira", "published", 2),
            ("notion", "published", 2)
        ]
    );
    let publishers = app
        .get(&app.manager, "/api/v1/publishers")
        .await
        .ok(200)
        .body;
    assert_eq!(publishers.as_array().unwrap().len(), 4);
    assert!(
        publishers
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"]["failing"] == false)
    );
    app.get(&app.stakeholder, "/api/v1/publishers")
        .await
        .err(403, "forbidden");
    app.stop().await;
}

async fn wrong_credentials_mark_the_publisher_failing_and_deleted_pages_come_back(
    engine: EngineKind,
) {
    let fake: Shared = Arc::default();
    let base = stand_in(fake.clone()).await;
    let s = setup(&base, "ntn_wrong");
    let env: Vec<(&str, &str)> = s
        .env
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let app = TestApp::start_with(engine, &env).await;
    let store = app.store().await;
    let cfg = settings(&s.env);

    let goal = agreed_goal(&app).await;
    let id = goal["id"].as_str().unwrap().to_owned();
    let passes = tandem_app::publish::run(&store, &cfg, "test-a")
        .await
        .unwrap();
    let notion = passes
        .iter()
        .find(|p| p.target.as_str() == "notion")
        .unwrap();
    assert_eq!(notion.failed, 1);
    // The others went out regardless.
    assert!(
        passes
            .iter()
            .filter(|p| p.target.as_str() != "notion")
            .all(|p| p.failed == 0)
    );
    // Tandem keeps working: the goal can be changed.
    app.patch(
        &app.manager,
        &format!("/api/v1/goals/{id}"),
        json!({"title": "Checkout under 250 ms"}),
    )
    .await
    .ok(200);
    let publishers = app
        .get(&app.manager, "/api/v1/publishers")
        .await
        .ok(200)
        .body;
    let n = publishers
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["target"] == "notion")
        .unwrap();
    assert_eq!(n["state"]["failing"], true);
    let message = n["state"]["last_error"].as_str().unwrap();
    assert!(
        message.contains("unauthorized: API token is invalid."),
        "{message}"
    );
    let state = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/goals/{id}/publications"),
        )
        .await
        .ok(200)
        .body;
    let v1 = state["history"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["target"] == "notion" && p["revision"] == 1)
        .unwrap();
    assert_eq!(v1["status"], "pending", "retried later: {v1}");
    assert!(
        v1["last_error"]
            .as_str()
            .unwrap()
            .contains("API token is invalid")
    );

    // The token fixed: the queue drains (the retry is due after 1 ms).
    let fixed: Vec<(String, String)> = s
        .env
        .iter()
        .map(|(k, v)| {
            if k == "TANDEM_PUBLISH__NOTION__TOKEN" {
                (k.clone(), NOTION_TOKEN.to_owned())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    let cfg = settings(&fixed);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let passes = tandem_app::publish::run(&store, &cfg, "test-b")
        .await
        .unwrap();
    assert!(passes.iter().all(|p| p.failed == 0), "{passes:?}");
    let first_page = {
        let f = fake.lock().unwrap();
        assert_eq!(f.notion.len(), 1);
        f.notion.keys().next().unwrap().clone()
    };
    let publishers = app
        .get(&app.manager, "/api/v1/publishers")
        .await
        .ok(200)
        .body;
    assert!(
        publishers
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["state"]["failing"] == false)
    );

    // The page is archived in Notion: the next version creates it again.
    fake.lock().unwrap().notion.get_mut(&first_page).unwrap().0["archived"] = json!(true);
    app.patch(
        &app.manager,
        &format!("/api/v1/goals/{id}"),
        json!({"title": "Checkout under 200 ms"}),
    )
    .await
    .ok(200);
    let passes = tandem_app::publish::run(&store, &cfg, "test-c")
        .await
        .unwrap();
    assert!(passes.iter().all(|p| p.failed == 0), "{passes:?}");
    let new_page = {
        let f = fake.lock().unwrap();
        let live: Vec<&Value> = f
            .notion
            .values()
            .map(|(p, _)| p)
            .filter(|p| p["archived"] == false)
            .collect();
        assert_eq!(live.len(), 1);
        assert_eq!(
            live[0]["properties"]["Name"]["title"][0]["text"]["content"],
            "Agreement: Checkout under 200 ms"
        );
        let new_page = live[0]["id"].as_str().unwrap().to_owned();
        assert_ne!(new_page, first_page);
        new_page
    };
    let state = app
        .get(
            &app.stakeholder,
            &format!("/api/v1/goals/{id}/publications"),
        )
        .await
        .ok(200)
        .body;
    let notion_now = state["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["target"] == "notion")
        .unwrap();
    assert_eq!(notion_now["remote_ref"], new_page.as_str());
    app.stop().await;
}
