//! What the backfill importers' tests share: a local fake API on a free
//! port, and the `tandem` binary run against a database with one token
//! variable set or cleared.

use std::process::Output;

use chrono::{TimeZone, Utc};
use serde_json::Value;
use tandem_domain::project::Project;
use tandem_domain::team::Team;
use tandem_store::Store;
use uuid::Uuid;

/// Serves `app` on a free loopback port; returns its base URL.
#[allow(dead_code)] // each test binary uses a different subset
pub async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// Runs `tandem --database DB ARGS…` with `token_var` set to `token` (or
/// unset), and `clear` removed from the environment.
#[allow(dead_code)] // each test binary uses a different subset
pub async fn tandem(
    db: &str,
    args: &[&str],
    token_var: &str,
    token: Option<&str>,
    clear: &[&str],
) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem"));
    cmd.arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .env_remove(token_var);
    for var in clear {
        cmd.env_remove(var);
    }
    if let Some(t) = token {
        cmd.env(token_var, t);
    }
    cmd.output().await.expect("run tandem")
}

/// The JSON a successful run printed.
#[allow(dead_code)] // each test binary uses a different subset
pub fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

/// What a successful run printed.
#[allow(dead_code)] // each test binary uses a different subset
pub fn ok_text(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The message of a failed run.
#[allow(dead_code)] // each test binary uses a different subset
pub fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "tandem should have failed: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Team `pay-team` and its project `pay` listing `repo`, with the service
/// `payments`.
#[allow(dead_code)] // each test binary uses a different subset
pub async fn project(store: &Store, repo: &str) -> Project {
    let now = Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap();
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
        repositories: vec![repo.to_owned()],
        services: vec!["payments".to_owned()],
        created_at: now,
        updated_at: now,
    };
    store.create_project(&project).await.unwrap();
    project
}
