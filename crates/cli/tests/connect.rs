//! `tandem connect github|gitlab` against local fakes of the GitHub and
//! GitLab REST APIs in their documented shapes: an organisation's
//! repositories over two pages, the organisation hook created with the
//! secret Tandem stored, a backfill of each mapped repository; a token
//! without hook rights (404/403) leaves instructions to paste; a GitLab
//! group without group hooks (403) gets one hook per project, an existing
//! one updated. Every test runs on SQLite and PostgreSQL.

mod support;
use support::{failed, ok};

use std::sync::{Arc, Mutex};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, put};
use axum::{Json, Router};
use serde_json::{Value, json};
use tandem_domain::engineering::Provider;
use tandem_store::Store;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};

per_engine!(
    github_org_is_mapped_hooked_and_backfilled,
    github_without_hook_rights_prints_instructions,
    gitlab_group_falls_back_to_project_hooks
);

const TOKEN: &str = "test-token";
const PUBLIC: &str = "https://tandem.example.com";

#[derive(Default)]
struct Fake {
    base: std::sync::OnceLock<String>,
    /// Hook requests refused: 404 for the organisation, 403 per repository.
    no_hook_rights: std::sync::atomic::AtomicBool,
    /// (method, path, body) of every hook write.
    hook_writes: Mutex<Vec<(String, String, Value)>>,
    /// Paths of backfill listings read.
    listings: Mutex<Vec<String>>,
}

type Shared = Arc<Fake>;

fn denied(headers: &HeaderMap) -> Option<Response> {
    let bearer = headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    let private = headers.get("private-token").and_then(|v| v.to_str().ok()) == Some(TOKEN);
    (!bearer && !private).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        )
            .into_response()
    })
}

fn gh_repo(name: &str, archived: bool) -> Value {
    json!({"id": name.len(), "node_id": "R_x", "name": name, "full_name": format!("acme/{name}"),
           "private": true, "owner": {"login": "acme", "id": 9919, "type": "Organization"},
           "archived": archived, "disabled": false, "default_branch": "main",
           "html_url": format!("https://github.com/acme/{name}")})
}

/// `GET /orgs/acme/repos`, two pages joined by `Link`.
async fn org_repos(
    State(fake): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    let q = q.unwrap_or_default();
    assert!(q.contains("per_page=100"), "{q}");
    if q.contains("page=2") {
        return Json(json!([gh_repo("web", false), gh_repo("old", true)])).into_response();
    }
    let base = fake.base.get().unwrap();
    let mut h = HeaderMap::new();
    h.insert(
        "link",
        HeaderValue::from_str(&format!(
            "<{base}/organizations/9919/repos?type=all&per_page=100&page=2>; rel=\"next\", \
             <{base}/organizations/9919/repos?type=all&per_page=100&page=2>; rel=\"last\""
        ))
        .unwrap(),
    );
    (h, Json(json!([gh_repo("payments-api", false)]))).into_response()
}

fn gh_hook(id: i64, url: &str) -> Value {
    json!({"type": "Organization", "id": id, "name": "web", "active": true,
           "events": ["push"], "config": {"url": url, "content_type": "json",
           "insecure_ssl": "0", "secret": "********"},
           "updated_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z"})
}

async fn org_hooks(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    if fake
        .no_hook_rights
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return (StatusCode::NOT_FOUND, Json(json!({"message": "Not Found",
            "documentation_url": "https://docs.github.com/rest/orgs/webhooks#list-organization-webhooks"})))
            .into_response();
    }
    // Another tool's hook, and the ones created here.
    let mut hooks = vec![gh_hook(7, "https://ci.example.com/hook")];
    for (method, _, body) in fake.hook_writes.lock().unwrap().iter() {
        if method == "POST" {
            hooks.push(gh_hook(
                8,
                body["config"]["url"].as_str().unwrap_or_default(),
            ));
        }
    }
    Json(Value::Array(hooks)).into_response()
}

async fn update_org_hook(
    State(fake): State<Shared>,
    Path(id): Path<i64>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    fake.hook_writes.lock().unwrap().push((
        "PATCH".into(),
        format!("/orgs/acme/hooks/{id}"),
        body.clone(),
    ));
    let url = body
        .pointer("/config/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Json(gh_hook(id, url)).into_response()
}

async fn create_org_hook(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    fake.hook_writes
        .lock()
        .unwrap()
        .push(("POST".into(), "/orgs/acme/hooks".into(), body.clone()));
    let url = body
        .pointer("/config/url")
        .and_then(Value::as_str)
        .unwrap_or_default();
    (StatusCode::CREATED, Json(gh_hook(8, url))).into_response()
}

async fn repo_hooks(State(fake): State<Shared>, headers: HeaderMap) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    if fake
        .no_hook_rights
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "Resource not accessible by personal access token"})),
        )
            .into_response();
    }
    Json(json!([])).into_response()
}

