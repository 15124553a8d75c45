//! The README's tour as a test: every command it shows runs, in order,
//! against a real server and database, and a command the README says fails
//! must fail with the message it shows.
//!
//! Marking (an HTML comment on the line right before a ```sh fence; every
//! ```sh block in README.md must carry one, so none escapes unnoticed):
//! - `<!-- tour: demo -->`: run against `tandem serve --demo` on a fresh
//!   SQLite database (one server for all demo blocks, in README order);
//! - `<!-- tour: empty -->`: run against `tandem serve` on an EMPTY
//!   database (its own server, again in order), for a "start from nothing"
//!   section;
//! - `<!-- tour: skip REASON -->`: not run; the reason is printed.
//!
//! Inside a block: lines starting with `#` are comments or example output
//! and are not checked, except `# error: …` right after a command (with
//! its indented `#` continuation lines): that command must fail, and every
//! part of the message between `…` must appear in what it printed. A line
//! ending in `\` or inside an open single quote continues on the next.
//! Each command runs with `bash -o pipefail -c` in a git working tree, with
//! `tandem` on the PATH and `TANDEM_DATABASE__URL` naming the database.
//!
//! Placeholders filled in before a command runs:
//! - `http://127.0.0.1:8080` → the started server's address;
//! - `tdm_…` → the secret the last `tandem token create` printed;
//! - `<id>` → the goal the last `tandem goal new --title …` created;
//! - `<goal-id>` → a demo goal in progress with a deadline;
//! - `<item-key>` → the tracker key of the first open item of the demo's
//!   payments backlog that serves a goal (the demo's keys depend on the day);
//! - `<request-id>` → the request the last `tandem request submit` created;
//! - `<admin-password>` → the first admin's password `serve` printed;
//! - `VAR=…` → a dummy secret (the stand-ins accept any);
//! - `postgres://postgres@127.0.0.1/tandem` → a fresh PostgreSQL database;
//! - `$EDITOR` → a script moving the `[timeline]` deadline to 2027-03-01;
//! - `~/src/payments` → a small git repository made for the tour;
//! - `jira-export.csv` → `tests/fixtures/jira_export.csv`.
//!
//! No internet: `tandem import github` and `import gitlab` get `--api-url`
//! of a local stand-in speaking each API's format (empty lists: the tour
//! checks the commands, `import_*.rs` check the mapping), and the Jira site
//! URL `https://acme.atlassian.net` becomes the stand-in's.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use axum::Json;
use axum::Router;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb};

const README: &str = include_str!("../../../README.md");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Database {
    Demo,
    Empty,
}

#[derive(Debug)]
struct Step {
    /// README line of the command's first line.
    line: usize,
    command: String,
    /// `# error: …` parts the failure must print.
    error: Option<Vec<String>>,
}

#[derive(Debug)]
struct Block {
    line: usize,
    database: Database,
    steps: Vec<Step>,
}

/// The marked blocks to run, and the skipped ones with their reasons.
fn blocks(readme: &str) -> (Vec<Block>, Vec<(usize, String)>) {
    let lines: Vec<&str> = readme.lines().collect();
    let (mut run, mut skipped, mut unmarked) = (Vec::new(), Vec::new(), Vec::new());
    let mut i = 0;
    while i < lines.len() {
        if lines[i].trim_end() != "```sh" {
            i += 1;
            continue;
        }
        let fence = i + 1;
        let marker = i
            .checked_sub(1)
            .map(|m| lines[m].trim())
            .and_then(|m| m.strip_prefix("<!-- tour:"))
            .and_then(|m| m.strip_suffix("-->"))
            .map(str::trim);
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_end() == "```")
            .unwrap_or_else(|| panic!("README.md:{fence}: the ```sh block is not closed"));
        let body = &lines[i + 1..end];
        match marker {
            Some("demo") => run.push(parse(fence + 1, body, Database::Demo)),
            Some("empty") => run.push(parse(fence + 1, body, Database::Empty)),
            Some(m) if m.starts_with("skip ") => skipped.push((fence, m[5..].trim().to_owned())),
            Some(m) => panic!("README.md:{fence}: unknown tour marker {m:?}"),
            None => unmarked.push(fence),
        }
        i = end + 1;
    }
    assert!(
        unmarked.is_empty(),
        "README.md lines {unmarked:?}: a ```sh block needs `<!-- tour: demo -->`, `<!-- tour: empty -->` \
         or `<!-- tour: skip REASON -->` on the line before it"
    );
    (run, skipped)
}

