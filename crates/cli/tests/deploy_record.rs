//! `tandem deploy record` and `tandem incident open|resolve`, locally and
//! with `--server` against the real server (in process, port 0): a
//! deployment recorded from a pipeline is attributed exactly as the same
//! deployment sent as a signed GitHub `deployment_status` webhook, on a
//! history with squash, rebase and merge commits and a first deployment
//! whose oldest commit is past the 30-day look-back. Every test runs on
//! SQLite and PostgreSQL.
//!
//! Times are hours after T0 = Monday 2026-03-02 00:00 UTC.

use std::process::Output;

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::Value;
use tandem_domain::engineering::{PrCommit, PrState, Provider, PullRequest};
use tandem_domain::git::{Commit, CommitSource, FileChange};
use tandem_domain::project::Project;
use tandem_domain::team::Team;
use tandem_domain::user::Role;
use tandem_store::Store;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};
use tokio::sync::oneshot;
use uuid::Uuid;

per_engine!(
    a_recorded_deployment_is_attributed_as_a_github_deployment,
    server_mode_needs_no_database,
);

const REPO: &str = "acme/payments";
/// GitHub names the service after the repository (`payments`).
const SERVICE: &str = "payments";
const GH_SECRET: &str = "gh-secret-0123456789abcdef";

fn h(hours: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap() + Duration::hours(hours)
}

/// A 40-digit sha from a short readable name ("c1" → "6331…").
fn sha(name: &str) -> String {
    let mut s: String = name.bytes().map(|b| format!("{b:02x}")).collect();
    s.push_str(&"0".repeat(40));
    s.truncate(40);
    s
}

fn names(shas: &[&str]) -> impl Fn(&str) -> String {
    let known: Vec<(String, String)> = shas.iter().map(|n| (sha(n), (*n).to_owned())).collect();
    move |s: &str| {
        known
            .iter()
            .find(|(k, _)| k == s)
            .map_or_else(|| s.to_owned(), |(_, n)| n.clone())
    }
}

