//! The manager's verbs of the `tandem` binary, end to end on SQLite and
//! PostgreSQL: goal start|complete|drop, risk, decision, kpi, report
//! draft|edit|approve|send, user enable|set-role|set-password. Each family
//! has a refusal that must leave the stored data byte-for-byte as it was
//! (compared through `tandem export`).

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::Value;
use tandem_domain::goal::{Goal, NewGoal, Parties, SuccessMetric, Timeline};
use tandem_domain::metric::Direction;
use tandem_domain::team::Team;
use tandem_store::{EngineKind, Store};
use tandem_testkit::{TestDb, per_engine};
use uuid::Uuid;

per_engine!(
    goal_lifecycle,
    risks_one_by_one,
    decision_log,
    kpi_series_and_points,
    report_draft_approve_send,
    user_administration
);

/// A fresh database with the team `pay` (and `ops`), a directory to run in,
/// and the store for direct checks.
struct World {
    db: TestDb,
    dir: tempfile::TempDir,
    store: Store,
    team: Team,
}

async fn world(engine: EngineKind) -> World {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let now = Utc.with_ymd_and_hms(2026, 9, 1, 0, 0, 0).unwrap();
    let mut team = None;
    for (key, name) in [("pay", "Payments"), ("ops", "Operations")] {
        let t = Team {
            id: Uuid::now_v7(),
            key: key.to_owned(),
            name: name.to_owned(),
            timezone: "UTC".to_owned(),
            created_at: now,
            updated_at: now,
        };
        store.create_team(&t).await.unwrap();
        team.get_or_insert(t);
    }
    World {
        db,
        dir: tempfile::tempdir().unwrap(),
        store,
        team: team.unwrap(),
    }
}

