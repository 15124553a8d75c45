//! `tandem-bench`: startup time, memory and API throughput of the release
//! `tandem` binary, on SQLite and on PostgreSQL, in one run.
//!
//! Every throughput number is set against a reference measured in the same
//! run on the same database: the same rows written straight through
//! `tandem_store::Store` (no HTTP, no JSON, no auth). On a small, noisy machine
//! the ratio is the number to compare between runs, not the absolute rate.
//! See BENCHMARKS.md for what is measured, why, and the latest results.
//!
//! Progress goes to standard error; the Markdown table (or, with `--json`,
//! the JSON summary) to standard output.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::Utc;
use clap::Parser;
use serde_json::{Value, json};
use tandem_bench::stats::{join_whole, median, median_f64, mib, ms, percentile, rate};
use tandem_bench::{Engines, Load, machine, process};
use tandem_domain::work_item::NewWorkItem;
use tandem_store::{ConnectOptions, EngineKind, Store};
use tandem_testkit::TestDb;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench",
    about = "Startup, memory and API throughput of the tandem binary against a raw-store ceiling, on both engines."
)]
struct Args {
    #[command(flatten)]
    binary: process::Binary,
    /// Measured create+read pairs per round; each round also makes as many raw
    /// inserts, store create+get pairs, GET /healthz and GET /api/v1/me, and
    /// a quarter as many one-task raw inserts.
    #[arg(long, default_value_t = 4000)]
    pairs: usize,
    // An operation of --warmup is a create+read pair; latency percentiles
    // are over all measured pairs.
    #[command(flatten)]
    load: Load,
    /// Server starts measured for the startup median.
    #[arg(long, default_value_t = 5)]
    startups: usize,
    #[command(flatten)]
    engines: Engines,
    /// Print a JSON summary instead of the Markdown table.
    #[arg(long)]
    json: bool,
}

const IDLE_BEFORE_RSS: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.pairs > 0 && args.load.rounds > 0 && args.load.clients > 0 && args.startups > 0,
        "counts must be positive"
    );
    args.binary.require()?;
    let machine = machine_facts(&args);
    eprintln!("tandem-bench: {}", serde_json::to_string(&machine)?);
    let mut results = Vec::new();
    for engine in &args.engines {
        eprintln!("== {} ==", engine.kind().as_str());
        results.push(bench_engine(&args, engine.kind()).await?);
    }
    let load_after = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    if args.json {
        let summary = json!({
            "machine": machine,
            "loadavg_after": load_after.trim(),
            "engines": results.iter().map(EngineResult::to_json).collect::<Vec<_>>(),
        });
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", markdown(&machine, load_after.trim(), &results));
    }
    Ok(())
}

// ---- one engine ---------------------------------------------------------------

#[derive(Debug)]
struct EngineResult {
    engine: EngineKind,
    pairs_per_round: usize,
    clients: usize,
    startup: Vec<Duration>,
    /// The startup reference: a whole `tandem migrate` process, start to exit.
    migrate: Vec<Duration>,
    stop: Vec<Duration>,
    rss_idle_kib: u64,
    rss_after_kib: u64,
    hwm_after_kib: u64,
    rounds: Vec<Round>,
    /// Create latency, read latency and pair latency over all rounds.
    create: Vec<Duration>,
    read: Vec<Duration>,
    pair: Vec<Duration>,
    /// The first failure message of each kind of run, when any failed.
    failure_examples: Vec<String>,
}

/// One round: the API run and its references, back to back.
/// Rates count successful pairs (rows) only; failures are counted apart.
#[derive(Debug, Clone, Copy)]
struct Round {
    api_pairs_per_s: f64,
    /// GET /healthz (HTTP only) and GET /api/v1/me (HTTP + token auth), per second.
    healthz_per_s: f64,
    me_per_s: f64,
    raw_inserts_per_s: f64,
    store_pairs_per_s: f64,
    /// Raw inserts from one task: no contention, SQLite's natural pace.
    serial_inserts_per_s: f64,
    api_failures: usize,
    floor_failures: usize,
    raw_failures: usize,
    store_failures: usize,
    serial_failures: usize,
    /// CPU time of the server process and of this process (the clients) per
    /// successful API pair, and how busy the whole machine was meanwhile.
    server_cpu_ms_per_pair: f64,
    client_cpu_ms_per_pair: f64,
    machine_busy: f64,
}

