//! `tandem-bench-git-import`: how long `tandem import git` takes to read a
//! repository's whole history and store all of it, against
//! `git log --numstat` over the same repository in the same run.
//!
//! The repository comes from `bench/make_repo.py` (deterministic, 100,000
//! commits by default). Each round times, in this order:
//! 1. `git log --numstat` (output read and discarded): the reference;
//! 2. per engine, `tandem --database URL import git REPO --project bench
//!    --format json` on a fresh database (a new SQLite file, a new
//!    PostgreSQL database) with one project listing the repository.
//!
//! The whole process is timed (start, migrations, the import, exit). The
//! import's own phases come from its JSON summary: read (walk and diffs,
//! until the last commit is diffed) and store (time spent writing, in one
//! transaction); the import stores while it diffs, so the two overlap and
//! need not add up to the total. Medians over rounds are reported, and the ratio
//! tandem ÷ git (goal: ≤ 1.0). The page cache is warmed once before the
//! first round. Nothing here asserts a duration.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::Utc;
use clap::Parser;
use serde_json::{Value, json};
use tandem_bench::Engines;
use tandem_bench::fixtures::Org;
use tandem_bench::stats::median_f64;
use tandem_store::EngineKind;
use tandem_testkit::TestDb;

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench-git-import",
    about = "tandem import git against git log --numstat on the same repository."
)]
struct Args {
    /// The repository; created with bench/make_repo.py when missing.
    #[arg(long, default_value = "target/bench-repo-100k")]
    repo: PathBuf,
    /// Commits in a repository created by this run.
    #[arg(long, default_value_t = 100_000)]
    commits: u32,
    /// Timed rounds; medians are reported.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    #[command(flatten)]
    engines: Engines,
    #[arg(long, default_value = "target/release/tandem")]
    tandem: PathBuf,
    /// Print a JSON summary instead of Markdown.
    #[arg(long)]
    json: bool,
}

const REPO_NAME: &str = "bench/synthetic";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.tandem.exists(),
        "{} not found; build it with `cargo build --release -p tandem`",
        args.tandem.display()
    );
    if !args.repo.exists() {
        eprintln!(
            "creating {} ({} commits)…",
            args.repo.display(),
            args.commits
        );
        let status = Command::new("python3")
            .arg("bench/make_repo.py")
            .arg(&args.repo)
            .arg("--commits")
            .arg(args.commits.to_string())
            .status()
            .context("run bench/make_repo.py (from the workspace root)")?;
        ensure!(status.success(), "bench/make_repo.py failed");
    }
    let engines: Vec<EngineKind> = args.engines.iter().map(|e| e.kind()).collect();

    let commits: u64 = git(&args.repo, &["rev-list", "--count", "HEAD"])?
        .trim()
        .parse()?;
    let merges: u64 = git(&args.repo, &["rev-list", "--merges", "--count", "HEAD"])?
        .trim()
        .parse()?;
    let git_version = git(&args.repo, &["--version"])?.trim().to_owned();
    eprintln!("{commits} commits ({merges} merges); warming the page cache…");
    time_git_log(&args.repo)?;

    let mut git_times = Vec::new();
    let mut runs: Vec<(EngineKind, Vec<Run>)> = engines.iter().map(|e| (*e, Vec::new())).collect();
    for round in 0..args.rounds {
        let g = time_git_log(&args.repo)?;
        eprintln!(
            "round {}: git log --numstat {:.2} s",
            round + 1,
            g.as_secs_f64()
        );
        git_times.push(g);
        for (engine, runs) in &mut runs {
            let run = time_import(&args, *engine).await?;
            ensure!(
                run.summary["commits_new"].as_u64() == Some(commits),
                "the import stored {} commits, the repository has {commits}",
                run.summary["commits_new"]
            );
            eprintln!(
                "round {}: tandem import git on {} {:.2} s (read {:.2} s, store {:.2} s)",
                round + 1,
                engine.as_str(),
                run.wall.as_secs_f64(),
                run.summary["read_seconds"].as_f64().unwrap_or(f64::NAN),
                run.summary["store_seconds"].as_f64().unwrap_or(f64::NAN),
            );
            runs.push(run);
        }
    }

    let git_median = median_f64(git_times.iter().map(Duration::as_secs_f64));
    let mut results = Vec::new();
    for (engine, runs) in &runs {
        let wall = median_f64(runs.iter().map(|r| r.wall.as_secs_f64()));
        let field = |name: &str| {
            median_f64(
                runs.iter()
                    .map(|r| r.summary[name].as_f64().unwrap_or(f64::NAN)),
            )
        };
        let first = &runs[0].summary;
        results.push(json!({
            "engine": engine.as_str(),
            "tandem_seconds": wall,
            "read_seconds": field("read_seconds"),
            "store_seconds": field("store_seconds"),
            "ratio": wall / git_median,
            "commits_per_second": commits as f64 / wall,
            "files": first["files"],
            "tags": first["tags"],
        }));
    }
    let summary = json!({
        "date": Utc::now().date_naive().to_string(),
        "repo": args.repo.display().to_string(),
        "commits": commits,
        "merges": merges,
        "rounds": args.rounds,
        "git": git_version,
        "cores": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        "git_log_numstat_seconds": git_median,
        "results": results,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        print_markdown(&summary);
    }
    Ok(())
}

