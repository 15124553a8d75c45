//! `tandem import github` against a local fake of the GitHub REST API (an
//! axum app on 127.0.0.1) serving GitHub's response shapes: two pages of
//! pull requests joined by a `Link` header, a 429 with `Retry-After`,
//! reviews, commits, deployments with statuses and labelled issues; a
//! second run that stores nothing new; a 401. Every test runs on SQLite and
//! PostgreSQL.

mod support;
use support::ok;

use std::process::Output;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tandem_domain::engineering::{DeploymentStatus, PrState};
use tandem_domain::project::Project;
use tandem_store::Store;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};

per_engine!(
    backfills_and_second_run_stores_nothing,
    bad_token_is_a_clear_error,
    since_and_server_errors
);

const REPO: &str = "acme/payments";
const TOKEN: &str = "ghp_test_token";

#[derive(Default)]
struct Fake {
    base: std::sync::OnceLock<String>,
    limited_once: AtomicBool,
    fail_reviews: AtomicBool,
    requests: AtomicUsize,
}

type Shared = Arc<Fake>;

fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

fn repo_obj() -> Value {
    json!({"id": 1296269, "name": "payments", "full_name": REPO, "private": true,
           "owner": {"login": "acme", "id": 9919, "type": "Organization"}})
}

fn user(id: i64, login: &str) -> Value {
    json!({"login": login, "id": id, "type": "User", "site_admin": false})
}

fn pull(number: i64, state: &str, merged_at: Option<&str>, updated_at: &str) -> Value {
    json!({
        "url": format!("https://api.github.com/repos/{REPO}/pulls/{number}"),
        "id": 1000 + number,
        "node_id": "PR_kwDOAAABBB",
        "number": number,
        "state": state,
        "locked": false,
        "title": format!("Change number {number}"),
        "user": user(1, "ada"),
        "body": "Please review.",
        "labels": [],
        "draft": false,
        "created_at": "2026-10-01T09:00:00Z",
        "updated_at": updated_at,
        "closed_at": merged_at,
        "merged_at": merged_at,
        "merge_commit_sha": sha(0xa0 + number as u8),
        "head": {"label": "acme:feature", "ref": "feature", "sha": sha(0x10 + number as u8),
                 "user": user(1, "ada"), "repo": repo_obj()},
        "base": {"label": "acme:main", "ref": "main", "sha": sha(0x01),
                 "user": user(9919, "acme"), "repo": repo_obj()},
        "author_association": "MEMBER",
        "auto_merge": null
    })
}

fn link(headers: &mut HeaderMap, next: &str) {
    headers.insert(
        "link",
        HeaderValue::from_str(&format!("<{next}>; rel=\"next\", <{next}>; rel=\"last\"")).unwrap(),
    );
}

fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    if headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"))
    {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "Bad credentials",
                            "documentation_url": "https://docs.github.com/rest",
                            "status": "401"})),
            )
                .into_response(),
        )
    }
}

async fn pulls(
    State(fake): State<Shared>,
    Path((owner, name)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    assert_eq!(format!("{owner}/{name}"), REPO);
    let query = query.unwrap_or_default();
    assert!(query.contains("state=all"), "{query}");
    if !fake.limited_once.swap(true, Ordering::SeqCst) {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("1"));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            h,
            Json(json!({"message": "You have exceeded a secondary rate limit."})),
        )
            .into_response();
    }
    let base = fake.base.get().unwrap();
    if query.contains("page=2") {
        Json(json!([pull(
            1,
            "closed",
            Some("2026-10-02T12:00:00Z"),
            "2026-10-02T12:00:00Z"
        )]))
        .into_response()
    } else {
        let mut h = HeaderMap::new();
        link(
            &mut h,
            &format!(
                "{base}/repositories/1296269/pulls?state=all&sort=updated&direction=desc&per_page=100&page=2"
            ),
        );
        (
            h,
            Json(json!([pull(2, "open", None, "2026-10-05T08:00:00Z")])),
        )
            .into_response()
    }
}

async fn page_two(
    State(fake): State<Shared>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
) -> Response {
    pulls(
        State(fake),
        Path(("acme".to_owned(), "payments".to_owned())),
        RawQuery(q),
        headers,
    )
    .await
}

