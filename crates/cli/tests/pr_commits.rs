//! Pull request commits from webhooks alone: a merged pull (merge) request
//! delivered to the real receivers is queued (a token is configured), the
//! queue (`tandem_app::pr_commits::run_due`, what `serve` runs) fetches its
//! own commits from a local fake of the GitHub or GitLab REST API, and the
//! squash commit's deployment is then attributed to them. Rate limits
//! (GitHub 403 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset`,
//! GitLab 429 with `Retry-After`) put the fetch off until the reset, and a
//! server error backs off, without losing the fetch; two replicas fetch a
//! pull request once. Every test runs on SQLite and PostgreSQL.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::{Value, json};
use tandem_app::pr_commits::{self, RunReport};
use tandem_app::settings::Settings;
use tandem_domain::engineering::{FetchState, Provider};
use tandem_server::AppState;
use tandem_store::{FetchKey, Store};
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};

per_engine!(
    github_merge_is_fetched_after_its_rate_limit_and_attributed,
    gitlab_merge_waits_out_429_and_backs_off_on_errors,
    nothing_is_queued_without_a_token
);

const REPO: &str = "acme/payments";
const TOKEN: &str = "test-token";
const SECRET: &str = "webhook-secret-for-tests";
/// The squash commit of pull request #12 (the fixtures' merge commit).
const SQUASH: &str = "3b5d7f9a1c3e5f7b9d1a3c5e7f9b1d3a5c7e9f1b";
const C1: &str = "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1";
const C2: &str = "c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2c2";

fn fixture(path: &str) -> Value {
    let file = format!(
        "{}/../domain/tests/fixtures/{path}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&file).expect(&file)).expect("JSON fixture")
}

#[derive(Default)]
struct Fake {
    /// Answer the next commits request with a rate limit.
    limit_next: AtomicBool,
    /// Answer the next commits request with a 502.
    fail_next: AtomicBool,
    commit_requests: AtomicUsize,
    /// The rate limit's reset, as a Unix time.
    reset: std::sync::Mutex<i64>,
}

type Shared = Arc<Fake>;

fn authorized(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {TOKEN}"))
        || headers.get("private-token").and_then(|v| v.to_str().ok()) == Some(TOKEN)
}

/// GitHub's `GET /repos/{owner}/{repo}/pulls/{n}/commits`.
async fn github_commits(
    State(fake): State<Shared>,
    Path((owner, name, n)): Path<(String, String, i64)>,
    headers: HeaderMap,
) -> Response {
    fake.commit_requests.fetch_add(1, Ordering::SeqCst);
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "Bad credentials"})),
        )
            .into_response();
    }
    assert_eq!((format!("{owner}/{name}").as_str(), n), (REPO, 12));
    if fake.limit_next.swap(false, Ordering::SeqCst) {
        let mut h = HeaderMap::new();
        let reset = *fake.reset.lock().unwrap();
        h.insert("x-ratelimit-limit", HeaderValue::from_static("5000"));
        h.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "x-ratelimit-reset",
            HeaderValue::from_str(&reset.to_string()).unwrap(),
        );
        return (
            StatusCode::FORBIDDEN,
            h,
            Json(json!({"message": "API rate limit exceeded for user ID 1.",
                        "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})),
        )
            .into_response();
    }
    let commit = |sha: &str, date: &str| {
        json!({"sha": sha, "node_id": "C_x",
               "commit": {"author": {"name": "Ada", "email": "ada@example.com", "date": date},
                          "committer": {"name": "Ada", "email": "ada@example.com", "date": date},
                          "message": "Work", "comment_count": 0},
               "author": {"login": "ada", "id": 1}, "parents": [{"sha": SQUASH}]})
    };
    Json(json!([
        commit(C1, "2026-03-01T15:00:00Z"),
        commit(C2, "2026-03-02T08:00:00Z")
    ]))
    .into_response()
}

/// GitLab's `GET /projects/:id/merge_requests/:iid/commits`.
async fn gitlab_commits(
    State(fake): State<Shared>,
    Path((id, iid)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Response {
    fake.commit_requests.fetch_add(1, Ordering::SeqCst);
    if !authorized(&headers) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"message": "401 Unauthorized"})),
        )
            .into_response();
    }
    // The path arrives as `acme%2Fpayments`, decoded by the extractor.
    assert_eq!((id.as_str(), iid), (REPO, 12));
    if fake.limit_next.swap(false, Ordering::SeqCst) {
        let mut h = HeaderMap::new();
        let reset = *fake.reset.lock().unwrap();
        h.insert("ratelimit-limit", HeaderValue::from_static("600"));
        h.insert("ratelimit-remaining", HeaderValue::from_static("0"));
        h.insert(
            "ratelimit-reset",
            HeaderValue::from_str(&reset.to_string()).unwrap(),
        );
        h.insert("retry-after", HeaderValue::from_static("120"));
        return (StatusCode::TOO_MANY_REQUESTS, h, "Retry later").into_response();
    }
    if fake.fail_next.swap(false, Ordering::SeqCst) {
        return (
            StatusCode::BAD_GATEWAY,
            "<html><h1>502 Bad Gateway</h1></html>",
        )
            .into_response();
    }
    let commit = |sha: &str, date: &str| {
        json!({"id": sha, "short_id": &sha[..8], "title": "Work", "message": "Work",
               "author_name": "Ada", "author_email": "ada@example.com", "authored_date": date,
               "committer_name": "Ada", "committer_email": "ada@example.com", "committed_date": date,
               "created_at": date, "parent_ids": [], "web_url": "https://gitlab.example.com/x"})
    };
    Json(json!([
        commit(C2, "2026-03-02T09:00:00+01:00"),
        commit(C1, "2026-03-01T16:00:00+01:00")
    ]))
    .into_response()
}