struct Run {
    wall: Duration,
    summary: Value,
}

fn git(repo: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(args)
        .output()
        .context("run git")?;
    ensure!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// `git log --numstat`, its output read and discarded.
fn time_git_log(repo: &Path) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let mut child = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["log", "--numstat", "--no-color"])
        .stdout(Stdio::piped())
        .spawn()
        .context("run git log")?;
    let mut stdout = child.stdout.take().context("git's output")?;
    std::io::copy(&mut stdout, &mut std::io::sink())?;
    ensure!(child.wait()?.success(), "git log --numstat failed");
    Ok(started.elapsed())
}

/// A fresh database with one project listing the repository, then the
/// timed import.
async fn time_import(args: &Args, engine: EngineKind) -> anyhow::Result<Run> {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    Org::new(
        ("bench", "Bench"),
        ("bench", "Bench"),
        vec![REPO_NAME.to_owned()],
        vec![],
        Utc::now(),
    )
    .create(&store)
    .await?;
    store.close().await;

    let started = Instant::now();
    let out = Command::new(&args.tandem)
        .arg("--database")
        .arg(&db.url)
        .args(["import", "git"])
        .arg(&args.repo)
        .args(["--project", "bench", "--format", "json"])
        .env_remove("TANDEM_DATABASE__URL")
        .stdin(Stdio::null())
        .output()
        .context("run tandem import git")?;
    let wall = started.elapsed();
    ensure!(
        out.status.success(),
        "tandem import git failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary: Value = serde_json::from_slice(&out.stdout).context("tandem's JSON summary")?;
    Ok(Run { wall, summary })
}

fn print_markdown(s: &Value) {
    println!(
        "{} commits ({} merges), {} rounds, {}, {} cores, {}\n",
        s["commits"],
        s["merges"],
        s["rounds"],
        s["git"].as_str().unwrap_or(""),
        s["cores"],
        s["date"].as_str().unwrap_or("")
    );
    println!(
        "| engine | tandem import git | read | store | git log --numstat | ratio | commits/s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let git = s["git_log_numstat_seconds"].as_f64().unwrap_or(f64::NAN);
    for r in s["results"].as_array().into_iter().flatten() {
        println!(
            "| {} | {:.2} s | {:.2} s | {:.2} s | {:.2} s | {:.2} | {:.0} |",
            r["engine"].as_str().unwrap_or(""),
            r["tandem_seconds"].as_f64().unwrap_or(f64::NAN),
            r["read_seconds"].as_f64().unwrap_or(f64::NAN),
            r["store_seconds"].as_f64().unwrap_or(f64::NAN),
            git,
            r["ratio"].as_f64().unwrap_or(f64::NAN),
            r["commits_per_second"].as_f64().unwrap_or(f64::NAN),
        );
    }
}
