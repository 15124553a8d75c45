//! `tandem-bench-backup`: `tandem backup` and `tandem restore` of the DORA
//! benchmark's database (1M deployments by default: `tandem_bench::dora_data`)
//! on SQLite and PostgreSQL, next to the engines' own tools on the same
//! database: `pg_dump -Fc` / `pg_restore` and `sqlite3 .backup` / `.restore`.
//!
//! Each measurement is the median of `--runs` runs:
//! - backup: `tandem_app::backup::backup` to a directory (export in one
//!   snapshot, gzip, SHA-256, write, and the verification restore into a
//!   temporary SQLite database), the whole call;
//! - restore: `tandem_app::backup::restore` of that file into a fresh,
//!   migrated database of the same engine (the migration is not timed);
//! - `pg_dump -Fc -f FILE URL` (custom format, compressed) and
//!   `pg_restore -d URL FILE` into a fresh empty database;
//! - `sqlite3 DB ".backup FILE"` and `sqlite3 NEW ".restore FILE"`.
//!
//! Sizes are of the files written. Nothing is asserted.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use chrono::Utc;
use clap::Parser;
use serde_json::{Value, json};
use tandem_app::backup::{self, Location};
use tandem_bench::dora_data::{create_org, generate};
use tandem_bench::machine;
use tandem_bench::stats::median;
use tandem_bench::{Engine, Engines};
use tandem_store::{EngineKind, Store};
use tandem_testkit::TestDb;

#[derive(Debug, Parser)]
#[command(name = "tandem-bench-backup")]
struct Args {
    /// Deployments of the DORA data set.
    #[arg(long, default_value_t = 1_000_000)]
    deployments: usize,
    #[command(flatten)]
    engines: Engines,
    /// Runs of each measurement (the median is reported).
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Print JSON instead of the Markdown table.
    #[arg(long)]
    json: bool,
}

fn secs(d: Duration) -> f64 {
    d.as_secs_f64()
}

fn run(cmd: &mut Command) -> anyhow::Result<Duration> {
    let t = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let took = t.elapsed();
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(took)
}

fn sqlite_path(url: &str) -> PathBuf {
    PathBuf::from(url.trim_start_matches("sqlite://"))
}

fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// Drops a PostgreSQL database a run created (the test kit leaves them).
async fn drop_pg(db: &TestDb) -> anyhow::Result<()> {
    if db.engine != EngineKind::Postgres {
        return Ok(());
    }
    let name = db.url.rsplit('/').next().unwrap_or_default().to_owned();
    let admin = sqlx::PgPool::connect(&tandem_testkit::pg_admin_url()).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&admin)
    .await?;
    admin.close().await;
    Ok(())
}