async fn start_fake() -> (String, Shared) {
    let fake: Shared = Arc::new(Fake::default());
    let app = Router::new()
        .route(
            "/repos/{owner}/{name}/pulls/{n}/commits",
            get(github_commits),
        )
        .route(
            "/api/v4/projects/{id}/merge_requests/{iid}/commits",
            get(gitlab_commits),
        )
        .with_state(fake.clone());
    let base = support::serve(app).await;
    (base, fake)
}

/// Settings pointing both providers at the fake, with tokens unless
/// `token` is false.
fn settings(fake: &str, token: bool) -> Settings {
    let mut env = vec![
        ("TANDEM_GITHUB__API_URL".to_owned(), fake.to_owned()),
        (
            "TANDEM_GITLAB__API_URL".to_owned(),
            format!("{fake}/api/v4"),
        ),
    ];
    if token {
        env.push(("TANDEM_GITHUB__TOKEN".to_owned(), TOKEN.to_owned()));
        env.push(("TANDEM_GITLAB__TOKEN".to_owned(), TOKEN.to_owned()));
    }
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../server/tandem.example.toml");
    Settings::load_from(Some(&example), &env).expect("settings")
}

/// The real server's routes over `store`; its base URL.
async fn server(store: &Store, settings: Settings) -> String {
    let state = AppState::new(store.clone(), settings).expect("state");
    support::serve(tandem_server::router(state)).await
}