impl Round {
    fn ratio(&self) -> f64 {
        self.api_pairs_per_s / self.raw_inserts_per_s
    }
    fn ratio_store_pairs(&self) -> f64 {
        self.api_pairs_per_s / self.store_pairs_per_s
    }
    fn ratio_serial(&self) -> f64 {
        self.api_pairs_per_s / self.serial_inserts_per_s
    }
}

impl EngineResult {
    fn startup_ms(&self) -> f64 {
        ms(median(&self.startup))
    }
    fn api_pairs_per_s(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.api_pairs_per_s))
    }
    fn raw_inserts_per_s(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.raw_inserts_per_s))
    }
    fn store_pairs_per_s(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.store_pairs_per_s))
    }
    fn ratio(&self) -> f64 {
        median_f64(self.rounds.iter().map(Round::ratio))
    }
    fn ratio_store_pairs(&self) -> f64 {
        median_f64(self.rounds.iter().map(Round::ratio_store_pairs))
    }
    fn serial_inserts_per_s(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.serial_inserts_per_s))
    }
    fn ratio_serial(&self) -> f64 {
        median_f64(self.rounds.iter().map(Round::ratio_serial))
    }
    fn server_cpu_ms_per_pair(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.server_cpu_ms_per_pair))
    }
    fn client_cpu_ms_per_pair(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.client_cpu_ms_per_pair))
    }
    fn machine_busy(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.machine_busy))
    }
    fn healthz_per_s(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.healthz_per_s))
    }
    fn me_per_s(&self) -> f64 {
        median_f64(self.rounds.iter().map(|r| r.me_per_s))
    }
    fn floor_failures(&self) -> usize {
        self.rounds.iter().map(|r| r.floor_failures).sum()
    }
    fn serial_failures(&self) -> usize {
        self.rounds.iter().map(|r| r.serial_failures).sum()
    }
    fn attempted(&self) -> usize {
        self.pairs_per_round * self.rounds.len()
    }
    fn api_failures(&self) -> usize {
        self.rounds.iter().map(|r| r.api_failures).sum()
    }
    fn raw_failures(&self) -> usize {
        self.rounds.iter().map(|r| r.raw_failures).sum()
    }
    fn store_failures(&self) -> usize {
        self.rounds.iter().map(|r| r.store_failures).sum()
    }

    fn to_json(&self) -> Value {
        let lat = |v: &[Duration]| {
            json!({
                "p50_ms": ms(percentile(v, 50.0)),
                "p99_ms": ms(percentile(v, 99.0)),
                "max_ms": ms(percentile(v, 100.0)),
                "n": v.len(),
            })
        };
        let samples = |v: &[Duration]| {
            json!({
                "median": ms(median(v)),
                "samples": v.iter().map(|d| ms(*d)).collect::<Vec<_>>(),
            })
        };
        json!({
            "engine": self.engine.as_str(),
            "startup_ms": samples(&self.startup),
            "migrate_ms": samples(&self.migrate),
            "stop_ms": samples(&self.stop),
            "rss_mib": {
                "idle": mib(self.rss_idle_kib),
                "after_load": mib(self.rss_after_kib),
                "peak_after_load": mib(self.hwm_after_kib),
            },
            "api": {
                "pairs_per_s": self.api_pairs_per_s(),
                "pair": lat(&self.pair),
                "create": lat(&self.create),
                "read": lat(&self.read),
                "healthz_per_s": self.healthz_per_s(),
                "me_per_s": self.me_per_s(),
                "server_cpu_ms_per_pair": self.server_cpu_ms_per_pair(),
                "client_cpu_ms_per_pair": self.client_cpu_ms_per_pair(),
                "machine_cpu_busy": self.machine_busy(),
            },
            "ceiling": {
                "raw_inserts_per_s": self.raw_inserts_per_s(),
                "store_create_get_pairs_per_s": self.store_pairs_per_s(),
                "raw_inserts_one_task_per_s": self.serial_inserts_per_s(),
            },
            "failures": {
                "attempted_per_kind": self.attempted(),
                "api_pairs": self.api_failures(),
                "raw_inserts": self.raw_failures(),
                "store_pairs": self.store_failures(),
                "healthz_and_me": self.floor_failures(),
                "raw_inserts_one_task": self.serial_failures(),
                "examples": self.failure_examples,
            },
            "ratio_api_pairs_to_raw_inserts": self.ratio(),
            "ratio_api_pairs_to_store_pairs": self.ratio_store_pairs(),
            "ratio_api_pairs_to_raw_inserts_one_task": self.ratio_serial(),
            "rounds": self.rounds.iter().map(|r| json!({
                "api_pairs_per_s": r.api_pairs_per_s,
                "raw_inserts_per_s": r.raw_inserts_per_s,
                "store_pairs_per_s": r.store_pairs_per_s,
                "raw_inserts_one_task_per_s": r.serial_inserts_per_s,
                "healthz_per_s": r.healthz_per_s,
                "me_per_s": r.me_per_s,
                "ratio": r.ratio(),
                "server_cpu_ms_per_pair": r.server_cpu_ms_per_pair,
                "client_cpu_ms_per_pair": r.client_cpu_ms_per_pair,
                "machine_cpu_busy": r.machine_busy,
                "serial_failures": r.serial_failures,
                "api_failures": r.api_failures,
                "raw_failures": r.raw_failures,
                "store_failures": r.store_failures,
            })).collect::<Vec<_>>(),
        })
    }
}

