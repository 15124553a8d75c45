//! `tandem-outages`: crash and outage drills against real `tandem serve`
//! processes (issue 18; the promises and the recorded results are in
//! docs/reliability.md; `scripts/outages.sh` runs them). Each drill fails
//! (exit 1, saying what broke) when a promise does not hold, and prints a
//! Markdown line of what it saw.
//!
//! - `kill9`: signed GitHub deliveries from 16 connections while the server
//!   is killed with SIGKILL and started again, `--rounds` times per engine;
//!   then every delivery not acknowledged is sent again (as GitHub's
//!   redelivery would). Every acknowledged delivery is stored exactly once
//!   (one raw delivery, its pull request), and so is everything in the end.
//! - `pg-restart`: a private PostgreSQL cluster (initdb + pg_ctl in a
//!   temporary directory on a free port, run as `postgres` when root)
//!   stopped (`-m immediate`, as a crash) for `--outage-seconds` under load,
//!   then started again. Requests during the outage get 503 (counted; a
//!   request left without an answer for 60 s counts as a hang), the same
//!   server answers again without a restart, nothing acknowledged is lost.
//! - `report-outage`: the SMTP sink and the Slack stand-in (both in this
//!   process) refuse connections when the weekly report falls due and for
//!   `--outage-seconds`; after they are back, each team's report arrives
//!   exactly once on each channel.
//! - `two-replicas`: two `tandem serve` processes on one PostgreSQL
//!   database for `--minutes`, with every scheduled job on: report drafts
//!   and sends, risk checks, attribution, retention, a health check every
//!   5 s. Each report is sent once, each check slot run once, no risk
//!   opened twice, nothing left unattributed, old deliveries pruned.
//! - `disk-full`: SQLite on a small tmpfs (needs root) filled up under
//!   deliveries: writes get a clear 503, the server recovers when space is
//!   back; then the tmpfs remounted read-only (Linux refuses that while
//!   the server holds the file open for writing, so the server is stopped
//!   first) and `serve` started on it: it reads, and writes get a clear 503.
//!   `PRAGMA integrity_check` is `ok` after each.
//!
//! Durations here are observations printed with the results, never
//! assertions, except the hang limit (an answer that never comes).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use clap::{Parser, Subcommand};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_bench::{Engines, process};
use tandem_store::EngineKind;
use tandem_testkit::TestDb;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

#[derive(Debug, Parser)]
#[command(
    name = "tandem-outages",
    about = "Crash and outage drills against real tandem serve processes (docs/reliability.md)."
)]
struct Args {
    /// The tandem binary to drive (a debug build is fine).
    #[arg(long, value_name = "PATH", default_value = "target/debug/tandem")]
    tandem: PathBuf,
    #[command(subcommand)]
    drill: Drill,
}

#[derive(Debug, Subcommand)]
enum Drill {
    /// SIGKILL of `tandem serve` under signed webhook load.
    Kill9 {
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        #[command(flatten)]
        engines: Engines,
    },
    /// A private PostgreSQL stopped and started again under load.
    PgRestart {
        #[arg(long, default_value_t = 15)]
        outage_seconds: u64,
    },
    /// SMTP and Slack down while the weekly report is due.
    ReportOutage {
        #[arg(long, default_value_t = 600)]
        outage_seconds: u64,
        #[command(flatten)]
        engines: Engines,
    },
    /// Two serve processes on one PostgreSQL database, every job on.
    TwoReplicas {
        #[arg(long, default_value_t = 6)]
        minutes: u64,
    },
    /// SQLite on a full, then read-only, file system.
    DiskFull,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.tandem.is_file(),
        "{} does not exist; build it first: cargo build -p tandem",
        args.tandem.display()
    );
    let t = &args.tandem;
    match &args.drill {
        Drill::Kill9 { rounds, engines } => {
            for e in engines {
                kill9(t, e.kind(), *rounds).await?;
            }
        }
        Drill::PgRestart { outage_seconds } => pg_restart(t, *outage_seconds).await?,
        Drill::ReportOutage {
            outage_seconds,
            engines,
        } => {
            for e in engines {
                report_outage(t, e.kind(), *outage_seconds).await?;
            }
        }
        Drill::TwoReplicas { minutes } => two_replicas(t, *minutes).await?,
        Drill::DiskFull => disk_full(t).await?,
    }
    Ok(())
}

// ---- deliveries ---------------------------------------------------------------

const SECRET: &str = "outage-drill-webhook-secret-0123";
const REPO: &str = "acme/payments";
/// An answer that takes longer than this counts as a hang.
const HANG: Duration = Duration::from_secs(60);

/// Signed `pull_request` deliveries, each opening pull request `n` of
/// [`REPO`] under its own delivery id.
struct Deliveries {
    template: Value,
    run: String,
    pad: usize,
}

impl Deliveries {
    fn new(pad: usize) -> anyhow::Result<Deliveries> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../domain/tests/fixtures/github/pull_request_opened.json"
        );
        let template: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
        Ok(Deliveries {
            template,
            run: uuid::Uuid::now_v7().simple().to_string(),
            pad,
        })
    }

    fn id(&self, n: usize) -> String {
        format!("drill-{}-{n}", self.run)
    }

    /// The body and signature of delivery `n` (pull request `n`; `pad`
    /// bytes of body text make it larger).
    fn body(&self, n: usize) -> (Vec<u8>, String) {
        let mut p = self.template.clone();
        p["number"] = json!(n);
        p["pull_request"]["number"] = json!(n);
        p["pull_request"]["id"] = json!(5_000_000 + n);
        p["pull_request"]["head"]["sha"] = json!(format!("{:040x}", n as u128 * 7919 + 1));
        p["repository"]["full_name"] = json!(REPO);
        if self.pad > 0 {
            // A field no mapper reads: the raw delivery grows, nothing else.
            p["drill_padding"] = json!("x".repeat(self.pad));
        }
        let body = serde_json::to_vec(&p).expect("JSON");
        let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
        mac.update(&body);
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        (body, sig)
    }
}