async fn github_delivery(base: &str, event: &str, id: &str, body: &Value) -> Value {
    let body = serde_json::to_vec(body).unwrap();
    let resp = reqwest::Client::new()
        .post(format!("{base}/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", event)
        .header("x-github-delivery", id)
        .header(
            "x-hub-signature-256",
            tandem_server::webhooks::github_signature(SECRET, &body),
        )
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let json: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{event}: {status} {json}");
    json
}

async fn gitlab_delivery(base: &str, event: &str, id: &str, body: &Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{base}/webhooks/gitlab"))
        .header("content-type", "application/json")
        .header("x-gitlab-event", event)
        .header("x-gitlab-token", SECRET)
        .header("idempotency-key", id)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let json: Value = resp.json().await.unwrap();
    assert!(status.is_success(), "{event}: {status} {json}");
    json
}

fn key(provider: Provider) -> FetchKey {
    FetchKey {
        provider,
        repo: REPO.to_owned(),
        number: 12,
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

async fn github_merge_is_fetched_after_its_rate_limit_and_attributed(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let project = support::project(&store, REPO).await;
    store
        .set_webhook_secret(project.id, Provider::Github, SECRET, Utc::now())
        .await
        .unwrap();
    let (fake_base, fake) = start_fake().await;
    let settings = settings(&fake_base, true);
    let base = server(&store, settings.clone()).await;

    // The squash commit arrives by push, the merge, then its deployment.
    let mut push = fixture("github/push.json");
    push["commits"] = json!([push["commits"][2].clone()]);
    github_delivery(&base, "push", "d-push", &push).await;
    let merged = fixture("github/pull_request_closed_merged.json");
    let r = github_delivery(&base, "pull_request", "d-merge", &merged).await;
    assert_eq!(r["status"], "applied", "{r}");
    github_delivery(&base, "pull_request", "d-merge-again", &merged).await;
    let deployed = fixture("github/deployment_status_success.json");
    github_delivery(&base, "deployment_status", "d-deploy", &deployed).await;

    // Queued once, though the merge was reported twice.
    let queued = store
        .pr_commit_fetch(&key(Provider::Github))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(queued.state, FetchState::Queued);
    assert_eq!(queued.project_id, project.id);
    assert_eq!(queued.attempts, 0);
    let pr = store.get_pull_request(REPO, 12).await.unwrap().unwrap();
    assert!(pr.commits.is_empty(), "a webhook does not list the commits");

    // Before the fetch the squash commit stands for the work.
    store.attribute_pending().await.unwrap();
    let deployment = store
        .get_deployment("github", "987654321")
        .await
        .unwrap()
        .unwrap();
    let shipped: Vec<String> = store
        .shipped_commits(deployment.id)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.sha)
        .collect();
    assert_eq!(shipped, vec![SQUASH.to_owned()]);

    // The API is rate limited for an hour: the fetch is put off until the
    // reset, no attempt is counted, and nothing is lost.
    let now = Utc::now();
    let reset = now.timestamp() + 3600;
    *fake.reset.lock().unwrap() = reset;
    fake.limit_next.store(true, Ordering::SeqCst);
    let r = pr_commits::run_due(&store, &settings, "replica-a", now)
        .await
        .unwrap();
    assert_eq!(
        r,
        RunReport {
            rate_limited: 1,
            ..RunReport::default()
        }
    );
    let waiting = store
        .pr_commit_fetch(&key(Provider::Github))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.state, FetchState::Queued);
    assert_eq!(waiting.attempts, 0);
    assert!(
        waiting.not_before >= Utc.timestamp_opt(reset, 0).unwrap() - TimeDelta::seconds(5),
        "{} is before the reset {reset}",
        waiting.not_before
    );
    assert!(
        waiting.last_error.contains("rate limited"),
        "{}",
        waiting.last_error
    );
    assert_eq!(fake.commit_requests.load(Ordering::SeqCst), 1);

    // Not due before the reset: no request.
    let r = pr_commits::run_due(&store, &settings, "replica-a", now + TimeDelta::minutes(30))
        .await
        .unwrap();
    assert_eq!(r, RunReport::default());
    assert_eq!(fake.commit_requests.load(Ordering::SeqCst), 1);

    // After the reset, two replicas at once: one fetch.
    let later = waiting.not_before + TimeDelta::seconds(1);
    let (a, b) = tokio::join!(
        pr_commits::run_due(&store, &settings, "replica-a", later),
        pr_commits::run_due(&store, &settings, "replica-b", later)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.fetched + b.fetched, 1, "{a:?} {b:?}");
    assert_eq!(a.commits + b.commits, 2);
    assert_eq!(fake.commit_requests.load(Ordering::SeqCst), 2);
    let done = store
        .pr_commit_fetch(&key(Provider::Github))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.state, FetchState::Done);
    assert_eq!(done.finished_at, Some(later));

    let pr = store.get_pull_request(REPO, 12).await.unwrap().unwrap();
    let mut shas: Vec<&str> = pr.commits.iter().map(|c| c.sha.as_str()).collect();
    shas.sort();
    assert_eq!(shas, vec![C1, C2]);
    assert_eq!(pr.first_commit_at, Some(at("2026-03-01T15:00:00Z")));

    // The deployment is attributed to the pull request's own commits.
    store.attribute_pending().await.unwrap();
    let shipped = store.shipped_commits(deployment.id).await.unwrap();
    let got: Vec<(&str, Option<i64>, DateTime<Utc>)> = shipped
        .iter()
        .map(|c| (c.sha.as_str(), c.pr_number, c.authored_at))
        .collect();
    assert_eq!(
        got,
        vec![
            (C1, Some(12), at("2026-03-01T15:00:00Z")),
            (C2, Some(12), at("2026-03-02T08:00:00Z")),
        ]
    );

    // Done once: a later run and a replayed merge fetch nothing more.
    github_delivery(&base, "pull_request", "d-merge-third", &merged).await;
    let r = pr_commits::run_due(&store, &settings, "replica-a", later + TimeDelta::hours(1))
        .await
        .unwrap();
    assert_eq!(r, RunReport::default());
    assert_eq!(fake.commit_requests.load(Ordering::SeqCst), 2);
}