/// The backfill listings: nothing to import.
async fn empty_listing(
    State(fake): State<Shared>,
    uri: axum::http::Uri,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    fake.listings.lock().unwrap().push(uri.path().to_owned());
    Json(json!([])).into_response()
}

// ---- GitLab ----

fn gl_project(id: i64, path: &str) -> Value {
    json!({"id": id, "name": path.rsplit('/').next().unwrap(), "path": path.rsplit('/').next().unwrap(),
           "path_with_namespace": path, "name_with_namespace": path.replace('/', " / "),
           "default_branch": "main", "archived": false,
           "web_url": format!("https://gitlab.example.com/{path}")})
}

/// `GET /groups/acme/projects?include_subgroups=true`, pages by `x-next-page`.
async fn group_projects(
    Path(group): Path<String>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    assert_eq!(group, "acme");
    let q = q.unwrap_or_default();
    assert!(q.contains("include_subgroups=true"), "{q}");
    let mut h = HeaderMap::new();
    if q.contains("page=2") {
        h.insert("x-next-page", HeaderValue::from_static(""));
        return (h, Json(json!([gl_project(12, "acme/platform/web")]))).into_response();
    }
    h.insert("x-next-page", HeaderValue::from_static("2"));
    (h, Json(json!([gl_project(11, "acme/platform/api")]))).into_response()
}

async fn group_hooks(headers: HeaderMap) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    (
        StatusCode::FORBIDDEN,
        Json(json!({"message": "403 Forbidden"})),
    )
        .into_response()
}

fn gl_hook(id: i64, url: &str) -> Value {
    json!({"id": id, "url": url, "project_id": 11, "push_events": true,
           "merge_requests_events": false, "enable_ssl_verification": true,
           "created_at": "2026-01-01T00:00:00Z"})
}

async fn project_hooks(Path(id): Path<String>, headers: HeaderMap) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    // The api project already has a hook at Tandem's address.
    if id == "acme/platform/api" {
        return Json(json!([gl_hook(31, &format!("{PUBLIC}/webhooks/gitlab"))])).into_response();
    }
    Json(json!([])).into_response()
}

async fn create_project_hook(
    State(fake): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    fake.hook_writes.lock().unwrap().push((
        "POST".into(),
        format!("/projects/{id}/hooks"),
        body.clone(),
    ));
    (
        StatusCode::CREATED,
        Json(gl_hook(32, body["url"].as_str().unwrap_or_default())),
    )
        .into_response()
}

async fn update_project_hook(
    State(fake): State<Shared>,
    Path((id, hook)): Path<(String, i64)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(r) = denied(&headers) {
        return r;
    }
    fake.hook_writes.lock().unwrap().push((
        "PUT".into(),
        format!("/projects/{id}/hooks/{hook}"),
        body.clone(),
    ));
    Json(gl_hook(hook, body["url"].as_str().unwrap_or_default())).into_response()
}

async fn start_fake() -> (String, Shared) {
    let fake: Shared = Arc::new(Fake::default());
    let app = Router::new()
        .route("/orgs/acme/repos", get(org_repos))
        .route("/organizations/9919/repos", get(org_repos))
        .route("/orgs/acme/hooks", get(org_hooks).post(create_org_hook))
        .route("/orgs/acme/hooks/{id}", patch(update_org_hook))
        .route("/repos/{owner}/{name}/hooks", get(repo_hooks))
        .route("/repos/{owner}/{name}/pulls", get(empty_listing))
        .route("/repos/{owner}/{name}/deployments", get(empty_listing))
        .route("/repos/{owner}/{name}/issues", get(empty_listing))
        .route("/api/v4/groups/{group}/projects", get(group_projects))
        .route(
            "/api/v4/groups/{group}/hooks",
            get(group_hooks).post(group_hooks),
        )
        .route(
            "/api/v4/projects/{id}/hooks",
            get(project_hooks).post(create_project_hook),
        )
        .route(
            "/api/v4/projects/{id}/hooks/{hook}",
            put(update_project_hook),
        )
        .with_state(fake.clone());
    let base = support::serve(app).await;
    fake.base.set(base.clone()).unwrap();
    (base, fake)
}

async fn secret(store: &Store, project: &str, provider: Provider) -> String {
    let p = tandem_app::lookup::project(store, project).await.unwrap();
    store
        .webhook_secret(p.id, provider)
        .await
        .unwrap()
        .expect("a stored secret")
}