async fn bench_engine(args: &Args, engine: EngineKind) -> anyhow::Result<EngineResult> {
    let db = TestDb::new(engine).await;
    let log = process::server_log("tandem-bench", engine)?;
    let out = process::tandem_cli(&args.binary.tandem, &db.url, &["migrate"], None).await?;
    eprintln!("  {}", out.trim());
    let secret = process::create_token(&args.binary.tandem, &db.url, "manager").await?;

    // Startup: spawn to the first 200 from /readyz, then SIGTERM.
    let probe = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let mut startup = Vec::new();
    let mut migrate = Vec::new();
    let mut stop = Vec::new();
    for i in 0..args.startups {
        let started = Instant::now();
        process::tandem_cli(&args.binary.tandem, &db.url, &["migrate"], None).await?;
        migrate.push(started.elapsed());
        let port = process::free_port()?;
        let started = Instant::now();
        let mut child = process::spawn_server(&args.binary.tandem, &db.url, port, &log, &[])?;
        process::wait_ready(&probe, port, &mut child, &log, started).await?;
        let ready = started.elapsed();
        stop.push(process::terminate(&mut child).await?);
        eprintln!(
            "  startup {}: {:.1} ms (tandem migrate: {:.1} ms)",
            i + 1,
            ms(ready),
            ms(migrate[i])
        );
        startup.push(ready);
    }

    // Load: one server for memory, warm-up and the measured rounds.
    let port = process::free_port()?;
    let started = Instant::now();
    let mut child = process::spawn_server(&args.binary.tandem, &db.url, port, &log, &[])?;
    process::wait_ready(&probe, port, &mut child, &log, started).await?;
    let pid = child.id().context("the server has no pid")?;
    tokio::time::sleep(IDLE_BEFORE_RSS).await;
    let (rss_idle_kib, _) = rss_kib(pid)?;
    eprintln!("  idle RSS: {:.1} MiB", mib(rss_idle_kib));

    let root = format!("http://127.0.0.1:{port}");
    let base = format!("{root}/api/v1");
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.load.clients)
        .timeout(Duration::from_secs(30))
        .build()?;
    let api = Api {
        client,
        root,
        base,
        auth: format!("Bearer {secret}"),
    };
    let team_id = api.create_team().await?;
    let template: NewWorkItem = serde_json::from_value(item_body(team_id, 0))?;
    let store = Store::connect(&db.url, &ConnectOptions::default()).await?;

    if args.load.warmup > 0 {
        api_run(&api, team_id, args.load.warmup, args.load.clients).await?;
        raw_inserts(
            &store,
            &template,
            args.load.warmup.min(args.pairs),
            args.load.clients,
        )
        .await?;
    }
    let (mut create, mut read, mut pair) = (Vec::new(), Vec::new(), Vec::new());
    let mut rounds = Vec::new();
    let mut floor_failed = Failures::default();
    let (mut api_failed, mut raw_failed, mut store_failed, mut serial_failed) = (
        Failures::default(),
        Failures::default(),
        Failures::default(),
        Failures::default(),
    );
    let serial_rows = (args.pairs / 4).max(1);
    let server_pid = pid.to_string();
    for r in 0..args.load.rounds {
        let before = CpuSnapshot::take(&server_pid)?;
        let run = api_run(&api, team_id, args.pairs, args.load.clients).await?;
        let cpu = CpuSnapshot::take(&server_pid)?.since(&before);
        let healthz = get_run(&api, "/healthz", false, args.pairs, args.load.clients).await?;
        let me = get_run(&api, "/api/v1/me", true, args.pairs, args.load.clients).await?;
        let raw = raw_inserts(&store, &template, args.pairs, args.load.clients).await?;
        let pairs = store_pairs(&store, &template, args.pairs, args.load.clients).await?;
        let serial = raw_inserts(&store, &template, serial_rows, 1).await?;
        let ok = run.pair.len().max(1) as f64;
        let round = Round {
            api_pairs_per_s: rate(run.pair.len(), run.wall),
            healthz_per_s: rate(healthz.ok, healthz.wall),
            me_per_s: rate(me.ok, me.wall),
            raw_inserts_per_s: rate(raw.ok, raw.wall),
            store_pairs_per_s: rate(pairs.ok, pairs.wall),
            serial_inserts_per_s: rate(serial.ok, serial.wall),
            api_failures: run.failures.count,
            floor_failures: healthz.failures.count + me.failures.count,
            raw_failures: raw.failures.count,
            store_failures: pairs.failures.count,
            serial_failures: serial.failures.count,
            server_cpu_ms_per_pair: cpu.server_ms / ok,
            client_cpu_ms_per_pair: cpu.client_ms / ok,
            machine_busy: cpu.machine_busy,
        };
        eprintln!(
            "  round {}: API {:.0} pairs/s ({} failed; server CPU {:.2} ms/pair, clients {:.2} ms/pair, machine {:.0}% busy), \
             raw {:.0} inserts/s ({} failed), store {:.0} pairs/s ({} failed), 1-task raw {:.0} inserts/s ({} failed), ratio {:.3}",
            r + 1,
            round.api_pairs_per_s,
            round.api_failures,
            round.server_cpu_ms_per_pair,
            round.client_cpu_ms_per_pair,
            round.machine_busy * 100.0,
            round.raw_inserts_per_s,
            round.raw_failures,
            round.store_pairs_per_s,
            round.store_failures,
            round.serial_inserts_per_s,
            round.serial_failures,
            round.ratio()
        );
        api_failed.merge(run.failures);
        raw_failed.merge(raw.failures);
        store_failed.merge(pairs.failures);
        floor_failed.merge(healthz.failures);
        floor_failed.merge(me.failures);
        serial_failed.merge(serial.failures);
        rounds.push(round);
        create.extend(run.create);
        read.extend(run.read);
        pair.extend(run.pair);
    }
    store.close().await;
    drop(api);
    let (rss_after_kib, hwm_after_kib) = rss_kib(pid)?;
    eprintln!(
        "  RSS after load: {:.1} MiB (peak {:.1} MiB)",
        mib(rss_after_kib),
        mib(hwm_after_kib)
    );
    process::terminate(&mut child).await?;
    let _ = std::fs::remove_file(&log);
    let failure_examples = [
        api_failed,
        floor_failed,
        raw_failed,
        store_failed,
        serial_failed,
    ]
    .into_iter()
    .filter_map(|f| f.first)
    .map(|m| m.lines().next().unwrap_or_default().to_owned())
    .collect();
    Ok(EngineResult {
        engine,
        pairs_per_round: args.pairs,
        clients: args.load.clients,
        startup,
        migrate,
        stop,
        rss_idle_kib,
        rss_after_kib,
        hwm_after_kib,
        rounds,
        create,
        read,
        pair,
        failure_examples,
    })
}

