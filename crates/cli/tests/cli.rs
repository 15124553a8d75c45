//! The `tandem` binary as a user runs it: wrong arguments, data commands,
//! and the export → import-dump round trip across engines.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use tandem_testkit::{EngineKindReexport as EngineKind, TestDb};

/// Runs `tandem` in `dir` (so no stray tandem.toml is read) on `db`.
fn tandem(dir: &Path, db: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(dir)
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .env("TANDEM_NEW_PASSWORD", "a long enough password")
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

fn sqlite(dir: &Path, name: &str) -> String {
    format!("sqlite://{}", dir.join(name).display())
}

fn export(dir: &Path, db: &str, file: &str) -> PathBuf {
    let path = dir.join(file);
    ok(&tandem(
        dir,
        db,
        &["export", "--output", path.to_str().unwrap()],
    ));
    path
}

#[test]
fn wrong_arguments_are_named_and_fail() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    let out = tandem(dir.path(), &db, &["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'frobnicate'"));

    let out = tandem(
        dir.path(),
        &db,
        &["token", "create", "--name", "x", "--role", "root"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("\"root\" is not one of"));

    ok(&tandem(dir.path(), &db, &["migrate"]));
    let err = failed(&tandem(dir.path(), &db, &["goal", "show", "not-a-uuid"]));
    assert!(err.contains("\"not-a-uuid\" is not a goal id"), "{err}");

    let err = failed(&tandem(
        dir.path(),
        &db,
        &["goal", "list", "--status", "finished"],
    ));
    assert!(
        err.contains("--status") && err.contains("\"finished\" is not one of"),
        "{err}"
    );

    let err = failed(&tandem(
        dir.path(),
        &db,
        &["--config", "/nonexistent/tandem.toml", "migrate"],
    ));
    assert!(err.contains("does not exist"), "{err}");

    // Nothing listens on port 1: said at once, not after a pool timeout.
    let out = tandem(
        dir.path(),
        "postgres://nobody@127.0.0.1:1/none",
        &["migrate"],
    );
    let err = failed(&out);
    assert!(
        err.contains("PostgreSQL: connection refused at 127.0.0.1:1"),
        "{err}"
    );
    let err = failed(&tandem(dir.path(), "mysql://u@h/db", &["goal", "list"]));
    assert!(
        err.contains("database.url has the unknown scheme \"mysql\""),
        "{err}"
    );
    assert!(!dir.path().join("mysql:").exists());
}

#[test]
fn reads_never_create_a_database() {
    let dir = tempfile::tempdir().unwrap();
    let bare = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_tandem"))
            .current_dir(dir.path())
            .args(args)
            .env_remove("TANDEM_DATABASE__URL")
            .env_remove("TANDEM_DATABASE_URL_OVERRIDE")
            .output()
            .unwrap()
    };
    for read in [
        &["goal", "list"][..],
        &["user", "list"],
        &[
            "metrics",
            "dora",
            "--team",
            "payments",
            "--since",
            "2026-01-01",
        ],
        &["export"],
    ] {
        let out = bare(read);
        let err = failed(&out);
        assert_eq!(out.status.code(), Some(1), "{read:?}: {err}");
        assert!(
            err.contains("no database at tandem.db; run `tandem migrate` or `tandem serve`"),
            "{read:?}: {err}"
        );
        assert!(
            !dir.path().join("tandem.db").exists(),
            "{read:?} created tandem.db"
        );
    }
    // The same with --database naming a missing file.
    let db = sqlite(dir.path(), "other.db");
    let err = failed(&tandem(dir.path(), &db, &["token", "list"]));
    assert!(err.contains("other.db"), "{err}");
    assert!(!dir.path().join("other.db").exists());
    // Setting up creates it; then reads work.
    ok(&bare(&["migrate"]));
    assert!(dir.path().join("tandem.db").exists());
    ok(&bare(&["goal", "list"]));
}