/// Runs `tandem ARGS…` with no database or token from the environment.
async fn tandem(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem"));
    cmd.args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .env_remove("TANDEM_TOKEN");
    for proxy in [
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
    ] {
        cmd.env_remove(proxy);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.expect("run tandem")
}

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "tandem should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Team `pay-team`, project `pay` listing acme/payments and the service
/// `payments`, with a GitHub webhook secret.
async fn project(store: &Store) -> Project {
    let now = h(-2000);
    let team = Team {
        id: Uuid::now_v7(),
        key: "pay-team".to_owned(),
        name: "Payments".to_owned(),
        timezone: "UTC".to_owned(),
        created_at: now,
        updated_at: now,
    };
    store.create_team(&team).await.unwrap();
    let project = Project {
        id: Uuid::now_v7(),
        team_id: team.id,
        key: "pay".to_owned(),
        name: "Payments".to_owned(),
        repositories: vec![REPO.to_owned()],
        services: vec![SERVICE.to_owned()],
        created_at: now,
        updated_at: now,
    };
    store.create_project(&project).await.unwrap();
    store
        .set_webhook_secret(project.id, Provider::Github, GH_SECRET, now)
        .await
        .unwrap();
    project
}

/// One commit as a git import stores it (authored = committed unless told).
fn commit(name: &str, parents: &[&str], authored: i64, committed: i64) -> Commit {
    Commit {
        repo: REPO.to_owned(),
        sha: sha(name),
        author_name: "Dev".into(),
        author_email: "dev@example.com".into(),
        authored_at: h(authored),
        author_offset: 0,
        committed_at: h(committed),
        committer_offset: 0,
        subject: format!("change {name}"),
        parents: parents.iter().map(|p| sha(p)).collect(),
        parent_count: i32::try_from(parents.len()).unwrap(),
        additions: Some(1),
        deletions: Some(0),
        files: vec![FileChange {
            path: "src/lib.rs".into(),
            additions: 1,
            deletions: 0,
        }],
        source: CommitSource::Git,
    }
}

fn pull_request(number: i64, merge: &str, commits: &[(&str, i64)], merged: i64) -> PullRequest {
    PullRequest {
        repo: REPO.to_owned(),
        number,
        source: "github".into(),
        title: format!("PR {number}"),
        state: PrState::Merged,
        draft: false,
        base_branch: "main".into(),
        head_sha: commits.last().map(|(n, _)| sha(n)),
        merge_commit_sha: Some(sha(merge)),
        created_at: h(merged - 2),
        ready_at: Some(h(merged - 2)),
        first_commit_at: commits.first().map(|(_, at)| h(*at)),
        first_review_at: None,
        approved_at: None,
        merged_at: Some(h(merged)),
        closed_at: Some(h(merged)),
        updated_at: h(merged),
        commits: commits
            .iter()
            .map(|(n, at)| PrCommit {
                sha: sha(n),
                authored_at: h(*at),
            })
            .collect(),
    }
}

const ALL: &[&str] = &[
    "c0", "c1", "c2", "s1", "p1", "p2", "r1", "r2", "q1", "q2", "b1", "b2", "c3", "m1",
];

/// The history, written as the git import and the GitHub backfill write it:
///
/// c0 (−1000 h: 41 days before D1) ← c1 (−100) ← c2 (−50) ← s1 (squash of
/// PR #1: p1 +12, p2 +14; s1 +20) ← r1 ← r2 (rebase of PR #2: q1 +21, q2
/// +22, copied with the same authored times, committed +25) ← c3 (+28) ←
/// m1 (+30, a merge of c3 and the branch b1 (+26) ← b2 (+27) off r2).
async fn history(store: &Store) {
    let commits = vec![
        commit("c0", &[], -1000, -1000),
        commit("c1", &["c0"], -100, -100),
        commit("c2", &["c1"], -50, -50),
        commit("s1", &["c2"], 20, 20),
        commit("r1", &["s1"], 21, 25),
        commit("r2", &["r1"], 22, 25),
        commit("b1", &["r2"], 26, 26),
        commit("b2", &["b1"], 27, 27),
        commit("c3", &["r2"], 28, 28),
        commit("m1", &["c3", "b2"], 30, 30),
    ];
    let new = store.upsert_commits(&commits).await.unwrap();
    store.invalidate_attribution(REPO, &new).await.unwrap();
    store
        .upsert_pull_request(&pull_request(1, "s1", &[("p1", 12), ("p2", 14)], 20))
        .await
        .unwrap();
    store
        .upsert_pull_request(&pull_request(2, "r2", &[("q1", 21), ("q2", 22)], 25))
        .await
        .unwrap();
    store
        .invalidate_attribution(REPO, &[sha("s1"), sha("r2")])
        .await
        .unwrap();
}

/// The deployments: (GitHub deployment id, deployed commit, started,
/// finished).
const DEPLOYMENTS: &[(&str, &str, i64, i64)] =
    &[("987654321", "c2", 9, 10), ("987654322", "m1", 39, 40)];

/// A real server over `db`, and a member's API token for it.
struct Server {
    base: String,
    token: String,
    shutdown: Option<oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    async fn start(db: &TestDb) -> Server {
        let store = db.store().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let env: Vec<(String, String)> = [
            ("TANDEM_DATABASE__URL", db.url.as_str()),
            ("TANDEM_SERVER__PUBLIC_URL", base.as_str()),
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            ("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS", "0"),
            ("TANDEM_MAINTENANCE__ATTRIBUTE_INTERVAL_SECONDS", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let example = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../server/tandem.example.toml"
        ));
        let settings = tandem_app::Settings::load_from(Some(example), &env).unwrap();
        let (_, token) = tandem_app::credentials::issue_token(&store, "ci", Role::Member, None)
            .await
            .unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let state = tandem_server::AppState::new(store, settings).unwrap();
        let handle = tokio::spawn(tandem_server::launch(state, listener, async {
            let _ = rx.await;
        }));
        Server {
            base,
            token,
            shutdown: Some(tx),
            handle,
        }
    }

    async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.handle.await.unwrap().unwrap();
    }

    /// Sends a signed GitHub `deployment_status` delivery of a successful
    /// deployment (the fixture, with this deployment's id, sha and times).
    async fn github_deployment(&self, id: &str, sha_name: &str, started: i64, finished: i64) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../domain/tests/fixtures/github/deployment_status_success.json"
        );
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let d = &mut v["deployment"];
        d["id"] = id.parse::<i64>().unwrap().into();
        d["sha"] = sha(sha_name).into();
        d["environment"] = "production".into();
        d["created_at"] = h(started).to_rfc3339().into();
        d["updated_at"] = h(finished).to_rfc3339().into();
        let s = &mut v["deployment_status"];
        s["state"] = "success".into();
        s["created_at"] = h(finished).to_rfc3339().into();
        s["updated_at"] = h(finished).to_rfc3339().into();
        assert_eq!(v["repository"]["full_name"], REPO);
        let body = serde_json::to_vec(&v).unwrap();
        let reply = reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/webhooks/github", self.base))
            .header("content-type", "application/json")
            .header("x-github-event", "deployment_status")
            .header("x-github-delivery", format!("delivery-{id}"))
            .header(
                "x-hub-signature-256",
                tandem_app::report::send::signature(GH_SECRET.as_bytes(), &body),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(reply.status(), 200, "{}", reply.text().await.unwrap());
    }
}