/// The commands of one block; `first` is the README line of `body[0]`.
fn parse(first: usize, body: &[&str], database: Database) -> Block {
    let mut steps: Vec<Step> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        let line = body[i];
        let trimmed = line.trim_start();
        if let Some(message) = trimmed.strip_prefix("# error:") {
            let step = steps.last_mut().unwrap_or_else(|| {
                panic!("README.md:{}: `# error:` follows no command", first + i)
            });
            let mut text = format!("error:{message}");
            while i + 1 < body.len() && body[i + 1].trim_start().starts_with("#  ") {
                i += 1;
                text.push(' ');
                text.push_str(body[i].trim_start().trim_start_matches('#'));
            }
            step.error = Some(
                text.split('…')
                    .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
                    .filter(|p| !p.is_empty())
                    .collect(),
            );
        } else if !trimmed.is_empty() && !trimmed.starts_with('#') {
            let start = i;
            let mut command = line.to_owned();
            while (command.ends_with('\\')
                || without_comments(&command).matches('\'').count() % 2 == 1)
                && i + 1 < body.len()
            {
                i += 1;
                command.push('\n');
                command.push_str(body[i]);
            }
            steps.push(Step {
                line: first + start,
                command: without_comments(&command),
                error: None,
            });
        }
        i += 1;
    }
    Block {
        line: first - 1,
        database,
        steps,
    }
}

/// `command` without its shell comments (a `#` after a blank, outside
/// quotes, to the end of its line), so placeholders in them are not filled.
fn without_comments(command: &str) -> String {
    let (mut out, mut quote, mut skipping, mut previous) = (String::new(), None, false, ' ');
    for c in command.chars() {
        if skipping {
            if c == '\n' {
                skipping = false;
                out.push(c);
            }
            continue;
        }
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if q == c => quote = None,
            (None, '#') if previous.is_whitespace() => {
                skipping = true;
                continue;
            }
            _ => {}
        }
        out.push(c);
        previous = c;
    }
    out.lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A `tandem serve` child on a free port, ended when dropped.
struct Server {
    child: Child,
    base: String,
    admin_password: Option<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(work: &Path, db: &str, demo: bool) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tandem"));
    cmd.current_dir(work)
        .args(["--database", db, "serve", "--listen", "127.0.0.1:0"])
        .env_remove("TANDEM_DATABASE__URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if demo {
        cmd.arg("--demo");
    }
    let mut child = cmd.spawn().expect("start tandem serve");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (mut base, mut admin_password, mut seen) = (None, None, String::new());
    while base.is_none() {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("tandem serve ended before listening:\n{seen}");
        }
        seen.push_str(&line);
        if let Some(rest) = line.split("with password \"").nth(1) {
            admin_password = rest.split('"').next().map(str::to_owned);
        }
        if let Some(rest) = line.strip_prefix("Tandem is listening on ") {
            base = rest.split_whitespace().next().map(str::to_owned);
        }
    }
    // Keep reading so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in out.lines() {});
    Server {
        child,
        base: base.unwrap(),
        admin_password,
    }
}