#[test]
fn configuration_errors_name_the_variable_or_the_file_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(dir.path())
        .args(["--database", &db, "migrate"])
        .env("TANDEM_DATABASE__MAX_CONNECTIONS", "many")
        .output()
        .unwrap();
    let err = failed(&out);
    assert!(
        err.contains("TANDEM_DATABASE__MAX_CONNECTIONS (setting database.max_connections)")
            && err.contains("expected u32"),
        "{err}"
    );
    assert!(!err.contains(".rs"), "a source path leaked: {err}");

    std::fs::write(
        dir.path().join("tandem.toml"),
        "[database]\nmax_connections = \"many\"\n",
    )
    .unwrap();
    let err = failed(&tandem(dir.path(), &db, &["migrate"]));
    assert!(
        err.contains("tandem.toml, key database.max_connections") && err.contains("expected u32"),
        "{err}"
    );
}

tandem_testkit::per_engine!(not_found_suggests_prefixes_resolve_and_exit_codes_differ);

/// Exit codes: 4 not found, 2 usage (and an ambiguous id prefix), 3 conflict.
async fn not_found_suggests_prefixes_resolve_and_exit_codes_differ(engine: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(engine).await;
    let db = test_db.url.as_str();
    ok(&tandem(dir.path(), db, &["demo"]));

    let out = tandem(dir.path(), db, &["goal", "list", "--team", "paymnts"]);
    let err = failed(&out);
    assert_eq!(out.status.code(), Some(4), "{err}");
    assert!(
        err.contains("--team: no team \"paymnts\"; did you mean \"payments\"?"),
        "{err}"
    );
    let out = tandem(
        dir.path(),
        db,
        &[
            "metrics",
            "dora",
            "--project",
            "payments",
            "--since",
            "2026-01-01",
        ],
    );
    let err = failed(&out);
    assert!(
        err.contains("no project \"payments\"; did you mean \"payments-api\"?"),
        "{err}"
    );

    // A goal by the unique start of its id, with or without dashes.
    let goals: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        db,
        &["goal", "list", "--format", "json"],
    )))
    .unwrap();
    let id = goals[0]["id"].as_str().unwrap().to_owned();
    let unique = (8..=id.len())
        .map(|n| &id[..n])
        .find(|p| {
            goals
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["id"].as_str().unwrap().starts_with(p))
                .count()
                == 1
        })
        .unwrap();
    let shown: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        db,
        &["goal", "show", unique, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(shown["goal"]["id"], id.as_str());

    // The demo's ids share their start: an ambiguous prefix lists matches.
    let out = tandem(dir.path(), db, &["goal", "show", &id[..8]]);
    let err = failed(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("starts more than one goal id") && err.contains(&id),
        "{err}"
    );
    let out = tandem(dir.path(), db, &["goal", "show", "ffffffff"]);
    assert_eq!(out.status.code(), Some(4), "{}", failed(&out));
    let out = tandem(dir.path(), db, &["goal", "show", "not-an-id"]);
    assert_eq!(out.status.code(), Some(2), "{}", failed(&out));

    // A work item by key, and by the unique start of its id: the demo's
    // ids share 30 digits (listed as ambiguous); imported ones are UUIDv7,
    // whose counter bits differ before the last four digits.
    let out = tandem(
        dir.path(),
        db,
        &["item", "show", "019000000000700080000000000002"],
    );
    let err = failed(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("starts more than one work item id") && err.contains("…"),
        "{err}"
    );
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jira_export.csv");
    ok(&tandem(
        dir.path(),
        db,
        &[
            "import",
            "jira-csv",
            csv.to_str().unwrap(),
            "--project",
            "checkout",
        ],
    ));
    let item = ok(&tandem(dir.path(), db, &["item", "show", "CHK-11"]));
    let item_id = item
        .lines()
        .find_map(|l| l.strip_prefix("Id: "))
        .unwrap()
        .trim()
        .to_owned();
    let by_prefix = ok(&tandem(
        dir.path(),
        db,
        &["item", "show", &item_id[..item_id.len() - 4]],
    ));
    assert!(by_prefix.starts_with("CHK-11 "), "{by_prefix}");
    let out = tandem(dir.path(), db, &["item", "show", "NOPE-1"]);
    assert_eq!(out.status.code(), Some(4), "{}", failed(&out));

    // A key already taken is a conflict.
    let out = tandem(
        dir.path(),
        db,
        &["user", "add", "maria", "--role", "member"],
    );
    let err = failed(&out);
    assert_eq!(out.status.code(), Some(3), "{err}");
}