/// `metrics explain lead-time` and `metrics dora` as JSON, without
/// Tandem's own deployment ids (which differ between databases).
async fn metrics(db: &str) -> (Value, Value) {
    let scope = [
        "--project",
        "pay",
        "--since",
        "2026-03-01",
        "--until",
        "2026-03-08",
        "--format",
        "json",
    ];
    let mut args = vec!["--database", db, "metrics", "explain", "lead-time"];
    args.extend(scope);
    let mut explain = ok(&tandem(&args, &[]).await);
    for d in explain["deployments"].as_array_mut().unwrap() {
        d.as_object_mut().unwrap().remove("id");
    }
    let mut args = vec!["--database", db, "metrics", "dora"];
    args.extend(scope);
    let dora = ok(&tandem(&args, &[]).await);
    (explain, dora)
}

async fn a_recorded_deployment_is_attributed_as_a_github_deployment(engine: EngineKind) {
    // A: recorded by `tandem deploy record` on the local database.
    let a = TestDb::new(engine).await;
    let store_a = a.store().await;
    project(&store_a).await;
    history(&store_a).await;
    for (id, sha_name, started, finished) in DEPLOYMENTS {
        let (sha, started, finished) = (sha(sha_name), h(*started), h(*finished));
        let (started, finished) = (started.to_rfc3339(), finished.to_rfc3339());
        let args = [
            "--database",
            &a.url,
            "deploy",
            "record",
            "--project",
            "pay",
            "--service",
            SERVICE,
            "--env",
            "production",
            "--repo",
            REPO,
            "--sha",
            &sha,
            "--status",
            "success",
            "--started",
            &started,
            "--finished",
            &finished,
            "--id",
            id,
            "--format",
            "json",
        ];
        let first = ok(&tandem(&args, &[]).await);
        assert_eq!(
            (first["repo"].as_str(), first["sha"].as_str()),
            (Some(REPO), Some(sha.as_str()))
        );
        // Idempotent by id: the step run again changes nothing.
        assert_eq!(ok(&tandem(&args, &[]).await), first);
    }

    // B: the same deployments as signed GitHub webhooks to the server.
    let b = TestDb::new(engine).await;
    let store_b = b.store().await;
    project(&store_b).await;
    history(&store_b).await;
    let server = Server::start(&b).await;
    for (id, sha_name, started, finished) in DEPLOYMENTS {
        server
            .github_deployment(id, sha_name, *started, *finished)
            .await;
    }
    server.stop().await;

    let (explain_a, dora_a) = metrics(&a.url).await;
    let (explain_b, dora_b) = metrics(&b.url).await;
    assert_eq!(explain_a, explain_b);
    assert_eq!(dora_a["lead_time"], dora_b["lead_time"]);
    assert_eq!(
        dora_a["deployment_frequency"],
        dora_b["deployment_frequency"]
    );

    // And what they agree on is the graph walk, worked out by hand.
    let name = names(ALL);
    let shipped = |i: usize| -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = explain_a["deployments"][i]["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    name(c["sha"].as_str().unwrap()),
                    c["lead_time_hours"].as_f64().unwrap(),
                )
            })
            .collect();
        v.sort_by(|x, y| x.0.cmp(&y.0));
        v
    };
    let deployments = explain_a["deployments"].as_array().unwrap();
    assert_eq!(deployments.len(), 2, "{explain_a:#}");
    for d in deployments {
        assert_eq!(d["method"], "graph", "{d:#}");
        assert_eq!(d["attribution_path"], "graph walk from the deployed commit");
    }
    // D1, the first deployment, at +10 h: c1 (lead 110 h) and c2 (60 h);
    // c0 is 1010 h old, past the 30-day (720 h) look-back.
    assert_eq!(
        shipped(0),
        [("c1".to_owned(), 110.0), ("c2".to_owned(), 60.0)]
    );
    assert!(
        deployments[0]["notes"][0]
            .as_str()
            .unwrap()
            .starts_with("first deployment of payments to production"),
        "{:#}",
        deployments[0]
    );
    // D2 at +40 h ships m1 ∖ c2: the squash s1 is PR #1's p1 (28 h), p2
    // (26 h); the rebased r1, r2 are PR #2's q1 (19 h), q2 (18 h); the
    // branch b1 (14 h), b2 (13 h) and c3 (12 h); the merge m1 is left out.
    assert_eq!(
        shipped(1),
        [
            ("b1".to_owned(), 14.0),
            ("b2".to_owned(), 13.0),
            ("c3".to_owned(), 12.0),
            ("p1".to_owned(), 28.0),
            ("p2".to_owned(), 26.0),
            ("q1".to_owned(), 19.0),
            ("q2".to_owned(), 18.0),
        ]
    );
    // Nine commits: 110 60 28 26 19 18 14 13 12 → median 19 h.
    assert_eq!(dora_a["lead_time"]["commits"], 9);
    assert_eq!(dora_a["lead_time"]["median_hours"], 19.0);

    // A repository the project does not list is refused, naming the flag;
    // nothing is stored.
    let s = sha("c3");
    let err = failed(
        &tandem(
            &[
                "--database",
                &a.url,
                "deploy",
                "record",
                "--service",
                SERVICE,
                "--env",
                "production",
                "--repo",
                "acme/elsewhere",
                "--sha",
                &s,
                "--id",
                "refused",
            ],
            &[],
        )
        .await,
    );
    assert!(
        err.contains("--repo: project pay does not list the repository \"acme/elsewhere\""),
        "{err}"
    );
    assert_eq!(
        store_a.get_deployment("api", "refused").await.unwrap(),
        None
    );
}

