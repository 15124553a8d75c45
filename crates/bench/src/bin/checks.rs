//! `tandem-bench-checks`: health checks at scale (issue 16), two modes.
//!
//! `live`: 10,000 HTTP checks at a 60 s interval on one `tandem serve`
//! (release binary, SQLite or PostgreSQL) against local HTTP targets, for a few
//! intervals; and, in the same run and window, Debian's
//! `prometheus-blackbox-exporter` probing the same targets at the same
//! rate, driven by a direct probe loop here (`GET /probe?module=http_2xx&
//! target=…`, each target once per interval at the offset Tandem gives the
//! check), so no Prometheus scrape cost is added to either side.
//! - CPU: user + system time of each process (`/proc/PID/stat`) over the
//!   steady intervals (the first interval, which also opens connections, is
//!   reported apart), as a share of one core and per probe.
//! - Schedule lag of Tandem's results: each result's run time minus its
//!   scheduled time (the check's first run plus whole intervals), p50,
//!   p99, max, and the share within 1 s.
//!
//! The checks are defined before the server starts with their first runs
//! `--lead` seconds ahead, so the server is ready before the first is due
//! and start-up CPU is outside the window. The database is SQLite by
//! default, so Tandem's CPU figure includes its storage work (one
//! process); with `--engine postgres` (a fresh database on
//! `TANDEM_TEST_PG_URL`) the CPU of the database's backends serving the
//! server (`pg_stat_activity`, `/proc`) is reported and added to Tandem's
//! (PostgreSQL's shared processes are not counted). The targets are a
//! minimal HTTP/1.1 keep-alive server in this process.
//!
//! `storage`: `--days` (90) of results of `--checks` 60 s checks written
//! through the real code with a simulated clock: each simulated minute the
//! due checks are claimed (`Store::claim_due_checks`), their state folded
//! by the domain rules and each run finished with
//! `Store::finish_check_run` (raw result + minute/hour/day rollups), and
//! every simulated hour `app::checks::prune` applies the `[monitor]`
//! retention, as the `checks` job does. Then the rows per table and grain
//! and the bytes per table (SQLite `dbstat`; PostgreSQL
//! `pg_total_relation_size` after `VACUUM`) are measured, on SQLite and
//! PostgreSQL, and compared with the bound the retention rules give.
//!
//! Nothing is asserted.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{DateTime, TimeDelta, Utc};
use clap::Parser;
use serde_json::json;
use sqlx::Row;
use tandem_app::checks;
use tandem_bench::fixtures::Org;
use tandem_bench::machine;
use tandem_bench::process::{self, Binary};
use tandem_domain::check::{CheckKind, CheckSpec, Severity};
use tandem_store::EngineKind;
use tandem_testkit::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Debug, Parser)]
#[command(name = "tandem-bench-checks")]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// CPU and schedule lag of 10k HTTP checks, beside blackbox_exporter.
    Live(LiveArgs),
    /// Rows and bytes kept after simulated days of results, both engines.
    Storage(StorageArgs),
}

