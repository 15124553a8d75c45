//! `tandem-bench-checks`: 10,000 HTTP checks at a 60 s interval on one
//! `tandem serve` (release binary) against local HTTP targets, for a few
//! intervals; and, in the same run and window, Debian's
//! `prometheus-blackbox-exporter` probing the same targets at the same
//! rate, driven by a direct probe loop here (`GET /probe?module=http_2xx&
//! target=…`, each target once per interval, spread like Tandem spreads
//! its checks), so no Prometheus scrape cost is added to either side.
//!
//! Measured:
//! - CPU: user + system time of each process (`/proc/PID/stat`) over the
//!   steady intervals (the first interval, which also starts connections,
//!   is reported apart), as a share of one core and per probe.
//! - Schedule lag of Tandem's results: each result's run time minus its
//!   scheduled time (the check's first run plus whole intervals), p50,
//!   p99, max, and the share within 1 s.
//! - Storage: rows and bytes per check result and rollup, measured on
//!   this run's SQLite database (`dbstat`), and what 10,000 checks keep
//!   over 90 days under the `[monitor]` retention rules.
//!
//! The database is SQLite, so Tandem's CPU figure includes its storage
//! work (one process). The targets are a minimal HTTP/1.1 keep-alive
//! server in this process, on `--ports` ports. Nothing is asserted.

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
struct Args {
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
    /// Skip the blackbox_exporter comparison.
    #[arg(long)]
    no_blackbox: bool,
    #[command(flatten)]
    binary: Binary,
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
    let args = Args::parse();
    args.binary.require()?;
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

    // The database and the checks, defined through the app as the API would.
    let db = TestDb::new(EngineKind::Sqlite).await;
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
    let defined_at = Utc::now();
    eprintln!("defining {} checks…", args.checks);
    for i in 0..args.checks {
        checks::define(
            &store,
            spec(i, url(i), args.interval),
            checks::ORIGIN_API,
            defined_at,
        )
        .await?;
    }
    let first_runs: HashMap<String, (uuid::Uuid, DateTime<Utc>)> = store
        .list_checks()
        .await?
        .into_iter()
        .map(|c| (c.name, (c.id, c.next_run_at)))
        .collect();
    let define_wall = (Utc::now() - defined_at).num_milliseconds();