/// The stand-in for GitHub, GitLab and Jira: each API's shapes, no data.
async fn stand_in() -> String {
    let empty = || async { Json(json!([])) };
    let app = Router::new()
        .route(
            "/rest/api/3/myself",
            get(|| async { Json(fixture("jira_myself.json")) }),
        )
        .route(
            "/rest/api/3/status",
            get(|| async { Json(fixture("jira_status.json")) }),
        )
        .route(
            "/rest/api/3/search/jql",
            post(|| async { Json(json!({"issues": [], "isLast": true})) }),
        )
        .route("/repos/{owner}/{name}/pulls", get(empty))
        .route("/repos/{owner}/{name}/deployments", get(empty))
        .route("/repos/{owner}/{name}/issues", get(empty))
        .route("/api/v4/projects/{id}/merge_requests", get(empty))
        .route("/api/v4/projects/{id}/deployments", get(empty))
        .route("/api/v4/projects/{id}/pipelines", get(empty))
        .route("/api/v4/projects/{id}/issues", get(empty));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

fn fixture(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .envs(git_identity())
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_identity() -> [(&'static str, &'static str); 4] {
    [
        ("GIT_AUTHOR_NAME", "Ada"),
        ("GIT_AUTHOR_EMAIL", "ada@acme.com"),
        ("GIT_COMMITTER_NAME", "Ada"),
        ("GIT_COMMITTER_EMAIL", "ada@acme.com"),
    ]
}

/// One database's run through its blocks.
struct Tour {
    work: PathBuf,
    home: PathBuf,
    bin: PathBuf,
    db: String,
    server: Server,
    stand_in: String,
    postgres: String,
    /// Placeholder → value, filled as the tour goes.
    values: HashMap<&'static str, String>,
}

impl Tour {
    fn fill(&self, command: &str) -> Result<String, String> {
        let mut c = command.replace("http://127.0.0.1:8080", &self.server.base);
        c = c.replace("postgres://postgres@127.0.0.1/tandem", &self.postgres);
        c = c.replace("https://acme.atlassian.net", &self.stand_in);
        c = c.replace(
            "tandem import github",
            &format!("tandem import github --api-url {}", self.stand_in),
        );
        c = c.replace(
            "tandem import gitlab",
            &format!("tandem import gitlab --api-url {}/api/v4", self.stand_in),
        );
        for (placeholder, name) in [
            ("tdm_…", "token"),
            ("<id>", "id"),
            ("<goal-id>", "goal-id"),
            ("<item-key>", "item-key"),
            ("<request-id>", "request-id"),
            ("<admin-password>", "admin-password"),
        ] {
            if c.contains(placeholder) {
                let value = self.values.get(name).ok_or_else(|| {
                    format!(
                        "{placeholder} is used before the tour has one (see the harness header)"
                    )
                })?;
                c = c.replace(placeholder, value);
            }
        }
        Ok(c.replace("=…", "=tour-secret"))
    }

    /// Runs one step; `Err` says what went wrong, with the output.
    fn run(&mut self, step: &Step) -> Result<(), String> {
        let command = self.fill(&step.command)?;
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", &command])
            .current_dir(&self.work)
            .env("PATH", path)
            .env("HOME", &self.home)
            .env("EDITOR", self.bin.join("tour-editor"))
            .env("TANDEM_DATABASE__URL", &self.db)
            .env("TANDEM_NEW_PASSWORD", "a long enough password")
            .env_remove("TANDEM_DATABASE_URL_OVERRIDE")
            .env_remove("JIRA_EMAIL")
            .envs(git_identity())
            .stdin(Stdio::null())
            .output()
            .expect("run bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let shown = || {
            format!(
                "$ {command}\n--- exit {:?}\n{stdout}{stderr}",
                out.status.code()
            )
        };
        match (&step.error, out.status.success()) {
            (None, true) => {}
            (None, false) => return Err(format!("failed:\n{}", shown())),
            (Some(_), true) => {
                return Err(format!(
                    "succeeded, but the README says it fails:\n{}",
                    shown()
                ));
            }
            (Some(parts), false) => {
                let printed = format!("{stdout} {stderr}")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                if let Some(missing) = parts.iter().find(|p| !printed.contains(p.as_str())) {
                    return Err(format!(
                        "failed as the README says, but without {missing:?}:\n{}",
                        shown()
                    ));
                }
            }
        }
        if let Some(secret) = stdout.split("secret (shown once): ").nth(1) {
            let secret = secret.split_whitespace().next().unwrap_or_default();
            self.values.insert("token", secret.to_owned());
        }
        if let Some(rest) = stdout.strip_prefix("created draft goal ") {
            let id = rest.split_whitespace().next().unwrap_or_default();
            self.values.insert("id", id.to_owned());
        }
        if let Some(rest) = stdout.strip_prefix("Request ") {
            let id = rest.split_whitespace().next().unwrap_or_default();
            self.values.insert("request-id", id.to_owned());
        }
        Ok(())
    }
}

/// Sets up the working tree, the server and the placeholders for `database`.
async fn start(root: &Path, database: Database, stand_in: &str) -> Tour {
    let name = match database {
        Database::Demo => "demo",
        Database::Empty => "empty",
    };
    let (work, home, bin) = (
        root.join(name).join("work"),
        root.join(name).join("home"),
        root.join(name).join("bin"),
    );
    for dir in [&work, &home, &bin] {
        std::fs::create_dir_all(dir).unwrap();
    }
    // `tandem` on the PATH, and an editor that moves a goal's deadline.
    let tandem = Path::new(env!("CARGO_BIN_EXE_tandem"));
    std::os::unix::fs::symlink(tandem, bin.join("tandem")).unwrap();
    let editor = bin.join("tour-editor");
    std::fs::write(
        &editor,
        "#!/bin/sh\nsed -i '/^\\[timeline\\]/,/^\\[/ s/^deadline = .*/deadline = 2027-03-01/' \"$1\"\n",
    )
    .unwrap();
    let mut perms = std::fs::metadata(&editor).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&editor, perms).unwrap();

    // The working tree is a git repository (agreements live in git), and
    // ~/src/payments a small one to import.
    git(&work, &["init", "-q"]);
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jira_export.csv"),
        work.join("jira-export.csv"),
    )
    .unwrap();
    let repo = home.join("src/payments");
    std::fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "-b", "main"]);
    for (file, text) in [("README.md", "payments\n"), ("api.rs", "fn main() {}\n")] {
        std::fs::write(repo.join(file), text).unwrap();
        git(&repo, &["add", file]);
        git(&repo, &["commit", "-q", "-m", &format!("Add {file}")]);
    }

    let db = format!("sqlite://{}", root.join(name).join("tandem.db").display());
    let server = serve(&work, &db, database == Database::Demo);
    let postgres = TestDb::new(EngineKind::Postgres).await;
    let mut values = HashMap::new();
    if let Some(p) = &server.admin_password {
        values.insert("admin-password", p.clone());
    }
    if database == Database::Demo {
        values.insert("goal-id", demo_goal(&work, &db));
        values.insert("item-key", demo_item(&work, &db));
    }
    Tour {
        work,
        home,
        bin,
        db,
        server,
        stand_in: stand_in.to_owned(),
        postgres: postgres.url.clone(),
        values,
    }
}