#[test]
fn a_closed_pipe_ends_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));
    // `goal list | head`: the reader is gone before the first line (println!),
    // and `export` meets it after filling the pipe (an io::Error).
    for args in [&["goal", "list"][..], &["export"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .current_dir(dir.path())
            .arg("--database")
            .arg(&db)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {err}");
        assert!(err.is_empty(), "{args:?} printed: {err}");
    }
}

#[test]
fn tables_fit_the_terminal_unless_wide() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));
    let list = |extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
            .current_dir(dir.path())
            .args(["--database", &db, "goal", "list"])
            .args(extra)
            .env("COLUMNS", "80")
            .output()
            .unwrap();
        ok(&out)
    };
    let width = |text: &str| text.lines().map(|l| l.chars().count()).max().unwrap();
    let fitted = list(&[]);
    assert!(width(&fitted) <= 80, "{fitted}");
    let wide = list(&["--wide"]);
    assert!(width(&wide) > 80, "{wide}");
    // Ids are never wrapped: each is whole on its line.
    let goals: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["goal", "list", "--format", "json"],
    )))
    .unwrap();
    for g in goals.as_array().unwrap() {
        assert!(fitted.contains(g["id"].as_str().unwrap()), "{fitted}");
    }
}

#[test]
fn server_logs_have_no_colours_when_not_a_terminal() {
    use std::io::{BufRead, BufReader, Read};
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(dir.path())
        .args(["--database", &db, "serve", "--listen", "127.0.0.1:0"])
        .env("TANDEM_LOG__LEVEL", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read the logs up to the "listening" line, then stop the server.
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut logs = String::new();
    while !logs.contains("listening") {
        assert_ne!(
            stderr.read_line(&mut logs).unwrap(),
            0,
            "serve ended early: {logs}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
    stderr.read_to_string(&mut logs).unwrap();
    assert!(
        !logs.contains('\u{1b}'),
        "ANSI escapes in piped logs: {logs:?}"
    );
}

#[test]
fn default_config_and_completions() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    let config = ok(&tandem(dir.path(), &db, &["default-config"]));
    assert!(config.contains("[database]") && config.contains("session_ttl_hours"));
    // The printed example is a working configuration file.
    std::fs::write(dir.path().join("tandem.toml"), &config).unwrap();
    ok(&tandem(dir.path(), &db, &["migrate"]));
    let bash = ok(&tandem(dir.path(), &db, &["completions", "bash"]));
    assert!(bash.contains("tandem"));
}

#[test]
fn goals_users_and_tokens_from_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));
    let err = failed(&tandem(dir.path(), &db, &["demo"]));
    assert!(err.contains("only into an empty database"), "{err}");

    let goals: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["goal", "list", "--team", "payments", "--format", "json"],
    )))
    .unwrap();
    assert!(!goals.as_array().unwrap().is_empty());

    let created: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &[
            "goal",
            "new",
            "--team",
            "payments",
            "--title",
            "Fewer refunds",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let id = created["id"].as_str().unwrap();
    let err = failed(&tandem(dir.path(), &db, &["goal", "agree", id]));
    assert!(
        err.contains("parties.owner") && err.contains("success_metrics"),
        "{err}"
    );
    let shown = ok(&tandem(dir.path(), &db, &["goal", "show", id]));
    assert!(shown.contains("Fewer refunds [draft] v0"), "{shown}");

    ok(&tandem(
        dir.path(),
        &db,
        &["user", "add", "kim", "--role", "member"],
    ));
    let err = failed(&tandem(
        dir.path(),
        &db,
        &["user", "add", "kim", "--role", "member"],
    ));
    assert!(err.contains("already exists"), "{err}");
    ok(&tandem(dir.path(), &db, &["user", "disable", "kim"]));
    let users: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["user", "list", "--format", "json"],
    )))
    .unwrap();
    let kim = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "kim")
        .unwrap();
    assert_eq!(kim["disabled"], true);

    let token: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &[
            "token",
            "create",
            "--name",
            "sheet",
            "--role",
            "stakeholder",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    assert!(token["secret"].as_str().unwrap().starts_with("tdm_"));
    ok(&tandem(
        dir.path(),
        &db,
        &["token", "revoke", token["id"].as_str().unwrap()],
    ));
    let tokens = ok(&tandem(
        dir.path(),
        &db,
        &["token", "list", "--format", "json"],
    ));
    assert!(
        !tokens.contains(token["secret"].as_str().unwrap()),
        "a secret must never be listed"
    );
    assert!(tokens.contains("revoked_at\": \"20"), "{tokens}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_import_round_trip_across_engines() {
    let dir = tempfile::tempdir().unwrap();
    let first = sqlite(dir.path(), "first.db");
    ok(&tandem(dir.path(), &first, &["demo"]));
    ok(&tandem(
        dir.path(),
        &first,
        &["token", "create", "--name", "ci", "--role", "member"],
    ));
    let a = export(dir.path(), &first, "a.jsonl");

    let pg = TestDb::new(EngineKind::Postgres).await;
    ok(&tandem(
        dir.path(),
        &pg.url,
        &["import-dump", a.to_str().unwrap()],
    ));
    let b = export(dir.path(), &pg.url, "b.jsonl");

    let last = sqlite(dir.path(), "last.db");
    ok(&tandem(
        dir.path(),
        &last,
        &["import-dump", b.to_str().unwrap()],
    ));
    let c = export(dir.path(), &last, "c.jsonl");

    let (a, b, c) = (
        std::fs::read(a).unwrap(),
        std::fs::read(b).unwrap(),
        std::fs::read(c).unwrap(),
    );
    assert!(a.len() > 100_000, "the demo dump is substantial");
    assert!(a == b, "SQLite → PostgreSQL changed the data");
    assert!(b == c, "PostgreSQL → SQLite changed the data");
}

#[test]
fn a_bad_dump_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let source = sqlite(dir.path(), "source.db");
    ok(&tandem(dir.path(), &source, &["demo"]));
    let dump = export(dir.path(), &source, "dump.jsonl");

    let target = sqlite(dir.path(), "target.db");
    ok(&tandem(
        dir.path(),
        &target,
        &["user", "add", "kim", "--role", "member"],
    ));
    let before = std::fs::read(export(dir.path(), &target, "before.jsonl")).unwrap();

    // Break one line in the middle: the whole import is refused.
    let text = std::fs::read_to_string(&dump).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[40] = "{\"type\":\"work_item\",\"data\":{\"title\":";
    let broken = dir.path().join("broken.jsonl");
    std::fs::write(&broken, lines.join("\n")).unwrap();
    let err = failed(&tandem(
        dir.path(),
        &target,
        &["import-dump", broken.to_str().unwrap()],
    ));
    assert!(
        err.contains("line 41") && err.contains("database is unchanged"),
        "{err}"
    );

    let err = failed(&tandem(
        dir.path(),
        &target,
        &["import-dump", "/nonexistent.jsonl"],
    ));
    assert!(err.contains("cannot open /nonexistent.jsonl"), "{err}");

    let after = std::fs::read(export(dir.path(), &target, "after.jsonl")).unwrap();
    assert!(
        before == after,
        "a refused import must leave the database as it was"
    );
}

