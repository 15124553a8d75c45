//! `tandem-bench-dora`: how long a year of DORA numbers takes to read, at
//! 10k, 100k and 1M deployments (20 shipped commits each), on SQLite and
//! PostgreSQL.
//!
//! Data: one project, `--services` services, production deployments spread
//! evenly over 2025 (1 in 200 a rollback), each with 20 commits authored
//! log-uniformly 10 minutes to 30 days before it; 1 in 10 changes failed,
//! each with an incident (restored log-uniformly in 5 minutes to 2 days).
//! The rows are written with multi-row INSERTs of up to 32,000 bound values
//! in one transaction per table: deployments, deployment_commits (20 per
//! deployment), incidents, and the rows attribution precomputes
//! (`deployment_facts` with each deployment's lead-time histogram,
//! `delivery_days` per day and service plus the whole project,
//! `incident_days` with each day's time-to-restore histogram; the incident
//! change log the triggers filled is emptied, as processing it would). Attribution
//! itself is not run here: its cost is per deployment at ingestion, not per
//! query (`--attribute N` times `attribute_pending` over N deployments
//! written through the real store writes, for that figure).
//!
//! Measured: `tandem_app::delivery_metrics::dora` for the project over
//! 2025-01-01..2025-12-31 by week — the same call the API, the CLI, the team
//! page and the report make, including `attribute_pending` (nothing pending).
//! p50/p99 over `--queries` calls after 5 warm-ups. Then
//! `--incident-writes` incidents are written through the store and the
//! `attribute_pending` that processes their change log is timed. Nothing is
//! asserted.

use std::time::Instant;

use anyhow::Context;
use chrono::{NaiveDate, TimeZone, Utc};
use clap::Parser;
use serde_json::{Value, json};
use tandem_app::delivery_metrics::DeliveryQuery;
use tandem_bench::dora_data::{Rng, create_org, generate};
use tandem_bench::fixtures::Org;
use tandem_bench::stats::percentile;
use tandem_bench::{Engine, Engines};
use tandem_store::Store;
use tandem_testkit::TestDb;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(name = "tandem-bench-dora")]
struct Args {
    /// Deployment counts to measure, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = [10_000usize, 100_000, 1_000_000])]
    sizes: Vec<usize>,
    #[command(flatten)]
    engines: Engines,
    /// Shipped commits per deployment.
    #[arg(long, default_value_t = 20)]
    commits: usize,
    /// Services of the project.
    #[arg(long, default_value_t = 10)]
    services: usize,
    /// Measured DORA calls per size.
    #[arg(long, default_value_t = 100)]
    queries: usize,
    /// Also time `attribute_pending` over this many deployments written
    /// through the store (0: skip).
    #[arg(long, default_value_t = 0)]
    attribute: usize,
    /// After the queries, write this many incidents through the store (one
    /// at a time, as webhooks would) and time the `attribute_pending` that
    /// processes their change log (0: skip).
    #[arg(long, default_value_t = 100)]
    incident_writes: usize,
    /// Print JSON instead of the Markdown table.
    #[arg(long)]
    json: bool,
}

async fn measure_one(engine: Engine, n: usize, args: &Args) -> anyhow::Result<Value> {
    let db = TestDb::new(engine.kind()).await;
    let store: Store = db.store().await;
    let Org { project, .. } = create_org(
        &store,
        "bench",
        (0..args.services).map(|s| format!("svc-{s}")).collect(),
    )
    .await?;
    eprintln!("{engine:?} {n}: generating…");
    let t0 = Instant::now();
    let (_, commit_rows) = generate(&db, &project, n, args.commits, args.services).await?;
    let generate_s = t0.elapsed().as_secs_f64();
    eprintln!("{engine:?} {n}: {commit_rows} commit rows in {generate_s:.1} s; querying…");
    let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tandem.example.toml");
    let settings = tandem_app::Settings::load_from(
        Some(std::path::Path::new(example)),
        &[("TANDEM_DATABASE__URL".to_owned(), db.url.clone())],
    )?;
    let q = DeliveryQuery {
        project: Some("bench".into()),
        since: NaiveDate::from_ymd_opt(2025, 1, 1),
        until: NaiveDate::from_ymd_opt(2025, 12, 31),
        bucket: Some("week".into()),
        ..DeliveryQuery::default()
    };
    let mut report = None;
    for _ in 0..5 {
        report = Some(
            tandem_app::delivery_metrics::dora(&store, &settings, &q)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        );
    }
    let mut times = Vec::with_capacity(args.queries);
    for _ in 0..args.queries {
        let t = Instant::now();
        let r = tandem_app::delivery_metrics::dora(&store, &settings, &q)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        times.push(t.elapsed());
        std::hint::black_box(r);
    }
    times.sort();
    let r = report.context("no report")?;
    // Incidents arriving after the facts were computed: each one logged by
    // the triggers; the next read recomputes the facts of the deployments
    // in its window and its day's restore rollups.
    let mut rng = Rng(0x1C1D ^ n as u64);
    let year = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    for i in 0..args.incident_writes {
        let opened = year + chrono::Duration::seconds((rng.unit() * 364.0 * 86_400.0) as i64);
        store
            .upsert_incident(&tandem_domain::engineering::Incident {
                id: Uuid::now_v7(),
                source: "bench-late".into(),
                external_id: format!("late-{i}"),
                project_id: project.id,
                service: Some(format!("svc-{}", rng.next_u64() % args.services as u64)),
                title: "late incident".into(),
                severity: "sev2".into(),
                opened_at: opened,
                resolved_at: Some(opened + chrono::Duration::minutes(90)),
                caused_by: None,
                created_at: opened,
                updated_at: opened,
            })
            .await?;
    }
    let t = Instant::now();
    store.attribute_pending().await?;
    let incident_log_s = t.elapsed().as_secs_f64();
    store.close().await;
    Ok(json!({
        "incident_writes": args.incident_writes,
        "incident_log_s": incident_log_s,
        "engine": format!("{engine:?}").to_lowercase(),
        "deployments": n,
        "commit_rows": commit_rows,
        "generate_s": generate_s,
        "p50_ms": percentile(&times, 50.0).as_secs_f64() * 1e3,
        "p99_ms": percentile(&times, 99.0).as_secs_f64() * 1e3,
        "reported_deployments": r.deployment_frequency.deployments,
        "lead_commits": r.lead_time.commits,
        "lead_median_hours": r.lead_time.median_hours,
        "precision": r.lead_time.precision,
        "change_failure_rate": r.change_failure_rate.rate,
        "incidents": r.time_to_restore.incidents,
        "restore_median_hours": r.time_to_restore.median_hours,
        "restore_precision": r.time_to_restore.precision,
    }))
}