#[derive(Debug, clap::Args)]
struct LiveArgs {
    /// HTTP checks defined.
    #[arg(long, default_value_t = 10_000)]
    checks: usize,
    /// Their interval, in seconds.
    #[arg(long, default_value_t = 60)]
    interval: u32,
    /// Intervals run (the first is warm-up).
    #[arg(long, default_value_t = 3)]
    intervals: u32,
    /// Target ports (the checks are spread over them).
    #[arg(long, default_value_t = 20)]
    ports: usize,
    /// `[monitor] scheduler_interval_ms` of the server.
    #[arg(long, default_value_t = 250)]
    scheduler_ms: u64,
    /// Seconds from the end of the definitions to the first check's run
    /// (the server starts meanwhile).
    #[arg(long, default_value_t = 30)]
    lead: u64,
    /// The database: sqlite (the embedded default) or postgres (a fresh
    /// database on `TANDEM_TEST_PG_URL`; its backends' CPU is measured
    /// and added to Tandem's).
    #[arg(long, default_value = "sqlite")]
    engine: String,
    /// Skip the blackbox_exporter comparison.
    #[arg(long)]
    no_blackbox: bool,
    /// The blackbox_exporter binary.
    #[arg(long, default_value = "/usr/bin/prometheus-blackbox-exporter")]
    blackbox: String,
    #[command(flatten)]
    binary: Binary,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct StorageArgs {
    /// Checks simulated (the figures are also scaled to `--scale-to`).
    #[arg(long, default_value_t = 10)]
    checks: usize,
    /// Simulated days.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// Only the last this many days run every 60 s; the days before run
    /// hourly (time compression: past the raw and minute retention a run
    /// leaves only its hour and day rollups, one row per bucket whatever
    /// the runs in it, so the rows kept at the end are the same). 0: every
    /// day at 60 s.
    #[arg(long, default_value_t = 15)]
    minute_days: u32,
    /// The check count the figures are scaled to.
    #[arg(long, default_value_t = 10_000)]
    scale_to: usize,
    /// One run in this many fails (a single failure: no incident).
    #[arg(long, default_value_t = 200)]
    fail_every: u64,
    /// Engines: sqlite, postgres or both.
    #[arg(long, default_value = "both")]
    engines: String,
    /// Print JSON instead of Markdown.
    #[arg(long)]
    json: bool,
}

/// Clock ticks per second of `/proc/PID/stat` (`getconf CLK_TCK`).
fn clock_ticks() -> f64 {
    machine::output("getconf", &["CLK_TCK"])
        .parse()
        .unwrap_or(100.0)
}

/// User + system CPU seconds of a process so far.
fn cpu_seconds(pid: u32, ticks: f64) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // After the command's closing parenthesis: state is field 3; utime and
    // stime are fields 14 and 15.
    let rest = &stat[stat.rfind(')').context("stat")? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields[11].parse()?;
    let stime: f64 = fields[12].parse()?;
    Ok((utime + stime) / ticks)
}

/// A minimal HTTP/1.1 server: every request (keep-alive) answers 200 "ok".
async fn target(listener: tokio::net::TcpListener, served: Arc<AtomicU64>) {
    loop {
        let Ok((mut tcp, _)) = listener.accept().await else {
            continue;
        };
        let served = Arc::clone(&served);
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut got: Vec<u8> = Vec::new();
            loop {
                while let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
                    got.drain(..end + 4);
                    served.fetch_add(1, Ordering::Relaxed);
                    if tcp
                        .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
        });
    }
}

fn spec(i: usize, url: String, interval: u32) -> CheckSpec {
    CheckSpec {
        name: format!("bench-{i:05}"),
        team: "bench".into(),
        service: "targets".into(),
        project: None,
        kind: CheckKind::Http,
        target: url,
        method: None,
        headers: Default::default(),
        body: None,
        query: None,
        conditions: vec!["[STATUS] == 200".into()],
        interval_seconds: interval,
        timeout_seconds: 5,
        failure_threshold: 3,
        success_threshold: 1,
        grace_seconds: 0,
        severity: Severity::Warning,
        depends_on: None,
        maintenance: Vec::new(),
        record_type: None,
        nameserver: None,
        pattern: None,
        window_minutes: None,
    }
}

/// p-th percentile (nearest rank) of sorted values.
fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().mode {
        Mode::Live(a) => live(a).await,
        Mode::Storage(a) => storage(a).await,
    }
}

/// User + system CPU seconds of a process, if it is given.
fn cpu_of(pid: Option<u32>, ticks: f64) -> anyhow::Result<Option<f64>> {
    pid.map(|p| cpu_seconds(p, ticks)).transpose()
}

/// The PostgreSQL backends serving `pool`'s database (its own connection
/// left out): their pids.
async fn backend_pids(pool: &sqlx::PgPool) -> anyhow::Result<Vec<u32>> {
    let rows: Vec<(i32,)> = sqlx::query_as(
        "SELECT pid FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(p,)| u32::try_from(p).ok())
        .collect())
}

/// CPU seconds of each of `pids` still running.
fn cpu_by_pid(pids: &[u32], ticks: f64) -> HashMap<u32, f64> {
    pids.iter()
        .filter_map(|&p| cpu_seconds(p, ticks).ok().map(|c| (p, c)))
        .collect()
}

/// CPU the backends spent between two samples: a backend in both counts
/// its difference, one that appeared after the first its whole time (one
/// gone before the second is missed; the pool keeps its connections).
fn backends_cpu_between(first: &HashMap<u32, f64>, second: &HashMap<u32, f64>) -> f64 {
    second
        .iter()
        .map(|(pid, c)| c - first.get(pid).copied().unwrap_or(0.0))
        .sum()
}