async fn measure(engine: Engine, args: &Args) -> anyhow::Result<Value> {
    let db = TestDb::new(engine.kind()).await;
    let store: Store = db.store().await;
    let org = create_org(
        &store,
        "bench",
        (0..10).map(|s| format!("svc-{s}")).collect(),
    )
    .await?;
    eprintln!("{engine:?}: generating {} deployments…", args.deployments);
    let t0 = Instant::now();
    let (_, commit_rows) = generate(&db, &org.project, args.deployments, 20, 10).await?;
    let generate_s = t0.elapsed().as_secs_f64();
    eprintln!("{engine:?}: generated in {generate_s:.1} s ({commit_rows} commit rows)");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tandem.example.toml");
    let dir = tempfile::tempdir()?;
    let to = dir.path().join("tandem");
    let settings = tandem_app::Settings::load_from(
        Some(Path::new(example)),
        &[("TANDEM_DATABASE__URL".to_owned(), db.url.clone())],
    )?;
    let location = Location::parse(to.to_str().context("a UTF-8 path")?, &settings)
        .map_err(|e| anyhow::anyhow!("{e}"))?;

    let mut backups = Vec::new();
    let mut report = None;
    for i in 0..args.runs {
        // A name per run (names are whole seconds).
        let at = Utc::now() + chrono::Duration::seconds(i as i64);
        let t = Instant::now();
        let r = backup::backup(&store, &location, at)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        backups.push(t.elapsed());
        eprintln!("{engine:?}: tandem backup {:.1} s", secs(t.elapsed()));
        report = Some(r);
    }
    let report = report.context("--runs 0")?;
    let file = to.join(&report.name);

    let mut restores = Vec::new();
    for _ in 0..args.runs {
        let fresh = TestDb::new(engine.kind()).await;
        let target = fresh.store().await;
        let t = Instant::now();
        let r = backup::restore(&target, &settings, file.to_str().context("a UTF-8 path")?)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        restores.push(t.elapsed());
        eprintln!(
            "{engine:?}: tandem restore {:.1} s ({} records)",
            secs(t.elapsed()),
            r.records
        );
        target.close().await;
        drop_pg(&fresh).await?;
    }

    let mut refs_backup = Vec::new();
    let mut refs_restore = Vec::new();
    let reference_file;
    let reference;
    match engine.kind() {
        EngineKind::Postgres => {
            reference = "pg_dump -Fc / pg_restore";
            reference_file = dir.path().join("tandem.pgdump");
            for _ in 0..args.runs {
                let _ = std::fs::remove_file(&reference_file);
                let took = run(Command::new("pg_dump")
                    .arg("-Fc")
                    .arg("-f")
                    .arg(&reference_file)
                    .arg(&db.url))?;
                refs_backup.push(took);
                eprintln!("{engine:?}: pg_dump {:.1} s", secs(took));
            }
            for _ in 0..args.runs {
                let fresh = TestDb::new(engine.kind()).await;
                let took = run(Command::new("pg_restore")
                    .arg("--no-owner")
                    .arg("-d")
                    .arg(&fresh.url)
                    .arg(&reference_file))?;
                refs_restore.push(took);
                eprintln!("{engine:?}: pg_restore {:.1} s", secs(took));
                drop_pg(&fresh).await?;
            }
        }
        EngineKind::Sqlite => {
            reference = "sqlite3 .backup / .restore";
            reference_file = dir.path().join("tandem.sqlite-backup");
            let source = sqlite_path(&db.url);
            for _ in 0..args.runs {
                let _ = std::fs::remove_file(&reference_file);
                let took = run(Command::new("sqlite3")
                    .arg(&source)
                    .arg(format!(".backup '{}'", reference_file.display())))?;
                refs_backup.push(took);
                eprintln!("{engine:?}: sqlite3 .backup {:.1} s", secs(took));
            }
            for i in 0..args.runs {
                let fresh = dir.path().join(format!("restored-{i}.db"));
                let took = run(Command::new("sqlite3")
                    .arg(&fresh)
                    .arg(format!(".restore '{}'", reference_file.display())))?;
                refs_restore.push(took);
                eprintln!("{engine:?}: sqlite3 .restore {:.1} s", secs(took));
                let _ = std::fs::remove_file(&fresh);
            }
        }
    }
    store.close().await;
    let database_bytes = match engine.kind() {
        EngineKind::Sqlite => size(&sqlite_path(&db.url)),
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await?;
            let (n,): (i64,) = sqlx::query_as("SELECT pg_database_size(current_database())")
                .fetch_one(&pool)
                .await?;
            pool.close().await;
            n as u64
        }
    };
    drop_pg(&db).await?;
    let backup_s = secs(median(&backups));
    let restore_s = secs(median(&restores));
    let ref_backup_s = secs(median(&refs_backup));
    let ref_restore_s = secs(median(&refs_restore));
    Ok(json!({
        "engine": format!("{engine:?}").to_lowercase(),
        "deployments": args.deployments,
        "commit_rows": commit_rows,
        "generate_s": generate_s,
        "database_bytes": database_bytes,
        "records": report.records,
        "backup_bytes": report.bytes,
        "backup_s": backup_s,
        "backup_runs_s": backups.iter().map(|d| secs(*d)).collect::<Vec<_>>(),
        "restore_s": restore_s,
        "restore_runs_s": restores.iter().map(|d| secs(*d)).collect::<Vec<_>>(),
        "reference": reference,
        "reference_bytes": size(&reference_file),
        "reference_backup_s": ref_backup_s,
        "reference_backup_runs_s": refs_backup.iter().map(|d| secs(*d)).collect::<Vec<_>>(),
        "reference_restore_s": ref_restore_s,
        "reference_restore_runs_s": refs_restore.iter().map(|d| secs(*d)).collect::<Vec<_>>(),
        "backup_vs_reference": backup_s / ref_backup_s,
        "restore_vs_reference": restore_s / ref_restore_s,
        "load_average": machine::load_average(),
    }))
}

fn mb(bytes: &Value) -> f64 {
    bytes.as_u64().unwrap_or(0) as f64 / 1e6
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut results = Vec::new();
    for engine in &args.engines {
        results.push(measure(*engine, &args).await?);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
        return Ok(());
    }
    println!(
        "{} runs each, medians; cpu {}; commit {}",
        args.runs,
        machine::cpu_model(),
        machine::git_commit()
    );
    println!();
    println!(
        "| engine | deployments | records | database (MB) | tandem backup (s) | size (MB) | reference | reference backup (s) | size (MB) | ratio | tandem restore (s) | reference restore (s) | ratio | load average |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for r in &results {
        println!(
            "| {} | {} | {} | {:.0} | {:.1} | {:.1} | {} | {:.1} | {:.1} | {:.2} | {:.1} | {:.1} | {:.2} | {} |",
            r["engine"].as_str().unwrap_or(""),
            r["deployments"],
            r["records"],
            mb(&r["database_bytes"]),
            r["backup_s"].as_f64().unwrap_or(0.0),
            mb(&r["backup_bytes"]),
            r["reference"].as_str().unwrap_or(""),
            r["reference_backup_s"].as_f64().unwrap_or(0.0),
            mb(&r["reference_bytes"]),
            r["backup_vs_reference"].as_f64().unwrap_or(0.0),
            r["restore_s"].as_f64().unwrap_or(0.0),
            r["reference_restore_s"].as_f64().unwrap_or(0.0),
            r["restore_vs_reference"].as_f64().unwrap_or(0.0),
            r["load_average"].as_str().unwrap_or(""),
        );
    }
    Ok(())
}