/// What one delivery got.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[allow(clippy::enum_variant_names)] // `NoAnswer` reads better than `None`
enum Answer {
    /// 200 `applied` or `duplicate`: acknowledged.
    Acked,
    Status(u16),
    /// No answer: connection refused or reset.
    NoAnswer,
    /// No answer within [`HANG`].
    Hang,
}

async fn send(
    client: &reqwest::Client,
    base: &str,
    d: &Deliveries,
    n: usize,
) -> (Answer, Duration) {
    let (body, sig) = d.body(n);
    let started = Instant::now();
    let resp = client
        .post(format!("{base}/webhooks/github"))
        .header("content-type", "application/json")
        .header("x-github-event", "pull_request")
        .header("x-github-delivery", d.id(n))
        .header("x-hub-signature-256", sig)
        .body(body)
        .timeout(HANG)
        .send()
        .await;
    let answer = match resp {
        Ok(r) if r.status() == reqwest::StatusCode::OK => {
            let v: Value = r.json().await.unwrap_or(Value::Null);
            match v["status"].as_str() {
                Some("applied" | "duplicate") => Answer::Acked,
                _ => Answer::Status(200),
            }
        }
        Ok(r) => Answer::Status(r.status().as_u16()),
        Err(e) if e.is_timeout() => Answer::Hang,
        Err(_) => Answer::NoAnswer,
    };
    (answer, started.elapsed())
}

/// Deliveries sent from `clients` tasks until stopped; every answer kept.
/// One delivery's client, answer, start and duration.
type Sent = (usize, Answer, Instant, Duration);

struct Load {
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Vec<Sent>>>,
}

impl Load {
    fn start(
        client: &reqwest::Client,
        base: &str,
        d: &Arc<Deliveries>,
        next: &Arc<AtomicUsize>,
        clients: usize,
    ) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..clients)
            .map(|_| {
                let (client, base, d, next, stop) = (
                    client.clone(),
                    base.to_owned(),
                    d.clone(),
                    next.clone(),
                    stop.clone(),
                );
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    while !stop.load(Ordering::Relaxed) {
                        let n = next.fetch_add(1, Ordering::Relaxed);
                        let at = Instant::now();
                        let (a, took) = send(&client, &base, &d, n).await;
                        let failed = a != Answer::Acked;
                        out.push((n, a, at, took));
                        if failed {
                            // A refused connection answers at once: do not spin.
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    out
                })
            })
            .collect();
        Load { stop, tasks }
    }

    async fn finish(self) -> anyhow::Result<Vec<(usize, Answer, Instant, Duration)>> {
        self.stop.store(true, Ordering::Relaxed);
        let mut all = Vec::new();
        for t in self.tasks {
            all.extend(t.await?);
        }
        Ok(all)
    }
}

// ---- servers and databases ----------------------------------------------------

struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    async fn start(
        tandem: &Path,
        url: &str,
        port: u16,
        log: &Path,
        env: &[(&str, &str)],
        extra_args: &[&str],
    ) -> anyhow::Result<Server> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut base_env: Vec<(&str, &str)> = vec![
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            ("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS", "0"),
            ("TANDEM_LOG__LEVEL", "warn"),
        ];
        base_env.extend_from_slice(env);
        let mut child = Command::new(tandem)
            .arg("--database")
            .arg(url)
            .args(["serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra_args)
            .envs(base_env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", tandem.display()))?;
        let probe = client();
        process::wait_ready(&probe, port, &mut child, log, Instant::now()).await?;
        Ok(Server {
            child,
            port,
            log: log.to_owned(),
        })
    }

    async fn kill9(&mut self) -> anyhow::Result<()> {
        self.child.start_kill()?; // SIGKILL
        self.child.wait().await?;
        Ok(())
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(32)
        .build()
        .expect("HTTP client")
}

fn log_file(drill: &str, what: &str) -> anyhow::Result<PathBuf> {
    let log = std::env::temp_dir().join(format!(
        "tandem-outages-{drill}-{what}-{}.log",
        std::process::id()
    ));
    std::fs::write(&log, b"")?;
    Ok(log)
}

/// Migrates, creates an admin token, and (once a server runs) the team and
/// project the deliveries belong to, with its GitHub webhook secret.
async fn token(tandem: &Path, url: &str) -> anyhow::Result<String> {
    process::tandem_cli(tandem, url, &["migrate"], None).await?;
    process::create_token(tandem, url, "admin").await
}

async fn provision(tandem: &Path, url: &str, base: &str, token: &str) -> anyhow::Result<()> {
    let c = client();
    let team: Value = c
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(token)
        .json(&json!({"key": "drill", "name": "Drill"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    c.post(format!("{base}/api/v1/projects"))
        .bearer_auth(token)
        .json(
            &json!({"team_id": team["id"], "key": "payments", "name": "Payments",
                      "repositories": [REPO], "services": ["payments"]}),
        )
        .send()
        .await?
        .error_for_status()?;
    process::tandem_cli(
        tandem,
        url,
        &[
            "webhook-secret",
            "set",
            "--project",
            "payments",
            "--provider",
            "github",
        ],
        Some(SECRET),
    )
    .await?;
    Ok(())
}

/// Rows of a one-column text or integer query, on either engine.
async fn column(url: &str, sql: &str) -> anyhow::Result<Vec<String>> {
    if url.starts_with("sqlite:") {
        let opts: sqlx::sqlite::SqliteConnectOptions = url.parse()?;
        let pool = sqlx::SqlitePool::connect_with(opts.read_only(true)).await?;
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&pool)
            .await?;
        pool.close().await;
        Ok(rows.into_iter().map(|r| r.0).collect())
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        let rows: Vec<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql.to_owned()))
            .fetch_all(&pool)
            .await?;
        pool.close().await;
        Ok(rows.into_iter().map(|r| r.0).collect())
    }
}

/// Every delivery of this run stored exactly once, each with its pull
/// request; `acked` among them. Returns the number stored.
async fn verify_stored(url: &str, d: &Deliveries, acked: &[usize]) -> anyhow::Result<usize> {
    let ids = column(
        url,
        &format!(
            "SELECT delivery_id FROM deliveries WHERE delivery_id LIKE 'drill-{}-%'",
            d.run
        ),
    )
    .await?;
    let mut count: HashMap<String, usize> = HashMap::new();
    for id in ids {
        *count.entry(id).or_default() += 1;
    }
    let dup: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
    ensure!(dup.is_empty(), "deliveries stored more than once: {dup:?}");
    let prs: std::collections::HashSet<String> = column(
        url,
        &format!("SELECT CAST(number AS TEXT) FROM pull_requests WHERE repo = '{REPO}'"),
    )
    .await?
    .into_iter()
    .collect();
    let mut lost = Vec::new();
    for n in acked {
        if !count.contains_key(&d.id(*n)) || !prs.contains(&n.to_string()) {
            lost.push(*n);
        }
    }
    ensure!(
        lost.is_empty(),
        "{} acknowledged deliveries lost (first: {:?})",
        lost.len(),
        &lost[..lost.len().min(10)]
    );
    Ok(count.len())
}

/// Sends every delivery in `numbers` again until each is acknowledged
/// (GitHub's redelivery); answers are `applied` for the ones never stored,
/// `duplicate` for the ones stored but not acknowledged.
async fn redeliver(base: &str, d: &Deliveries, numbers: &[usize]) -> anyhow::Result<()> {
    let c = client();
    for n in numbers {
        let (a, _) = send(&c, base, d, *n).await;
        ensure!(a == Answer::Acked, "redelivery of {n}: {a:?}");
    }
    Ok(())
}

async fn integrity(url: &str) -> anyhow::Result<String> {
    Ok(column(url, "PRAGMA integrity_check").await?.join(", "))
}

// ---- kill -9 ------------------------------------------------------------------

async fn kill9(tandem: &Path, engine: EngineKind, rounds: usize) -> anyhow::Result<()> {
    let db = TestDb::new(engine).await;
    let token = token(tandem, &db.url).await?;
    let log = log_file("kill9", engine.as_str())?;
    let port = process::free_port()?;
    let mut server = Server::start(tandem, &db.url, port, &log, &[], &[]).await?;
    provision(tandem, &db.url, &server.base(), &token).await?;
    let d = Arc::new(Deliveries::new(0)?);
    let next = Arc::new(AtomicUsize::new(1));
    let c = client();
    let mut answers: Vec<(usize, Answer)> = Vec::new();
    let started = Instant::now();
    for round in 0..rounds {
        let load = Load::start(&c, &server.base(), &d, &next, 16);
        // 0.3–1.5 s of load, different each round (no clock-seeded randomness).
        let wait = 300 + (round as u64 * 577) % 1200;
        tokio::time::sleep(Duration::from_millis(wait)).await;
        server.kill9().await?;
        answers.extend(load.finish().await?.into_iter().map(|(n, a, _, _)| (n, a)));
        server = Server::start(tandem, &db.url, port, &log, &[], &[]).await?;
    }
    let acked: Vec<usize> = answers
        .iter()
        .filter(|(_, a)| *a == Answer::Acked)
        .map(|(n, _)| *n)
        .collect();
    let not_acked: Vec<usize> = answers
        .iter()
        .filter(|(_, a)| *a != Answer::Acked)
        .map(|(n, _)| *n)
        .collect();
    // Before any redelivery: every acknowledged one is there, once.
    let stored_before = verify_stored(&db.url, &d, &acked).await?;
    redeliver(&server.base(), &d, &not_acked).await?;
    // A sample of the acknowledged ones again: duplicates, nothing applied twice.
    let sample: Vec<usize> = acked.iter().step_by(50).copied().collect();
    redeliver(&server.base(), &d, &sample).await?;
    let all: Vec<usize> = answers.iter().map(|(n, _)| *n).collect();
    let stored = verify_stored(&db.url, &d, &all).await?;
    ensure!(stored == all.len(), "{stored} stored, {} sent", all.len());
    process::terminate(&mut server.child).await?;
    let check = if engine == EngineKind::Sqlite {
        integrity(&db.url).await?
    } else {
        "n/a".into()
    };
    ensure!(check == "ok" || check == "n/a", "integrity_check: {check}");
    println!(
        "| kill -9 | {} | {rounds} rounds in {:.0} s | {} sent, {} acknowledged, {} unanswered at a kill ({} of them committed before it) | 0 lost, 0 duplicated after redelivery | integrity_check: {check} |",
        engine.as_str(),
        started.elapsed().as_secs_f64(),
        all.len(),
        acked.len(),
        not_acked.len(),
        stored_before - acked.len().min(stored_before),
    );
    Ok(())
}

// ---- a private PostgreSQL -----------------------------------------------------

/// A PostgreSQL cluster of this drill's own, in a temporary directory on a
/// free port: the shared one is never touched.
struct PrivatePg {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePg {
    fn bin_dir() -> anyhow::Result<PathBuf> {
        let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("pg_ctl").exists())
            .collect();
        found.sort();
        found.pop().context("no /usr/lib/postgresql/*/bin/pg_ctl")
    }

    /// `cmd args…`, as `postgres` when this process is root.
    async fn run(&self, cmd: &str, args: &[&str]) -> anyhow::Result<()> {
        let exe = self.bin.join(cmd);
        let root = unsafe_is_root();
        let mut c = if root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let out = c.args(args).output().await?;
        ensure!(
            out.status.success(),
            "{cmd} {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    }

    async fn create() -> anyhow::Result<PrivatePg> {
        let dir = tempfile::Builder::new()
            .prefix("tandem-outage-pg")
            .tempdir()?;
        if unsafe_is_root() {
            let s = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .await?;
            ensure!(s.success(), "chown the cluster directory");
        }
        let pg = PrivatePg {
            dir,
            bin: Self::bin_dir()?,
            port: process::free_port()?,
        };
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres"])
            .await?;
        pg.start().await?;
        Ok(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    async fn start(&self) -> anyhow::Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("postgres.log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-o", &opts, "-l", &log, "-w", "start"],
        )
        .await
    }

    /// Stops it as a crash would (`-m immediate`: no checkpoint, clients cut).
    async fn crash(&self) -> anyhow::Result<()> {
        self.run(
            "pg_ctl",
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        )
        .await
    }
}

impl Drop for PrivatePg {
    fn drop(&mut self) {
        let exe = self.bin.join("pg_ctl");
        let data = self.data();
        let mut c = if unsafe_is_root() {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            std::process::Command::new(&exe)
        };
        let _ = c
            .args(["-D", &data, "-m", "immediate", "stop"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

fn unsafe_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

// ---- PostgreSQL restarted mid-load ---------------------------------------------

async fn pg_restart(tandem: &Path, outage_seconds: u64) -> anyhow::Result<()> {
    let pg = PrivatePg::create().await?;
    let url = pg.url();
    let token = token(tandem, &url).await?;
    let log = log_file("pg-restart", "postgres")?;
    let port = process::free_port()?;
    let mut server = Server::start(tandem, &url, port, &log, &[], &[]).await?;
    let base = server.base();
    provision(tandem, &url, &base, &token).await?;
    let d = Arc::new(Deliveries::new(0)?);
    let next = Arc::new(AtomicUsize::new(1));
    let c = client();
    let load = Load::start(&c, &base, &d, &next, 8);
    tokio::time::sleep(Duration::from_secs(3)).await;
    pg.crash().await?;
    let down = Instant::now();
    // An API read during the outage too.
    let api = {
        let c = c.clone();
        let (base, token) = (base.clone(), token.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let t = Instant::now();
            let r = c
                .get(format!("{base}/api/v1/teams"))
                .bearer_auth(&token)
                .timeout(HANG)
                .send()
                .await;
            (
                r.map(|r| r.status().as_u16()).map_err(|e| e.to_string()),
                t.elapsed(),
            )
        })
    };
    tokio::time::sleep(Duration::from_secs(outage_seconds)).await;
    let ready_down = c
        .get(format!("{base}/readyz"))
        .timeout(HANG)
        .send()
        .await?
        .status();
    pg.start().await?;
    let up = Instant::now();
    // Back: wait for the first acknowledgement, then a little more load.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let answers = load.finish().await?;
    let (api_status, api_took) = api.await?;
    // The same process, never restarted.
    ensure!(
        server.child.try_wait()?.is_none(),
        "the server exited; its log is {}",
        server.log.display()
    );
    let ready_up = c.get(format!("{base}/readyz")).send().await?.status();
    ensure!(
        ready_up == reqwest::StatusCode::OK,
        "/readyz after: {ready_up}"
    );
    let fresh = next.fetch_add(1, Ordering::Relaxed);
    let (a, _) = send(&c, &base, &d, fresh).await;
    ensure!(a == Answer::Acked, "a delivery after the restart: {a:?}");

    let down_at = down;
    let during: Vec<&(usize, Answer, Instant, Duration)> = answers
        .iter()
        .filter(|(_, _, at, _)| *at >= down_at && *at < up)
        .collect();
    let mut by_answer: BTreeMap<String, usize> = BTreeMap::new();
    for (_, a, _, _) in &during {
        *by_answer.entry(format!("{a:?}")).or_default() += 1;
    }
    let slowest = during.iter().map(|x| x.3).max().unwrap_or_default();
    let hangs = during.iter().filter(|x| x.1 == Answer::Hang).count();
    let bad: Vec<_> = during
        .iter()
        .filter(|x| !matches!(x.1, Answer::Status(503) | Answer::Acked))
        .collect();
    ensure!(hangs == 0, "{hangs} requests hung during the outage");
    ensure!(
        bad.is_empty(),
        "requests during the outage answered other than 503: {:?}",
        &bad[..bad.len().min(5)]
    );
    ensure!(
        api_status == Ok(503),
        "an API read during the outage: {api_status:?}"
    );
    let acked: Vec<usize> = answers
        .iter()
        .filter(|x| x.1 == Answer::Acked)
        .map(|x| x.0)
        .chain([fresh])
        .collect();
    let not_acked: Vec<usize> = answers
        .iter()
        .filter(|x| x.1 != Answer::Acked)
        .map(|x| x.0)
        .collect();
    verify_stored(&url, &d, &acked).await?;
    redeliver(&base, &d, &not_acked).await?;
    let all: Vec<usize> = answers.iter().map(|x| x.0).chain([fresh]).collect();
    let stored = verify_stored(&url, &d, &all).await?;
    ensure!(stored == all.len());
    let after_up = answers
        .iter()
        .filter(|x| x.2 >= up && x.1 == Answer::Acked)
        .map(|x| x.2 - up)
        .min()
        .unwrap_or_default();
    process::terminate(&mut server.child).await?;
    println!(
        "| PostgreSQL stopped (-m immediate) {outage_seconds} s under load | {} sent during the outage: {by_answer:?}; slowest answer {:.1} s; 0 hangs; API read: 503 in {:.1} s; /readyz during: {} | first acknowledgement {:.1} s after the start, same process | {} acknowledged, 0 lost, 0 duplicated after redelivery |",
        during.len(),
        slowest.as_secs_f64(),
        api_took.as_secs_f64(),
        ready_down.as_u16(),
        after_up.as_secs_f64(),
        acked.len(),
    );
    Ok(())
}

// ---- SMTP sink and Slack stand-in that can be switched off --------------------

/// A local receiver on a fixed port that refuses connections (nothing
/// listens) until [`Switch::up`].
struct Switch {
    port: u16,
    task: Option<tokio::task::JoinHandle<()>>,
    kind: Kind,
    got: Arc<Mutex<Vec<String>>>,
}

#[derive(Clone, Copy)]
enum Kind {
    Smtp,
    Slack,
}

impl Switch {
    fn new(kind: Kind) -> anyhow::Result<Switch> {
        Ok(Switch {
            port: process::free_port()?,
            task: None,
            kind,
            got: Arc::default(),
        })
    }

    async fn up(&mut self) -> anyhow::Result<()> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port)).await?;
        let got = self.got.clone();
        let kind = self.kind;
        self.task = Some(tokio::spawn(async move {
            while let Ok((sock, _)) = listener.accept().await {
                let got = got.clone();
                tokio::spawn(async move {
                    let _ = match kind {
                        Kind::Smtp => smtp_session(sock, got).await,
                        Kind::Slack => slack_session(sock, got).await,
                    };
                });
            }
        }));
        Ok(())
    }

    fn count(&self) -> usize {
        self.got.lock().unwrap().len()
    }
}

/// RFC 5321 as a client speaks it for one message (EHLO, AUTH, MAIL,
/// RCPT, DATA, QUIT); each message's subject line is kept.
async fn smtp_session(
    sock: tokio::net::TcpStream,
    got: Arc<Mutex<Vec<String>>>,
) -> anyhow::Result<()> {
    let (r, mut w) = sock.into_split();
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink ESMTP\r\n").await?;
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let upper = line.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            w.write_all(b"250-sink\r\n250 AUTH PLAIN LOGIN\r\n").await?;
        } else if upper.starts_with("DATA") {
            w.write_all(b"354 go ahead\r\n").await?;
            let mut subject = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                if subject.is_empty() && line.to_ascii_lowercase().starts_with("subject:") {
                    subject = line.trim().to_owned();
                }
            }
            got.lock().unwrap().push(subject);
            w.write_all(b"250 queued\r\n").await?;
        } else if upper.starts_with("QUIT") {
            w.write_all(b"221 bye\r\n").await?;
            return Ok(());
        } else if upper.starts_with("AUTH") {
            w.write_all(b"235 ok\r\n").await?;
        } else {
            w.write_all(b"250 ok\r\n").await?;
        }
    }
}

/// Slack's incoming webhook: a JSON POST answered `200 ok`; the message's
/// text is kept. HTTP/1.1 by hand, one request per connection.
async fn slack_session(
    mut sock: tokio::net::TcpStream,
    got: Arc<Mutex<Vec<String>>>,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let (head_end, length) = loop {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..i]).to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse::<usize>().ok())
                .unwrap_or(0);
            break (i + 4, length);
        }
    };
    while buf.len() < head_end + length {
        let n = sock.read(&mut chunk).await?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Value = serde_json::from_slice(&buf[head_end..]).unwrap_or(Value::Null);
    got.lock()
        .unwrap()
        .push(body["text"].as_str().unwrap_or_default().to_owned());
    sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        .await?;
    Ok(())
}

