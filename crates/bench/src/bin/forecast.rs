//! `tandem-bench-forecast`: how long the Monte Carlo forecast of
//! `tandem_domain::forecast` takes, against a vectorised NumPy implementation
//! of the same model (`bench/forecast_reference.py`) run in the same
//! invocation on the same inputs.
//!
//! The inputs are synthetic but shaped like a real team: twelve weeks of
//! history at about three items a working day, holidays, and goals of 10 to
//! 120 remaining items, most with a deadline, a third with weekly scope
//! growth, a sixth with a growth range and a third with three stages. They
//! are generated from a fixed seed, so every run forecasts the same data.
//!
//! Workloads, each timed `--reps` times (the median is reported):
//! - every goal in its own `forecast` call (the headline, also run by NumPy);
//! - the same calls split over two threads (`std::thread::scope`): the domain
//!   is single-threaded, a caller may run independent calls in parallel;
//! - the same calls with the scope growth removed (what growth costs);
//! - the first `--shared` goals in one call sharing the team (item by item,
//!   because some grow), and the same goals without growth (the walk).
//!
//! Wall-clock time (median) and the thread's CPU time (mean, from
//! `/proc/thread-self/schedstat`, whose values may be whole scheduler
//! ticks) are both reported: on a shared machine the CPU time is the
//! steadier of the two.
//!
//! The harness also checks that Rust and NumPy agree (different random
//! numbers, so within Monte Carlo noise). Nothing here asserts a duration.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{Datelike, Days, NaiveDate, Utc, Weekday};
use clap::Parser;
use serde_json::{Value, json};
use tandem_bench::machine;
use tandem_bench::stats::{all_ms, upper_median, upper_median_ms};
use tandem_domain::forecast::{
    Forecast, Milestone, ScopeGrowth, Sharing, SimulationSettings, Target, TargetForecast, forecast,
};

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench-forecast",
    about = "Monte Carlo forecast speed against a NumPy reference of the same model."
)]
struct Args {
    /// Goals forecast one call each.
    #[arg(long, default_value_t = 100)]
    goals: usize,
    /// Trials per forecast.
    #[arg(long, default_value_t = 10_000)]
    trials: u32,
    /// Timed repetitions of each workload; the median is reported.
    #[arg(long, default_value_t = 11)]
    reps: usize,
    /// Goals in the one shared call.
    #[arg(long, default_value_t = 10)]
    shared: usize,
    /// The Python interpreter for the reference (needs NumPy).
    #[arg(long, default_value = "python3")]
    python: String,
    /// The NumPy reference script.
    #[arg(long, default_value = "bench/forecast_reference.py")]
    reference: PathBuf,
    /// Measure Rust only.
    #[arg(long)]
    no_reference: bool,
    /// Print a JSON summary instead of Markdown.
    #[arg(long)]
    json: bool,
}

/// A fixed "today" (a Thursday): the data, and so the results, never change.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 26).expect("a valid date")
}

/// Shapes the synthetic data only (xorshift64*); the forecast's own
/// randomness is in the domain crate.
#[derive(Debug)]
struct DataRng(u64);

impl DataRng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next() % u64::from(hi - lo + 1)) as u32
    }

    fn chance(&mut self, percent: u32) -> bool {
        self.range(1, 100) <= percent
    }
}

#[derive(Debug)]
struct Data {
    done: Vec<NaiveDate>,
    holidays: Vec<NaiveDate>,
    goals: Vec<Target>,
}