/// A demo goal in progress with a deadline (forecasts need one).
fn demo_goal(work: &Path, db: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(work)
        .args([
            "--database",
            db,
            "goal",
            "list",
            "--status",
            "in_progress",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let goals: Vec<Value> = serde_json::from_slice(&out.stdout).expect("goal list JSON");
    goals
        .iter()
        .find(|g| !g["timeline"]["deadline"].is_null())
        .and_then(|g| g["id"].as_str())
        .expect("the demo has a goal in progress with a deadline")
        .to_owned()
}

/// The first open item of the payments backlog that serves a goal.
fn demo_item(work: &Path, db: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_tandem"))
        .current_dir(work)
        .args([
            "--database",
            db,
            "backlog",
            "--team",
            "payments",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let backlog: Value = serde_json::from_slice(&out.stdout).expect("backlog JSON");
    let entries = backlog["entries"].as_array().expect("backlog entries");
    entries
        .iter()
        .find(|e| !e["goal_id"].is_null())
        .or(entries.first())
        .and_then(|e| e["external_key"].as_str())
        .expect("the demo's payments backlog has an item with a key")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_of_the_readme_tour_runs() {
    let (blocks, skipped) = blocks(README);
    for (line, reason) in &skipped {
        eprintln!("README.md:{line}: not run: {reason}");
    }
    assert!(
        blocks
            .iter()
            .filter(|b| b.database == Database::Demo)
            .count()
            >= 10,
        "the tour's demo blocks were not found"
    );
    let root = tempfile::tempdir().unwrap();
    let stand_in = stand_in().await;
    let mut failures = Vec::new();
    let mut ran = 0;
    for database in [Database::Demo, Database::Empty] {
        let mine: Vec<&Block> = blocks.iter().filter(|b| b.database == database).collect();
        if mine.is_empty() {
            continue;
        }
        let mut tour = start(root.path(), database, &stand_in).await;
        for block in mine {
            for step in &block.steps {
                ran += 1;
                if let Err(why) = tour.run(step) {
                    failures.push(format!(
                        "README.md:{} (block at line {}, {database:?} database): {why}",
                        step.line, block.line
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} README tour commands did not do what the README says:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn tour_blocks_are_parsed_as_written() {
    let readme = "intro\n\n<!-- tour: empty -->\n```sh\ntandem migrate   # the schema's tables\ncurl -d '{\"a\":\n  1}' \\\n  http://x\n# some output\ntandem goal agree <id>\n# error: goal … cannot be agreed: parties.owner;\n#        success_metrics …\n```\n\n<!-- tour: skip needs a browser -->\n```sh\nopen http://x\n```\n";
    let (run, skipped) = blocks(readme);
    assert_eq!(skipped, vec![(16, "needs a browser".to_owned())]);
    assert_eq!(run.len(), 1);
    let steps = &run[0].steps;
    assert_eq!(run[0].database, Database::Empty);
    assert_eq!(steps.len(), 3);
    assert_eq!(steps[0].line, 5);
    assert_eq!(steps[0].command, "tandem migrate");
    assert_eq!(steps[1].command, "curl -d '{\"a\":\n  1}' \\\n  http://x");
    assert_eq!(
        steps[2].error.as_deref(),
        Some(
            &[
                "error: goal".to_owned(),
                "cannot be agreed: parties.owner; success_metrics".to_owned()
            ][..]
        )
    );
}

#[test]
#[should_panic(expected = "needs `<!-- tour: demo -->`")]
fn an_unmarked_block_is_refused() {
    blocks("text\n```sh\ntandem migrate\n```\n");
}