#[test]
fn backlog_and_item_context_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));

    let table = ok(&tandem(dir.path(), &db, &["backlog", "--team", "payments"]));
    assert!(
        table.starts_with("Backlog of Payments (payments): "),
        "{table}"
    );
    assert!(table.contains("Tech debt (target 20 %)"), "{table}");
    assert!(table.contains("matrix: impact"), "{table}");

    let backlog: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["backlog", "--team", "payments", "--format", "json"],
    )))
    .unwrap();
    let entries = backlog["entries"].as_array().unwrap();
    assert!(!entries.is_empty());
    assert_eq!(backlog["open_items"], entries.len());
    let priorities: Vec<&str> = entries
        .iter()
        .map(|e| e["priority"].as_str().unwrap())
        .collect();
    let mut sorted = priorities.clone();
    sorted.sort();
    assert_eq!(priorities, sorted, "P0 first");
    for e in entries {
        assert!(e["priority_rule"].is_string());
        assert!(["todo", "in_progress", "blocked"].contains(&e["state"].as_str().unwrap()));
    }
    assert_eq!(backlog["debt"]["periods"].as_array().unwrap().len(), 6);

    // An item of a goal, by its tracker key.
    let key = entries
        .iter()
        .find(|e| e["goal_id"].is_string())
        .and_then(|e| e["external_key"].as_str())
        .expect("the demo backlog has goal work");
    let shown = ok(&tandem(dir.path(), &db, &["item", "show", key]));
    assert!(shown.starts_with(key), "{shown}");
    for line in [
        "Goal: ",
        "Why: ",
        "Expected impact: ",
        "Current: ",
        "Target: ",
        "Priority: P",
    ] {
        assert!(shown.contains(line), "{line} missing from {shown}");
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["item", "show", key, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["item"]["external_key"], key);
    assert!(json["context"]["goal"]["title"].is_string());
    assert!(!json["context"]["why"].as_str().unwrap().is_empty());
    let by_id = ok(&tandem(
        dir.path(),
        &db,
        &["item", "show", json["item"]["id"].as_str().unwrap()],
    ));
    assert_eq!(by_id, shown);

    let err = failed(&tandem(dir.path(), &db, &["item", "show", "NOPE-1"]));
    assert!(
        err.contains("no work item has the key or id \"NOPE-1\""),
        "{err}"
    );
    let err = failed(&tandem(dir.path(), &db, &["backlog", "--team", "nope"]));
    assert!(err.contains("--team") && err.contains("\"nope\""), "{err}");
    let out = tandem(dir.path(), &db, &["backlog"]);
    assert_eq!(out.status.code(), Some(2), "--team is required");

    // A matrix that is not whole stops the command, naming the cell.
    std::fs::write(
        dir.path().join("bad.toml"),
        "[planning.matrix]\nhigh = { low = \"P0\", medium = \"P1\", high = \"P1\" }\n",
    )
    .unwrap();
    let err = failed(&tandem(
        dir.path(),
        &db,
        &["--config", "bad.toml", "backlog", "--team", "payments"],
    ));
    assert!(
        err.contains("medium.low") && err.contains("planning.matrix"),
        "{err}"
    );
}

