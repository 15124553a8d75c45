//! `tandem import gitlab` against a local fake of the GitLab REST API v4 (an
//! axum app on 127.0.0.1) serving GitLab's response shapes for a project in
//! a subgroup (`acme/billing/payments`, addressed as
//! `acme%2Fbilling%2Fpayments`): two pages of merge requests joined by
//! `x-next-page` (one merged by squash, with commits, a review note by
//! someone other than the author, approval system notes and approval
//! state), deployments that succeeded and failed, two pages of pipelines
//! joined by a keyset `Link` (with coverage), an incident and a bug issue; a
//! 429 with `Retry-After: 0` and an exhausted `RateLimit-Remaining`; a
//! second run that stores nothing new; a 401, a 502 and bad `--repo`
//! values. With the main line stored as a git import would, the imported
//! records give the delivery numbers (review time from the notes, lead time
//! through the squash merge to the merge request's own commits, time to
//! restore, coverage). Every test runs on SQLite and PostgreSQL.

mod support;
use support::{failed, ok};

use std::process::Output;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{OriginalUri, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use tandem_domain::engineering::{DeploymentStatus, PipelineStatus, PrState, ReviewState};
use tandem_domain::git::{Commit, CommitSource};
use tandem_domain::project::Project;
use tandem_domain::work_item::{WorkKind, WorkState};
use tandem_store::Store;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};

per_engine!(
    backfills_and_second_run_stores_nothing,
    bad_token_and_bad_repo_are_clear_errors,
    server_error_then_since
);

const REPO: &str = "acme/billing/payments";
const ENCODED: &str = "acme%2Fbilling%2Fpayments";
const TOKEN: &str = "glpat-test-token";

#[derive(Default)]
struct Fake {
    base: std::sync::OnceLock<String>,
    limited_once: AtomicBool,
    exhausted_once: AtomicBool,
    fail_notes: AtomicBool,
    no_approvals_api: AtomicBool,
    requests: AtomicUsize,
    uris: Mutex<Vec<String>>,
}

type Shared = Arc<Fake>;

fn sha(n: u8) -> String {
    format!("{n:02x}").repeat(20)
}

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn user(id: i64, username: &str) -> Value {
    json!({"id": id, "username": username, "name": username, "state": "active", "locked": false,
           "avatar_url": null, "web_url": format!("https://gitlab.example.com/{username}")})
}

/// A merge request as `GET /projects/:id/merge_requests` lists it.
fn merge_request(iid: i64, state: &str, merged_at: Option<&str>, updated_at: &str) -> Value {
    let merged = state == "merged";
    let merger = if merged {
        user(12, "grace")
    } else {
        Value::Null
    };
    let mut mr = json!({
        "id": 84000 + iid, "iid": iid, "project_id": 3412,
        "title": format!("Change number {iid}"), "description": "Please review.",
        "state": state, "merged_by": merger.clone(), "merge_user": merger,
        "merged_at": merged_at, "closed_by": null, "closed_at": null,
        "created_at": "2026-10-01T09:00:00.000Z", "updated_at": updated_at,
        "target_branch": "main", "source_branch": format!("change-{iid}"),
        "upvotes": 0, "downvotes": 0,
        "author": user(11, "ada"), "assignees": [], "assignee": null, "reviewers": [user(12, "grace")],
        "source_project_id": 3412, "target_project_id": 3412, "labels": [],
        "draft": false, "work_in_progress": false, "milestone": null,
    });
    let more = json!({
        "merge_when_pipeline_succeeds": false, "merge_status": "can_be_merged",
        "detailed_merge_status": if merged { "not_open" } else { "mergeable" },
        "sha": sha(0x30 + iid as u8 * 2),
        "merge_commit_sha": null,
        "squash_commit_sha": if merged { json!(sha(0xa0 + iid as u8)) } else { Value::Null },
        "user_notes_count": 2, "discussion_locked": null,
        "should_remove_source_branch": true, "force_remove_source_branch": true,
        "web_url": format!("https://gitlab.example.com/{REPO}/-/merge_requests/{iid}"),
        "squash": merged, "squash_on_merge": merged,
        "has_conflicts": false, "blocking_discussions_resolved": true
    });
    let refs = json!({"short": format!("!{iid}"), "relative": format!("!{iid}"),
                      "full": format!("{REPO}!{iid}")});
    let o = mr.as_object_mut().unwrap();
    o.extend(more.as_object().unwrap().clone());
    o.insert("references".into(), refs);
    mr
}

