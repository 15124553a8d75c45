//! `tandem import git` on small real repositories built with the `git`
//! command: merge commits, squash merges, renames, binary files, tags, a
//! second run that imports only new commits, and the errors a user meets;
//! and the store's commit writer the import stores through while it diffs
//! (batches in one transaction). Every test runs on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use chrono::{TimeZone, Utc};
use tandem_domain::git::{Commit, CommitSource, FileChange};
use tandem_domain::project::Project;
use tandem_domain::team::Team;
use tandem_store::Store;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};
use uuid::Uuid;

per_engine!(
    imports_history_like_git_log,
    second_run_imports_only_new_commits,
    errors_are_clear,
    commit_writer_stores_batches_in_one_transaction
);

const REPO: &str = "acme/payments";

/// Runs `tandem` in `dir` on `db`.
fn tandem(dir: &Path, db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(dir)
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .output()
        .expect("run tandem")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).expect("utf-8 output")
}

fn failed(out: &Output) -> String {
    assert!(
        !out.status.success(),
        "expected failure, got: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A git command in `dir` with a fixed identity and clock and no user or
/// system configuration. `when` is seconds after a base instant.
fn git_at(dir: &Path, when: i64, args: &[&str]) -> String {
    let date = format!("{} +0200", 1_780_000_000 + when);
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_NAME", "Grace Hopper")
        .env("GIT_COMMITTER_EMAIL", "grace@example.com")
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn git(dir: &Path, args: &[&str]) -> String {
    git_at(dir, 0, args)
}

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn commit(dir: &Path, when: i64, message: &str) {
    git_at(dir, when, &["add", "-A"]);
    git_at(dir, when, &["commit", "-q", "-m", message]);
}

/// A repository with a merge commit, a squash merge, a rename, a binary
/// file and two tags (one annotated).
fn build_repo(dir: &Path) {
    git(dir, &["init", "-q", "-b", "main"]);
    write(dir, "src/lib.rs", "one\ntwo\nthree\n");
    write(dir, "logo.png", "\u{0}\u{1}\u{2}binary");
    commit(dir, 0, "Initial commit");
    write(dir, "src/lib.rs", "one\n2\nthree\nfour\n");
    commit(dir, 60, "Change lib");
    git(dir, &["tag", "v0.1"]);

    // A feature branch merged with a merge commit.
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(dir, "src/feature.rs", "fn feature() {}\n");
    commit(dir, 120, "Add feature");
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "README.md", "# Payments\n");
    commit(dir, 180, "Add readme");
    git_at(
        dir,
        240,
        &[
            "merge",
            "-q",
            "--no-ff",
            "-m",
            "Merge branch 'feature'",
            "feature",
        ],
    );

    // A branch of two commits squashed into one.
    git(dir, &["checkout", "-q", "-b", "squashed"]);
    write(dir, "src/a.rs", "a\n");
    commit(dir, 300, "Squashed part 1");
    write(dir, "src/a.rs", "a\nb\nc\n");
    commit(dir, 360, "Squashed part 2");
    git(dir, &["checkout", "-q", "main"]);
    git_at(dir, 420, &["merge", "-q", "--squash", "squashed"]);
    git_at(
        dir,
        420,
        &["commit", "-q", "-m", "Squash merge (#7)\n\nBody text."],
    );

    // A rename with a small edit.
    std::fs::rename(dir.join("src/lib.rs"), dir.join("src/core.rs")).unwrap();
    write(dir, "src/core.rs", "one\n2\nthree\nfour\nfive\n");
    commit(dir, 480, "Rename lib to core");
    git_at(dir, 480, &["tag", "-a", "v1.0", "-m", "Release 1.0"]);
}

/// `git log --numstat` of the branch: sha → (parent count, files).
fn git_log(dir: &Path) -> BTreeMap<String, (usize, Vec<FileChange>)> {
    let out = git(dir, &["log", "--numstat", "--format=@%H %P", "--no-color"]);
    let mut commits = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in out.lines() {
        if let Some(header) = line.strip_prefix('@') {
            let mut parts = header.split(' ');
            let sha = parts.next().unwrap().to_owned();
            let parents = parts.filter(|p| !p.is_empty()).count();
            commits.insert(sha.clone(), (parents, Vec::new()));
            current = Some(sha);
        } else if !line.is_empty() {
            let mut parts = line.splitn(3, '\t');
            let adds = parts.next().unwrap();
            let dels = parts.next().unwrap();
            let path = new_path(parts.next().unwrap());
            let files = &mut commits.get_mut(current.as_ref().unwrap()).unwrap().1;
            files.push(FileChange {
                path,
                additions: adds.parse().unwrap_or(0),
                deletions: dels.parse().unwrap_or(0),
            });
        }
    }
    for (_, files) in commits.values_mut() {
        files.sort_by(|a, b| a.path.cmp(&b.path));
    }
    commits
}

/// The new path of a numstat rename: `a => b` or `dir/{a => b}/rest`.
fn new_path(path: &str) -> String {
    if let (Some(open), Some(close)) = (path.find('{'), path.find('}')) {
        let inner = &path[open + 1..close];
        let new = inner.split(" => ").nth(1).unwrap_or(inner);
        let joined = format!("{}{}{}", &path[..open], new, &path[close + 1..]);
        return joined.replace("//", "/");
    }
    match path.split_once(" => ") {
        Some((_, new)) => new.to_owned(),
        None => path.to_owned(),
    }
}

/// A team and a project that lists `repositories`, stored directly.
async fn project(store: &Store, key: &str, repositories: &[&str]) {
    let now = Utc.with_ymd_and_hms(2026, 11, 1, 0, 0, 0).unwrap();
    let team = Team {
        id: Uuid::now_v7(),
        key: format!("team-{key}"),
        name: format!("Team {key}"),
        timezone: "UTC".to_owned(),
        created_at: now,
        updated_at: now,
    };
    store.create_team(&team).await.unwrap();
    store
        .create_project(&Project {
            id: Uuid::now_v7(),
            team_id: team.id,
            key: key.to_owned(),
            name: format!("Project {key}"),
            repositories: repositories.iter().map(|s| s.to_string()).collect(),
            services: vec!["payments-api".to_owned()],
            created_at: now,
            updated_at: now,
        })
        .await
        .unwrap();
}

fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

async fn imports_history_like_git_log(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store, "pay", &[REPO]).await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("payments");
    std::fs::create_dir(&work).unwrap();
    build_repo(&work);
    let expected = git_log(&work);

    let out = ok(&tandem(
        dir.path(),
        &db.url,
        &[
            "import",
            "git",
            work.to_str().unwrap(),
            "--project",
            "pay",
            "--format",
            "json",
        ],
    ));
    let summary = json(&out);
    assert_eq!(summary["repo"], REPO);
    assert_eq!(summary["branch"], "refs/heads/main");
    assert_eq!(summary["head"], git(&work, &["rev-parse", "HEAD"]).trim());
    assert_eq!(summary["commits_seen"], expected.len());
    assert_eq!(summary["commits_new"], expected.len());
    assert_eq!(summary["merges"], 1);
    assert_eq!(summary["tags"], 2);
    assert_eq!(summary["shallow"], false);
    let files: usize = expected.values().map(|(_, f)| f.len()).sum();
    assert_eq!(summary["files"], files);

    // Every commit as git log sees it: parents, files and line counts
    // (renames under the new path, binary files as zero lines, merges with
    // no files).
    assert_eq!(
        store.count_commits(REPO).await.unwrap(),
        expected.len() as i64
    );
    for (sha, (parents, files)) in &expected {
        let c = store.get_commit(REPO, sha).await.unwrap().unwrap();
        assert_eq!(c.parent_count as usize, *parents, "{sha}");
        assert_eq!(c.parents.len(), *parents, "{sha}");
        assert_eq!(&c.files, files, "files of {sha} ({})", c.subject);
        assert_eq!(c.additions, Some(files.iter().map(|f| f.additions).sum()));
        assert_eq!(c.deletions, Some(files.iter().map(|f| f.deletions).sum()));
        assert_eq!(c.source, CommitSource::Git);
        assert_eq!(c.author_name, "Ada Lovelace");
        assert_eq!(c.author_email, "ada@example.com");
        assert_eq!(c.author_offset, 120);
        assert_eq!(c.committer_offset, 120);
    }
    let squash = git(&work, &["rev-parse", "HEAD~1"]);
    let squash = store
        .get_commit(REPO, squash.trim())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(squash.subject, "Squash merge (#7)");
    assert_eq!(squash.parent_count, 1);
    assert_eq!(
        squash.files,
        vec![FileChange {
            path: "src/a.rs".to_owned(),
            additions: 3,
            deletions: 0
        }]
    );
    assert_eq!(
        squash.authored_at,
        Utc.timestamp_opt(1_780_000_420, 0).unwrap()
    );
    let merge = git(&work, &["rev-parse", "HEAD~2"]);
    let merge = store.get_commit(REPO, merge.trim()).await.unwrap().unwrap();
    assert!(merge.is_merge());
    assert_eq!(merge.subject, "Merge branch 'feature'");
    assert_eq!(
        merge.parents,
        vec![
            git(&work, &["rev-parse", "HEAD~3"]).trim().to_owned(),
            git(&work, &["rev-parse", "feature"]).trim().to_owned()
        ]
    );

    // Refs: the branch and both tags (the annotated one peeled to its commit).
    let refs = store.list_refs(REPO).await.unwrap();
    let names: Vec<(&str, &str)> = refs
        .iter()
        .map(|r| (r.name.as_str(), r.sha.as_str()))
        .collect();
    let head = git(&work, &["rev-parse", "HEAD"]);
    let v01 = git(&work, &["rev-parse", "v0.1^{commit}"]);
    assert_eq!(
        names,
        vec![
            ("refs/heads/main", head.trim()),
            ("refs/tags/v0.1", v01.trim()),
            ("refs/tags/v1.0", head.trim()),
        ]
    );
    assert_eq!(
        store
            .import_cursor("git", "acme/payments@refs/heads/main")
            .await
            .unwrap()
            .as_deref(),
        Some(head.trim())
    );

    // The table form says the same in a line.
    let out = ok(&tandem(
        dir.path(),
        &db.url,
        &["import", "git", work.to_str().unwrap(), "--project", "pay"],
    ));
    assert!(
        out.contains("imported acme/payments (refs/heads/main") && out.contains("0 commits read"),
        "{out}"
    );
    store.close().await;
}

async fn second_run_imports_only_new_commits(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    // Two repositories: the directory name picks one.
    project(&store, "pay", &["acme/payments", "acme/payments-worker"]).await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("payments");
    std::fs::create_dir(&work).unwrap();
    build_repo(&work);
    let path = work.to_str().unwrap();
    let run = |branch: Option<&str>| {
        let mut args = vec![
            "import",
            "git",
            path,
            "--project",
            "pay",
            "--format",
            "json",
        ];
        if let Some(b) = branch {
            args.extend(["--branch", b]);
        }
        json(&ok(&tandem(dir.path(), &db.url, &args)))
    };
    let first = run(None);
    // Main has 7 commits (the squashed branch's own two are not on it).
    assert_eq!(first["commits_new"], 7);

    // Nothing new: nothing read.
    let again = run(None);
    assert_eq!(again["commits_seen"], 0);
    assert_eq!(again["commits_new"], 0);

    // Two new commits on main, and a branch with one more of its own.
    write(&work, "src/new.rs", "x\ny\n");
    commit(&work, 600, "New file");
    write(&work, "src/new.rs", "x\n");
    commit(&work, 660, "Trim new file");
    git(&work, &["checkout", "-q", "-b", "topic"]);
    write(&work, "topic.txt", "t\n");
    commit(&work, 720, "Topic work");
    git(&work, &["checkout", "-q", "main"]);

    let next = run(None);
    assert_eq!(next["commits_seen"], 2);
    assert_eq!(next["commits_new"], 2);
    assert_eq!(next["files"], 2);
    assert_eq!(store.count_commits(REPO).await.unwrap(), 9);

    // Another branch: only its own commit is new.
    let topic = run(Some("topic"));
    assert_eq!(topic["branch"], "refs/heads/topic");
    assert_eq!(topic["commits_seen"], 1);
    assert_eq!(topic["commits_new"], 1);
    assert_eq!(store.count_commits(REPO).await.unwrap(), 10);
    assert_eq!(
        store.count_commits("acme/payments-worker").await.unwrap(),
        0
    );
    store.close().await;
}

async fn errors_are_clear(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    project(&store, "pay", &[REPO, "acme/other"]).await;
    project(&store, "empty", &[]).await;
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("payments");
    std::fs::create_dir(&work).unwrap();
    build_repo(&work);
    let path = work.to_str().unwrap();
    let import = |args: &[&str]| {
        let mut all = vec!["import", "git"];
        all.extend_from_slice(args);
        tandem(dir.path(), &db.url, &all)
    };

    let plain = dir.path().join("plain");
    std::fs::create_dir(&plain).unwrap();
    let err = failed(&import(&[
        plain.to_str().unwrap(),
        "--project",
        "pay",
        "--repo",
        REPO,
    ]));
    assert!(err.contains("is not a git repository"), "{err}");
    let err = failed(&import(&[
        "/no/such/dir",
        "--project",
        "pay",
        "--repo",
        REPO,
    ]));
    assert!(err.contains("the path does not exist"), "{err}");

    let err = failed(&import(&[path, "--project", "pay", "--branch", "nope"]));
    assert!(
        err.contains("no branch \"nope\"") && err.contains("main") && err.contains("squashed"),
        "{err}"
    );

    let err = failed(&import(&[path, "--project", "nope"]));
    assert!(
        err.contains("--project: no project \"nope\"; the projects are \"pay\""),
        "{err}"
    );
    let err = failed(&import(&[path, "--project", "pay", "--repo", "acme/x"]));
    assert!(
        err.contains("--repo") && err.contains("acme/payments, acme/other"),
        "{err}"
    );
    let err = failed(&import(&[path, "--project", "empty"]));
    assert!(err.contains("lists no repositories"), "{err}");
    let other = dir.path().join("elsewhere");
    std::fs::create_dir(&other).unwrap();
    git(&other, &["init", "-q", "-b", "main"]);
    let err = failed(&import(&[other.to_str().unwrap(), "--project", "pay"]));
    assert!(err.contains("name it with --repo"), "{err}");
    let err = failed(&import(&[
        other.to_str().unwrap(),
        "--project",
        "pay",
        "--repo",
        "acme/other",
    ]));
    assert!(err.contains("no commits yet"), "{err}");
    assert_eq!(store.count_commits(REPO).await.unwrap(), 0);

    // A shallow clone imports what it has and warns.
    let shallow = dir.path().join("shallow");
    git(
        dir.path(),
        &[
            "clone",
            "-q",
            "--depth",
            "2",
            &format!("file://{path}"),
            shallow.to_str().unwrap(),
        ],
    );
    let out = import(&[
        shallow.to_str().unwrap(),
        "--project",
        "pay",
        "--repo",
        REPO,
        "--format",
        "json",
    ]);
    let summary = json(&ok(&out));
    assert_eq!(summary["shallow"], true);
    assert_eq!(summary["commits_seen"], 2);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("shallow clone"),
        "{stderr}"
    );
    store.close().await;
}