fn data(goals: usize) -> Data {
    let mut rng = DataRng(0x7A4D_E3D0_2026_F0CA);
    let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).expect("a valid date");
    let holidays: Vec<NaiveDate> = [
        (2026, 10, 12),
        (2026, 11, 11),
        (2026, 12, 24),
        (2026, 12, 25),
        (2026, 12, 31),
        (2027, 1, 1),
    ]
    .into_iter()
    .map(|(y, m, d)| date(y, m, d))
    .collect();
    let mut done = Vec::new();
    for back in 1..=112u64 {
        let day = today() - Days::new(back);
        let weekend = matches!(day.weekday(), Weekday::Sat | Weekday::Sun);
        // Binomial(6, 1/2) on working days (mean 3), the odd item at weekends.
        let n = if weekend || holidays.contains(&day) {
            u32::from(rng.chance(10))
        } else {
            (0..6).map(|_| u32::from(rng.chance(50))).sum()
        };
        done.extend(std::iter::repeat_n(day, n as usize));
    }
    let goals = (0..goals)
        .map(|i| {
            let remaining = rng.range(10, 120);
            let deadline = rng
                .chance(70)
                .then(|| today() + Days::new(u64::from(rng.range(14, 120))));
            let growth = match rng.range(0, 5) {
                0 | 1 => ScopeGrowth::Weekly {
                    added_per_week: (0..8).map(|_| rng.range(0, 4)).collect(),
                },
                2 => ScopeGrowth::Range {
                    min_per_week: 0,
                    max_per_week: 3,
                },
                _ => ScopeGrowth::None,
            };
            let milestones = if rng.chance(33) {
                [30, 60, 100]
                    .iter()
                    .enumerate()
                    .map(|(j, pct)| Milestone {
                        key: format!("stage-{}", j + 1),
                        cumulative_items: remaining * pct / 100,
                        deadline: deadline.map(|d| d - Days::new(u64::from(20 - 10 * j as u32))),
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Target {
                key: format!("goal-{i:03}"),
                remaining,
                deadline,
                growth,
                milestones,
            }
        })
        .collect();
    Data {
        done,
        holidays,
        goals,
    }
}

/// CPU time this thread has run, from the scheduler; `None` where
/// `/proc/thread-self/schedstat` is missing. Its resolution may be a
/// scheduler tick (4 ms here), so only sums over many repetitions are used.
fn thread_cpu() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(ns))
}

#[derive(Debug, Default)]
struct Timing {
    wall: Vec<Duration>,
    /// This thread's CPU time per repetition: on a shared machine, less
    /// disturbed by other processes than the wall clock (not meaningful for
    /// the threaded run).
    cpu: Vec<Duration>,
}