/// `attribute_pending` over `n` deployments written through the store
/// (`upsert_commits`, `upsert_deployment`): the ingestion-side cost.
async fn measure_attribution(engine: Engine, n: usize) -> anyhow::Result<Value> {
    use tandem_domain::engineering::{Deployment, DeploymentStatus};
    use tandem_domain::git::{Commit, CommitSource};
    let db = TestDb::new(engine.kind()).await;
    let store: Store = db.store().await;
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let Org { project, .. } = create_org(&store, "attr", vec!["svc".into()]).await?;
    // A linear history of 20 commits per deployment.
    let per = 20;
    let sha = |i: usize| format!("{:040x}", i + 1);
    let commits: Vec<Commit> = (0..n * per)
        .map(|i| {
            let at = now + chrono::Duration::minutes(i as i64);
            Commit {
                repo: "acme/attr".into(),
                sha: sha(i),
                author_name: "Dev".into(),
                author_email: "dev@example.com".into(),
                authored_at: at,
                author_offset: 0,
                committed_at: at,
                committer_offset: 0,
                subject: "change".into(),
                parents: if i == 0 { vec![] } else { vec![sha(i - 1)] },
                parent_count: i32::from(i != 0),
                additions: Some(1),
                deletions: Some(0),
                files: vec![],
                source: CommitSource::Git,
            }
        })
        .collect();
    store.upsert_commits(&commits).await?;
    for d in 0..n {
        let at = now + chrono::Duration::minutes(((d + 1) * per) as i64);
        store
            .upsert_deployment(&Deployment {
                id: Uuid::now_v7(),
                source: "bench".into(),
                external_id: format!("d{d}"),
                project_id: project.id,
                service: "svc".into(),
                environment: "production".into(),
                status: DeploymentStatus::Success,
                repo: Some("acme/attr".into()),
                sha: Some(sha((d + 1) * per - 1)),
                is_rollback: false,
                explicit_commits: vec![],
                started_at: at,
                finished_at: Some(at),
                created_at: at,
                updated_at: at,
            })
            .await?;
    }
    let t = Instant::now();
    let done = store.attribute_pending().await?;
    let s = t.elapsed().as_secs_f64();
    store.close().await;
    Ok(json!({
        "engine": format!("{engine:?}").to_lowercase(),
        "deployments": done,
        "seconds": s,
        "deployments_per_s": done as f64 / s,
    }))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut results = Vec::new();
    let mut attribution = Vec::new();
    for &engine in &args.engines {
        for &n in &args.sizes {
            let r = measure_one(engine, n, &args).await?;
            eprintln!("{r}");
            results.push(r);
        }
        if args.attribute > 0 {
            let r = measure_attribution(engine, args.attribute).await?;
            eprintln!("{r}");
            attribution.push(r);
        }
    }
    let summary = json!({
        "date": Utc::now().to_rfc3339(),
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "args": std::env::args().collect::<Vec<_>>(),
        "results": results,
        "attribution": attribution,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
        return Ok(());
    }
    println!(
        "| engine | deployments | commit rows | generate (s) | DORA p50 (ms) | DORA p99 (ms) | p50 vs smallest |"
    );
    println!("|---|---|---|---|---|---|---|");
    for engine in &args.engines {
        let name = format!("{engine:?}").to_lowercase();
        let mine: Vec<&Value> = results
            .iter()
            .filter(|r| r["engine"] == name.as_str())
            .collect();
        let base = mine
            .first()
            .and_then(|r| r["p50_ms"].as_f64())
            .unwrap_or(1.0);
        for r in mine {
            println!(
                "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2}× |",
                name,
                r["deployments"],
                r["commit_rows"],
                r["generate_s"].as_f64().unwrap_or(0.0),
                r["p50_ms"].as_f64().unwrap_or(0.0),
                r["p99_ms"].as_f64().unwrap_or(0.0),
                r["p50_ms"].as_f64().unwrap_or(0.0) / base,
            );
        }
    }
    for r in &results {
        let k = r["incident_writes"].as_u64().unwrap_or(0);
        if k > 0 {
            println!(
                "\nincident change log ({} {}): {} incidents written, then attribute_pending in {:.3} s = {:.1} ms per incident",
                r["engine"],
                r["deployments"],
                k,
                r["incident_log_s"].as_f64().unwrap_or(0.0),
                r["incident_log_s"].as_f64().unwrap_or(0.0) * 1e3 / k as f64
            );
        }
    }
    for a in &attribution {
        println!(
            "\nattribute_pending ({}): {} deployments in {:.2} s = {:.0} deployments/s",
            a["engine"],
            a["deployments"],
            a["seconds"].as_f64().unwrap_or(0.0),
            a["deployments_per_s"].as_f64().unwrap_or(0.0)
        );
    }
    Ok(())
}