async fn pr_commits(Path((_, _, n)): Path<(String, String, i64)>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let commit = |s: u8, date: &str| {
        json!({"sha": sha(s), "node_id": "C_x",
               "commit": {"author": {"name": "Ada", "email": "ada@example.com", "date": date},
                          "committer": {"name": "GitHub", "email": "noreply@github.com", "date": date},
                          "message": "Work", "comment_count": 0},
               "author": user(1, "ada"), "parents": [{"sha": sha(0x01)}]})
    };
    let list = if n == 1 {
        json!([
            commit(0x31, "2026-09-30T10:00:00Z"),
            commit(0x32, "2026-10-01T08:00:00Z")
        ])
    } else {
        json!([commit(0x41, "2026-10-04T10:00:00Z")])
    };
    Json(list).into_response()
}

async fn reviews(
    State(fake): State<Shared>,
    Path((_, _, n)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if fake.fail_reviews.load(Ordering::SeqCst) {
        return (
            StatusCode::BAD_GATEWAY,
            Json(json!({"message": "Server Error"})),
        )
            .into_response();
    }
    let review = |id: i64, who: Value, state: &str, at: &str| {
        json!({"id": id, "node_id": "PRR_x", "user": who, "body": "", "state": state,
               "submitted_at": at, "commit_id": sha(0x32), "author_association": "MEMBER"})
    };
    let list = if n == 1 {
        json!([
            review(80, user(1, "ada"), "COMMENTED", "2026-10-01T09:30:00Z"),
            review(
                81,
                user(2, "grace"),
                "CHANGES_REQUESTED",
                "2026-10-01T11:00:00Z"
            ),
            review(82, user(2, "grace"), "APPROVED", "2026-10-02T10:00:00Z")
        ])
    } else {
        json!([])
    };
    Json(list).into_response()
}

async fn deployments(headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let d = |id: i64, s: u8, task: &str, created: &str, updated: &str| {
        json!({"url": format!("https://api.github.com/repos/{REPO}/deployments/{id}"),
               "id": id, "node_id": "DE_x", "sha": sha(s), "ref": "main", "task": task,
               "payload": {}, "original_environment": "Production", "environment": "Production",
               "description": null, "creator": user(3, "deploy-bot"),
               "created_at": created, "updated_at": updated,
               "transient_environment": false, "production_environment": true})
    };
    Json(json!([
        d(
            502,
            0xa2,
            "deploy",
            "2026-10-05T09:00:00Z",
            "2026-10-05T09:10:00Z"
        ),
        d(
            501,
            0xa1,
            "deploy",
            "2026-10-02T13:00:00Z",
            "2026-10-02T13:20:00Z"
        )
    ]))
    .into_response()
}

async fn statuses(Path((_, _, id)): Path<(String, String, i64)>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let s = |sid: i64, state: &str, at: &str| {
        json!({"id": sid, "node_id": "DES_x", "state": state, "creator": user(3, "deploy-bot"),
               "description": "", "environment": "Production", "target_url": "",
               "created_at": at, "updated_at": at})
    };
    let list = if id == 501 {
        json!([
            s(9002, "success", "2026-10-02T13:20:00Z"),
            s(9001, "in_progress", "2026-10-02T13:01:00Z")
        ])
    } else {
        json!([
            s(9004, "failure", "2026-10-05T09:10:00Z"),
            s(9003, "queued", "2026-10-05T09:00:30Z")
        ])
    };
    Json(list).into_response()
}

async fn issues(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let label = |name: &str| json!({"id": 1, "name": name, "color": "d73a4a", "default": false});
    let all = vec![
        json!({"id": 3003, "number": 3, "title": "Checkout errors after deploy", "user": user(2, "grace"),
               "labels": [label("incident"), label("sev2")], "state": "closed", "state_reason": "completed",
               "created_at": "2026-10-05T09:30:00Z", "updated_at": "2026-10-05T11:00:00Z",
               "closed_at": "2026-10-05T11:00:00Z", "comments": 2}),
        json!({"id": 3004, "number": 4, "title": "Totals are rounded wrong", "user": user(2, "grace"),
               "labels": [label("bug")], "state": "open", "state_reason": null,
               "created_at": "2026-10-03T09:00:00Z", "updated_at": "2026-10-03T09:00:00Z",
               "closed_at": null, "comments": 0}),
        json!({"id": 3002, "number": 2, "title": "Change number 2", "user": user(1, "ada"),
               "labels": [], "state": "open", "created_at": "2026-10-01T09:00:00Z",
               "updated_at": "2026-10-05T08:00:00Z", "closed_at": null,
               "pull_request": {"url": format!("https://api.github.com/repos/{REPO}/pulls/2")}}),
    ];
    // `since`: only issues updated at or after it.
    let since = query
        .unwrap_or_default()
        .split('&')
        .find_map(|p| p.strip_prefix("since=").map(str::to_owned));
    let list: Vec<Value> = all
        .into_iter()
        .filter(|i| {
            since
                .as_ref()
                .is_none_or(|s| i["updated_at"].as_str().unwrap() >= s.as_str())
        })
        .collect();
    Json(Value::Array(list)).into_response()
}

async fn run(db: &str, args: &[&str], token: Option<&str>) -> Output {
    support::tandem(db, args, "GITHUB_TOKEN", token, &[]).await
}

async fn start_fake() -> (String, Shared) {
    let fake: Shared = Arc::new(Fake::default());
    let app = Router::new()
        .route("/repos/{owner}/{name}/pulls", get(pulls))
        .route("/repositories/1296269/pulls", get(page_two))
        .route("/repos/{owner}/{name}/pulls/{n}/commits", get(pr_commits))
        .route("/repos/{owner}/{name}/pulls/{n}/reviews", get(reviews))
        .route("/repos/{owner}/{name}/deployments", get(deployments))
        .route(
            "/repos/{owner}/{name}/deployments/{id}/statuses",
            get(statuses),
        )
        .route("/repos/{owner}/{name}/issues", get(issues))
        .with_state(fake.clone());
    let base = support::serve(app).await;
    fake.base.set(base.clone()).unwrap();
    (base, fake)
}

async fn project(store: &Store) -> Project {
    support::project(store, REPO).await
}

fn args(base: &str) -> Vec<&str> {
    vec![
        "import",
        "github",
        "--project",
        "pay",
        "--repo",
        REPO,
        "--api-url",
        base,
        "--max-rate-limit-wait",
        "2",
        "--format",
        "json",
    ]
}

async fn backfills_and_second_run_stores_nothing(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store).await;
    let (base, fake) = start_fake().await;

    // A token file, trimmed.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let mut first_args = args(&base);
    let token_path = token_file.to_str().unwrap().to_owned();
    first_args.extend(["--token-file", &token_path]);
    let s = ok(&run(&db.url, &first_args, None).await);
    assert_eq!(s["repo"], REPO);
    assert_eq!(s["pull_requests"], 2);
    assert_eq!(s["reviews"], 2, "the author's own comment is not a review");
    assert_eq!(s["pr_commits"], 3);
    assert_eq!(s["deployments"], 2);
    assert_eq!(s["incidents"], 1);
    assert_eq!(s["bugs"], 1);
    assert_eq!(s["rate_limit_waits"], 1);

    // The merged pull request from page two, with reviews and commits.
    let pr = store.get_pull_request(REPO, 1).await.unwrap().unwrap();
    assert_eq!(pr.state, PrState::Merged);
    assert_eq!(pr.source, "github");
    assert_eq!(pr.merge_commit_sha.as_deref(), Some(sha(0xa1).as_str()));
    assert_eq!(
        pr.first_commit_at,
        Some(Utc.with_ymd_and_hms(2026, 9, 30, 10, 0, 0).unwrap())
    );
    assert_eq!(
        pr.first_review_at,
        Some(Utc.with_ymd_and_hms(2026, 10, 1, 11, 0, 0).unwrap())
    );
    assert_eq!(
        pr.approved_at,
        Some(Utc.with_ymd_and_hms(2026, 10, 2, 10, 0, 0).unwrap())
    );
    let mut commit_shas: Vec<String> = pr.commits.iter().map(|c| c.sha.clone()).collect();
    commit_shas.sort();
    assert_eq!(commit_shas, vec![sha(0x31), sha(0x32)]);
    assert_eq!(store.list_reviews(REPO, 1).await.unwrap().len(), 2);
    let open = store.get_pull_request(REPO, 2).await.unwrap().unwrap();
    assert_eq!(open.state, PrState::Open);

    // Deployments with the outcome of their newest status.
    let d1 = store
        .get_deployment("github", "501")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d1.status, DeploymentStatus::Success);
    assert_eq!(d1.environment, "production");
    assert_eq!(d1.service, "payments");
    assert_eq!(d1.sha.as_deref(), Some(sha(0xa1).as_str()));
    assert_eq!(
        d1.finished_at,
        Some(Utc.with_ymd_and_hms(2026, 10, 2, 13, 20, 0).unwrap())
    );
    let d2 = store
        .get_deployment("github", "502")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d2.status, DeploymentStatus::Failure);

    // The incident (labelled), not the pull request the issues API lists.
    let inc = store
        .get_incident("github", "acme/payments#3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        inc.opened_at,
        Utc.with_ymd_and_hms(2026, 10, 5, 9, 30, 0).unwrap()
    );
    assert_eq!(
        inc.resolved_at,
        Some(Utc.with_ymd_and_hms(2026, 10, 5, 11, 0, 0).unwrap())
    );
    assert_eq!(inc.severity, "sev2");
    assert!(
        store
            .get_incident("github", "acme/payments#2")
            .await
            .unwrap()
            .is_none()
    );

    for (resource, cursor) in [
        ("pulls", "2026-10-05T08:00:00.000000Z"),
        ("deployments", "2026-10-05T09:10:00.000000Z"),
        ("issues", "2026-10-05T11:00:00.000000Z"),
    ] {
        assert_eq!(
            store
                .import_cursor("github", &format!("{REPO}:{resource}"))
                .await
                .unwrap()
                .as_deref(),
            Some(cursor),
            "{resource}"
        );
    }

    // A second run (token from the environment) finds nothing newer.
    let before = fake.requests.load(Ordering::SeqCst);
    let s = ok(&run(&db.url, &args(&base), Some(TOKEN)).await);
    for key in [
        "pull_requests",
        "reviews",
        "pr_commits",
        "deployments",
        "incidents",
        "bugs",
    ] {
        assert_eq!(s[key], 0, "{key}: {s}");
    }
    assert_eq!(s["rate_limit_waits"], 0);
    assert_eq!(
        fake.requests.load(Ordering::SeqCst) - before,
        1,
        "the newest-first pull request listing stops on its first page"
    );
    assert_eq!(store.list_reviews(REPO, 1).await.unwrap().len(), 2);
    assert_eq!(
        store
            .get_deployment("github", "501")
            .await
            .unwrap()
            .unwrap(),
        d1
    );
}