    // blackbox_exporter, probed by a loop here at the same rate.
    let bb_bin = "/usr/bin/prometheus-blackbox-exporter";
    let blackbox = !args.no_blackbox && std::path::Path::new(bb_bin).exists();
    let bb_dir = tempfile::tempdir()?;
    let mut bb_child = None;
    let bb_port = process::free_port()?;
    if blackbox {
        let conf = bb_dir.path().join("blackbox.yml");
        std::fs::write(
            &conf,
            "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      \
             preferred_ip_protocol: ip4\n      valid_status_codes: [200]\n",
        )?;
        let child = tokio::process::Command::new(bb_bin)
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
        for _ in 0..200 {
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
    let log = process::server_log("tandem-bench-checks", EngineKind::Sqlite)?;
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
    let started = Instant::now();
    let load_before = machine::load_average();

    // The blackbox loop: target i first at the same offset as check i.
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
                let off = (first - defined_at).num_milliseconds().max(0) as u64;
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
                        let r = client
                            .get(format!("http://127.0.0.1:{bb_port}/probe"))
                            .query(&[("module", "http_2xx"), ("target", urls[i].as_str())])
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

    // CPU samples: at the start, after the first interval, at the end.
    let bb_pid = bb_child.as_ref().and_then(|c| c.id());
    let cpu = |pid: Option<u32>| pid.map(|p| cpu_seconds(p, ticks)).transpose();
    let (t0, b0) = (cpu(Some(pid))?.unwrap_or(0.0), cpu(bb_pid)?);
    tokio::time::sleep_until((started + interval).into()).await;
    let (t1, b1) = (cpu(Some(pid))?.unwrap_or(0.0), cpu(bb_pid)?);
    let bb_at_1 = bb_probes.load(Ordering::Relaxed);
    let rss_kib: u64 = machine::read_trimmed(&format!("/proc/{pid}/status"))
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0);
    eprintln!("first interval done; {} to go", args.intervals - 1);
    tokio::time::sleep_until(end.into()).await;
    let (t2, b2) = (cpu(Some(pid))?.unwrap_or(0.0), cpu(bb_pid)?);
    let bb_at_2 = bb_probes.load(Ordering::Relaxed);
    let steady = (end - (started + interval)).as_secs_f64();
    let load_after = machine::load_average();
    // Let runs in flight land, then stop.
    tokio::time::sleep(Duration::from_secs(2)).await;
    process::terminate(&mut child).await?;
    drop(bb_child);

    // Lag and runs from the stored results.
    let first_ms = interval.as_millis() as i64;
    let mut lags = Vec::new();
    let mut runs_steady = 0u64;
    let mut runs_all = 0u64;
    let mut failed_runs = 0u64;
    let server_started_at = Utc::now() - TimeDelta::from_std(started.elapsed()).unwrap_or_default();
    let steady_start = server_started_at + TimeDelta::from_std(interval).unwrap_or_default();
    let steady_end =
        server_started_at + TimeDelta::from_std(interval * args.intervals).unwrap_or_default();
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
            let k = (since as f64 / first_ms as f64).round().max(0.0) as i64;
            let scheduled = *first + TimeDelta::milliseconds(k * first_ms);
            lags.push((r.at - scheduled).num_milliseconds() as f64 / 1000.0);
        }
    }
    lags.sort_by(f64::total_cmp);
    let within = lags.iter().filter(|l| l.abs() <= 1.0).count() as f64 / lags.len().max(1) as f64;

    // Storage, measured on this database.
    let pool = sqlx::SqlitePool::connect(&db.url).await?;
    let mut bytes: HashMap<String, i64> = HashMap::new();
    for row in sqlx::query("SELECT name, SUM(pgsize) AS b FROM dbstat GROUP BY name")
        .fetch_all(&pool)
        .await?
    {
        bytes.insert(row.get::<String, _>("name"), row.get::<i64, _>("b"));
    }
    let table_bytes = |prefixes: &[&str]| -> i64 {
        bytes
            .iter()
            .filter(|(n, _)| prefixes.iter().any(|p| n.as_str() == *p || n.contains(p)))
            .map(|(_, b)| b)
            .sum()
    };
    let result_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM check_results")
        .fetch_one(&pool)
        .await?;
    let rollup_rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM check_rollups")
        .fetch_one(&pool)
        .await?;
    let result_bytes = table_bytes(&["check_results"]);
    let rollup_bytes = table_bytes(&["check_rollups"]);
    let per_result = result_bytes as f64 / result_rows.max(1) as f64;
    let per_rollup = rollup_bytes as f64 / rollup_rows.max(1) as f64;
    // Retention (the [monitor] defaults): raw 48 h, minute 14 d, hour 100 d,
    // day 800 d; over a 90-day span at one run per interval.
    let m = tandem_app::settings::MonitorSettings::default();
    let per_day_runs = 86_400.0 / f64::from(args.interval);
    let raw_rows = per_day_runs * f64::from(m.raw_retention_hours) / 24.0;
    let minute_rows = 1440.0 * f64::from(m.minute_retention_days.min(90));
    let hour_rows = 24.0 * f64::from(m.hour_retention_days.min(90));
    let day_rows = f64::from(m.day_retention_days.min(90));
    let n = args.checks as f64;
    let total_rows = n * (raw_rows + minute_rows + hour_rows + day_rows);
    let total_bytes =
        n * (raw_rows * per_result + (minute_rows + hour_rows + day_rows) * per_rollup);
    // Without rollups or retention: every raw result for 90 days.
    let unbounded_bytes = n * per_day_runs * 90.0 * per_result;

    let tandem_first = t1 - t0;
    let tandem_steady = t2 - t1;
    let expected_steady = n * steady / f64::from(args.interval);
    let summary = json!({
        "date": Utc::now().to_rfc3339(),
        "machine": {"cpu": machine::cpu_model(), "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
                    "load_before": load_before, "load_after": load_after, "commit": machine::git_commit()},
        "checks": args.checks, "interval_seconds": args.interval, "intervals": args.intervals,
        "scheduler_interval_ms": args.scheduler_ms, "define_ms": define_wall,
        "tandem": {
            "cpu_first_interval_s": tandem_first,
            "cpu_steady_s": tandem_steady, "steady_s": steady,
            "core_share_steady": tandem_steady / steady,
            "runs_steady": runs_steady, "runs_expected_steady": expected_steady,
            "cpu_per_probe_ms": tandem_steady * 1000.0 / runs_steady.max(1) as f64,
            "runs_all": runs_all, "failed_runs": failed_runs, "rss_mib": rss_kib as f64 / 1024.0,
            "lag_s": {"p50": pct(&lags, 50.0), "p99": pct(&lags, 99.0), "max": lags.last().copied().unwrap_or(f64::NAN),
                      "within_1s": within},
        },
        "blackbox": if blackbox { json!({
            "cpu_first_interval_s": b1.unwrap_or(0.0) - b0.unwrap_or(0.0),
            "cpu_steady_s": b2.unwrap_or(0.0) - b1.unwrap_or(0.0),
            "core_share_steady": (b2.unwrap_or(0.0) - b1.unwrap_or(0.0)) / steady,
            "probes_steady": bb_at_2 - bb_at_1,
            "cpu_per_probe_ms": (b2.unwrap_or(0.0) - b1.unwrap_or(0.0)) * 1000.0 / (bb_at_2 - bb_at_1).max(1) as f64,
            "probes_all": bb_probes.load(Ordering::Relaxed), "failed": bb_failed.load(Ordering::Relaxed),
        }) } else { json!(null) },
        "targets_served": served.load(Ordering::Relaxed),
        "storage": {
            "sample_result_rows": result_rows, "sample_result_bytes": result_bytes, "bytes_per_result": per_result,
            "sample_rollup_rows": rollup_rows, "sample_rollup_bytes": rollup_bytes, "bytes_per_rollup": per_rollup,
            "rows_per_check_90d": {"raw": raw_rows, "minute": minute_rows, "hour": hour_rows, "day": day_rows},
            "rows_90d": total_rows, "bytes_90d": total_bytes, "bytes_90d_without_rollups_and_retention": unbounded_bytes,
        },
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    let t = &summary["tandem"];
    println!("| | Tandem (`serve`, SQLite) | blackbox_exporter (direct probe loop) |");
    println!("|---|---|---|");
    let b = &summary["blackbox"];
    let f = |v: &serde_json::Value| v.as_f64().map_or("—".to_owned(), |x| format!("{x:.3}"));
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
    println!(
        "\nSchedule lag (all {} results): p50 {:.3} s, p99 {:.3} s, max {:.3} s, within 1 s: {:.2} %",
        t["runs_all"],
        pct(&lags, 50.0),
        pct(&lags, 99.0),
        lags.last().copied().unwrap_or(f64::NAN),
        within * 100.0
    );
    println!(
        "\nStorage: {per_result:.0} B per raw result, {per_rollup:.0} B per rollup row (SQLite, \
         measured on {result_rows} results and {rollup_rows} rollup rows); 10k checks × 90 days: \
         {:.0} M rows, {:.1} GiB (without rollups and retention: {:.1} GiB)",
        total_rows / 1e6,
        total_bytes / (1u64 << 30) as f64,
        unbounded_bytes / (1u64 << 30) as f64
    );
    println!(
        "\nload average before/after: {load_before} / {load_after}; RSS {:.0} MiB",
        rss_kib as f64 / 1024.0
    );
    println!("\n{}", serde_json::to_string(&summary)?);
    Ok(())
}