async fn server_mode_needs_no_database(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store).await;
    let server = Server::start(&db).await;
    // A database URL nothing listens on: --server must not open it.
    let no_db = "postgres://nobody@127.0.0.1:9/none";
    let token = [("TANDEM_TOKEN", server.token.as_str())];
    let s = sha("f1");
    let record = [
        "--database",
        no_db,
        "deploy",
        "record",
        "--project",
        "pay",
        "--service",
        SERVICE,
        "--env",
        "production",
        "--repo",
        REPO,
        "--sha",
        &s,
        "--server",
        &server.base,
        "--format",
        "json",
    ];
    let d = ok(&tandem(&record, &token).await);
    // Without --id, the id is SERVICE-ENV-SHA.
    let id = format!("payments-production-{s}");
    assert_eq!(d["external_id"], id.as_str());
    let stored = store.get_deployment("api", &id).await.unwrap().unwrap();
    assert_eq!(
        (stored.repo.as_deref(), stored.sha.as_deref()),
        (Some(REPO), Some(s.as_str()))
    );
    assert!(stored.finished_at.is_some());
    // Idempotent: the same step again changes nothing (its times are kept).
    ok(&tandem(&record, &token).await);
    assert_eq!(
        store.get_deployment("api", &id).await.unwrap().unwrap(),
        stored
    );
    // Not imported yet: explain says it waits for the history.
    let explain = ok(&tandem(
        &[
            "--database",
            &db.url,
            "metrics",
            "explain",
            "deployment-frequency",
            "--project",
            "pay",
            "--since",
            &stored.finished_at.unwrap().date_naive().to_string(),
            "--format",
            "json",
        ],
        &[],
    )
    .await);
    assert_eq!(
        explain["deployments"][0]["attribution_path"],
        "waiting for history"
    );

    // Refusals name the flag and store nothing.
    let refused = [
        "--database",
        no_db,
        "deploy",
        "record",
        "--service",
        SERVICE,
        "--env",
        "production",
        "--repo",
        "acme/elsewhere",
        "--sha",
        &s,
        "--id",
        "refused",
        "--server",
        &server.base,
    ];
    let err = failed(&tandem(&refused, &token).await);
    assert!(err.contains("--repo: project pay does not list"), "{err}");
    assert_eq!(store.get_deployment("api", "refused").await.unwrap(), None);
    let err = failed(&tandem(&refused, &[]).await);
    assert!(err.contains("--token"), "{err}");
    let err = failed(&tandem(&refused, &[("TANDEM_TOKEN", "wrong-token")]).await);
    assert!(
        err.contains("--token: the server refused the token"),
        "{err}"
    );

    // Incidents: open, resolve, resolve again (nothing changes).
    let open = [
        "--database",
        no_db,
        "incident",
        "open",
        "--service",
        SERVICE,
        "--severity",
        "sev1",
        "--id",
        "INC-7",
        "--opened",
        "2026-03-02T10:00:00Z",
        "--caused-by",
        &id,
        "--server",
        &server.base,
        "--format",
        "json",
    ];
    let i = ok(&tandem(&open, &token).await);
    assert!(i["resolved_at"].is_null());
    assert_eq!(ok(&tandem(&open, &token).await), i);
    let resolve = [
        "--database",
        no_db,
        "incident",
        "resolve",
        "INC-7",
        "--resolved",
        "2026-03-02T11:30:00Z",
        "--server",
        &server.base,
        "--format",
        "json",
    ];
    let r = ok(&tandem(&resolve, &token).await);
    assert_eq!(r["resolved_at"], "2026-03-02T11:30:00Z");
    assert_eq!(r["caused_by"], id.as_str());
    let again = [
        "--database",
        no_db,
        "incident",
        "resolve",
        "INC-7",
        "--server",
        &server.base,
        "--format",
        "json",
    ];
    assert_eq!(ok(&tandem(&again, &token).await), r);
    // Opening it again keeps its resolution.
    assert_eq!(ok(&tandem(&open, &token).await), r);
    let err = failed(
        &tandem(
            &[
                "--database",
                no_db,
                "incident",
                "resolve",
                "INC-404",
                "--server",
                &server.base,
            ],
            &token,
        )
        .await,
    );
    assert!(
        err.contains("no incident \"INC-404\" was recorded"),
        "{err}"
    );
    let stored = store.get_incident("api", "INC-7").await.unwrap().unwrap();
    assert_eq!(stored.opened_at, h(10));
    assert_eq!(stored.resolved_at, Some(h(11) + Duration::minutes(30)));
    server.stop().await;
}