// ---- CPU and memory of the tandem process -------------------------------------

/// Clock ticks per second in /proc (USER_HZ, 100 on Linux).
const TICKS_PER_S: f64 = 100.0;

/// CPU counters at one instant: the server process, this process, the machine.
#[derive(Debug, Clone, Copy)]
struct CpuSnapshot {
    server: u64,
    client: u64,
    machine_busy: u64,
    machine_total: u64,
}

/// CPU spent between two snapshots.
#[derive(Debug, Clone, Copy)]
struct CpuSpent {
    server_ms: f64,
    client_ms: f64,
    /// Fraction of all cores' time that was not idle.
    machine_busy: f64,
}

impl CpuSnapshot {
    fn take(server_pid: &str) -> anyhow::Result<CpuSnapshot> {
        let (machine_busy, machine_total) = machine_ticks()?;
        Ok(CpuSnapshot {
            server: process_ticks(server_pid)?,
            client: process_ticks("self")?,
            machine_busy,
            machine_total,
        })
    }

    fn since(&self, before: &CpuSnapshot) -> CpuSpent {
        let ms = |ticks: u64| ticks as f64 * 1000.0 / TICKS_PER_S;
        let total = self
            .machine_total
            .saturating_sub(before.machine_total)
            .max(1);
        CpuSpent {
            server_ms: ms(self.server.saturating_sub(before.server)),
            client_ms: ms(self.client.saturating_sub(before.client)),
            machine_busy: self.machine_busy.saturating_sub(before.machine_busy) as f64
                / total as f64,
        }
    }
}