#[test]
fn agreements_as_documents_in_git() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));
    let goals: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &[
            "goal",
            "list",
            "--status",
            "in_progress",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let goal = &goals[0];
    let id = goal["id"].as_str().unwrap();
    let version = goal["version"].as_i64().unwrap();
    let deadline = goal["timeline"]["deadline"].as_str().unwrap();
    let show_json = || {
        ok(&tandem(
            dir.path(),
            &db,
            &["goal", "show", id, "--format", "json"],
        ))
    };

    // Export, move the deadline in the file, import: a new version.
    let file = dir.path().join("goal.md");
    ok(&tandem(
        dir.path(),
        &db,
        &["goal", "export", id, "--output", file.to_str().unwrap()],
    ));
    let exported = std::fs::read_to_string(&file).unwrap();
    assert_eq!(
        ok(&tandem(dir.path(), &db, &["goal", "export", id])),
        exported
    );
    let old = dir.path().join("old.md");
    std::fs::write(&old, &exported).unwrap();
    let timeline = format!("deadline = {deadline}\n\n[parties]");
    assert!(exported.contains(&timeline), "{exported}");
    std::fs::write(
        &file,
        exported.replace(&timeline, "deadline = 2027-01-15\n\n[parties]"),
    )
    .unwrap();
    let moved = format!("timeline.deadline: {deadline} → 2027-01-15");
    let out = ok(&tandem(
        dir.path(),
        &db,
        &["goal", "import", file.to_str().unwrap(), "--as", "bo"],
    ));
    assert!(
        out.contains(&format!("is now version {}", version + 1)) && out.contains(&moved),
        "{out}"
    );
    let shown = ok(&tandem(dir.path(), &db, &["goal", "show", id]));
    assert!(shown.contains(&moved) && shown.contains(" bo "), "{shown}");
    let diff = ok(&tandem(dir.path(), &db, &["goal", "diff", id]));
    assert!(
        diff.contains(&format!("version {version} → {}", version + 1)) && diff.contains(&moved),
        "{diff}"
    );

    // The old file is refused and nothing changes.
    let before = show_json();
    let err = failed(&tandem(
        dir.path(),
        &db,
        &["goal", "import", old.to_str().unwrap()],
    ));
    assert!(
        err.contains(&format!(
            "version: the document is version {version}, the stored goal is version {}",
            version + 1
        )) && err.contains("nothing was changed"),
        "{err}"
    );
    assert_eq!(show_json(), before);

    // Without --title, `goal new` prints a template; filled in, it imports
    // as a new draft.
    let template = ok(&tandem(
        dir.path(),
        &db,
        &["goal", "new", "--team", "payments"],
    ));
    assert!(
        template.contains("Which specific metrics are we improving?"),
        "{template}"
    );
    let filled = dir.path().join("new.md");
    std::fs::write(&filled, template.replace("\n# \n", "\n# Fewer refunds\n")).unwrap();
    let out = ok(&tandem(
        dir.path(),
        &db,
        &["goal", "import", filled.to_str().unwrap()],
    ));
    assert!(
        out.starts_with("created draft goal ") && out.contains("(Fewer refunds)"),
        "{out}"
    );
}