fn unauthorized(headers: &HeaderMap) -> Option<Response> {
    if headers.get("private-token").and_then(|v| v.to_str().ok()) == Some(TOKEN) {
        None
    } else {
        Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"message": "401 Unauthorized"})),
            )
                .into_response(),
        )
    }
}

/// `updated_after` as GitLab applies it: updated at or after the instant.
fn updated_after(query: &str) -> Option<DateTime<Utc>> {
    query.split('&').find_map(|p| {
        let v = p.strip_prefix("updated_after=")?;
        Some(utc(&v.replace("%3A", ":").replace("%2B", "+")))
    })
}

fn filter(query: &str, items: Vec<Value>) -> Vec<Value> {
    let after = updated_after(query);
    items
        .into_iter()
        .filter(|i| after.is_none_or(|a| utc(i["updated_at"].as_str().unwrap()) >= a))
        .collect()
}

fn check_listing(query: &str) {
    assert!(
        query.contains("order_by=updated_at") && query.contains("sort=desc"),
        "{query}"
    );
}

async fn merge_requests(
    State(fake): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let query = query.unwrap_or_default();
    check_listing(&query);
    assert!(query.contains("state=all"), "{query}");
    if !fake.limited_once.swap(true, Ordering::SeqCst) {
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("0"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        return (
            StatusCode::TOO_MANY_REQUESTS,
            h,
            Json(json!({"message": "429 Too Many Requests"})),
        )
            .into_response();
    }
    let page_two = query.split('&').any(|p| p == "page=2");
    let items = if page_two {
        vec![merge_request(
            1,
            "merged",
            Some("2026-10-02T12:00:00.000Z"),
            "2026-10-02T12:00:05.000Z",
        )]
    } else {
        vec![merge_request(2, "opened", None, "2026-10-05T08:00:00.000Z")]
    };
    let items = filter(&query, items);
    let mut h = HeaderMap::new();
    h.insert(
        "x-page",
        HeaderValue::from_static(if page_two { "2" } else { "1" }),
    );
    h.insert("x-per-page", HeaderValue::from_static("100"));
    // Offset pagination announced by x-next-page only (no Link header).
    h.insert(
        "x-next-page",
        HeaderValue::from_static(if page_two || items.is_empty() {
            ""
        } else {
            "2"
        }),
    );
    (h, Json(Value::Array(items))).into_response()
}

async fn mr_commits(Path((_, iid)): Path<(String, i64)>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let commit = |s: u8, authored: &str| {
        json!({"id": sha(s), "short_id": &sha(s)[..8], "created_at": authored,
               "parent_ids": [sha(0x01)], "title": "Work", "message": "Work\n",
               "author_name": "Ada", "author_email": "ada@example.com", "authored_date": authored,
               "committer_name": "Ada", "committer_email": "ada@example.com", "committed_date": authored,
               "trailers": {}, "extended_trailers": {},
               "web_url": format!("https://gitlab.example.com/{REPO}/-/commit/{}", sha(s))})
    };
    let list = if iid == 1 {
        json!([
            commit(0x32, "2026-10-01T10:00:00.000+02:00"),
            commit(0x31, "2026-09-30T10:00:00.000Z")
        ])
    } else {
        json!([commit(0x41, "2026-10-04T10:00:00.000Z")])
    };
    Json(list).into_response()
}

fn note(id: i64, author: Value, body: &str, system: bool, at: &str, iid: i64) -> Value {
    json!({"id": id, "type": if system { Value::Null } else { json!("DiffNote") }, "body": body,
           "attachment": null, "author": author, "created_at": at, "updated_at": at,
           "system": system, "noteable_id": 84000 + iid, "noteable_type": "MergeRequest",
           "project_id": 3412, "noteable_iid": iid, "resolvable": !system,
           "confidential": false, "internal": false, "imported": false, "imported_from": "none"})
}

async fn mr_notes(
    State(fake): State<Shared>,
    Path((_, iid)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if fake.fail_notes.load(Ordering::SeqCst) {
        return (
            StatusCode::BAD_GATEWAY,
            [("content-type", "text/html")],
            "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>",
        )
            .into_response();
    }
    let list = if iid == 1 {
        json!([
            note(
                701,
                user(11, "ada"),
                "added 2 commits",
                true,
                "2026-10-01T09:00:10.000Z",
                1
            ),
            note(
                702,
                user(11, "ada"),
                "Context for reviewers: see the ticket.",
                false,
                "2026-10-01T09:30:00.000Z",
                1
            ),
            note(
                703,
                user(12, "grace"),
                "Should this round half to even?",
                false,
                "2026-10-01T11:00:00.000Z",
                1
            ),
            note(
                704,
                user(12, "grace"),
                "approved this merge request",
                true,
                "2026-10-02T10:00:00.000Z",
                1
            ),
        ])
    } else {
        json!([])
    };
    Json(list).into_response()
}

async fn mr_approvals(
    State(fake): State<Shared>,
    Path((_, iid)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    if fake.no_approvals_api.load(Ordering::SeqCst) {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "404 Not found"})),
        )
            .into_response();
    }
    let approved_by = if iid == 1 {
        // Grace (time in her note) and Barbara (time in approved_at, which
        // newer GitLab versions send).
        json!([{"user": user(12, "grace")},
               {"user": user(14, "barbara"), "approved_at": "2026-10-02T11:00:00.000Z"}])
    } else {
        // Linus approved, but neither a note nor the state says when.
        json!([{"user": user(15, "linus")}])
    };
    Json(json!({"id": 84000 + iid, "iid": iid, "project_id": 3412, "title": format!("Change number {iid}"),
                "state": if iid == 1 { "merged" } else { "opened" },
                "created_at": "2026-10-01T09:00:00.000Z", "updated_at": "2026-10-02T12:00:05.000Z",
                "merge_status": "can_be_merged", "approved": true, "approvals_required": 1,
                "approvals_left": 0, "require_password_to_approve": false,
                "approved_by": approved_by, "suggested_approvers": [], "approvers": [],
                "approver_groups": [], "user_has_approved": false, "user_can_approve": false,
                "approval_rules_left": [], "has_approval_rules": false,
                "merge_request_approvers_available": true, "multiple_approval_rules_available": true}))
    .into_response()
}