/// User + system CPU time of a process, in ticks (fields 14 and 15 of /proc/PID/stat).
fn process_ticks(pid: &str) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after_name = stat
        .rsplit_once(')')
        .context("unexpected /proc stat format")?
        .1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    ensure!(fields.len() > 12, "unexpected /proc stat format");
    // `fields[0]` is field 3 (state), so utime (14) and stime (15) are 11 and 12.
    Ok(fields[11].parse::<u64>()? + fields[12].parse::<u64>()?)
}

/// (busy, total) ticks of all cores since boot, from /proc/stat.
fn machine_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let line = stat.lines().next().context("empty /proc/stat")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    ensure!(v.len() == 8, "unexpected /proc/stat format");
    // user nice system idle iowait irq softirq steal
    let total: u64 = v.iter().sum();
    Ok((total - v[3] - v[4], total))
}

/// (VmRSS, VmHWM) of a process, in KiB.
fn rss_kib(pid: u32) -> anyhow::Result<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| -> anyhow::Result<u64> {
        let line = status
            .lines()
            .find(|l| l.starts_with(name))
            .with_context(|| format!("/proc/{pid}/status has no {name}"))?;
        let kib = line[name.len()..].trim().trim_end_matches("kB").trim();
        Ok(kib.parse()?)
    };
    Ok((field("VmRSS:")?, field("VmHWM:")?))
}

// ---- load -----------------------------------------------------------------------

#[derive(Debug, Clone)]
struct Api {
    client: reqwest::Client,
    /// `http://127.0.0.1:PORT` and `http://127.0.0.1:PORT/api/v1`.
    root: String,
    base: String,
    auth: String,
}

impl Api {
    async fn create_team(&self) -> anyhow::Result<Uuid> {
        let resp = self
            .client
            .post(format!("{}/teams", self.base))
            .header("authorization", &self.auth)
            .json(&json!({"key": "bench", "name": "Bench", "timezone": "Europe/Berlin"}))
            .send()
            .await?;
        let team: Value = expect(resp, reqwest::StatusCode::CREATED)
            .await?
            .json()
            .await?;
        Ok(team["id"].as_str().context("team has no id")?.parse()?)
    }
}

async fn expect(
    resp: reqwest::Response,
    want: reqwest::StatusCode,
) -> anyhow::Result<reqwest::Response> {
    if resp.status() == want {
        return Ok(resp);
    }
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    bail!("expected {want}, got {status}: {body}")
}

/// The body of one work item: what a team lead would type, context included.
fn item_body(team_id: Uuid, seq: usize) -> Value {
    json!({
        "team_id": team_id,
        "title": format!("Checkout: pay with saved card in one step ({seq})"),
        "kind": "feature",
        "priority": "P1",
        "impact": "high",
        "complexity": "medium",
        "context": {
            "why": "Returning customers abandon checkout when they must re-enter card details; \
                    support sees about forty complaints a week and sales lose repeat orders.",
            "expected_impact": "Fewer abandoned checkouts among returning customers.",
            "current_value": "Checkout conversion for returning customers: 61%",
            "target_value": "Checkout conversion for returning customers: 70%",
        },
    })
}