async fn github_org_is_mapped_hooked_and_backfilled(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (base, fake) = start_fake().await;
    let out = support::tandem(
        &db.url,
        &[
            "connect",
            "github",
            "--org",
            "acme",
            "--api-url",
            &base,
            "--public-url",
            PUBLIC,
            "--team",
            "payments",
            "--map",
            "acme/payments-api=payments-api",
            "--all-to-project",
            "platform",
            "--format",
            "json",
        ],
        "GITHUB_TOKEN",
        Some(TOKEN),
        &[],
    )
    .await;
    let r = ok(&out);
    assert_eq!(r["repositories"], 3, "{r}");
    assert_eq!(
        r["plan"]["unmapped"],
        json!(["acme/old"]),
        "archived: left out"
    );
    assert_eq!(r["outcome"]["team_created"], true);

    // The team, the projects and their repositories.
    let team = tandem_app::lookup::team(&store, "payments").await.unwrap();
    let api = tandem_app::lookup::project(&store, "payments-api")
        .await
        .unwrap();
    let platform = tandem_app::lookup::project(&store, "platform")
        .await
        .unwrap();
    assert_eq!((api.team_id, platform.team_id), (team.id, team.id));
    assert_eq!(api.repositories, vec!["acme/payments-api".to_owned()]);
    assert_eq!(platform.repositories, vec!["acme/web".to_owned()]);

    // One organisation hook, with the secret both projects store.
    let s1 = secret(&store, "payments-api", Provider::Github).await;
    let s2 = secret(&store, "platform", Provider::Github).await;
    assert_eq!(s1, s2);
    assert!(s1.len() >= 32, "a random secret");
    let writes = fake.hook_writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 1, "{writes:?}");
    let (method, path, body) = &writes[0];
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("POST", "/orgs/acme/hooks")
    );
    assert_eq!(body["name"], "web");
    assert_eq!(body["active"], true);
    assert_eq!(body["config"]["url"], format!("{PUBLIC}/webhooks/github"));
    assert_eq!(body["config"]["content_type"], "json");
    assert_eq!(body["config"]["secret"], s1);
    assert_eq!(body["config"]["insecure_ssl"], "0");
    let events: Vec<&str> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    for e in [
        "push",
        "pull_request",
        "pull_request_review",
        "deployment_status",
        "issues",
    ] {
        assert!(events.contains(&e), "{e} in {events:?}");
    }
    assert_eq!(r["outcome"]["hooks"][0]["status"], "created");
    assert_eq!(r["outcome"]["instructions"], json!([]));

    // Each mapped repository was backfilled.
    assert_eq!(r["backfills"].as_array().unwrap().len(), 2, "{r}");
    let listings = fake.listings.lock().unwrap().clone();
    for repo in ["acme/payments-api", "acme/web"] {
        assert!(
            listings.contains(&format!("/repos/{repo}/pulls")),
            "{listings:?}"
        );
    }
    assert!(!listings.iter().any(|l| l.contains("acme/old")));

    // A second run changes nothing stored and creates no second hook: the
    // listing shows it at Tandem's address, so it is updated.
    let again = support::tandem(
        &db.url,
        &[
            "connect",
            "github",
            "--org",
            "acme",
            "--api-url",
            &base,
            "--public-url",
            PUBLIC,
            "--map",
            "payments-api=payments-api",
            "--no-backfill",
            "--format",
            "json",
        ],
        "GITHUB_TOKEN",
        Some(TOKEN),
        &[],
    )
    .await;
    let r = ok(&again);
    assert_eq!(r["outcome"]["projects"][0]["repositories_added"], json!([]));
    assert_eq!(r["outcome"]["secrets_set"], json!([]));
    assert_eq!(secret(&store, "payments-api", Provider::Github).await, s1);
    let writes = fake.hook_writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 2, "{writes:?}");
    let (method, path, body) = &writes[1];
    assert_eq!(
        (method.as_str(), path.as_str()),
        ("PATCH", "/orgs/acme/hooks/8")
    );
    assert_eq!(body["config"]["secret"], s1);
    assert!(
        body.get("name").is_none(),
        "a hook's name cannot be changed"
    );
    assert_eq!(r["outcome"]["hooks"][0]["status"], "updated");
}