async fn gitlab_merge_waits_out_429_and_backs_off_on_errors(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let project = support::project(&store, REPO).await;
    store
        .set_webhook_secret(project.id, Provider::Gitlab, SECRET, Utc::now())
        .await
        .unwrap();
    let (fake_base, fake) = start_fake().await;
    let settings = settings(&fake_base, true);
    let base = server(&store, settings.clone()).await;
    let merged = fixture("gitlab/merge_request_merged.json");
    let r = gitlab_delivery(&base, "Merge Request Hook", "g-merge", &merged).await;
    assert_eq!(r["status"], "applied", "{r}");
    assert_eq!(
        store
            .pr_commit_fetch(&key(Provider::Gitlab))
            .await
            .unwrap()
            .unwrap()
            .state,
        FetchState::Queued
    );

    // 429 with Retry-After: 120 (and a later RateLimit-Reset): Retry-After wins.
    let now = tandem_domain::time::micros(Utc::now());
    *fake.reset.lock().unwrap() = now.timestamp() + 3600;
    fake.limit_next.store(true, Ordering::SeqCst);
    let r = pr_commits::run_due(&store, &settings, "replica-a", now)
        .await
        .unwrap();
    assert_eq!(r.rate_limited, 1, "{r:?}");
    let waiting = store
        .pr_commit_fetch(&key(Provider::Gitlab))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(waiting.not_before, now + TimeDelta::seconds(120));
    assert_eq!(waiting.attempts, 0);

    // A 502 after the wait: one failed attempt, retried after the backoff.
    fake.fail_next.store(true, Ordering::SeqCst);
    let t1 = now + TimeDelta::seconds(121);
    let r = pr_commits::run_due(&store, &settings, "replica-a", t1)
        .await
        .unwrap();
    assert_eq!(r.retried, 1, "{r:?}");
    let retry = store
        .pr_commit_fetch(&key(Provider::Gitlab))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(retry.attempts, 1);
    assert_eq!(retry.state, FetchState::Queued);
    assert_eq!(retry.not_before, t1 + pr_commits::backoff(1));
    assert!(retry.last_error.contains("502"), "{}", retry.last_error);

    // Then the commits.
    let t2 = retry.not_before;
    let r = pr_commits::run_due(&store, &settings, "replica-a", t2)
        .await
        .unwrap();
    assert_eq!((r.fetched, r.commits), (1, 2), "{r:?}");
    assert_eq!(fake.commit_requests.load(Ordering::SeqCst), 3);
    let pr = store.get_pull_request(REPO, 12).await.unwrap().unwrap();
    let mut shas: Vec<&str> = pr.commits.iter().map(|c| c.sha.as_str()).collect();
    shas.sort();
    assert_eq!(shas, vec![C1, C2]);
    assert_eq!(pr.first_commit_at, Some(at("2026-03-01T15:00:00Z")));
    assert_eq!(
        store
            .pr_commit_fetch(&key(Provider::Gitlab))
            .await
            .unwrap()
            .unwrap()
            .state,
        FetchState::Done
    );
}

async fn nothing_is_queued_without_a_token(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let project = support::project(&store, REPO).await;
    store
        .set_webhook_secret(project.id, Provider::Github, SECRET, Utc::now())
        .await
        .unwrap();
    let (fake_base, fake) = start_fake().await;
    let settings = settings(&fake_base, false);
    let base = server(&store, settings.clone()).await;
    let merged = fixture("github/pull_request_closed_merged.json");
    github_delivery(&base, "pull_request", "d-merge", &merged).await;
    assert!(store.get_pull_request(REPO, 12).await.unwrap().is_some());
    assert!(
        store
            .pr_commit_fetch(&key(Provider::Github))
            .await
            .unwrap()
            .is_none()
    );
    let r = pr_commits::run_due(&store, &settings, "replica-a", Utc::now())
        .await
        .unwrap();
    assert_eq!(r, RunReport::default());
    assert_eq!(fake.commit_requests.load(Ordering::SeqCst), 0);
}