/// A commit from git with one file; `n` makes the sha.
fn git_commit(n: u32, parent: Option<u32>) -> Commit {
    let at = Utc
        .timestamp_opt(1_780_000_000 + i64::from(n) * 60, 0)
        .unwrap();
    Commit {
        repo: REPO.to_owned(),
        sha: format!("{n:040x}"),
        author_name: "Ada Lovelace".to_owned(),
        author_email: "ada@example.com".to_owned(),
        authored_at: at,
        author_offset: 0,
        committed_at: at,
        committer_offset: 0,
        subject: format!("Change {n}"),
        parent_count: i32::from(parent.is_some()),
        parents: parent.map(|p| format!("{p:040x}")).into_iter().collect(),
        additions: Some(2),
        deletions: Some(1),
        files: vec![FileChange {
            path: format!("src/{n}.rs"),
            additions: 2,
            deletions: 1,
        }],
        source: CommitSource::Git,
    }
}

/// The import writes batch after batch into one transaction: nothing is
/// visible before `finish`, a later batch sees the earlier ones (a replay
/// is not new), a bad commit names its index in the batch, and a writer
/// dropped before `finish` stores nothing.
async fn commit_writer_stores_batches_in_one_transaction(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let other = db.store().await;

    let mut writer = store.commit_writer().await.unwrap();
    let first = writer
        .write(&[git_commit(2, Some(1)), git_commit(1, None)])
        .await
        .unwrap();
    assert_eq!(first, vec![format!("{:040x}", 2), format!("{:040x}", 1)]);
    assert_eq!(other.count_commits(REPO).await.unwrap(), 0);
    let second = writer
        .write(&[git_commit(3, Some(2)), git_commit(2, Some(1))])
        .await
        .unwrap();
    assert_eq!(second, vec![format!("{:040x}", 3)]);
    let mut bad = git_commit(4, Some(3));
    bad.sha = "not-a-sha".to_owned();
    let err = writer
        .write(&[git_commit(5, Some(4)), bad])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("commits[1].sha"), "{err}");
    assert_eq!(other.count_commits(REPO).await.unwrap(), 0);
    writer.finish().await.unwrap();
    assert_eq!(other.count_commits(REPO).await.unwrap(), 3);
    let c = other
        .get_commit(REPO, &format!("{:040x}", 3))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(c.parents, vec![format!("{:040x}", 2)]);
    assert_eq!(c.files.len(), 1);

    // Dropped before finishing: rolled back.
    let mut writer = store.commit_writer().await.unwrap();
    assert_eq!(
        writer.write(&[git_commit(6, Some(3))]).await.unwrap().len(),
        1
    );
    drop(writer);
    assert_eq!(other.count_commits(REPO).await.unwrap(), 3);
    // The connection is usable again and upserts work as before.
    assert_eq!(
        store
            .upsert_commits(&[git_commit(6, Some(3))])
            .await
            .unwrap(),
        vec![format!("{:040x}", 6)]
    );
    assert_eq!(other.count_commits(REPO).await.unwrap(), 4);
    other.close().await;
    store.close().await;
}