async fn bad_token_is_a_clear_error(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store).await;
    let (base, fake) = start_fake().await;
    fake.limited_once.store(true, Ordering::SeqCst);
    let out = run(&db.url, &args(&base), Some("ghp_wrong")).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("GET {base}/repos/{REPO}/pulls"))
            && err.contains("401")
            && err.contains("Bad credentials")
            && err.contains("GITHUB_TOKEN"),
        "{err}"
    );
    assert!(store.get_pull_request(REPO, 2).await.unwrap().is_none());
    assert_eq!(
        store
            .import_cursor("github", &format!("{REPO}:pulls"))
            .await
            .unwrap(),
        None
    );

    // Unknown repository for the project: named before any request.
    let out = run(
        &db.url,
        &[
            "import",
            "github",
            "--project",
            "pay",
            "--repo",
            "acme/other",
            "--api-url",
            &base,
        ],
        Some(TOKEN),
    )
    .await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--repo"));
}

async fn since_and_server_errors(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store).await;
    let (base, fake) = start_fake().await;
    fake.limited_once.store(true, Ordering::SeqCst);

    // A server error while reading a page: the error names the URL and the
    // status, and nothing of that page (nor a cursor) is stored.
    fake.fail_reviews.store(true, Ordering::SeqCst);
    let out = run(&db.url, &args(&base), Some(TOKEN)).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("GET {base}/repos/{REPO}/pulls/2/reviews"))
            && err.contains("502")
            && err.contains("Server Error"),
        "{err}"
    );
    assert!(store.get_pull_request(REPO, 2).await.unwrap().is_none());
    assert_eq!(
        store
            .import_cursor("github", &format!("{REPO}:pulls"))
            .await
            .unwrap(),
        None
    );

    // --since: only what was updated after it.
    fake.fail_reviews.store(false, Ordering::SeqCst);
    let mut since_args = args(&base);
    since_args.extend(["--since", "2026-10-03"]);
    let s = ok(&run(&db.url, &since_args, Some(TOKEN)).await);
    assert_eq!(s["pull_requests"], 1, "{s}");
    assert_eq!(s["deployments"], 1, "{s}");
    assert_eq!(s["incidents"], 1, "{s}");
    assert_eq!(s["bugs"], 1, "{s}");
    assert!(store.get_pull_request(REPO, 1).await.unwrap().is_none());
    assert!(store.get_pull_request(REPO, 2).await.unwrap().is_some());
    assert!(
        store
            .get_deployment("github", "501")
            .await
            .unwrap()
            .is_none()
    );

    // A date that is not one.
    let mut bad = args(&base);
    bad.extend(["--since", "last week"]);
    let out = run(&db.url, &bad, Some(TOKEN)).await;
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--since"));
}