/// The weekly report's configuration: due every minute (so it is due as
/// soon as the server runs; a run is still once per team and week), sent
/// without approval, to the two switches.
fn report_env(smtp: &Switch, slack: &Switch) -> Vec<(String, String)> {
    vec![
        ("TANDEM_REPORT__SCHEDULE".into(), "* * * * *".into()),
        ("TANDEM_REPORT__AUTO_SEND".into(), "true".into()),
        (
            "TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS".into(),
            "5".into(),
        ),
        (
            "TANDEM_REPORT__EMAIL_TO".into(),
            "[\"ana@example.com\"]".into(),
        ),
        ("TANDEM_REPORT__MAX_ATTEMPTS".into(), "2".into()),
        ("TANDEM_REPORT__RETRY_BASE_MS".into(), "200".into()),
        ("TANDEM_REPORT__TIMEOUT_SECONDS".into(), "3".into()),
        ("TANDEM_REPORT__SMTP__HOST".into(), "127.0.0.1".into()),
        ("TANDEM_REPORT__SMTP__PORT".into(), smtp.port.to_string()),
        ("TANDEM_REPORT__SMTP__SECURITY".into(), "plain".into()),
        (
            "TANDEM_REPORT__SMTP__FROM".into(),
            "Tandem <tandem@example.com>".into(),
        ),
        (
            "TANDEM_REPORT__SLACK__WEBHOOK_URL".into(),
            format!("http://127.0.0.1:{}/slack", slack.port),
        ),
    ]
}