async fn deployments(
    State(fake): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let query = query.unwrap_or_default();
    check_listing(&query);
    let d = |id: i64, s: u8, status: &str, created: &str, finished: &str, updated: &str| {
        json!({"id": id, "iid": id - 500, "ref": "main", "sha": sha(s),
               "created_at": created, "updated_at": updated, "status": status,
               "user": user(12, "grace"),
               "environment": {"id": 9, "name": "production", "slug": "production",
                               "external_url": "https://payments.example.com"},
               "deployable": {"id": 7000 + id, "status": status, "stage": "deploy", "name": "deploy",
                              "ref": "main", "tag": false, "coverage": null, "allow_failure": false,
                              "created_at": created, "started_at": created, "finished_at": finished,
                              "duration": 590.0, "queued_duration": 1.0, "user": user(12, "grace"),
                              "commit": {"id": sha(s), "short_id": &sha(s)[..8], "title": "Deploy"},
                              "pipeline": {"id": 900 + id - 500, "sha": sha(s), "ref": "main",
                                           "status": status}}})
    };
    let items = filter(
        &query,
        vec![
            d(
                502,
                0xa2,
                "failed",
                "2026-10-05T09:00:00.000Z",
                "2026-10-05T09:09:50.000Z",
                "2026-10-05T09:10:00.000Z",
            ),
            d(
                501,
                0xa1,
                "success",
                "2026-10-02T13:00:00.000Z",
                "2026-10-02T13:19:30.000Z",
                "2026-10-02T13:20:00.000Z",
            ),
        ],
    );
    let mut h = HeaderMap::new();
    if !fake.exhausted_once.swap(true, Ordering::SeqCst) {
        // The last request of the window, and the window already reset.
        h.insert("ratelimit-limit", HeaderValue::from_static("2000"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        let reset = (Utc::now().timestamp() - 1).to_string();
        h.insert("ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
    }
    (h, Json(Value::Array(items))).into_response()
}

fn pipeline_summary(id: i64, status: &str, updated: &str) -> Value {
    json!({"id": id, "iid": id - 800, "project_id": 3412, "status": status, "source": "push",
           "ref": "main", "sha": sha(if id == 901 { 0xa1 } else { 0xa2 }), "name": null,
           "web_url": format!("https://gitlab.example.com/{REPO}/-/pipelines/{id}"),
           "created_at": "2026-10-01T00:00:00.000Z", "updated_at": updated})
}

async fn pipelines(
    State(fake): State<Shared>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let query = query.unwrap_or_default();
    let base = fake.base.get().unwrap();
    if query.contains("cursor=") {
        return Json(json!([pipeline_summary(
            901,
            "success",
            "2026-10-02T12:30:00.000Z"
        )]))
        .into_response();
    }
    check_listing(&query);
    let items = filter(
        &query,
        vec![pipeline_summary(902, "failed", "2026-10-05T09:05:00.000Z")],
    );
    let mut h = HeaderMap::new();
    if !items.is_empty() {
        // Keyset pagination: the next page only by its Link.
        let next = format!(
            "{base}/api/v4/projects/{ENCODED}/pipelines?cursor=eyJpZCI6IjkwMiJ9&order_by=updated_at&per_page=100&sort=desc"
        );
        h.insert(
            "link",
            HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")).unwrap(),
        );
    }
    (h, Json(Value::Array(items))).into_response()
}

async fn pipeline(Path((_, id)): Path<(String, i64)>, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let (status, coverage, started, finished, updated) = if id == 901 {
        (
            "success",
            json!("81.5"),
            "2026-10-02T12:20:00.000Z",
            "2026-10-02T12:29:58.000Z",
            "2026-10-02T12:30:00.000Z",
        )
    } else {
        (
            "failed",
            Value::Null,
            "2026-10-05T09:00:00.000Z",
            "2026-10-05T09:04:30.000Z",
            "2026-10-05T09:05:00.000Z",
        )
    };
    let mut p = pipeline_summary(id, status, updated);
    let o = p.as_object_mut().unwrap();
    o.insert("before_sha".into(), json!(sha(0x01)));
    o.insert("tag".into(), json!(false));
    o.insert("yaml_errors".into(), Value::Null);
    o.insert("user".into(), user(12, "grace"));
    o.insert("started_at".into(), json!(started));
    o.insert("finished_at".into(), json!(finished));
    o.insert("committed_at".into(), Value::Null);
    o.insert("duration".into(), json!(598));
    o.insert("queued_duration".into(), json!(3));
    o.insert("coverage".into(), coverage);
    o.insert(
        "detailed_status".into(),
        json!({"icon": format!("status_{status}"), "text": status, "group": status}),
    );
    Json(p).into_response()
}

async fn issues(RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    if let Some(r) = unauthorized(&headers) {
        return r;
    }
    let query = query.unwrap_or_default();
    check_listing(&query);
    let issue = |iid: i64,
                 title: &str,
                 labels: Value,
                 kind: &str,
                 state: &str,
                 times: [&str; 3]| {
        json!({"id": 66000 + iid, "iid": iid, "project_id": 3412, "title": title, "description": "",
               "state": state, "created_at": times[0], "updated_at": times[1],
               "closed_at": if times[2].is_empty() { Value::Null } else { json!(times[2]) },
               "closed_by": null, "labels": labels, "milestone": null, "assignees": [],
               "assignee": null, "author": user(13, "linus"),
               "type": kind.to_ascii_uppercase(), "issue_type": kind,
               "severity": if kind == "incident" { "CRITICAL" } else { "UNKNOWN" },
               "user_notes_count": 0, "merge_requests_count": 0, "upvotes": 0, "downvotes": 0,
               "due_date": null, "confidential": false, "discussion_locked": null,
               "web_url": format!("https://gitlab.example.com/{REPO}/-/issues/{iid}"),
               "references": {"short": format!("#{iid}"), "full": format!("{REPO}#{iid}")}})
    };
    let items = filter(
        &query,
        vec![
            issue(
                3,
                "Checkout errors after deploy",
                json!([]),
                "incident",
                "closed",
                [
                    "2026-10-05T09:30:00.000Z",
                    "2026-10-05T11:00:00.000Z",
                    "2026-10-05T10:45:00.000Z",
                ],
            ),
            issue(
                5,
                "Rename the settings page",
                json!(["ux"]),
                "issue",
                "opened",
                ["2026-10-04T09:00:00.000Z", "2026-10-04T09:00:00.000Z", ""],
            ),
            issue(
                4,
                "Totals are rounded wrong",
                json!(["bug", "billing"]),
                "issue",
                "opened",
                ["2026-10-03T09:00:00.000Z", "2026-10-03T09:00:00.000Z", ""],
            ),
        ],
    );
    Json(Value::Array(items)).into_response()
}

/// Counts requests and keeps the raw request targets (to check how the
/// project path is encoded).
async fn record(
    State(fake): State<Shared>,
    uri: OriginalUri,
    req: Request,
    next: Next,
) -> Response {
    fake.requests.fetch_add(1, Ordering::SeqCst);
    fake.uris.lock().unwrap().push(uri.0.to_string());
    next.run(req).await
}

async fn run(db: &str, args: &[&str], token: Option<&str>) -> Output {
    support::tandem(db, args, "GITLAB_TOKEN", token, &[]).await
}

async fn start_fake() -> (String, Shared) {
    let fake: Shared = Arc::new(Fake::default());
    let app = Router::new()
        .route("/api/v4/projects/{id}/merge_requests", get(merge_requests))
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/commits",
            get(mr_commits),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/notes",
            get(mr_notes),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/approvals",
            get(mr_approvals),
        )
        .route("/api/v4/projects/{id}/deployments", get(deployments))
        .route("/api/v4/projects/{id}/pipelines", get(pipelines))
        .route("/api/v4/projects/{id}/pipelines/{pid}", get(pipeline))
        .route("/api/v4/projects/{id}/issues", get(issues))
        .layer(middleware::from_fn_with_state(fake.clone(), record))
        .with_state(fake.clone());
    let base = support::serve(app).await;
    fake.base.set(base.clone()).unwrap();
    (base, fake)
}

async fn project(store: &Store) -> Project {
    support::project(store, REPO).await
}

/// The main line as `tandem import git` stores it: a root, the squash
/// commit of merge request 1 (deployed by 501) and the next commit (502).
async fn main_line(store: &Store) {
    let commit = |s: u8, parent: Option<u8>, at: &str, subject: &str| Commit {
        repo: REPO.to_owned(),
        sha: sha(s),
        author_name: "Ada".to_owned(),
        author_email: "ada@example.com".to_owned(),
        authored_at: utc(at),
        author_offset: 0,
        committed_at: utc(at),
        committer_offset: 0,
        subject: subject.to_owned(),
        parents: parent.map(sha).into_iter().collect(),
        parent_count: i32::from(parent.is_some()),
        additions: Some(1),
        deletions: Some(0),
        files: Vec::new(),
        source: CommitSource::Git,
    };
    store
        .upsert_commits(&[
            commit(0x01, None, "2026-08-01T09:00:00Z", "Start"),
            commit(
                0xa1,
                Some(0x01),
                "2026-10-02T12:00:00Z",
                "Change number 1 (!1)",
            ),
            commit(0xa2, Some(0xa1), "2026-10-05T08:30:00Z", "Tweak"),
        ])
        .await
        .unwrap();
}

fn args(api: &str) -> Vec<&str> {
    vec![
        "import",
        "gitlab",
        "--project",
        "pay",
        "--repo",
        REPO,
        "--api-url",
        api,
        "--max-rate-limit-wait",
        "1",
        "--format",
        "json",
    ]
}

fn metrics(what: &str) -> Vec<&str> {
    vec![
        "metrics",
        what,
        "--project",
        "pay",
        "--since",
        "2026-09-28",
        "--until",
        "2026-10-10",
        "--format",
        "json",
    ]
}

async fn backfills_and_second_run_stores_nothing(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let team = project(&store).await.team_id;
    main_line(&store).await;
    let (base, fake) = start_fake().await;
    let api = format!("{base}/api/v4");

    // A token file, trimmed.
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{TOKEN}\n")).unwrap();
    let token_path = token_file.to_str().unwrap().to_owned();
    let mut first_args = args(&api);
    first_args.extend(["--token-file", &token_path]);
    let s = ok(&run(&db.url, &first_args, None).await);
    assert_eq!(s["repo"], REPO);
    assert_eq!(s["merge_requests"], 2, "{s}");
    assert_eq!(
        s["review_comments"], 1,
        "the author's own note and system notes are not reviews: {s}"
    );
    assert_eq!(s["approvals"], 2, "{s}");
    assert_eq!(s["approvals_without_time"], 1, "{s}");
    assert_eq!(s["approval_states_unavailable"], 0, "{s}");
    assert_eq!(s["mr_commits"], 3, "{s}");
    assert_eq!(s["deployments"], 2, "{s}");
    assert_eq!(s["pipelines"], 2, "{s}");
    assert_eq!(s["incidents"], 1, "{s}");
    assert_eq!(s["bugs"], 1, "{s}");
    assert_eq!(
        s["rate_limit_waits"], 2,
        "the 429 and the exhausted window: {s}"
    );
    {
        let uris = fake.uris.lock().unwrap();
        assert!(
            uris.iter()
                .all(|u| u.starts_with(&format!("/api/v4/projects/{ENCODED}/"))),
            "the project path is the URL-encoded :id: {uris:?}"
        );
        assert!(
            uris.iter()
                .any(|u| u.contains("merge_requests?") && u.contains("page=2")),
            "x-next-page followed: {uris:?}"
        );
        assert!(
            uris.iter().any(|u| u.contains("pipelines?cursor=")),
            "the keyset Link followed: {uris:?}"
        );
    }

    // The merge request from page two, merged by squash: the squash commit
    // is what reached main; its own commits keep their authored times.
    let pr = store.get_pull_request(REPO, 1).await.unwrap().unwrap();
    assert_eq!(pr.source, "gitlab");
    assert_eq!(pr.state, PrState::Merged);
    assert_eq!(pr.merge_commit_sha.as_deref(), Some(sha(0xa1).as_str()));
    assert_eq!(pr.head_sha.as_deref(), Some(sha(0x32).as_str()));
    assert_eq!(pr.merged_at, Some(utc("2026-10-02T12:00:00Z")));
    assert_eq!(pr.first_commit_at, Some(utc("2026-09-30T10:00:00Z")));
    let mut commits: Vec<(String, DateTime<Utc>)> = pr
        .commits
        .iter()
        .map(|c| (c.sha.clone(), c.authored_at))
        .collect();
    commits.sort();
    assert_eq!(
        commits,
        vec![
            (sha(0x31), utc("2026-09-30T10:00:00Z")),
            (sha(0x32), utc("2026-10-01T08:00:00Z"))
        ]
    );
    // First review: Grace's note, not the author's earlier one; approval:
    // Grace's system note, earlier than Barbara's approved_at.
    assert_eq!(pr.first_review_at, Some(utc("2026-10-01T11:00:00Z")));
    assert_eq!(pr.approved_at, Some(utc("2026-10-02T10:00:00Z")));
    let mut reviews = store.list_reviews(REPO, 1).await.unwrap();
    reviews.sort_by(|a, b| a.review_id.cmp(&b.review_id));
    let got: Vec<(&str, ReviewState, DateTime<Utc>)> = reviews
        .iter()
        .map(|r| (r.review_id.as_str(), r.state, r.submitted_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "approval:12",
                ReviewState::Approved,
                utc("2026-10-02T10:00:00Z")
            ),
            (
                "approval:14",
                ReviewState::Approved,
                utc("2026-10-02T11:00:00Z")
            ),
            (
                "note:703",
                ReviewState::Commented,
                utc("2026-10-01T11:00:00Z")
            ),
        ]
    );
    let open = store.get_pull_request(REPO, 2).await.unwrap().unwrap();
    assert_eq!(open.state, PrState::Open);
    assert_eq!(open.merge_commit_sha, None);
    assert_eq!(
        store.list_reviews(REPO, 2).await.unwrap(),
        vec![],
        "an approval without a time is not stored"
    );

    // Deployments.
    let ok_deploy = store
        .get_deployment("gitlab", "501")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok_deploy.status, DeploymentStatus::Success);
    assert_eq!(ok_deploy.environment, "production");
    assert_eq!(ok_deploy.service, "payments");
    assert_eq!(ok_deploy.repo.as_deref(), Some(REPO));
    assert_eq!(ok_deploy.sha.as_deref(), Some(sha(0xa1).as_str()));
    assert_eq!(ok_deploy.started_at, utc("2026-10-02T13:00:00Z"));
    assert_eq!(ok_deploy.finished_at, Some(utc("2026-10-02T13:19:30Z")));
    let failed_deploy = store
        .get_deployment("gitlab", "502")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(failed_deploy.status, DeploymentStatus::Failure);

    // Pipelines, read whole for their coverage.
    let p = store.get_pipeline("gitlab", "901").await.unwrap().unwrap();
    assert_eq!(p.status, PipelineStatus::Success);
    assert_eq!(p.coverage, Some(81.5));
    assert_eq!(p.repo, REPO);
    assert_eq!(p.finished_at, Some(utc("2026-10-02T12:29:58Z")));
    let p = store.get_pipeline("gitlab", "902").await.unwrap().unwrap();
    assert_eq!(p.status, PipelineStatus::Failure);
    assert_eq!(p.coverage, None);

    // The incident (by type), the bug (by label), not the plain issue.
    let inc = store
        .get_incident("gitlab", &format!("{REPO}#3"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(inc.opened_at, utc("2026-10-05T09:30:00Z"));
    assert_eq!(inc.resolved_at, Some(utc("2026-10-05T10:45:00Z")));
    assert_eq!(inc.severity, "critical");
    assert_eq!(inc.service.as_deref(), Some("payments"));
    assert!(
        store
            .get_incident("gitlab", &format!("{REPO}#5"))
            .await
            .unwrap()
            .is_none()
    );
    let items = store.team_work_items(team).await.unwrap();
    let key = format!("{REPO}#4");
    let bug = items
        .iter()
        .find(|w| w.external_key.as_deref() == Some(key.as_str()))
        .unwrap_or_else(|| panic!("no bug {key} in {items:?}"));
    assert_eq!(bug.source, "gitlab");
    assert!(
        !items
            .iter()
            .any(|w| w.external_key.as_deref() == Some(&format!("{REPO}#5"))),
        "{items:?}"
    );
    assert_eq!(bug.kind, WorkKind::Bug);
    assert_eq!(bug.state, WorkState::Todo);

    for (resource, cursor) in [
        ("merge_requests", "2026-10-05T08:00:00.000000Z"),
        ("deployments", "2026-10-05T09:10:00.000000Z"),
        ("pipelines", "2026-10-05T09:05:00.000000Z"),
        ("issues", "2026-10-05T11:00:00.000000Z"),
    ] {
        assert_eq!(
            store
                .import_cursor("gitlab", &format!("{REPO}:{resource}"))
                .await
                .unwrap()
                .as_deref(),
            Some(cursor),
            "{resource}"
        );
    }

    // The delivery numbers follow from what was imported.
    let review = ok(&run(&db.url, &metrics("review-time"), None).await);
    let dora = ok(&run(&db.url, &metrics("dora"), None).await);
    let coverage = ok(&run(&db.url, &metrics("coverage"), None).await);
    // Ready (created, not a draft) 2026-10-01 09:00 → Grace's note 11:00,
    // → her approval 2026-10-02 10:00, → merged 12:00.
    assert_eq!(review["pull_requests"], 1, "{review}");
    assert_eq!(
        review["ready_to_first_review"]["median_hours"], 2.0,
        "{review}"
    );
    assert_eq!(
        review["ready_to_approval"]["median_hours"], 25.0,
        "{review}"
    );
    assert_eq!(review["ready_to_merge"]["median_hours"], 27.0, "{review}");
    // One successful production deployment (the failed one is not a
    // change); the incident opened 09:30, resolved 10:45.
    assert_eq!(dora["deployment_frequency"]["deployments"], 1, "{dora}");
    assert_eq!(dora["time_to_restore"]["incidents"], 1, "{dora}");
    assert_eq!(dora["time_to_restore"]["median_hours"], 1.25, "{dora}");
    // Lead time: the squash commit deployed by 501 is replaced by the merge
    // request's own two commits, with their authored times (finished
    // 2026-10-02 13:19:30: 51.325 h and 29.325 h).
    let mut explain_args = metrics("explain");
    explain_args.insert(2, "lead-time");
    let explain = ok(&run(&db.url, &explain_args, None).await);
    let shipped = &explain["deployments"][0];
    assert_eq!(shipped["external_id"], "501", "{explain}");
    let lead_times: Vec<(String, f64)> = shipped["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["sha"].as_str().unwrap().to_owned(),
                c["lead_time_hours"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        lead_times,
        vec![(sha(0x31), 51.325), (sha(0x32), 29.325)],
        "{explain}"
    );
    assert!(
        shipped["notes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n.as_str().unwrap().contains("pull request #1 merged as")),
        "{explain}"
    );
    assert_eq!(dora["lead_time"]["commits"], 2, "{dora}");
    assert_eq!(dora["lead_time"]["median_hours"], 40.325, "{dora}");
    assert_eq!(coverage["repos"][0]["repo"], REPO, "{coverage}");
    assert_eq!(coverage["repos"][0]["latest_percent"], 81.5, "{coverage}");

    // A second run (token from the environment) finds nothing newer: one
    // request per listing, nothing stored, the records unchanged.
    let before = fake.requests.load(Ordering::SeqCst);
    let s = ok(&run(&db.url, &args(&api), Some(TOKEN)).await);
    for key in [
        "merge_requests",
        "review_comments",
        "approvals",
        "approvals_without_time",
        "approval_states_unavailable",
        "mr_commits",
        "deployments",
        "pipelines",
        "incidents",
        "bugs",
        "rate_limit_waits",
    ] {
        assert_eq!(s[key], 0, "{key}: {s}");
    }
    assert_eq!(fake.requests.load(Ordering::SeqCst) - before, 4, "{s}");
    {
        let uris = fake.uris.lock().unwrap();
        let last = &uris[uris.len() - 4..];
        assert!(
            last.iter().all(|u| u.contains("updated_after=")),
            "{last:?}"
        );
    }
    let mut again = store.list_reviews(REPO, 1).await.unwrap();
    again.sort_by(|a, b| a.review_id.cmp(&b.review_id));
    assert_eq!(again, reviews);
    assert_eq!(
        store
            .get_deployment("gitlab", "501")
            .await
            .unwrap()
            .unwrap(),
        ok_deploy
    );
    assert_eq!(store.get_pull_request(REPO, 1).await.unwrap().unwrap(), pr);
}

async fn bad_token_and_bad_repo_are_clear_errors(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store).await;
    let (base, fake) = start_fake().await;
    fake.limited_once.store(true, Ordering::SeqCst);
    let api = format!("{base}/api/v4");

    let err = failed(&run(&db.url, &args(&api), Some("glpat-wrong")).await);
    assert!(
        err.contains(&format!("GET {api}/projects/{ENCODED}/merge_requests"))
            && err.contains("401")
            && err.contains("401 Unauthorized")
            && err.contains("token")
            && err.contains("GITLAB_TOKEN"),
        "{err}"
    );
    assert!(store.get_pull_request(REPO, 2).await.unwrap().is_none());
    assert_eq!(
        store
            .import_cursor("gitlab", &format!("{REPO}:merge_requests"))
            .await
            .unwrap(),
        None
    );

    // No token at all: the same clear error.
    let err = failed(&run(&db.url, &args(&api), None).await);
    assert!(err.contains("401") && err.contains("GITLAB_TOKEN"), "{err}");

    // --repo that is not a project path, and one the project does not list:
    // named before any request.
    let before = fake.requests.load(Ordering::SeqCst);
    for (repo, expected) in [
        ("payments", "is not a GitLab project path"),
        ("acme//payments", "is not a GitLab project path"),
        ("acme/pay ments", "is not a GitLab project path"),
        ("acme/other", "does not list the repository"),
    ] {
        let mut a = args(&api);
        a[5] = repo;
        let err = failed(&run(&db.url, &a, Some(TOKEN)).await);
        assert!(
            err.contains("--repo") && err.contains(repo) && err.contains(expected),
            "{repo}: {err}"
        );
    }
    assert_eq!(fake.requests.load(Ordering::SeqCst), before);
}

async fn server_error_then_since(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store).await;
    let (base, fake) = start_fake().await;
    fake.limited_once.store(true, Ordering::SeqCst);
    fake.fail_notes.store(true, Ordering::SeqCst);
    let api = format!("{base}/api/v4");

    // A 502 while reading a merge request's notes: the error names the URL
    // and the status, and nothing of that page (nor a cursor) is stored.
    let err = failed(&run(&db.url, &args(&api), Some(TOKEN)).await);
    assert!(
        err.contains(&format!(
            "GET {api}/projects/{ENCODED}/merge_requests/2/notes"
        )) && err.contains("502 Bad Gateway"),
        "{err}"
    );
    assert!(store.get_pull_request(REPO, 2).await.unwrap().is_none());
    assert_eq!(
        store
            .import_cursor("gitlab", &format!("{REPO}:merge_requests"))
            .await
            .unwrap(),
        None
    );

    // Once the server recovers, a run with --since imports only what was
    // updated after it (the keyset page of older pipelines ends the
    // listing).
    fake.fail_notes.store(false, Ordering::SeqCst);
    fake.no_approvals_api.store(true, Ordering::SeqCst);
    let mut since_args = args(&api);
    since_args.extend(["--since", "2026-10-03"]);
    let s = ok(&run(&db.url, &since_args, Some(TOKEN)).await);
    for (key, n) in [
        ("merge_requests", 1),
        ("deployments", 1),
        ("pipelines", 1),
        ("incidents", 1),
        ("bugs", 1),
        // An instance without the approvals API: noted, not fatal.
        ("approval_states_unavailable", 1),
        ("approvals", 0),
        ("approvals_without_time", 0),
    ] {
        assert_eq!(s[key], n, "{key}: {s}");
    }
    assert!(store.get_pull_request(REPO, 1).await.unwrap().is_none());
    assert!(store.get_pull_request(REPO, 2).await.unwrap().is_some());
    assert!(
        store
            .get_deployment("gitlab", "501")
            .await
            .unwrap()
            .is_none()
    );
    assert!(store.get_pipeline("gitlab", "901").await.unwrap().is_none());
    assert!(store.get_pipeline("gitlab", "902").await.unwrap().is_some());

    // A date that is not one.
    let mut bad = args(&api);
    bad.extend(["--since", "last week"]);
    let err = failed(&run(&db.url, &bad, Some(TOKEN)).await);
    assert!(err.contains("--since"), "{err}");
}
