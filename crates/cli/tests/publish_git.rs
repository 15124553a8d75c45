//! `tandem publish git --repo` end to end against a local bare remote: the
//! demo's agreements (one commit per goal version, authored by its editor)
//! and decision records are pushed; a second run with nothing new makes no
//! commit; `tandem publish status` names no publisher without `[publish]`.

use std::path::Path;
use std::process::Output;

use tandem_store::EngineKind;
use tandem_testkit::{TestDb, per_engine};

per_engine!(the_demo_is_published_to_a_bare_remote_once);

async fn tandem(db: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .output()
        .await
        .expect("run tandem")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

async fn the_demo_is_published_to_a_bare_remote_once(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    ok(&tandem(&db.url, &["demo"]).await);
    let tmp = tempfile::tempdir().unwrap();
    let remote = tmp.path().join("agreements.git");
    std::fs::create_dir_all(&remote).unwrap();
    git(&remote, &["init", "--quiet", "--bare"]);
    let repo = remote.to_str().unwrap();
    let work = tmp.path().join("work");
    let work = work.to_str().unwrap();

    let first: serde_json::Value = serde_json::from_str(&ok(&tandem(
        &db.url,
        &[
            "publish",
            "git",
            "--repo",
            repo,
            "--work-dir",
            work,
            "--format",
            "json",
        ],
    )
    .await))
    .unwrap();
    let commits = first["commits"].as_array().unwrap().len();
    // One commit per goal version and decision the demo holds.
    let versions = store.goal_version_keys().await.unwrap();
    let decisions = store
        .list_decisions(&tandem_store::ListQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .items;
    assert!(!versions.is_empty() && !decisions.is_empty());
    assert_eq!(
        commits + first["unchanged"].as_u64().unwrap() as usize,
        versions.len() + decisions.len() + store.list_archive(None).await.unwrap().len()
    );
    assert_eq!(
        git(&remote, &["rev-list", "--count", "main"]).trim(),
        commits.to_string()
    );
    // Authors are the versions' editors.
    let authors = git(&remote, &["log", "--format=%an", "main"]);
    for v in &versions {
        let history = store.list_goal_versions(v.0).await.unwrap();
        let entry = history.iter().find(|e| e.version == v.1).unwrap();
        assert!(
            authors.lines().any(|a| a == entry.changed_by),
            "{} among the authors",
            entry.changed_by
        );
    }
    let files = git(&remote, &["ls-tree", "-r", "--name-only", "main"]);
    assert!(files.lines().any(|f| f.starts_with("goals/")), "{files}");
    assert!(
        files.lines().any(|f| f.starts_with("decisions/")),
        "{files}"
    );

    // Again, from a fresh working clone: nothing new, no commit.
    let out = ok(&tandem(
        &db.url,
        &[
            "publish",
            "git",
            "--repo",
            repo,
            "--work-dir",
            &format!("{work}-2"),
        ],
    )
    .await);
    assert!(out.contains(": 0 new commits"), "{out}");
    assert_eq!(
        git(&remote, &["rev-list", "--count", "main"]).trim(),
        commits.to_string()
    );

    let status = ok(&tandem(&db.url, &["publish", "status"]).await);
    assert!(status.contains("no publisher is configured"), "{status}");
}