fn as_refs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn teams(url: &str) -> anyhow::Result<usize> {
    Ok(column(url, "SELECT CAST(COUNT(*) AS TEXT) FROM teams").await?[0].parse()?)
}

/// Opens every team's policy to (almost) the whole week: working hours
/// 00:00–23:59 every day and a one-minute focus block at 23:58. A weekly
/// report is not urgent, so under the default policy (09:00–18:00 on
/// weekdays, focus 09:00–12:00) a drill run in the morning or at night would
/// wait for the afternoon and fail for the hour it ran at, not for what it
/// tests. The report scheduler reads the policy on every pass, so this may
/// run after the servers started.
async fn open_policies(tandem: &Path, url: &str) -> anyhow::Result<()> {
    for key in column(url, "SELECT key FROM teams ORDER BY key").await? {
        process::tandem_cli(
            tandem,
            url,
            &[
                "policy",
                "set",
                "--team",
                &key,
                "--work-hours",
                "00:00-23:59",
                "--work-days",
                "mon,tue,wed,thu,fri,sat,sun",
                "--evening-cutoff",
                "23:59",
                "--focus",
                "23:58-23:59",
            ],
            None,
        )
        .await?;
    }
    Ok(())
}

async fn report_outage(tandem: &Path, engine: EngineKind, outage: u64) -> anyhow::Result<()> {
    let db = TestDb::new(engine).await;
    process::tandem_cli(tandem, &db.url, &["migrate"], None).await?;
    let mut smtp = Switch::new(Kind::Smtp)?;
    let mut slack = Switch::new(Kind::Slack)?;
    let log = log_file("report-outage", engine.as_str())?;
    let env = report_env(&smtp, &slack);
    let started = Instant::now();
    // Both down from the start: the report falls due within seconds.
    let mut server = Server::start(
        tandem,
        &db.url,
        process::free_port()?,
        &log,
        &as_refs(&env),
        &["--demo"],
    )
    .await?;
    let teams = teams(&db.url).await?;
    open_policies(tandem, &db.url).await?;
    tokio::time::sleep(Duration::from_secs(outage)).await;
    let attempts_while_down = column(
        &db.url,
        "SELECT CAST(COUNT(*) AS TEXT) FROM report_deliveries WHERE status <> 'sent'",
    )
    .await?
    .join("");
    ensure!(smtp.count() == 0 && slack.count() == 0);
    smtp.up().await?;
    slack.up().await?;
    let back = Instant::now();
    // The run's lease (10 min) passes before it is taken up again.
    let deadline = back + Duration::from_secs(15 * 60);
    while (smtp.count() < teams || slack.count() < teams) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let delivered_after = back.elapsed();
    // Then a while longer: nothing arrives twice.
    tokio::time::sleep(Duration::from_secs(60)).await;
    ensure!(
        server.child.try_wait()?.is_none(),
        "the server exited; log {}",
        server.log.display()
    );
    process::terminate(&mut server.child).await?;
    let mails = smtp.got.lock().unwrap().clone();
    let posts = slack.got.lock().unwrap().clone();
    ensure!(
        mails.len() == teams && posts.len() == teams,
        "{teams} teams: {} e-mails {mails:?}, {} Slack messages {posts:?}",
        mails.len(),
        posts.len()
    );
    let mut distinct = mails.clone();
    distinct.sort();
    distinct.dedup();
    ensure!(distinct.len() == teams, "an e-mail twice: {mails:?}");
    println!(
        "| SMTP and Slack down {outage} s while the report is due | {} | {teams} teams; {attempts_while_down} failed delivery rows while down | each team's report delivered once per channel {:.0} s after they were back ({:.0} s after start); nothing more in the next 60 s |",
        engine.as_str(),
        delivered_after.as_secs_f64(),
        started.elapsed().as_secs_f64() - 60.0,
    );
    Ok(())
}