#[derive(Debug, Default)]
struct ApiRun {
    wall: Duration,
    create: Vec<Duration>,
    read: Vec<Duration>,
    pair: Vec<Duration>,
    failures: Failures,
}

/// Requests or store calls that failed on the server side (HTTP 5xx, store
/// errors): they are results, counted and reported, not harness errors.
#[derive(Debug, Default, Clone)]
struct Failures {
    count: usize,
    first: Option<String>,
}

impl Failures {
    fn record(&mut self, what: String) {
        self.count += 1;
        self.first.get_or_insert(what);
    }
    fn merge(&mut self, other: Failures) {
        self.count += other.count;
        if self.first.is_none() {
            self.first = other.first;
        }
    }
}

/// Returns the response when it has the wanted status, `None` after recording
/// a server error, and fails on anything else (a harness bug).
async fn check(
    resp: reqwest::Response,
    want: reqwest::StatusCode,
    failures: &mut Failures,
    what: &str,
) -> anyhow::Result<Option<reqwest::Response>> {
    if resp.status() == want {
        return Ok(Some(resp));
    }
    let status = resp.status();
    let body = resp.text().await.unwrap_or_default();
    ensure!(
        status.is_server_error(),
        "{what}: expected {want}, got {status}: {body}"
    );
    failures.record(format!("{what}: {status}: {body}"));
    Ok(None)
}

/// `clients` tasks share one counter and do POST + GET until `pairs` pairs are done.
async fn api_run(api: &Api, team_id: Uuid, pairs: usize, clients: usize) -> anyhow::Result<ApiRun> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let api = api.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = ApiRun::default();
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= pairs {
                    break;
                }
                let body = item_body(team_id, seq);
                let t0 = Instant::now();
                let resp = api
                    .client
                    .post(format!("{}/work-items", api.base))
                    .header("authorization", &api.auth)
                    .json(&body)
                    .send()
                    .await?;
                let created = match check(
                    resp,
                    reqwest::StatusCode::CREATED,
                    &mut out.failures,
                    "POST /work-items",
                )
                .await?
                {
                    Some(resp) => resp.json::<Value>().await?,
                    None => continue,
                };
                let id = created["id"].as_str().context("created item has no id")?;
                let t1 = Instant::now();
                let resp = api
                    .client
                    .get(format!("{}/work-items/{id}", api.base))
                    .header("authorization", &api.auth)
                    .send()
                    .await?;
                let read = match check(
                    resp,
                    reqwest::StatusCode::OK,
                    &mut out.failures,
                    "GET /work-items/{id}",
                )
                .await?
                {
                    Some(resp) => resp.bytes().await?,
                    None => continue,
                };
                ensure!(!read.is_empty(), "empty work item");
                let t2 = Instant::now();
                out.create.push(t1 - t0);
                out.read.push(t2 - t1);
                out.pair.push(t2 - t0);
            }
            anyhow::Ok(out)
        }));
    }
    let mut run = ApiRun::default();
    for task in tasks {
        let out = task.await??;
        run.create.extend(out.create);
        run.read.extend(out.read);
        run.pair.extend(out.pair);
        run.failures.merge(out.failures);
    }
    run.wall = started.elapsed();
    Ok(run)
}

/// A run of one kind of request or store call: wall time, successes, failures.
#[derive(Debug, Default)]
struct CountRun {
    wall: Duration,
    ok: usize,
    failures: Failures,
}

/// `clients` tasks share one counter and GET `path` until `requests` are done:
/// the floor under every API request, without (`/healthz`) and with
/// (`/api/v1/me`) token authentication.
async fn get_run(
    api: &Api,
    path: &str,
    with_auth: bool,
    requests: usize,
    clients: usize,
) -> anyhow::Result<CountRun> {
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{}{path}", api.root);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let api = api.clone();
        let next = next.clone();
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut out = CountRun::default();
            while next.fetch_add(1, Ordering::Relaxed) < requests {
                let mut req = api.client.get(&url);
                if with_auth {
                    req = req.header("authorization", &api.auth);
                }
                let resp = req.send().await?;
                if let Some(resp) =
                    check(resp, reqwest::StatusCode::OK, &mut out.failures, &url).await?
                {
                    resp.bytes().await?;
                    out.ok += 1;
                }
            }
            anyhow::Ok(out)
        }));
    }
    let mut run = CountRun::default();
    for task in tasks {
        let out = task.await??;
        run.ok += out.ok;
        run.failures.merge(out.failures);
    }
    run.wall = started.elapsed();
    Ok(run)
}