async fn github_without_hook_rights_prints_instructions(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let project = support::project(&store, "acme/payments").await;
    let existing = "an-existing-secret-of-the-project";
    store
        .set_webhook_secret(project.id, Provider::Github, existing, chrono::Utc::now())
        .await
        .unwrap();
    let (base, fake) = start_fake().await;
    fake.no_hook_rights
        .store(true, std::sync::atomic::Ordering::SeqCst);

    // Without a mapping and without a terminal: refused, naming the flags.
    let args = |extra: &[&'static str]| {
        let mut a = vec![
            "connect",
            "github",
            "--org",
            "acme",
            "--public-url",
            PUBLIC,
            "--no-backfill",
        ];
        a.extend_from_slice(extra);
        a
    };
    let mut no_map = args(&[]);
    no_map.extend(["--api-url", &base]);
    let e = failed(&support::tandem(&db.url, &no_map, "GITHUB_TOKEN", Some(TOKEN), &[]).await);
    assert!(
        e.contains("--map or --all-to-project") && e.contains("acme/payments-api"),
        "{e}"
    );

    // A mapping naming a repository the organisation does not have.
    let mut bad = args(&["--map", "acme/nope=pay"]);
    bad.extend(["--api-url", &base]);
    let e = failed(&support::tandem(&db.url, &bad, "GITHUB_TOKEN", Some(TOKEN), &[]).await);
    assert!(e.contains("--map") && e.contains("acme/nope"), "{e}");
    assert_eq!(
        tandem_app::lookup::project(&store, "pay")
            .await
            .unwrap()
            .repositories,
        vec!["acme/payments".to_owned()],
        "nothing stored on refusal"
    );

    let mut run = args(&["--map", "payments-api=pay"]);
    run.extend(["--api-url", &base]);
    let out = support::tandem(&db.url, &run, "GITHUB_TOKEN", Some(TOKEN), &[]).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("webhook on organisation acme: manual"),
        "{text}"
    );
    assert!(
        text.contains("webhook on repository acme/payments-api: manual"),
        "{text}"
    );
    assert!(
        text.contains("Add this webhook to acme (or to each of: acme/payments-api)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("URL:          {PUBLIC}/webhooks/github")),
        "{text}"
    );
    assert!(text.contains("Content type: application/json"), "{text}");
    // The project's own secret is kept and shown.
    assert!(
        text.contains(&format!("Secret:       {existing}")),
        "{text}"
    );
    assert!(text.contains("Events:       push, pull_request"), "{text}");
    assert_eq!(secret(&store, "pay", Provider::Github).await, existing);
    assert!(fake.hook_writes.lock().unwrap().is_empty());
    let pay = tandem_app::lookup::project(&store, "pay").await.unwrap();
    assert_eq!(
        pay.repositories,
        vec!["acme/payments".to_owned(), "acme/payments-api".to_owned()]
    );
}

async fn gitlab_group_falls_back_to_project_hooks(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let (base, fake) = start_fake().await;
    let api = format!("{base}/api/v4");
    let token_dir = tempfile::tempdir().unwrap();
    let token_file = token_dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let out = support::tandem(
        &db.url,
        &[
            "connect",
            "gitlab",
            "--group",
            "acme",
            "--api-url",
            &api,
            "--public-url",
            PUBLIC,
            "--token-file",
            token_file.to_str().unwrap(),
            "--team",
            "platform",
            "--all-to-project",
            "platform",
            "--no-backfill",
            "--format",
            "json",
        ],
        "GITLAB_TOKEN",
        None,
        &[],
    )
    .await;
    let r = ok(&out);
    assert_eq!(r["repositories"], 2, "{r}");
    let platform = tandem_app::lookup::project(&store, "platform")
        .await
        .unwrap();
    assert_eq!(
        platform.repositories,
        vec![
            "acme/platform/api".to_owned(),
            "acme/platform/web".to_owned()
        ]
    );
    let s = secret(&store, "platform", Provider::Gitlab).await;

    // The group refused (403): one hook per project; the existing one updated.
    let hooks = r["outcome"]["hooks"].as_array().unwrap();
    let status: Vec<(&str, &str, &str)> = hooks
        .iter()
        .map(|h| {
            (
                h["scope"].as_str().unwrap(),
                h["target"].as_str().unwrap(),
                h["status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        status,
        vec![
            ("repository", "acme/platform/api", "updated"),
            ("repository", "acme/platform/web", "created"),
        ]
    );
    let writes = fake.hook_writes.lock().unwrap().clone();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert_eq!(
        (writes[0].0.as_str(), writes[0].1.as_str()),
        ("PUT", "/projects/acme/platform/api/hooks/31")
    );
    assert_eq!(
        (writes[1].0.as_str(), writes[1].1.as_str()),
        ("POST", "/projects/acme/platform/web/hooks")
    );
    for (_, _, body) in &writes {
        assert_eq!(body["url"], format!("{PUBLIC}/webhooks/gitlab"));
        assert_eq!(body["token"], s, "the token is the stored secret");
        for flag in [
            "push_events",
            "merge_requests_events",
            "deployment_events",
            "pipeline_events",
            "issues_events",
            "note_events",
            "releases_events",
        ] {
            assert_eq!(body[flag], true, "{flag}");
        }
    }
}