// ---- two replicas ------------------------------------------------------------

/// The `/metrics` bearer token the replicas are started with.
const SCRAPE_TOKEN: &str = "outage-drill-scrape-token";

async fn metric(base: &str, name: &str, job: &str) -> anyhow::Result<f64> {
    let text = client()
        .get(format!("{base}/metrics"))
        .bearer_auth(SCRAPE_TOKEN)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await?;
    let values: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with(name) && l.contains(&format!("job=\"{job}\"")))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .collect();
    // A job that has not finished a run yet has no series: 0.
    Ok(values.iter().sum::<f64>().max(0.0))
}

async fn two_replicas(tandem: &Path, minutes: u64) -> anyhow::Result<()> {
    let db = TestDb::new(EngineKind::Postgres).await;
    let token = token(tandem, &db.url).await?;
    let mut smtp = Switch::new(Kind::Smtp)?;
    let mut slack = Switch::new(Kind::Slack)?;
    smtp.up().await?;
    slack.up().await?;
    let ports = [process::free_port()?, process::free_port()?];
    let config = tempfile::NamedTempFile::new()?;
    // A health check every 5 s on the first replica's port.
    std::fs::write(
        config.path(),
        format!(
            "[[checks]]\nname = \"drill-tcp\"\nteam = \"payments\"\nservice = \"payments-api\"\n\
             kind = \"tcp\"\ntarget = \"127.0.0.1:{}\"\ninterval_seconds = 5\ntimeout_seconds = 2\n",
            ports[0]
        ),
    )?;
    let mut env = report_env(&smtp, &slack);
    env.extend([
        ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES".into(), "1".into()),
        (
            "TANDEM_MAINTENANCE__ATTRIBUTE_INTERVAL_SECONDS".into(),
            "2".into(),
        ),
        (
            "TANDEM_MAINTENANCE__DELIVERY_RETENTION_DAYS".into(),
            "1".into(),
        ),
        ("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS".into(), "500".into()),
        (
            "TANDEM_PROMETHEUS__SCRAPE_TOKEN".into(),
            SCRAPE_TOKEN.into(),
        ),
    ]);
    let env = as_refs(&env);
    let cfg = config.path().display().to_string();
    let mut servers = Vec::new();
    for (i, port) in ports.iter().enumerate() {
        let log = log_file("two-replicas", &format!("replica{i}"))?;
        // The demo is loaded by the first only.
        let demo: &[&str] = if i == 0 { &["--demo"] } else { &[] };
        servers.push(
            Server::start_with_global(
                tandem,
                &db.url,
                *port,
                &log,
                &env,
                &["--config", &cfg],
                demo,
            )
            .await?,
        );
    }
    let base0 = servers[0].base();
    provision(tandem, &db.url, &base0, &token).await?;
    open_policies(tandem, &db.url).await?;
    // Deliveries: some old enough for the retention prune.
    let d = Deliveries::new(0)?;
    let c = client();
    for n in 1..=20 {
        let (a, _) = send(&c, &servers[n % 2].base(), &d, n).await;
        ensure!(a == Answer::Acked, "delivery {n}: {a:?}");
    }
    let pool = sqlx::PgPool::connect(&db.url).await?;
    sqlx::query(
        "UPDATE deliveries SET received_at = received_at - INTERVAL '3 days' \
         WHERE delivery_id LIKE $1 AND CAST(split_part(delivery_id, '-', 3) AS INTEGER) <= 10",
    )
    .bind(format!("drill-{}-%", d.run))
    .execute(&pool)
    .await?;
    let check_started = chrono::Utc::now();
    tokio::time::sleep(Duration::from_secs(minutes * 60)).await;
    let window = (chrono::Utc::now() - check_started).num_seconds();
    let teams = teams(&db.url).await?;
    let mut runs = BTreeMap::new();
    for s in &servers {
        ensure!(
            s.child.id().is_some(),
            "a replica exited; log {}",
            s.log.display()
        );
        for job in ["risk_checks", "attribution", "prune_deliveries"] {
            let n = metric(&s.base(), "tandem_job_runs_total", job).await?;
            let f = metric(&s.base(), "tandem_job_failures_total", job).await?;
            ensure!(f == 0.0, "{job} failed {f} times on :{}", s.port);
            runs.entry(job).or_insert_with(Vec::new).push(n);
        }
    }
    for mut s in servers {
        process::terminate(&mut s.child).await?;
    }
    // Reports: once per team and channel; one run row per team.
    ensure!(
        smtp.count() == teams && slack.count() == teams,
        "{teams} teams: {} e-mails, {} Slack messages",
        smtp.count(),
        slack.count()
    );
    let run_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM report_runs")
        .fetch_one(&pool)
        .await?;
    ensure!(
        run_rows as usize == teams,
        "{run_rows} report runs for {teams} teams"
    );
    let drafts: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM (SELECT team_id, week FROM report_drafts GROUP BY team_id, week HAVING COUNT(*) > 1) x",
    )
    .fetch_one(&pool)
    .await?;
    ensure!(drafts == 0, "{drafts} weeks with two drafts");
    // Health checks: one result per due slot, not one per replica.
    let results: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM check_results r JOIN checks c ON c.id = r.check_id \
         WHERE c.name = 'drill-tcp' AND r.at >= $1",
    )
    .bind(check_started)
    .fetch_one(&pool)
    .await?;
    let slots = window / 5;
    ensure!(
        results <= slots + 2 && results >= slots / 2,
        "{results} check results in {window} s at one per 5 s"
    );
    // Risks: no cause opened twice (the unique index would refuse it; the
    // history shows whether a second replica tried and lost).
    let risks: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM risks WHERE cause_key IS NOT NULL")
        .fetch_one(&pool)
        .await?;
    // Attribution: nothing pending.
    let pending: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM deployments WHERE attributed = FALSE")
            .fetch_one(&pool)
            .await?;
    ensure!(pending == 0, "{pending} deployments left unattributed");
    // Retention: the old ten gone, the rest kept (when the prune ran).
    let kept: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM deliveries WHERE delivery_id LIKE $1")
        .bind(format!("drill-{}-%", d.run))
        .fetch_one(&pool)
        .await?;
    let pruned = runs["prune_deliveries"].iter().sum::<f64>() > 0.0;
    if pruned {
        ensure!(
            kept == 10,
            "{kept} deliveries after the prune (10 expected)"
        );
    }
    pool.close().await;
    println!(
        "| two `tandem serve` processes, one PostgreSQL database, {minutes} min | {teams} teams: {} e-mails, {} Slack messages, {run_rows} report runs, no week drafted twice | health check every 5 s: {results} results in {window} s | {risks} risks by cause, none twice; 0 deployments unattributed; retention {} | job runs per replica: {runs:?}, 0 failures |",
        smtp.count(),
        slack.count(),
        if pruned {
            "ran: the 10 old deliveries deleted, 10 kept"
        } else {
            "did not run yet (first run 5 min after start)"
        },
    );
    Ok(())
}