#[test]
fn forecast_risks_and_agenda_on_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));
    let goals: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &[
            "goal",
            "list",
            "--team",
            "platform",
            "--status",
            "in_progress",
            "--format",
            "json",
        ],
    )))
    .unwrap();
    let goal = goals
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["title"].as_str().unwrap().contains("latency"))
        .unwrap();
    let id = goal["id"].as_str().unwrap();

    let printed = ok(&tandem(dir.path(), &db, &["forecast", id]));
    for part in [
        "P50",
        "P70",
        "P85",
        "P95",
        "on time",
        "Cut line:",
        "stage: Move the dashboard",
    ] {
        assert!(printed.contains(part), "{part:?} missing from:\n{printed}");
    }
    let json: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["forecast", id, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json["forecast"]["outcome"], "ready");
    // Same data, same answer.
    let again: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["forecast", id, "--format", "json"],
    )))
    .unwrap();
    assert_eq!(json, again);

    let drafts: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["goal", "list", "--status", "draft", "--format", "json"],
    )))
    .unwrap();
    let draft = drafts[0]["id"].as_str().unwrap();
    let err = failed(&tandem(dir.path(), &db, &["forecast", draft]));
    assert!(err.contains("timeline.deadline"), "{err}");

    let risks = ok(&tandem(
        dir.path(),
        &db,
        &["risks", "--check", "--team", "platform"],
    ));
    assert!(
        risks.contains("Deadline at risk") && risks.contains("New realistic ETA"),
        "{risks}"
    );
    // Checking again adds no duplicate.
    let listed: serde_json::Value = serde_json::from_str(&ok(&tandem(
        dir.path(),
        &db,
        &["risks", "--check", "--team", "platform", "--format", "json"],
    )))
    .unwrap();
    let goal_risks = listed
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| {
            r["goal_id"] == goal["id"] && r["stage_id"].is_null() && r["source"] == "forecast"
        })
        .count();
    assert_eq!(goal_risks, 1);

    let agenda = ok(&tandem(dir.path(), &db, &["agenda", "--team", "platform"]));
    assert!(
        agenda.contains("What to postpone") && agenda.contains("postpone"),
        "{agenda}"
    );
}

#[test]
fn weekly_report_on_the_demo() {
    use chrono::Datelike;
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite(dir.path(), "t.db");
    ok(&tandem(dir.path(), &db, &["demo"]));

    let w = (chrono::Utc::now().date_naive() - chrono::Duration::days(7)).iso_week();
    let week = format!("{}-W{:02}", w.year(), w.week());
    let md = ok(&tandem(
        dir.path(),
        &db,
        &["report", "weekly", "--team", "payments", "--week", &week],
    ));
    assert!(
        md.starts_with(&format!("# Payments — week {week} (")),
        "{md}"
    );
    for heading in [
        "## Done",
        "## In progress",
        "## Risks",
        "## Next steps",
        "## Numbers",
    ] {
        assert!(md.contains(heading), "{heading} in {md}");
    }
    assert!(md.contains("Tech debt:"), "{md}");

    let json = ok(&tandem(
        dir.path(),
        &db,
        &["report", "weekly", "--team", "payments", "--format", "json"],
    ));
    let report: serde_json::Value = serde_json::from_str(&json).expect("JSON output");
    assert_eq!(report["sections"].as_array().map(Vec::len), Some(7));

    let out = tandem(
        dir.path(),
        &db,
        &[
            "report", "weekly", "--team", "payments", "--week", "2026-W99",
        ],
    );
    let err = failed(&out);
    assert_eq!(out.status.code(), Some(2));
    assert!(err.contains("--week"), "{err}");
    assert!(err.contains("no ISO week 99"), "{err}");
    let err = failed(&tandem(
        dir.path(),
        &db,
        &["report", "weekly", "--team", "nope"],
    ));
    assert!(err.contains("--team"), "{err}");
}