/// The ceiling: the same rows straight into the store, `tasks` at a time.
async fn raw_inserts(
    store: &Store,
    template: &NewWorkItem,
    rows: usize,
    tasks: usize,
) -> anyhow::Result<CountRun> {
    store_run(store, template, rows, tasks, false).await
}

/// A second reference: store create + get, the API pair without HTTP, JSON and auth.
async fn store_pairs(
    store: &Store,
    template: &NewWorkItem,
    rows: usize,
    tasks: usize,
) -> anyhow::Result<CountRun> {
    store_run(store, template, rows, tasks, true).await
}

async fn store_run(
    store: &Store,
    template: &NewWorkItem,
    rows: usize,
    tasks: usize,
    read_back: bool,
) -> anyhow::Result<CountRun> {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let store = store.clone();
        let template = template.clone();
        let next = next.clone();
        handles.push(tokio::spawn(async move {
            let mut out = CountRun::default();
            loop {
                let seq = next.fetch_add(1, Ordering::Relaxed);
                if seq >= rows {
                    break;
                }
                let mut new = template.clone();
                new.title = format!("Checkout: pay with saved card in one step ({seq})");
                let item = new.into_item(Uuid::now_v7(), Utc::now())?;
                if let Err(e) = store.create_work_item(&item).await {
                    out.failures.record(format!("Store::create_work_item: {e}"));
                    continue;
                }
                if read_back {
                    match store.get_work_item(item.id).await {
                        Ok(got) => ensure!(got.id == item.id, "read back another item"),
                        Err(e) => {
                            out.failures.record(format!("Store::get_work_item: {e}"));
                            continue;
                        }
                    }
                }
                out.ok += 1;
            }
            anyhow::Ok(out)
        }));
    }
    let mut run = CountRun::default();
    for handle in handles {
        let out = handle.await??;
        run.ok += out.ok;
        run.failures.merge(out.failures);
    }
    run.wall = started.elapsed();
    Ok(run)
}

// ---- output ---------------------------------------------------------------------