impl Timing {
    /// The mean CPU time per repetition, in milliseconds (a mean, not a
    /// median: each value is only as fine as a scheduler tick).
    fn cpu_mean_ms(&self) -> Option<f64> {
        (!self.cpu.is_empty()).then(|| {
            self.cpu.iter().map(Duration::as_secs_f64).sum::<f64>() * 1000.0 / self.cpu.len() as f64
        })
    }
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (Timing, T) {
    let mut timing = Timing::default();
    let mut last = None;
    for _ in 0..reps {
        let cpu = thread_cpu();
        let start = Instant::now();
        let out = std::hint::black_box(f());
        timing.wall.push(start.elapsed());
        if let (Some(before), Some(after)) = (cpu, thread_cpu()) {
            timing.cpu.push(after.saturating_sub(before));
        }
        last = Some(out);
    }
    (timing, last.expect("at least one repetition"))
}

fn one_each(data: &Data, goals: &[Target], settings: &SimulationSettings) -> Vec<TargetForecast> {
    goals
        .iter()
        .map(|g| {
            match forecast(today(), &data.done, std::slice::from_ref(g), settings)
                .expect("valid input")
            {
                Forecast::Ready { mut targets, .. } => targets.remove(0),
                other => panic!("not enough history: {other:?}"),
            }
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if args.reps == 0 || args.goals == 0 {
        bail!("--reps and --goals must be at least 1");
    }
    let data = data(args.goals);
    let settings = SimulationSettings {
        trials: args.trials,
        holidays: data.holidays.clone(),
        ..SimulationSettings::default()
    };
    if !args.no_reference {
        check_numpy(&args)?;
    }
    let load_before = machine::read_trimmed("/proc/loadavg");

    eprintln!(
        "forecasting {} goals × {} trials, {} repetitions",
        args.goals, args.trials, args.reps
    );
    let (singles, rust) = time(args.reps, || one_each(&data, &data.goals, &settings));
    let half = data.goals.len().div_ceil(2);
    let (two_threads, parallel) = time(args.reps, || {
        std::thread::scope(|s| {
            let (a, b) = data.goals.split_at(half);
            let first = s.spawn(|| one_each(&data, a, &settings));
            let mut out = one_each(&data, b, &settings);
            let mut all = first.join().expect("the worker thread");
            all.append(&mut out);
            all
        })
    });
    ensure!(
        parallel == rust,
        "the forecasts made on two threads differ from the sequential ones"
    );
    let no_growth: Vec<Target> = data
        .goals
        .iter()
        .map(|g| Target {
            growth: ScopeGrowth::None,
            ..g.clone()
        })
        .collect();
    let (singles_fixed, _) = time(args.reps, || one_each(&data, &no_growth, &settings));
    let shared_goals = &data.goals[..args.shared.min(data.goals.len())];
    let (shared, _) = time(args.reps, || {
        forecast(today(), &data.done, shared_goals, &settings).expect("valid input")
    });
    let fixed = &no_growth[..shared_goals.len()];
    let (shared_fixed, _) = time(args.reps, || {
        forecast(today(), &data.done, fixed, &settings).expect("valid input")
    });

    let reference = if args.no_reference {
        None
    } else {
        eprintln!("running the NumPy reference: {}", args.reference.display());
        Some(numpy(&args, &data, &settings)?)
    };
    let load_after = machine::read_trimmed("/proc/loadavg");

    let rust_ms = upper_median_ms(&singles.wall);
    let rust_cpu_ms = singles.cpu_mean_ms();
    let mut summary = json!({
        "machine": machine_facts(&load_before, &load_after),
        "goals": args.goals,
        "trials": args.trials,
        "reps": args.reps,
        "shared_goals": shared_goals.len(),
        "sharing": Sharing::Even,
        "rust_one_call_each_ms": rust_ms,
        "rust_one_call_each_cpu_ms": rust_cpu_ms,
        "rust_one_call_each_all_ms": all_ms(&singles.wall),
        "rust_two_threads_ms": upper_median_ms(&two_threads.wall),
        "rust_one_call_each_fixed_scope_ms": upper_median_ms(&singles_fixed.wall),
        "rust_one_call_each_fixed_scope_cpu_ms": singles_fixed.cpu_mean_ms(),
        "rust_shared_call_ms": upper_median_ms(&shared.wall),
        "rust_shared_call_cpu_ms": shared.cpu_mean_ms(),
        "rust_shared_call_fixed_scope_ms": upper_median_ms(&shared_fixed.wall),
        "rust_shared_call_fixed_scope_cpu_ms": shared_fixed.cpu_mean_ms(),
    });
    if let Some(reference) = &reference {
        let numpy_ms = upper_median(&mut reference.wall_ms.clone());
        let numpy_cpu_ms = (!reference.cpu_ms.is_empty())
            .then(|| reference.cpu_ms.iter().sum::<f64>() / reference.cpu_ms.len() as f64);
        let ratio = |a: Option<f64>, b: Option<f64>| Some(a? / b?);
        summary["numpy_ms"] = json!(numpy_ms);
        summary["numpy_cpu_ms"] = json!(numpy_cpu_ms);
        summary["numpy_all_ms"] = json!(reference.wall_ms);
        summary["numpy_over_rust"] = json!(ratio(numpy_ms, rust_ms));
        summary["numpy_over_rust_cpu"] = json!(ratio(numpy_cpu_ms, rust_cpu_ms));
        summary["versions"] = reference.versions.clone();
        summary["agreement"] = agreement(&rust, &reference.results, &data.holidays)?;
    }

    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print!("{}", markdown(&summary));
    }
    Ok(())
}

#[derive(Debug)]
struct Reference {
    /// Per repetition, wall clock and the thread's CPU time (ms).
    wall_ms: Vec<f64>,
    cpu_ms: Vec<f64>,
    results: Vec<Value>,
    /// Python and NumPy versions.
    versions: Value,
}

/// Fails, saying how to install it, when the interpreter has no NumPy.
fn check_numpy(args: &Args) -> anyhow::Result<()> {
    let probe = Command::new(&args.python)
        .args(["-c", "import numpy"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {}", args.python))?;
    if !probe.success() {
        bail!(
            "NumPy is not installed for {}: install it with `{} -m pip install numpy` \
             (or `pip install numpy`), or pass --no-reference to measure Rust only",
            args.python,
            args.python
        );
    }
    Ok(())
}

/// Runs the NumPy reference on the same inputs.
fn numpy(args: &Args, data: &Data, settings: &SimulationSettings) -> anyhow::Result<Reference> {
    let input = json!({
        "today": today(),
        "done_dates": data.done,
        "holidays": data.holidays,
        "window_days": settings.window_days,
        "trials": settings.trials,
        "horizon_working_days": settings.horizon_working_days,
        "confidence": settings.confidence,
        "min_history": settings.min_history,
        "reps": args.reps,
        "goals": data.goals,
    });
    let mut child = Command::new(&args.python)
        .arg(&args.reference)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {} {}", args.python, args.reference.display()))?;
    child
        .stdin
        .take()
        .context("the reference's standard input")?
        .write_all(serde_json::to_string(&input)?.as_bytes())?;
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("the NumPy reference failed ({})", out.status);
    }
    let v: Value = serde_json::from_slice(&out.stdout).context("the reference's JSON output")?;
    let numbers = |key: &str| -> anyhow::Result<Vec<f64>> {
        Ok(v[key]
            .as_array()
            .with_context(|| format!("{key} in the reference's output"))?
            .iter()
            .filter_map(Value::as_f64)
            .collect())
    };
    Ok(Reference {
        wall_ms: numbers("times_ms")?,
        cpu_ms: numbers("cpu_ms")?,
        results: v["results"].as_array().context("results")?.clone(),
        versions: json!({ "python": v["python"], "numpy": v["numpy"] }),
    })
}

/// Working days after `a` up to and including `b` (negative when `b` is
/// earlier).
fn working_days_between(a: NaiveDate, b: NaiveDate, holidays: &[NaiveDate]) -> i64 {
    let (lo, hi, sign) = if a <= b { (a, b, 1) } else { (b, a, -1) };
    let n = lo
        .iter_days()
        .skip(1)
        .take_while(|d| *d <= hi)
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && !holidays.contains(d))
        .count();
    sign * n as i64
}

/// How far apart Rust and NumPy are: the largest differences over all goals
/// and milestones (dates in working days).
fn agreement(
    rust: &[TargetForecast],
    numpy: &[Value],
    holidays: &[NaiveDate],
) -> anyhow::Result<Value> {
    let mut max_days = [0i64; 4];
    let mut max_on_time = 0f64;
    let mut max_cut = 0i64;
    let mut compared = 0usize;
    let mut compare =
        |r: [Option<NaiveDate>; 4], on_time: Option<f64>, cut: Option<u32>, n: &Value| {
            for (k, key) in ["p50", "p70", "p85", "p95"].iter().enumerate() {
                let theirs = n[key]
                    .as_str()
                    .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
                let diff = match (r[k], theirs) {
                    (Some(a), Some(b)) => working_days_between(a, b, holidays).abs(),
                    (None, None) => 0,
                    _ => i64::MAX,
                };
                max_days[k] = max_days[k].max(diff);
            }
            if let (Some(a), Some(b)) = (on_time, n["on_time_probability"].as_f64()) {
                max_on_time = max_on_time.max((a - b).abs());
            }
            if let (Some(a), Some(b)) = (cut, n["cut_line"].as_i64()) {
                max_cut = max_cut.max((i64::from(a) - b).abs());
            }
            compared += 1;
        };
    if rust.len() != numpy.len() {
        bail!("NumPy returned {} goals, Rust {}", numpy.len(), rust.len());
    }
    for (r, n) in rust.iter().zip(numpy) {
        if n["key"] != r.key.as_str() {
            bail!(
                "NumPy's goals are in another order: {} vs {}",
                n["key"],
                r.key
            );
        }
        compare(
            [r.p50, r.p70, r.p85, r.p95],
            r.on_time_probability,
            r.cut_line,
            n,
        );
        let ms = n["milestones"].as_array().cloned().unwrap_or_default();
        for (m, nm) in r.milestones.iter().zip(&ms) {
            compare(
                [m.p50, m.p70, m.p85, m.p95],
                m.on_time_probability,
                m.cut_line,
                nm,
            );
        }
    }
    Ok(json!({
        "forecasts_compared": compared,
        "max_date_difference_working_days": { "p50": max_days[0], "p70": max_days[1], "p85": max_days[2], "p95": max_days[3] },
        "max_on_time_probability_difference": max_on_time,
        "max_cut_line_difference": max_cut,
    }))
}

fn machine_facts(load_before: &str, load_after: &str) -> Value {
    json!({
        "date": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpu": machine::cpu_model(),
        "kernel": machine::read_trimmed("/proc/sys/kernel/osrelease"),
        "loadavg_before": load_before,
        "loadavg_after": load_after,
        "commit": machine::git_commit(),
        "command": std::env::args().collect::<Vec<_>>().join(" "),
    })
}

fn markdown(s: &Value) -> String {
    let m = &s["machine"];
    let f = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "–".to_owned(), |x| format!("{x:.1}"))
    };
    let mut out = format!(
        "Run {} on {} cores ({}), kernel {}, commit {}.\n\
         {} goals × {} trials, median of {} repetitions; load average before: {}; after: {}.\n\
         Command: `{}`\n\n",
        m["date"].as_str().unwrap_or(""),
        m["nproc"],
        m["cpu"].as_str().unwrap_or(""),
        m["kernel"].as_str().unwrap_or(""),
        m["commit"].as_str().unwrap_or(""),
        s["goals"],
        s["trials"],
        s["reps"],
        m["loadavg_before"].as_str().unwrap_or(""),
        m["loadavg_after"].as_str().unwrap_or(""),
        m["command"].as_str().unwrap_or(""),
    );
    let r = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "–".to_owned(), |x| format!("{x:.1}"))
    };
    out.push_str(
        "| workload | Rust wall, median (ms) | Rust CPU, mean (ms) | NumPy wall, median (ms) | NumPy CPU, mean (ms) | NumPy ÷ Rust, wall | NumPy ÷ Rust, CPU |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
    out.push_str(&format!(
        "| {} goals, one `forecast` call each | {} | {} | {} | {} | {} | {} |\n",
        s["goals"],
        f(&s["rust_one_call_each_ms"]),
        f(&s["rust_one_call_each_cpu_ms"]),
        f(&s["numpy_ms"]),
        f(&s["numpy_cpu_ms"]),
        r(&s["numpy_over_rust"]),
        r(&s["numpy_over_rust_cpu"]),
    ));
    out.push_str(&format!(
        "| the same calls on 2 threads | {} | – | – | – | – | – |\n",
        f(&s["rust_two_threads_ms"])
    ));
    out.push_str(&format!(
        "| the same goals with fixed scope (growth removed), one call each | {} | {} | – | – | – | – |\n",
        f(&s["rust_one_call_each_fixed_scope_ms"]),
        f(&s["rust_one_call_each_fixed_scope_cpu_ms"]),
    ));
    out.push_str(&format!(
        "| {} goals sharing the team in one call (some grow: item by item) | {} | {} | – | – | – | – |\n",
        s["shared_goals"],
        f(&s["rust_shared_call_ms"]),
        f(&s["rust_shared_call_cpu_ms"]),
    ));
    out.push_str(&format!(
        "| the same {} goals with fixed scope (walk) | {} | {} | – | – | – | – |\n",
        s["shared_goals"],
        f(&s["rust_shared_call_fixed_scope_ms"]),
        f(&s["rust_shared_call_fixed_scope_cpu_ms"]),
    ));
    let all = |k: &str| {
        s[k].as_array()
            .map(|v| {
                v.iter()
                    .map(|x| format!("{:.1}", x.as_f64().unwrap_or(0.0)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    };
    out.push_str(&format!(
        "\nPer repetition (ms): Rust {}; NumPy {}.\n",
        all("rust_one_call_each_all_ms"),
        all("numpy_all_ms")
    ));
    if s["agreement"].is_object() {
        let a = &s["agreement"];
        out.push_str(&format!(
            "Versions: Python {}, NumPy {}. Agreement over {} goal and stage forecasts: \
             largest date difference P50 {} / P70 {} / P85 {} / P95 {} working days, \
             largest on-time probability difference {:.3}, largest cut-line difference {} items.\n",
            s["versions"]["python"].as_str().unwrap_or(""),
            s["versions"]["numpy"].as_str().unwrap_or(""),
            a["forecasts_compared"],
            a["max_date_difference_working_days"]["p50"],
            a["max_date_difference_working_days"]["p70"],
            a["max_date_difference_working_days"]["p85"],
            a["max_date_difference_working_days"]["p95"],
            a["max_on_time_probability_difference"]
                .as_f64()
                .unwrap_or(f64::NAN),
            a["max_cut_line_difference"],
        ));
    }
    out
}
