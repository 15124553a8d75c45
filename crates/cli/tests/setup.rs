//! Setting a real organisation up from the command line, without the demo:
//! empty database → team → member → project with a repository and a
//! service → service scope → goal stage → work item; and the refusals,
//! which name what is wrong, exit non-zero and store nothing. Every test
//! runs on SQLite and PostgreSQL.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};

per_engine!(
    from_an_empty_database_to_work_items,
    refusals_change_nothing
);

/// Runs `tandem` in `dir` on `db`.
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

/// Runs a command with `--format json` and parses what it printed.
fn json(dir: &Path, db: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    serde_json::from_str(&ok(&tandem(dir, db, &all))).expect("JSON output")
}

/// The error message of a refused command (a non-zero exit status other
/// than clap's 2 for a usage error).
fn refused(dir: &Path, db: &str, args: &[&str]) -> String {
    let out = tandem(dir, db, args);
    assert!(
        matches!(out.status.code(), Some(c) if c != 0 && c != 2),
        "{args:?} should have been refused: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "a refusal prints no result");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

async fn from_an_empty_database_to_work_items(engine: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(engine).await;
    let (d, db) = (dir.path(), test_db.url.as_str());

    // Reads never create a database: a newcomer runs `migrate` (or `serve`) first.
    ok(&tandem(d, db, &["migrate"]));
    assert_eq!(json(d, db, &["team", "list"]), Value::Array(vec![]));
    let team = json(
        d,
        db,
        &[
            "team",
            "create",
            "--key",
            "payments",
            "--name",
            "Payments",
            "--timezone",
            "Europe/Berlin",
        ],
    );
    assert_eq!(
        (&team["key"], &team["name"], &team["timezone"]),
        (
            &"payments".into(),
            &"Payments".into(),
            &"Europe/Berlin".into()
        )
    );
    let table = ok(&tandem(d, db, &["team", "list"]));
    assert!(
        table.contains("payments") && table.contains("Europe/Berlin"),
        "{table}"
    );

    // A member.
    ok(&tandem(d, db, &["user", "add", "ana", "--role", "member"]));
    let added = json(d, db, &["member", "add", "--team", "payments", "ana"]);
    assert_eq!(added["member"]["username"], "ana");
    let members = json(d, db, &["member", "list", "--team", "payments"]);
    assert_eq!(members.as_array().unwrap().len(), 1);
    assert_eq!(members[0]["username"], "ana");

    // A project with a repository and a service, then one more of each.
    let project = json(
        d,
        db,
        &[
            "project",
            "create",
            "--team",
            "payments",
            "--key",
            "payments-api",
            "--name",
            "Payments API",
            "--repo",
            "acme/mono",
            "--service",
            "api",
        ],
    );
    assert_eq!(project["team_id"], team["id"]);
    assert_eq!(project["repositories"], serde_json::json!(["acme/mono"]));
    ok(&tandem(
        d,
        db,
        &["project", "add-repo", "payments-api", "acme/web"],
    ));
    let project = json(d, db, &["project", "add-service", "payments-api", "worker"]);
    assert_eq!(
        (&project["repositories"], &project["services"]),
        (
            &serde_json::json!(["acme/mono", "acme/web"]),
            &serde_json::json!(["api", "worker"])
        )
    );
    // Adding one it lists changes nothing.
    let again = json(d, db, &["project", "add-service", "payments-api", "worker"]);
    assert_eq!(again["services"], project["services"]);

    // The service's scope in the monorepo.
    let scope = json(
        d,
        db,
        &[
            "project",
            "scope",
            "set",
            "payments-api",
            "--service",
            "api",
            "--repo",
            "acme/mono",
            "--prefix",
            "services/api/",
        ],
    );
    assert_eq!(
        scope,
        serde_json::json!({"service": "api", "repo": "acme/mono", "path_prefixes": ["services/api/"]})
    );
    let shown = json(d, db, &["project", "show", "payments-api"]);
    assert_eq!(shown["scopes"], serde_json::json!([scope]));
    let table = ok(&tandem(
        d,
        db,
        &["project", "scope", "list", "payments-api"],
    ));
    assert!(table.contains("services/api/"), "{table}");
    let listed = json(d, db, &["project", "list", "--team", "payments"]);
    assert_eq!(listed.as_array().unwrap().len(), 1);

    // A goal with two stages.
    let goal = json(
        d,
        db,
        &[
            "goal",
            "new",
            "--team",
            "payments",
            "--title",
            "Fewer refunds",
        ],
    );
    let goal_id = goal["id"].as_str().unwrap();
    let vault = json(
        d,
        db,
        &[
            "stage",
            "create",
            "--goal",
            goal_id,
            "--name",
            "Card vault",
            "--starts",
            "2026-12-07",
            "--ends",
            "2026-12-18",
        ],
    );
    assert_eq!(
        (&vault["position"], &vault["ends_on"]),
        (&1.into(), &"2026-12-18".into())
    );
    let rollout = json(
        d,
        db,
        &["stage", "create", "--goal", goal_id, "--name", "Roll-out"],
    );
    assert_eq!(rollout["position"], 2);
    let vault_id = vault["id"].as_str().unwrap();
    let renamed = json(
        d,
        db,
        &["stage", "update", vault_id, "--name", "Card vault v2"],
    );
    assert_eq!(
        (&renamed["name"], &renamed["starts_on"]),
        (&"Card vault v2".into(), &"2026-12-07".into())
    );
    let stages = json(d, db, &["stage", "list", "--goal", goal_id]);
    let names: Vec<&str> = stages
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Card vault v2", "Roll-out"]);
    assert_eq!(json(d, db, &["stage", "show", vault_id]), renamed);

    // A work item in the project (its team is the project's), the goal and
    // the stage; the matrix sets its priority.
    let item = json(
        d,
        db,
        &[
            "item",
            "create",
            "--project",
            "payments-api",
            "--goal",
            goal_id,
            "--stage",
            vault_id,
            "--title",
            "Refund split payments",
            "--kind",
            "feature",
            "--key",
            "PAY-12",
            "--impact",
            "medium",
            "--complexity",
            "low",
            "--why",
            "Support gets 40 tickets a week",
        ],
    );
    assert_eq!(
        (&item["team_id"], &item["priority"], &item["state"]),
        (&team["id"], &"P1".into(), &"todo".into())
    );
    let set = json(
        d,
        db,
        &[
            "item",
            "set",
            "PAY-12",
            "--state",
            "in_progress",
            "--impact",
            "high",
            "--complexity",
            "low",
            "--kind",
            "bug",
        ],
    );
    assert_eq!(
        (
            &set["state"],
            &set["impact"],
            &set["complexity"],
            &set["kind"]
        ),
        (
            &"in_progress".into(),
            &"high".into(),
            &"low".into(),
            &"bug".into()
        )
    );
    assert!(set["started_at"].is_string(), "starting stamps the time");
    let updated = json(
        d,
        db,
        &[
            "item",
            "update",
            "PAY-12",
            "--title",
            "Refunds of split payments",
            "--expected-impact",
            "Half the tickets",
        ],
    );
    assert_eq!(updated["title"], "Refunds of split payments");
    assert_eq!(
        (
            &updated["context"]["why"],
            &updated["context"]["expected_impact"]
        ),
        (
            &"Support gets 40 tickets a week".into(),
            &"Half the tickets".into()
        )
    );
    let listed = json(
        d,
        db,
        &[
            "item",
            "list",
            "--team",
            "payments",
            "--state",
            "in_progress",
        ],
    );
    assert_eq!(listed, serde_json::json!([updated]));
    assert_eq!(
        json(d, db, &["item", "list", "--state", "done"]),
        Value::Array(vec![])
    );
    let table = ok(&tandem(
        d,
        db,
        &["item", "list", "--project", "payments-api"],
    ));
    assert!(
        table.contains("PAY-12") && table.contains("in_progress"),
        "{table}"
    );
    let shown = ok(&tandem(d, db, &["item", "show", "PAY-12"]));
    assert!(shown.contains("Support gets 40 tickets a week"), "{shown}");

    // Changing and undoing the set-up.
    let renamed = json(
        d,
        db,
        &["team", "update", "payments", "--name", "Payments & Billing"],
    );
    assert_eq!(
        (&renamed["name"], &renamed["timezone"]),
        (&"Payments & Billing".into(), &"Europe/Berlin".into())
    );
    let shown = json(d, db, &["team", "show", "payments"]);
    assert_eq!(shown["members"][0]["username"], "ana");
    assert_eq!(shown["projects"][0]["key"], "payments-api");
    ok(&tandem(
        d,
        db,
        &[
            "project",
            "scope",
            "remove",
            "payments-api",
            "--service",
            "api",
        ],
    ));
    assert_eq!(
        json(d, db, &["project", "scope", "list", "payments-api"]),
        Value::Array(vec![])
    );
    ok(&tandem(
        d,
        db,
        &["member", "remove", "--team", "payments", "ana"],
    ));
    assert_eq!(
        json(d, db, &["member", "list", "--team", "payments"]),
        Value::Array(vec![])
    );
    // Every command explains itself with an example.
    for command in [
        ["team", "create"],
        ["member", "add"],
        ["project", "create"],
        ["project", "add-repo"],
        ["stage", "create"],
        ["item", "set"],
        ["item", "list"],
    ] {
        let help = ok(&tandem(d, db, &[command[0], command[1], "--help"]));
        assert!(
            help.contains("Example:\n  tandem ") && help.contains("--format"),
            "{command:?}: {help}"
        );
    }
    let help = ok(&tandem(d, db, &["project", "scope", "set", "--help"]));
    assert!(
        help.contains("tandem project scope set payments-api --service api --repo acme/mono --prefix services/api/"),
        "{help}"
    );
}

async fn refusals_change_nothing(engine: EngineKind) {
    let dir = tempfile::tempdir().unwrap();
    let test_db = TestDb::new(engine).await;
    let (d, db) = (dir.path(), test_db.url.as_str());
    ok(&tandem(
        d,
        db,
        &["team", "create", "--key", "payments", "--name", "Payments"],
    ));
    ok(&tandem(
        d,
        db,
        &[
            "project",
            "create",
            "--team",
            "payments",
            "--key",
            "pay",
            "--name",
            "Pay",
            "--repo",
            "acme/mono",
            "--service",
            "api",
        ],
    ));
    ok(&tandem(
        d,
        db,
        &[
            "project",
            "scope",
            "set",
            "pay",
            "--service",
            "api",
            "--repo",
            "acme/mono",
        ],
    ));
    ok(&tandem(d, db, &["user", "add", "ana", "--role", "member"]));
    let goal = json(
        d,
        db,
        &["goal", "new", "--team", "payments", "--title", "G"],
    );
    let goal_id = goal["id"].as_str().unwrap().to_owned();
    ok(&tandem(
        d,
        db,
        &[
            "item", "create", "--team", "payments", "--title", "x", "--kind", "bug", "--key",
            "PAY-1",
        ],
    ));
    let export = |name: &str| {
        let path = d.join(name);
        ok(&tandem(
            d,
            db,
            &["export", "--output", path.to_str().unwrap()],
        ));
        std::fs::read(path).unwrap()
    };
    let before = export("before.jsonl");

    // Conflicting keys.
    let e = refused(
        d,
        db,
        &["team", "create", "--key", "payments", "--name", "Again"],
    );
    assert!(
        e.contains("conflict on key") && e.contains("already exists"),
        "{e}"
    );
    let e = refused(
        d,
        db,
        &[
            "project", "create", "--team", "payments", "--key", "pay", "--name", "Again",
        ],
    );
    assert!(
        e.contains("conflict on key") && e.contains("\"pay\""),
        "{e}"
    );
    let e = refused(
        d,
        db,
        &[
            "item", "create", "--team", "payments", "--title", "y", "--kind", "bug", "--key",
            "PAY-1",
        ],
    );
    assert!(e.contains("conflict on external_key"), "{e}");

    // Unknown team, project, service, repository, user: the valid ones named.
    let e = refused(
        d,
        db,
        &[
            "project", "create", "--team", "paymnts", "--key", "p2", "--name", "P2",
        ],
    );
    assert!(
        e.contains("no team \"paymnts\"; did you mean \"payments\"?"),
        "{e}"
    );
    let e = refused(d, db, &["project", "scope", "list", "nope"]);
    assert!(
        e.contains("no project \"nope\"") && e.contains("\"pay\""),
        "{e}"
    );
    let e = refused(
        d,
        db,
        &[
            "project",
            "scope",
            "set",
            "pay",
            "--service",
            "billing",
            "--repo",
            "acme/other",
        ],
    );
    assert!(
        e.contains("service: \"billing\" is not a service of project pay (its services: api)")
            && e.contains("repo: \"acme/other\" is not a repository of project pay (its repositories: acme/mono)"),
        "{e}"
    );
    let e = refused(
        d,
        db,
        &[
            "project",
            "scope",
            "set",
            "pay",
            "--service",
            "api",
            "--repo",
            "acme/mono",
            "--prefix",
            "/abs/",
        ],
    );
    assert!(e.contains("path_prefixes[0]"), "{e}");
    let e = refused(d, db, &["member", "add", "--team", "payments", "bob"]);
    assert!(e.contains("no user is named \"bob\" (users: ana)"), "{e}");
    let e = refused(d, db, &["member", "list", "--team", "search"]);
    assert!(
        e.contains("no team \"search\"") && e.contains("\"payments\""),
        "{e}"
    );
    let e = refused(d, db, &["item", "list", "--project", "nope"]);
    assert!(
        e.contains("no project \"nope\"") && e.contains("\"pay\""),
        "{e}"
    );

    // Removing what is not there.
    let e = refused(d, db, &["member", "remove", "--team", "payments", "ana"]);
    assert!(e.contains("ana is not a member of team payments"), "{e}");
    let e = refused(
        d,
        db,
        &["project", "scope", "remove", "pay", "--service", "web"],
    );
    assert!(e.contains("has no scope (scoped services: api)"), "{e}");

    // A scoped service cannot be dropped; bad values are named.
    let e = refused(d, db, &["project", "update", "pay", "--service", "web"]);
    assert!(
        e.contains("conflict on services") && e.contains("\"api\""),
        "{e}"
    );
    let e = refused(d, db, &["team", "update", "payments", "--timezone", "Mars"]);
    assert!(e.contains("timezone"), "{e}");
    let e = refused(d, db, &["team", "update", "payments"]);
    assert!(e.contains("nothing to change"), "{e}");
    let e = refused(
        d,
        db,
        &[
            "stage",
            "create",
            "--goal",
            "0193f1d2-0000-7000-8000-000000000000",
            "--name",
            "S",
        ],
    );
    assert!(e.contains("goal_id"), "{e}");
    let e = refused(d, db, &["stage", "list", "--goal", "not-a-goal"]);
    assert!(e.contains("--goal: \"not-a-goal\" is not an id"), "{e}");
    let e = refused(
        d,
        db,
        &[
            "stage",
            "create",
            "--goal",
            &goal_id,
            "--name",
            "S",
            "--starts",
            "2026-12-10",
            "--ends",
            "2026-12-01",
        ],
    );
    assert!(e.contains("ends_on"), "{e}");
    let e = refused(d, db, &["item", "set", "PAY-404", "--state", "done"]);
    assert!(
        e.contains("no work item has the key or id \"PAY-404\""),
        "{e}"
    );
    let e = refused(d, db, &["item", "set", "PAY-1"]);
    assert!(e.contains("nothing to set"), "{e}");
    let e = refused(d, db, &["item", "create", "--title", "z", "--kind", "bug"]);
    assert!(e.contains("--team"), "{e}");

    // A value clap knows is wrong is a usage error (exit 2), naming the choices.
    let out = tandem(d, db, &["item", "set", "PAY-1", "--state", "finished"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\"finished\" is not one of"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    assert!(
        export("after.jsonl") == before,
        "a refused command must leave the database as it was"
    );
}