async fn live(args: LiveArgs) -> anyhow::Result<()> {
    args.binary.require()?;
    let engine = match args.engine.as_str() {
        "sqlite" => EngineKind::Sqlite,
        "postgres" => EngineKind::Postgres,
        other => anyhow::bail!("--engine: {other:?} is not sqlite or postgres"),
    };
    let ticks = clock_ticks();
    let interval = Duration::from_secs(u64::from(args.interval));

    // Targets.
    let served = Arc::new(AtomicU64::new(0));
    let mut ports = Vec::new();
    for _ in 0..args.ports {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        ports.push(l.local_addr()?.port());
        tokio::spawn(target(l, Arc::clone(&served)));
    }
    let url = |i: usize| format!("http://127.0.0.1:{}/t/{i}", ports[i % ports.len()]);

    // The database and the checks, defined through the app as the API
    // would, first runs spread over [t0, t0 + interval).
    let db = TestDb::new(engine).await;
    process::tandem_cli(&args.binary.tandem, &db.url, &["migrate"], None).await?;
    let store = db.store().await;
    let org = Org::new(
        ("bench", "Bench"),
        ("targets", "Targets"),
        vec![],
        vec!["targets".into()],
        Utc::now(),
    );
    org.create(&store).await?;
    eprintln!("defining {} checks…", args.checks);
    let define_started = Instant::now();
    // A first guess of t0; the definitions are shifted below if they took
    // longer than the lead allows.
    let t0 = Utc::now() + TimeDelta::seconds(i64::try_from(args.lead)?);
    for i in 0..args.checks {
        checks::define(
            &store,
            spec(i, url(i), args.interval),
            checks::ORIGIN_API,
            t0,
        )
        .await?;
    }
    let define_s = define_started.elapsed().as_secs_f64();
    let first_runs: HashMap<String, (uuid::Uuid, DateTime<Utc>)> = store
        .list_checks()
        .await?
        .into_iter()
        .map(|c| (c.name, (c.id, c.next_run_at)))
        .collect();

    // blackbox_exporter on its own port with its own configuration.
    let blackbox = !args.no_blackbox && std::path::Path::new(&args.blackbox).exists();
    if !args.no_blackbox && !blackbox {
        eprintln!(
            "{} is missing (apt-get install prometheus-blackbox-exporter); running without it",
            args.blackbox
        );
    }
    let bb_dir = tempfile::tempdir()?;
    let mut bb_child = None;
    let bb_port = process::free_port()?;
    let mut bb_version = String::new();
    if blackbox {
        bb_version = machine::output(&args.blackbox, &["--version"])
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let conf = bb_dir.path().join("blackbox.yml");
        std::fs::write(
            &conf,
            "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      \
             preferred_ip_protocol: ip4\n      valid_status_codes: [200]\n",
        )?;
        let child = tokio::process::Command::new(&args.blackbox)
            .arg(format!("--config.file={}", conf.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{bb_port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("start prometheus-blackbox-exporter")?;
        bb_child = Some(child);
        let c = reqwest::Client::new();
        let mut up = false;
        for _ in 0..400 {
            if c.get(format!("http://127.0.0.1:{bb_port}/"))
                .send()
                .await
                .is_ok()
            {
                up = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ensure!(up, "blackbox_exporter did not come up");
    }

    // The server.
    let port = process::free_port()?;
    let log = process::server_log("tandem-bench-checks", engine)?;
    let scheduler = args.scheduler_ms.to_string();
    let mut child = process::spawn_server(
        &args.binary.tandem,
        &db.url,
        port,
        &log,
        &[
            ("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS", scheduler.as_str()),
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            ("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS", "0"),
        ],
    )?;
    let probe = reqwest::Client::new();
    process::wait_ready(&probe, port, &mut child, &log, Instant::now()).await?;
    let pid = child.id().context("server pid")?;
    let ready_at = Utc::now();
    let late_start = (ready_at - t0).num_milliseconds() as f64 / 1000.0;
    if late_start > 0.0 {
        eprintln!(
            "the server was ready {late_start:.1} s after the first run was due \
             (defining took {define_s:.1} s); raise --lead"
        );
    }
    // t0 as an Instant of this process.
    let started = Instant::now() + (t0 - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let load_before = machine::load_average();

    // The blackbox loop: target i at the same offset as check i.
    let bb_probes = Arc::new(AtomicU64::new(0));
    let bb_failed = Arc::new(AtomicU64::new(0));
    let end = started + interval * args.intervals;
    if blackbox {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(512)
            .build()?;
        let mut order: Vec<(Duration, usize)> = (0..args.checks)
            .map(|i| {
                let first = first_runs[&format!("bench-{i:05}")].1;
                let off = (first - t0).num_milliseconds().max(0) as u64;
                (
                    Duration::from_millis(off % (interval.as_millis() as u64)),
                    i,
                )
            })
            .collect();
        order.sort();
        let order = Arc::new(order);
        let (bb_probes, bb_failed) = (Arc::clone(&bb_probes), Arc::clone(&bb_failed));
        let urls: Arc<Vec<String>> = Arc::new((0..args.checks).map(url).collect());
        tokio::spawn(async move {
            let mut round = 0u32;
            loop {
                let base = started + interval * round;
                for (off, i) in order.iter() {
                    let at = base + *off;
                    if at >= end {
                        return;
                    }
                    tokio::time::sleep_until(at.into()).await;
                    let (client, urls) = (client.clone(), Arc::clone(&urls));
                    let (ok_n, bad_n) = (Arc::clone(&bb_probes), Arc::clone(&bb_failed));
                    let i = *i;
                    tokio::spawn(async move {
                        // The target's `:` and `/` may stand in a query.
                        let r = client
                            .get(format!(
                                "http://127.0.0.1:{bb_port}/probe?module=http_2xx&target={}",
                                urls[i]
                            ))
                            .send()
                            .await;
                        let ok = match r {
                            Ok(r) => r
                                .text()
                                .await
                                .is_ok_and(|t| t.contains("\nprobe_success 1")),
                            Err(_) => false,
                        };
                        ok_n.fetch_add(1, Ordering::Relaxed);
                        if !ok {
                            bad_n.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
                round += 1;
            }
        });
    }

    // CPU samples: at t0, after the first interval, at the end. On
    // PostgreSQL the server's backends too, from a connection of our own.
    let pg = match engine {
        EngineKind::Postgres => Some(sqlx::PgPool::connect(&db.url).await?),
        EngineKind::Sqlite => None,
    };
    let bb_pid = bb_child.as_ref().and_then(|c| c.id());
    tokio::time::sleep_until(started.into()).await;
    let (t_0, b0) = (cpu_seconds(pid, ticks)?, cpu_of(bb_pid, ticks)?);
    tokio::time::sleep_until((started + interval).into()).await;
    let (t_1, b1) = (cpu_seconds(pid, ticks)?, cpu_of(bb_pid, ticks)?);
    let pg_1 = match &pg {
        Some(p) => Some(cpu_by_pid(&backend_pids(p).await?, ticks)),
        None => None,
    };
    let bb_at_1 = bb_probes.load(Ordering::Relaxed);
    let rss_kib: u64 = machine::read_trimmed(&format!("/proc/{pid}/status"))
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    eprintln!("first interval done; {} to go", args.intervals - 1);
    tokio::time::sleep_until(end.into()).await;
    let (t_2, b2) = (cpu_seconds(pid, ticks)?, cpu_of(bb_pid, ticks)?);
    let bb_at_2 = bb_probes.load(Ordering::Relaxed);
    let backends_steady = match (&pg, &pg_1) {
        (Some(p), Some(first)) => {
            let second = cpu_by_pid(&backend_pids(p).await?, ticks);
            Some(backends_cpu_between(first, &second))
        }
        _ => None,
    };
    let steady = (end - (started + interval)).as_secs_f64();
    let load_after = machine::load_average();
    // Let runs in flight land, then stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    process::terminate(&mut child).await?;
    drop(bb_child);

    // Lag and runs from the stored results.
    let every_ms = interval.as_millis() as i64;
    let mut lags = Vec::new();
    let mut runs_steady = 0u64;
    let mut runs_all = 0u64;
    let mut failed_runs = 0u64;
    let steady_start = t0 + TimeDelta::from_std(interval)?;
    let steady_end = t0 + TimeDelta::from_std(interval * args.intervals)?;
    for (id, first) in first_runs.values() {
        for r in store.check_results(*id, 1000).await? {
            runs_all += 1;
            if !r.ok {
                failed_runs += 1;
            }
            if r.at >= steady_start && r.at < steady_end {
                runs_steady += 1;
            }
            let since = (r.at - *first).num_milliseconds();
            let k = (since as f64 / every_ms as f64).round().max(0.0) as i64;
            let scheduled = *first + TimeDelta::milliseconds(k * every_ms);
            lags.push((r.at - scheduled).num_milliseconds() as f64 / 1000.0);
        }
    }
    lags.sort_by(f64::total_cmp);
    let within = lags.iter().filter(|l| l.abs() <= 1.0).count() as f64 / lags.len().max(1) as f64;

    let n = args.checks as f64;
    let tandem_first = t_1 - t_0;
    let tandem_steady = t_2 - t_1;
    let expected_steady = n * steady / f64::from(args.interval);
    let bb_steady = b2.zip(b1).map(|(b, a)| b - a);
    let with_backends = tandem_steady + backends_steady.unwrap_or(0.0);
    let summary = json!({
        "date": Utc::now().to_rfc3339(),
        "machine": {"cpu": machine::cpu_model(), "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                    "load_before": load_before, "load_after": load_after, "commit": machine::git_commit()},
        "engine": engine.as_str(),
        "checks": args.checks, "interval_seconds": args.interval, "intervals": args.intervals,
        "scheduler_interval_ms": args.scheduler_ms, "define_s": define_s,
        "server_ready_after_first_due_s": late_start,
        "tandem": {
            "cpu_first_interval_s": tandem_first,
            "cpu_steady_s": tandem_steady, "steady_s": steady,
            "core_share_steady": tandem_steady / steady,
            "runs_steady": runs_steady, "runs_expected_steady": expected_steady,
            "cpu_per_probe_ms": tandem_steady * 1000.0 / runs_steady.max(1) as f64,
            "runs_all": runs_all, "failed_runs": failed_runs, "rss_mib": rss_kib as f64 / 1024.0,
            "postgres_backends_cpu_steady_s": backends_steady,
            "with_backends": backends_steady.map(|_| json!({
                "cpu_steady_s": with_backends,
                "core_share_steady": with_backends / steady,
                "cpu_per_probe_ms": with_backends * 1000.0 / runs_steady.max(1) as f64,
            })),
            "lag_s": {"p50": pct(&lags, 50.0), "p99": pct(&lags, 99.0), "max": lags.last().copied().unwrap_or(f64::NAN),
                      "within_1s": within},
        },
        "blackbox": if blackbox { json!({
            "version": bb_version,
            "cpu_first_interval_s": b1.zip(b0).map(|(b, a)| b - a),
            "cpu_steady_s": bb_steady,
            "core_share_steady": bb_steady.map(|c| c / steady),
            "probes_steady": bb_at_2 - bb_at_1,
            "cpu_per_probe_ms": bb_steady.map(|c| c * 1000.0 / (bb_at_2 - bb_at_1).max(1) as f64),
            "probes_all": bb_probes.load(Ordering::Relaxed), "failed": bb_failed.load(Ordering::Relaxed),
        }) } else { json!(null) },
        "targets_served": served.load(Ordering::Relaxed),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let t = &summary["tandem"];
    let b = &summary["blackbox"];
    let f = |v: &serde_json::Value| v.as_f64().map_or("—".to_owned(), |x| format!("{x:.3}"));
    println!(
        "| | Tandem (`serve`, {}) | blackbox_exporter (direct probe loop) |",
        engine.as_str()
    );
    println!("|---|---|---|");
    println!(
        "| CPU, steady {:.0} s (s) | {} | {} |",
        steady,
        f(&t["cpu_steady_s"]),
        f(&b["cpu_steady_s"])
    );
    println!(
        "| share of one core | {:.1} % | {} |",
        t["core_share_steady"].as_f64().unwrap_or(0.0) * 100.0,
        b["core_share_steady"]
            .as_f64()
            .map_or("—".to_owned(), |x| format!("{:.1} %", x * 100.0))
    );
    println!(
        "| probes in the window | {} (expected {:.0}) | {} |",
        t["runs_steady"], expected_steady, b["probes_steady"]
    );
    println!(
        "| CPU per probe (ms) | {} | {} |",
        f(&t["cpu_per_probe_ms"]),
        f(&b["cpu_per_probe_ms"])
    );
    println!(
        "| CPU in the first interval (s) | {} | {} |",
        f(&t["cpu_first_interval_s"]),
        f(&b["cpu_first_interval_s"])
    );
    if let Some(c) = backends_steady {
        println!(
            "| PostgreSQL backends' CPU, steady (s) | {c:.3} | |\n\
             | Tandem + backends: share of one core | {:.1} % | |\n\
             | Tandem + backends: CPU per probe (ms) | {:.3} | |",
            with_backends / steady * 100.0,
            with_backends * 1000.0 / runs_steady.max(1) as f64
        );
    }
    println!(
        "\nSchedule lag (all {} results, {} failed): p50 {:.3} s, p99 {:.3} s, max {:.3} s, within 1 s: {:.2} %",
        t["runs_all"],
        t["failed_runs"],
        pct(&lags, 50.0),
        pct(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN),
        within * 100.0
    );
    println!(
        "\nload average before/after: {load_before} / {load_after}; RSS {:.0} MiB",
        rss_kib as f64 / 1024.0
    );
    println!("\n{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// Rows of one table (and grain) kept at the end, and its bytes.
#[derive(Debug, Clone)]
struct Kept {
    table: String,
    rows: i64,
    /// Table and its indexes.
    bytes: i64,
}

impl Kept {
    fn to_json(&self) -> serde_json::Value {
        json!({"table": self.table, "rows": self.rows, "bytes": self.bytes})
    }
}

/// The check tables measured.
const CHECK_TABLES: [&str; 3] = ["checks", "check_results", "check_rollups"];
/// The tables whose bytes grow with the days kept (the total scaled).
const KEPT_TABLES: [&str; 2] = ["check_results", "check_rollups"];

async fn storage(args: StorageArgs) -> anyhow::Result<()> {
    let engines: Vec<EngineKind> = match args.engines.as_str() {
        "both" => vec![EngineKind::Sqlite, EngineKind::Postgres],
        "sqlite" => vec![EngineKind::Sqlite],
        "postgres" => vec![EngineKind::Postgres],
        other => anyhow::bail!("--engines {other:?}: sqlite, postgres or both"),
    };
    let settings = Arc::new(tandem_app::Settings::load_from(None, &[])?);
    let m = &settings.monitor;
    let interval: i64 = 60;
    // The bound from the retention rules over `days`, per check; the
    // hourly prune lets up to one more hour of each through.
    let days = i64::from(args.days);
    let raw_h = i64::from(m.raw_retention_hours);
    let bound = json!({
        "raw": (raw_h * 3600 / interval).min(days * 86_400 / interval),
        "minute": i64::from(m.minute_retention_days).min(days) * 1440,
        "hour": i64::from(m.hour_retention_days).min(days) * 24,
        "day": i64::from(m.day_retention_days).min(days),
    });
    let scale = args.scale_to as f64 / args.checks as f64;
    let mut out = Vec::new();
    for engine in engines {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        let start: DateTime<Utc> = "2026-01-01T00:00:00Z".parse()?;
        let org = Org::new(
            ("bench", "Bench"),
            ("targets", "Targets"),
            vec![],
            vec!["targets".into()],
            start,
        );
        org.create(&store).await?;
        let end = start + TimeDelta::days(days);
        let coarse = args.minute_days > 0 && i64::from(args.minute_days) < days;
        let switch_at = if coarse {
            end - TimeDelta::days(i64::from(args.minute_days))
        } else {
            start
        };
        for i in 0..args.checks {
            checks::define(
                &store,
                spec(
                    i,
                    format!("http://127.0.0.1:9/t/{i}"),
                    if coarse { 3600 } else { 60 },
                ),
                checks::ORIGIN_API,
                start,
            )
            .await?;
        }
        let mut switched = !coarse;
        let wall = Instant::now();
        let owner = "bench-storage";
        let flap = TimeDelta::minutes(i64::from(m.flap_window_minutes));
        let reminders = tandem_domain::check::Reminders {
            base: TimeDelta::minutes(i64::from(m.reminder_minutes)),
            max: TimeDelta::minutes(i64::from(m.reminder_max_minutes)),
        };
        let mut now = start;
        let mut runs: u64 = 0;
        let mut transitions: u64 = 0;
        let mut pruned: u64 = 0;
        let mut next_prune = start + TimeDelta::hours(1);
        while now < end {
            if !switched && now >= switch_at {
                // The same checks, now every 60 s (their schedule stays).
                for i in 0..args.checks {
                    checks::define(
                        &store,
                        spec(i, format!("http://127.0.0.1:9/t/{i}"), 60),
                        checks::ORIGIN_API,
                        now,
                    )
                    .await?;
                }
                switched = true;
            }
            let claimed = store
                .claim_due_checks(owner, now, now + checks::run::LEASE, 100_000)
                .await?;
            let mut tasks = tokio::task::JoinSet::new();
            for c in claimed {
                runs += 1;
                // A run starts a few ms after its schedule and takes a few.
                let at = tandem_domain::time::micros(
                    c.next_run_at + TimeDelta::milliseconds((runs % 40) as i64),
                );
                let ok = !runs.is_multiple_of(args.fail_every);
                let (state, transition) = c.state.next(
                    ok,
                    &c.spec,
                    tandem_domain::check::Hold::None,
                    at,
                    flap,
                    reminders,
                );
                if transition != tandem_domain::check::Transition::None {
                    transitions += 1;
                }
                let every = i64::from(c.spec.interval_seconds);
                let run = tandem_store::CheckRun {
                    at,
                    ok,
                    latency_ms: 2 + (runs % 7) as i64,
                    message: if ok {
                        "ok".to_owned()
                    } else {
                        "[STATUS] == 200 (got 503)".to_owned()
                    },
                    covers_ms: every * 1000,
                };
                let next = c.next_run_at + TimeDelta::seconds(every);
                let store = store.clone();
                let finish = async move {
                    store
                        .finish_check_run(c.id, owner, &run, &state, next, None)
                        .await
                };
                // SQLite has one writer: in turn; PostgreSQL: at once.
                match engine {
                    EngineKind::Sqlite => ensure!(finish.await?, "a simulated run lost its claim"),
                    EngineKind::Postgres => {
                        tasks.spawn(finish);
                    }
                }
            }
            while let Some(r) = tasks.join_next().await {
                ensure!(r??, "a simulated run lost its claim");
            }
            now += TimeDelta::seconds(interval);
            if now >= next_prune {
                pruned += checks::prune(&store, &settings, now).await?;
                next_prune += TimeDelta::hours(1);
            }
            if (now - start).num_seconds() % 86_400 == 0 {
                eprintln!(
                    "{}: day {} of {days} ({:.0} s)",
                    engine.as_str(),
                    (now - start).num_days(),
                    wall.elapsed().as_secs_f64()
                );
            }
        }
        let sim_s = wall.elapsed().as_secs_f64();
        let kept = measure(&db.url, engine).await?;
        let per_check = |t: &str| {
            kept.iter()
                .find(|k| k.table == t)
                .map_or(0.0, |k| k.rows as f64 / args.checks as f64)
        };
        out.push(json!({
            "engine": engine.as_str(),
            "hourly_until": switch_at.to_rfc3339(),
            "runs_written": runs, "transitions": transitions, "rows_pruned": pruned,
            "wall_s": sim_s,
            "kept": kept.iter().map(Kept::to_json).collect::<Vec<_>>(),
            "rows_per_check": {
                "raw": per_check("check_results"),
                "minute": per_check("check_rollups/minute"),
                "hour": per_check("check_rollups/hour"),
                "day": per_check("check_rollups/day"),
            },
            "bytes_total": kept.iter().filter(|k| KEPT_TABLES.contains(&k.table.as_str())).map(|k| k.bytes).sum::<i64>(),
        }));
        drop(store);
    }
    let summary = json!({
        "date": Utc::now().to_rfc3339(),
        "machine": {"cpu": machine::cpu_model(), "load_after": machine::load_average(), "commit": machine::git_commit()},
        "checks": args.checks, "days": args.days, "interval_seconds": interval,
        "minute_days": args.minute_days,
        "scale_to": args.scale_to,
        "retention": {"raw_hours": m.raw_retention_hours, "minute_days": m.minute_retention_days,
                      "hour_days": m.hour_retention_days, "day_days": m.day_retention_days},
        "bound_rows_per_check": bound,
        "unbounded_rows_per_check": days * 86_400 / interval,
        "engines": out,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    for e in summary["engines"].as_array().into_iter().flatten() {
        println!(
            "\n{}: {} runs of {} checks over {} simulated days in {:.0} s; kept:",
            e["engine"].as_str().unwrap_or(""),
            e["runs_written"],
            args.checks,
            args.days,
            e["wall_s"].as_f64().unwrap_or(0.0)
        );
        println!(
            "\n| table | rows | per check | bound per check | bytes (with indexes) | × {} checks |",
            args.scale_to
        );
        println!("|---|---|---|---|---|---|");
        for k in e["kept"].as_array().into_iter().flatten() {
            let table = k["table"].as_str().unwrap_or("");
            let rows = k["rows"].as_i64().unwrap_or(0);
            let b = match table {
                "check_results" => bound["raw"].to_string(),
                "check_rollups/minute" => bound["minute"].to_string(),
                "check_rollups/hour" => bound["hour"].to_string(),
                "check_rollups/day" => bound["day"].to_string(),
                _ => "".to_owned(),
            };
            let bytes = k["bytes"].as_i64().unwrap_or(0);
            println!(
                "| {table} | {rows} | {:.0} | {b} | {} | {:.0} M rows, {:.2} GiB |",
                rows as f64 / args.checks as f64,
                if bytes > 0 {
                    bytes.to_string()
                } else {
                    "—".into()
                },
                rows as f64 * scale / 1e6,
                bytes as f64 * scale / (1u64 << 30) as f64,
            );
        }
        println!(
            "\nresults and rollups (tables with indexes): {} bytes → {:.2} GiB for {} checks",
            e["bytes_total"],
            e["bytes_total"].as_f64().unwrap_or(0.0) * scale / (1u64 << 30) as f64,
            args.scale_to
        );
    }
    println!("\n{}", serde_json::to_string(&summary)?);
    Ok(())
}

/// Rows per check table (and rollup grain) and bytes per table with its
/// indexes, on the database at `url`.
async fn measure(url: &str, engine: EngineKind) -> anyhow::Result<Vec<Kept>> {
    let mut kept = Vec::new();
    match engine {
        EngineKind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await?;
            let mut bytes: HashMap<String, i64> = HashMap::new();
            for row in sqlx::query(
                "SELECT m.tbl_name AS t, SUM(s.pgsize) AS b FROM dbstat s \
                 JOIN sqlite_master m ON m.name = s.name GROUP BY m.tbl_name",
            )
            .fetch_all(&pool)
            .await?
            {
                bytes.insert(row.get::<String, _>("t"), row.get::<i64, _>("b"));
            }
            for t in CHECK_TABLES {
                let rows: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
                        .fetch_one(&pool)
                        .await?;
                kept.push(Kept {
                    table: t.to_owned(),
                    rows,
                    bytes: bytes.get(t).copied().unwrap_or(0),
                });
            }
            for (grain, n) in sqlx::query_as::<_, (String, i64)>(
                "SELECT grain, COUNT(*) FROM check_rollups GROUP BY grain ORDER BY grain",
            )
            .fetch_all(&pool)
            .await?
            {
                kept.push(Kept {
                    table: format!("check_rollups/{grain}"),
                    rows: n,
                    bytes: 0,
                });
            }
            let page: i64 = sqlx::query_scalar("PRAGMA page_size")
                .fetch_one(&pool)
                .await?;
            let pages: i64 = sqlx::query_scalar("PRAGMA page_count")
                .fetch_one(&pool)
                .await?;
            let free: i64 = sqlx::query_scalar("PRAGMA freelist_count")
                .fetch_one(&pool)
                .await?;
            kept.push(Kept {
                table: "(file, of it free pages)".into(),
                rows: free * page,
                bytes: pages * page,
            });
        }
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(url).await?;
            for t in CHECK_TABLES {
                sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {t}")))
                    .execute(&pool)
                    .await?;
                let rows: i64 =
                    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {t}")))
                        .fetch_one(&pool)
                        .await?;
                let bytes: i64 = sqlx::query_scalar("SELECT pg_total_relation_size($1::regclass)")
                    .bind(t)
                    .fetch_one(&pool)
                    .await?;
                kept.push(Kept {
                    table: t.to_owned(),
                    rows,
                    bytes,
                });
            }
            for (grain, n) in sqlx::query_as::<_, (String, i64)>(
                "SELECT grain, COUNT(*) FROM check_rollups GROUP BY grain ORDER BY grain",
            )
            .fetch_all(&pool)
            .await?
            {
                kept.push(Kept {
                    table: format!("check_rollups/{grain}"),
                    rows: n,
                    bytes: 0,
                });
            }
            let db: i64 = sqlx::query_scalar("SELECT pg_database_size(current_database())")
                .fetch_one(&pool)
                .await?;
            kept.push(Kept {
                table: "(database)".into(),
                rows: 0,
                bytes: db,
            });
        }
    }
    Ok(kept)
}