impl World {
    /// Runs `tandem ARGS…` here, with `stdin` as standard input.
    fn run_with(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
        cmd.current_dir(self.dir.path())
            .arg("--database")
            .arg(&self.db.url)
            .args(args)
            .env_remove("TANDEM_DATABASE__URL")
            .env_remove("TANDEM_NEW_PASSWORD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("run tandem");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    fn run(&self, args: &[&str]) -> Output {
        self.run_with(args, "", &[])
    }

    /// The JSON a successful run printed.
    fn json(&self, args: &[&str]) -> Value {
        support::ok(&self.run(args))
    }

    /// The table (text) a successful run printed.
    fn text(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "tandem {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Everything stored, as `tandem export` writes it.
    fn dump(&self) -> Vec<u8> {
        let path = self.dir.path().join("dump.jsonl");
        self.text(&["export", "--output", path.to_str().unwrap()]);
        std::fs::read(path).unwrap()
    }

    /// Runs `args`, which must fail with a message containing every one of
    /// `expected`, and change nothing stored.
    fn refused(&self, args: &[&str], stdin: &str, expected: &[&str]) -> String {
        let before = self.dump();
        let err = support::failed(&self.run_with(args, stdin, &[]));
        for e in expected {
            assert!(err.contains(e), "{args:?}: {e:?} not in {err}");
        }
        assert!(
            before == self.dump(),
            "{args:?} was refused but changed the stored data"
        );
        err
    }
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn agreeable_goal(team: &Team, title: &str) -> Goal {
    NewGoal {
        team_id: team.id,
        project_id: None,
        title: title.to_owned(),
        business_goal: "Fewer refunds".to_owned(),
        technical_tasks: String::new(),
        hypotheses: Vec::new(),
        success_metrics: vec![SuccessMetric {
            metric: "refund rate".to_owned(),
            metric_key: None,
            baseline: Some(4.0),
            target: Some(2.0),
            direction: Direction::Down,
            unit: "%".to_owned(),
            deadline: None,
        }],
        parties: Parties {
            owner: Some("Ana".to_owned()),
            ..Parties::default()
        },
        timeline: Timeline {
            starts_on: None,
            deadline: NaiveDate::from_ymd_opt(2027, 3, 1),
        },
    }
    .into_goal(Uuid::now_v7(), Utc::now())
    .unwrap()
}

async fn goal_lifecycle(engine: EngineKind) {
    let w = world(engine).await;
    let goal = agreeable_goal(&w.team, "Halve refunds");
    w.store.create_goal(&goal).await.unwrap();
    let id = goal.id.to_string();

    // A draft cannot start: refused, nothing stored changes.
    w.refused(
        &["goal", "start", &id],
        "",
        &["cannot be started", "cannot start a goal that is draft"],
    );
    w.text(&["goal", "agree", &id, "--as", "ana"]);
    let started = w.json(&["goal", "start", &id, "--as", "bo", "--format", "json"]);
    assert_eq!(started["status"], "in_progress");
    assert_eq!(started["version"], 2);
    w.refused(&["goal", "start", &id], "", &["is in_progress"]);
    let shown = w.text(&["goal", "complete", &id, "--as", "bo"]);
    assert!(
        shown.contains("completed by bo: now done (version 3)"),
        "{shown}"
    );
    w.refused(
        &["goal", "drop", &id],
        "",
        &["cannot drop a goal that is done"],
    );
    let versions = w.json(&["goal", "show", &id, "--format", "json"])["versions"].clone();
    let actions: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["agree", "start", "complete"]);

    // Drop: any goal not closed; a dropped draft leaves no version.
    let other = agreeable_goal(&w.team, "Maybe later");
    w.store.create_goal(&other).await.unwrap();
    let dropped = w.json(&["goal", "drop", &other.id.to_string(), "--format", "json"]);
    assert_eq!(dropped["status"], "dropped");
    assert_eq!(dropped["version"], 0);
    assert_eq!(
        w.store.get_goal(other.id).await.unwrap().status.to_string(),
        "dropped"
    );

    // Unknown goals are named.
    let missing = Uuid::now_v7().to_string();
    let err = w.refused(&["goal", "complete", &missing], "", &[]);
    assert!(
        err.contains(&format!("no goal has the id {missing}")),
        "{err}"
    );
    w.refused(
        &["goal", "drop", "refunds"],
        "",
        &["\"refunds\" is not a goal id"],
    );
}

async fn risks_one_by_one(engine: EngineKind) {
    let w = world(engine).await;
    let created = w.json(&[
        "risk",
        "create",
        "--team",
        "pay",
        "--title",
        "Card vendor may slip",
        "--likelihood",
        "medium",
        "--impact",
        "high",
        "--plan",
        "Weekly check-in",
        "--schedule-impact-days",
        "10",
        "--format",
        "json",
    ]);
    assert_eq!(created["status"], "open");
    assert_eq!(created["source"], "manual");
    let id = created["id"].as_str().unwrap().to_owned();
    // `tandem risks` (the README's digest of open risks) still lists it.
    let digest = w.text(&["risks", "--team", "pay"]);
    assert!(digest.contains("● Card vendor may slip [medium likelihood, high impact, manual]"));
    assert!(digest.contains("Plan: Weekly check-in"), "{digest}");

    let r = w.json(&[
        "risk",
        "update",
        &id,
        "--status",
        "mitigating",
        "--owner",
        "Ana",
        "--format",
        "json",
    ]);
    assert_eq!(r["status"], "mitigating");
    assert_eq!(r["owner"], "Ana");
    assert_eq!(r["plan"], "Weekly check-in", "parts not given stay");

    // Refusals: a rule broken, nothing to change, an unknown team.
    w.refused(
        &["risk", "update", &id, "--schedule-impact-days", "5000"],
        "",
        &["schedule_impact_days", "outside 0..=3650"],
    );
    w.refused(&["risk", "update", &id], "", &["nothing to change"]);
    w.refused(
        &[
            "risk",
            "create",
            "--team",
            "billing",
            "--title",
            "x",
            "--likelihood",
            "low",
            "--impact",
            "low",
        ],
        "",
        &["--team: no team \"billing\"", "pay", "ops"],
    );
    let out = w.run(&["risk", "update", &id, "--status", "resolved"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("open, mitigating, closed"));

    let closed = w.json(&[
        "risk", "update", &id, "--status", "closed", "--format", "json",
    ]);
    assert!(closed["closed_at"].is_string());
    let stored = w
        .store
        .get_risk(Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.status.to_string(), "closed");
    let open = w.json(&[
        "risk", "list", "--team", "pay", "--status", "open", "--format", "json",
    ]);
    assert_eq!(open, serde_json::json!([]));
    let all = w.json(&["risk", "list", "--format", "json"]);
    assert_eq!(all.as_array().unwrap().len(), 1);
    let shown = w.json(&["risk", "show", &id, "--format", "json"]);
    assert_eq!(shown["risk"]["title"], "Card vendor may slip");
    let table = w.text(&["risk", "show", &id]);
    assert!(table.contains("Card vendor may slip [closed]"), "{table}");
    // The start of an id is enough, as for goals and work items.
    let table = w.text(&["risk", "show", &id[..8]]);
    assert!(table.contains("Card vendor may slip [closed]"), "{table}");
    w.refused(
        &["risk", "show", "zz"],
        "",
        &["is not a risk id or the start of one"],
    );
    w.refused(
        &["risk", "show", &Uuid::now_v7().to_string()],
        "",
        &["no risk has the id"],
    );
}

async fn decision_log(engine: EngineKind) {
    let w = world(engine).await;
    let d = w.json(&[
        "decision",
        "create",
        "--team",
        "pay",
        "--title",
        "Card vendor",
        "--decision",
        "Stay with Acme for 2027",
        "--option",
        "Acme",
        "--option",
        "Globex",
        "--decided-by",
        "ana",
        "--decided-at",
        "2026-11-02",
        "--format",
        "json",
    ]);
    assert_eq!(d["options"], serde_json::json!(["Acme", "Globex"]));
    assert_eq!(d["decided_at"], "2026-11-02T00:00:00Z");
    let id = d["id"].as_str().unwrap().to_owned();

    w.refused(
        &[
            "decision",
            "create",
            "--team",
            "pay",
            "--title",
            " ",
            "--decision",
            "",
        ],
        "",
        &["2 problems", "title", "decision: must not be empty"],
    );
    w.refused(
        &["decision", "list", "--team", "nope"],
        "",
        &["no team \"nope\"; the teams are ", "pay"],
    );

    let list = w.json(&["decision", "list", "--team", "pay", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(
        w.json(&["decision", "list", "--team", "ops", "--format", "json"]),
        serde_json::json!([])
    );
    let shown = w.text(&["decision", "show", &id[..8]]);
    assert!(
        shown.contains("Decision: Stay with Acme for 2027"),
        "{shown}"
    );
    assert!(shown.contains("Option: Globex"), "{shown}");
    let stored = w
        .store
        .get_decision(Uuid::parse_str(&id).unwrap())
        .await
        .unwrap();
    assert_eq!(stored.decided_by.as_deref(), Some("ana"));
}

async fn kpi_series_and_points(engine: EngineKind) {
    let w = world(engine).await;
    let m = w.json(&[
        "kpi",
        "create",
        "--key",
        "refund-rate",
        "--name",
        "Refund rate",
        "--unit",
        "%",
        "--direction",
        "down",
        "--audience",
        "business",
        "--team",
        "pay",
        "--format",
        "json",
    ]);
    assert_eq!(m["team_id"], w.team.id.to_string());
    w.refused(
        &[
            "kpi",
            "create",
            "--key",
            "dora",
            "--name",
            "x",
            "--direction",
            "up",
            "--audience",
            "team",
        ],
        "",
        &["key: \"dora\" is reserved"],
    );
    let m = w.json(&[
        "kpi",
        "update",
        "refund-rate",
        "--name",
        "Refunds",
        "--format",
        "json",
    ]);
    assert_eq!(m["name"], "Refunds");
    assert_eq!(m["unit"], "%");
    w.refused(
        &["kpi", "update", "refunds"],
        "",
        &["no KPI series \"refunds\"; did you mean \"refund-rate\"?"],
    );

    w.text(&[
        "kpi",
        "point",
        "add",
        "refund-rate",
        "--at",
        "2026-11-02",
        "--value",
        "4.5",
    ]);
    std::fs::write(
        w.dir.path().join("good.csv"),
        "date,value\n2026-11-02,4.2\n2026-11-09, 3.9\n2026-11-16T12:00:00Z,-0.5\n",
    )
    .unwrap();
    let imported = w.json(&[
        "kpi",
        "import",
        "refund-rate",
        "good.csv",
        "--format",
        "json",
    ]);
    assert_eq!(imported["written"], 3);

    // A bad file names the line and column, and stores nothing.
    std::fs::write(
        w.dir.path().join("bad.csv"),
        "date,value\n2026-11-23,3.1\n2026-11-30,n/a\n",
    )
    .unwrap();
    w.refused(
        &["kpi", "import", "refund-rate", "bad.csv"],
        "",
        &[
            "bad.csv was not imported; nothing was stored",
            "line 3, column 2 (value): \"n/a\" is not a number",
        ],
    );
    w.refused(
        &["kpi", "import", "refund-rate", "missing.csv"],
        "",
        &["cannot open missing.csv"],
    );
    // Standard input works as a file.
    let out = w.run_with(
        &["kpi", "import", "refund-rate", "-"],
        "2026-12-07,2.5\n",
        &[],
    );
    assert!(support::ok_text(&out).contains("imported 1 points"));

    let shown = w.json(&["kpi", "show", "refund-rate", "--format", "json"]);
    let points: Vec<(String, f64)> = shown["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["at"].as_str().unwrap().to_owned(),
                p["value"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        points,
        [
            ("2026-11-02T00:00:00Z".to_owned(), 4.2),
            ("2026-11-09T00:00:00Z".to_owned(), 3.9),
            ("2026-11-16T12:00:00Z".to_owned(), -0.5),
            ("2026-12-07T00:00:00Z".to_owned(), 2.5),
        ]
    );
    let list = w.json(&["kpi", "list", "--team", "pay", "--format", "json"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let table = w.text(&["kpi", "list", "--audience", "business"]);
    assert!(
        table.contains("refund-rate") && table.contains("lower"),
        "{table}"
    );
    w.refused(
        &["kpi", "show", "refund-rate", "--limit", "0"],
        "",
        &["limit must be between 1 and 10000"],
    );
}

async fn report_draft_approve_send(engine: EngineKind) {
    let w = world(engine).await;
    // A local stand-in for the report webhook: it records what it gets.
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let sink = received.clone();
    let hook = support::serve(axum::Router::new().route(
        "/hook",
        axum::routing::post(move |body: axum::Json<Value>| {
            let sink = sink.clone();
            async move {
                sink.lock().unwrap().push(body.0);
                "ok"
            }
        }),
    ))
    .await;
    std::fs::write(
        w.dir.path().join("tandem.toml"),
        format!(
            "[report]\nmax_attempts = 1\n[report.webhook]\nurl = \"{hook}/hook\"\nsecret = \"a-webhook-secret-for-tests\"\n"
        ),
    )
    .unwrap();
    // A risk so the report has a line to hide.
    let risk = w.json(&[
        "risk",
        "create",
        "--team",
        "pay",
        "--title",
        "Vendor",
        "--likelihood",
        "low",
        "--impact",
        "low",
        "--format",
        "json",
    ]);
    let line = format!("risk:{}", risk["id"].as_str().unwrap());
    let week = "2026-W47";
    let tw = ["--team", "pay", "--week", week];
    let with = |verb: &str, rest: &[&str]| -> Vec<String> {
        let mut v = vec!["report".to_owned(), verb.to_owned()];
        v.extend(tw.iter().map(|s| (*s).to_owned()));
        v.extend(rest.iter().map(|s| (*s).to_owned()));
        v
    };

    let draft = w.text(&args(&with("draft", &[])));
    assert!(
        draft.contains("[no draft yet]") && draft.contains(&format!("[{line}]")),
        "{draft}"
    );
    // Not approved: refused, and no draft is made by asking.
    w.refused(
        &args(&with("send", &[])),
        "",
        &["approve the report of 2026-W47 before sending it"],
    );
    w.refused(
        &args(&with(
            "edit",
            &["--note", "risks=Call on Tuesday", "--hide", "nope"],
        )),
        "",
        &[
            "was not changed",
            "hide[0]: the report has no line \"nope\"",
        ],
    );
    w.refused(&args(&with("edit", &[])), "", &["nothing to change"]);

    let view = w.json(&args(&with(
        "edit",
        &[
            "--note",
            "risks=Call on Tuesday",
            "--hide",
            &line,
            "--format",
            "json",
        ],
    )));
    assert_eq!(view["draft"]["status"], "draft");
    assert_eq!(view["draft"]["edits"]["notes"]["risks"], "Call on Tuesday");
    assert_eq!(view["draft"]["edits"]["hidden"], serde_json::json!([line]));
    let approved = w.json(&args(&with(
        "approve",
        &["--as", "ana", "--format", "json"],
    )));
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["approved_by"], "ana");

    let sent = w.json(&args(&with("send", &["--format", "json"])));
    assert_eq!(sent["archived"], true);
    assert_eq!(sent["outcomes"][0]["channel"], "webhook");
    assert_eq!(sent["outcomes"][0]["result"], "sent");
    {
        let got = received.lock().unwrap();
        assert_eq!(got.len(), 1, "one delivery");
        let text = got[0].to_string();
        assert!(
            text.contains("Call on Tuesday"),
            "the edit was sent: {text:.300}"
        );
    }
    let archive = w.json(&["report", "list", "--team", "pay", "--format", "json"]);
    assert_eq!(archive[0]["week"], week);
    // A sent week is not edited again.
    w.refused(
        &args(&with("edit", &["--note", "done=late"])),
        "",
        &["was sent; it can no longer be edited"],
    );
    w.refused(
        &["report", "approve", "--team", "billing", "--week", week],
        "",
        &["--team: no team \"billing\""],
    );
}

async fn user_administration(engine: EngineKind) {
    let w = world(engine).await;
    let add = |name: &str, role: &str| {
        support::ok_text(&w.run_with(
            &["user", "add", name, "--role", role],
            "",
            &[("TANDEM_NEW_PASSWORD", "the first password")],
        ))
    };
    add("root", "admin");
    add("kim", "member");

    let u = w.json(&["user", "set-role", "kim", "manager", "--format", "json"]);
    assert_eq!(u["role"], "manager");
    w.refused(
        &["user", "set-role", "root", "member"],
        "",
        &["root is the only enabled admin"],
    );
    w.refused(
        &["user", "set-role", "nobody", "admin"],
        "",
        &["user nobody was not found"],
    );
    let u = w.json(&["user", "disable", "kim", "--format", "json"]);
    assert_eq!(u["disabled"], true);
    let u = w.json(&["user", "enable", "kim", "--format", "json"]);
    assert_eq!(u["disabled"], false);

    // The password comes from standard input (or a file), never argv.
    let kim = w
        .store
        .find_user_by_username("kim")
        .await
        .unwrap()
        .unwrap()
        .0;
    let now = Utc::now();
    w.store
        .create_session("kim-session", kim.id, now, now + chrono::Duration::hours(1))
        .await
        .unwrap();
    w.refused(
        &["user", "set-password", "kim"],
        "too short\n",
        &["the password of \"kim\" was not changed", "at least 12"],
    );
    w.refused(&["user", "set-password", "kim"], "", &["no password given"]);
    let out = w.run_with(
        &["user", "set-password", "kim"],
        "a brand new password\n",
        &[],
    );
    assert!(support::ok_text(&out).contains("sessions have ended"));
    let (_, hash) = w.store.find_user_by_username("kim").await.unwrap().unwrap();
    assert!(tandem_app::credentials::verify_password(
        "a brand new password",
        &hash
    ));
    assert_eq!(
        w.store.find_session_user("kim-session", now).await.unwrap(),
        None
    );

    let file = w.dir.path().join("pw");
    std::fs::write(&file, "from a file, long enough\n").unwrap();
    w.json(&[
        "user",
        "set-password",
        "kim",
        "--password-file",
        file.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let (_, hash) = w.store.find_user_by_username("kim").await.unwrap().unwrap();
    assert!(tandem_app::credentials::verify_password(
        "from a file, long enough",
        &hash
    ));
    let out = w.run(&["user", "set-password", "kim", "--password", "x"]);
    assert_eq!(out.status.code(), Some(2), "no password argument exists");

    // Role and password changes are audited (refused ones are not).
    let log = w
        .store
        .list_audit(&tandem_store::ListQuery::default())
        .await
        .unwrap()
        .items;
    let of = |action: &str| -> Vec<(String, String)> {
        log.iter()
            .filter(|e| e.action.to_string() == action)
            .map(|e| (e.subject.clone(), e.detail.clone()))
            .collect()
    };
    assert_eq!(
        of("role_changed"),
        vec![("kim".to_owned(), "role member -> manager".to_owned())]
    );
    assert_eq!(of("password_changed").len(), 2, "{log:?}");
}