impl Server {
    async fn start_with_global(
        tandem: &Path,
        url: &str,
        port: u16,
        log: &Path,
        env: &[(&str, &str)],
        global: &[&str],
        extra_args: &[&str],
    ) -> anyhow::Result<Server> {
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)?;
        let mut child = Command::new(tandem)
            .args(global)
            .arg("--database")
            .arg(url)
            .args(["serve", "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .args(extra_args)
            .env("TANDEM_LOG__LEVEL", "warn")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()?;
        process::wait_ready(&client(), port, &mut child, log, Instant::now()).await?;
        Ok(Server {
            child,
            port,
            log: log.to_owned(),
        })
    }
}

// ---- SQLite disk full and read-only --------------------------------------------

/// A tmpfs of `size` mounted on a new directory, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    async fn mount(size: &str) -> anyhow::Result<SmallDisk> {
        let dir = tempfile::Builder::new().prefix("tandem-full").tempdir()?;
        let s = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .status()
            .await?;
        ensure!(s.success(), "mount a tmpfs (the drill needs root)");
        Ok(SmallDisk { dir })
    }

    async fn remount(&self, mode: &str) -> anyhow::Result<()> {
        let s = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(self.dir.path())
            .status()
            .await?;
        ensure!(s.success(), "remount {mode}");
        Ok(())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

/// Sends deliveries until one is not acknowledged; returns its answer and
/// the body of that answer.
async fn until_refused(
    base: &str,
    d: &Deliveries,
    next: &mut usize,
    limit: usize,
) -> anyhow::Result<Option<(u16, String, usize)>> {
    let c = client();
    for _ in 0..limit {
        let n = *next;
        *next += 1;
        let (body, sig) = d.body(n);
        let r = c
            .post(format!("{base}/webhooks/github"))
            .header("content-type", "application/json")
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", d.id(n))
            .header("x-hub-signature-256", sig)
            .body(body)
            .timeout(HANG)
            .send()
            .await?;
        let status = r.status().as_u16();
        let text = r.text().await?;
        if status != 200 {
            return Ok(Some((status, text, n)));
        }
    }
    Ok(None)
}

async fn disk_full(tandem: &Path) -> anyhow::Result<()> {
    let disk = SmallDisk::mount("24m").await?;
    let file = disk.dir.path().join("tandem.db");
    let url = format!("sqlite://{}", file.display());
    let token = token(tandem, &url).await?;
    let log = log_file("disk-full", "sqlite")?;
    let port = process::free_port()?;
    let mut server = Server::start(tandem, &url, port, &log, &[], &[]).await?;
    let base = server.base();
    provision(tandem, &url, &base, &token).await?;
    // 64 KiB bodies; fill the disk but for ~2 MB.
    let d = Deliveries::new(64 * 1024)?;
    let filler = disk.dir.path().join("filler");
    let free = {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(disk.dir.path())
            .output()
            .await?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .nth(1)
            .and_then(|l| l.trim().parse::<u64>().ok())
            .context("df")?
    };
    std::fs::write(&filler, vec![0u8; free.saturating_sub(2 << 20) as usize])?;
    let mut next = 1usize;
    let full = until_refused(&base, &d, &mut next, 500)
        .await?
        .context("the disk never filled")?;
    let (status, body, refused) = full.clone();
    ensure!(status == 503, "disk full answered {status}: {body}");
    ensure!(
        body.contains("disk is full"),
        "disk full, unclear answer: {body}"
    );
    // Room again: the same server takes deliveries, and the refused one.
    std::fs::remove_file(&filler)?;
    redeliver(&base, &d, &[refused]).await?;
    let after_full = next;
    redeliver(&base, &d, &[after_full]).await?;
    next += 1;
    process::terminate(&mut server.child).await?;
    let check = integrity(&url).await?;
    ensure!(check == "ok", "integrity_check after: {check}");
    // A read-only database: `serve` starts (it can read) and every write
    // gets a clear 503.
    disk.remount("ro").await?;
    let ro_result = async {
        let mut server = Server::start(tandem, &url, port, &log, &[], &[]).await?;
        let ro = until_refused(&server.base(), &d, &mut next, 5).await?;
        process::terminate(&mut server.child).await?;
        anyhow::Ok(ro)
    }
    .await;
    disk.remount("rw").await?;
    let ro = ro_result?.context("writes went through a read-only file system")?;
    ensure!(ro.0 == 503, "read-only answered {}: {}", ro.0, ro.1);
    ensure!(
        ro.1.contains("read-only"),
        "read-only, unclear answer: {}",
        ro.1
    );
    let check2 = integrity(&url).await?;
    ensure!(check2 == "ok", "integrity_check after: {check2}");
    println!(
        "| SQLite on a full 24 MB tmpfs | delivery {refused} answered {status}: {} | after space was freed: the refused delivery and a new one acknowledged by the same server | `serve` on the file system remounted read-only: a write answered {}: {} | integrity_check: {check}, {check2} |",
        body.trim(),
        ro.0,
        ro.1.trim(),
    );
    Ok(())
}