/// The facts that make a result comparable: when, where, what, how.
fn machine_facts(args: &Args) -> Value {
    let mem_total = machine::read_trimmed("/proc/meminfo")
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned();
    json!({
        "date": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": machine::cpu_model(),
        "memory": mem_total.trim_start_matches("MemTotal:").trim(),
        "kernel": machine::read_trimmed("/proc/sys/kernel/osrelease"),
        "loadavg_before": machine::read_trimmed("/proc/loadavg"),
        "tandem": machine::output(&args.binary.tandem.display().to_string(), &["--version"]),
        "commit": machine::git_commit(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "pairs_per_round": args.pairs,
        "rounds": args.load.rounds,
        "warmup": args.load.warmup,
        "clients": args.load.clients,
        "startups": args.startups,
    })
}

fn markdown(machine: &Value, load_after: &str, results: &[EngineResult]) -> String {
    let fact = |k: &str| match &machine[k] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let pp = |v: &[Duration]| {
        format!(
            "{:.1} / {:.1}",
            ms(percentile(v, 50.0)),
            ms(percentile(v, 99.0))
        )
    };
    let mut s = String::new();
    s.push_str(&format!(
        "Run {} on {} cores ({}, {}), kernel {}, {}, commit {}.\n",
        fact("date"),
        fact("nproc"),
        fact("cpu"),
        fact("memory"),
        fact("kernel"),
        fact("tandem"),
        fact("commit"),
    ));
    s.push_str(&format!(
        "{} clients, {} rounds of {} create+read pairs (after {} warm-up pairs); load average before: {}; after: {}.\n",
        fact("clients"),
        fact("rounds"),
        fact("pairs_per_round"),
        fact("warmup"),
        fact("loadavg_before"),
        load_after
    ));
    s.push_str(&format!("Command: `{}`\n\n", fact("command")));

    s.push_str(
        "| engine | startup to ready, median (ms) | RSS idle (MiB) | RSS after load (MiB) | API pairs/s \
         | pair p50 / p99 (ms) | create p50 / p99 (ms) | read p50 / p99 (ms) | raw inserts/s | API pairs/s ÷ raw inserts/s \
         | failed: API pairs / raw inserts |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {:.0} | {:.1} | {:.1} | {:.0} | {} | {} | {} | {:.0} | {:.2} | {} / {} of {} |\n",
            r.engine.as_str(),
            r.startup_ms(),
            mib(r.rss_idle_kib),
            mib(r.rss_after_kib),
            r.api_pairs_per_s(),
            pp(&r.pair),
            pp(&r.create),
            pp(&r.read),
            r.raw_inserts_per_s(),
            r.ratio(),
            r.api_failures(),
            r.raw_failures(),
            r.attempted(),
        ));
    }

    s.push_str("\nReferences and diagnostics (same run):\n\n");
    s.push_str(
        "| engine | `tandem migrate`, median (ms) | GET /healthz per s | GET /api/v1/me per s \
         | store create+get pairs/s | API ÷ store pairs \
         | raw inserts/s, 1 task | API ÷ 1-task inserts | server CPU per API pair (ms) \
         | client CPU per API pair (ms) | machine CPU busy during API runs | failed: store pairs / 1-task inserts |\n",
    );
    s.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {:.0} | {:.0} | {:.0} | {:.0} | {:.2} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0}% | {} / {} |\n",
            r.engine.as_str(),
            ms(median(&r.migrate)),
            r.healthz_per_s(),
            r.me_per_s(),
            r.store_pairs_per_s(),
            r.ratio_store_pairs(),
            r.serial_inserts_per_s(),
            r.ratio_serial(),
            r.server_cpu_ms_per_pair(),
            r.client_cpu_ms_per_pair(),
            r.machine_busy() * 100.0,
            r.store_failures(),
            r.serial_failures(),
        ));
    }

    s.push_str("\nPer round and per start:\n\n");
    s.push_str(
        "| engine | API pairs/s | raw inserts/s | store pairs/s | raw inserts/s, 1 task \
         | startup (ms) | `tandem migrate` (ms) | stop after SIGTERM (ms) |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|\n");
    for r in results {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} |\n",
            r.engine.as_str(),
            join_whole(r.rounds.iter().map(|x| x.api_pairs_per_s)),
            join_whole(r.rounds.iter().map(|x| x.raw_inserts_per_s)),
            join_whole(r.rounds.iter().map(|x| x.store_pairs_per_s)),
            join_whole(r.rounds.iter().map(|x| x.serial_inserts_per_s)),
            join_whole(r.startup.iter().map(|d| ms(*d))),
            join_whole(r.migrate.iter().map(|d| ms(*d))),
            join_whole(r.stop.iter().map(|d| ms(*d))),
        ));
    }

    let mut notes = Vec::new();
    for r in results {
        if r.raw_failures() + r.store_failures() + r.serial_failures() > 0 {
            notes.push(format!(
                "- {}: the raw store failed ({} of {} inserts from {} tasks); rates count successes only, \
                 so that ceiling and the ratios against it do not mean what they say.\n",
                r.engine.as_str(),
                r.raw_failures(),
                r.attempted(),
                r.clients,
            ));
        }
        if r.floor_failures() > 0 {
            notes.push(format!(
                "- {}: {} GET /healthz or /api/v1/me requests failed with a server error.\n",
                r.engine.as_str(),
                r.floor_failures(),
            ));
        }
        if r.api_failures() > 0 {
            notes.push(format!(
                "- {}: {} of {} API pairs failed with a server error; pairs/s and latencies count successful pairs only.\n",
                r.engine.as_str(),
                r.api_failures(),
                r.attempted(),
            ));
        }
        for m in &r.failure_examples {
            notes.push(format!("- {} (first failure): {m}\n", r.engine.as_str()));
        }
    }
    if !notes.is_empty() {
        s.push_str("\nFailures:\n\n");
        s.extend(notes);
    }
    s
}
