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

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use clap::Parser;
use serde_json::{Value, json};
use sqlx::QueryBuilder;
use tandem_app::delivery_metrics::DeliveryQuery;
use tandem_bench::fixtures::Org;
use tandem_bench::stats::percentile;
use tandem_bench::{Engine, Engines};
use tandem_domain::dora::Histogram;
use tandem_domain::project::Project;
use tandem_store::{EngineKind, Store};
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

/// splitmix64: a deterministic stream, seeded.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform between `lo` and `hi`.
    fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp()
    }
}

const BIND_LIMIT: usize = 32_000;

struct Dep {
    id: Uuid,
    service: usize,
    finished: DateTime<Utc>,
    rollback: bool,
    failed: bool,
    commits: Vec<DateTime<Utc>>,
}

/// Writes rows with multi-row INSERTs in one transaction, per engine.
macro_rules! bulk {
    ($pool:expr, $head:expr, $cols:expr, $rows:expr, |$b:ident, $r:ident| $push:expr) => {{
        let mut tx = $pool.begin().await?;
        let per = (BIND_LIMIT / $cols).max(1);
        for chunk in $rows.chunks(per) {
            let mut qb = QueryBuilder::new($head);
            qb.push_values(chunk, |mut $b, $r| {
                $push;
            });
            qb.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
    }};
}

async fn generate(
    db: &TestDb,
    project: &Project,
    n: usize,
    per: usize,
    services: usize,
) -> anyhow::Result<(Vec<Dep>, usize)> {
    let mut rng = Rng(0x5EED ^ n as u64);
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let span = 365.0 * 86_400.0;
    let deps: Vec<Dep> = (0..n)
        .map(|i| {
            let at = start
                + chrono::Duration::microseconds(
                    (((i as f64 + rng.unit()) / n as f64) * span * 1e6) as i64,
                );
            let rollback = rng.next().is_multiple_of(200);
            let failed = !rollback && rng.next().is_multiple_of(10);
            let commits = if rollback {
                Vec::new()
            } else {
                (0..per)
                    .map(|_| {
                        at - chrono::Duration::seconds(
                            rng.log_uniform(600.0, 30.0 * 86_400.0) as i64
                        )
                    })
                    .collect()
            };
            Dep {
                id: Uuid::now_v7(),
                service: i % services,
                finished: at,
                rollback,
                failed,
                commits,
            }
        })
        .collect();
    let mut restores = Rng(0xFA11);
    let incidents: Vec<(Uuid, &Dep, f64)> = deps
        .iter()
        .filter(|d| d.failed)
        .map(|d| {
            (
                Uuid::now_v7(),
                d,
                restores.log_uniform(300.0, 2.0 * 86_400.0),
            )
        })
        .collect();
    // Day rollups, as `attribute_pending` would write them.
    #[derive(Default)]
    struct Day {
        deployments: i64,
        changes: i64,
        failures: i64,
        commits: i64,
        hist: Histogram,
    }
    let mut days: BTreeMap<(String, NaiveDate), Day> = BTreeMap::new();
    let mut facts: Vec<(&Dep, Vec<u8>)> = Vec::with_capacity(deps.len());
    for d in &deps {
        let mut h = Histogram::default();
        for c in &d.commits {
            h.add((d.finished - *c).num_seconds() as f64);
        }
        for key in [format!("svc-{}", d.service), String::new()] {
            let day = days.entry((key, d.finished.date_naive())).or_default();
            day.deployments += 1;
            day.changes += i64::from(!d.rollback);
            day.failures += i64::from(d.failed);
            day.commits += d.commits.len() as i64;
            day.hist.merge(&h);
        }
        facts.push((d, h.encode()));
    }
    // Time-to-restore rollups per day of opening × service and project.
    #[derive(Default)]
    struct IncidentDay {
        incidents: i64,
        resolved: i64,
        hist: Histogram,
    }
    let mut incident_days: BTreeMap<(String, NaiveDate), IncidentDay> = BTreeMap::new();
    for (_, d, restore) in &incidents {
        let opened = d.finished + chrono::Duration::hours(1);
        for key in [format!("svc-{}", d.service), String::new()] {
            let day = incident_days.entry((key, opened.date_naive())).or_default();
            day.incidents += 1;
            day.resolved += 1;
            day.hist.add((*restore as i64) as f64);
        }
    }
    let incident_rows: Vec<(&(String, NaiveDate), &IncidentDay)> = incident_days.iter().collect();
    let commit_rows: Vec<(Uuid, String, DateTime<Utc>)> = deps
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            d.commits
                .iter()
                .enumerate()
                .map(move |(j, at)| (d.id, format!("{:040x}", i * 64 + j), *at))
        })
        .collect();
    let commit_count = commit_rows.len();
    let day_rows: Vec<(&(String, NaiveDate), &Day)> = days.iter().collect();
    let pid = project.id;
    macro_rules! write_all {
        ($pool:expr) => {{
            let pool = $pool;
            bulk!(pool, "INSERT INTO deployments (id, source, external_id, project_id, service, environment, status, repo, sha, is_rollback, explicit_commits, started_at, finished_at, attributed, created_at, updated_at) ", 16, deps, |b, d| {
                b.push_bind(d.id)
                    .push_bind("bench")
                    .push_bind(d.id.simple().to_string())
                    .push_bind(pid)
                    .push_bind(format!("svc-{}", d.service))
                    .push_bind("production")
                    .push_bind("success")
                    .push_bind("acme/bench")
                    .push_bind(format!("{:040x}", d.id.as_u128() >> 8))
                    .push_bind(d.rollback)
                    .push_bind(sqlx::types::Json(Vec::<String>::new()))
                    .push_bind(d.finished - chrono::Duration::minutes(5))
                    .push_bind(d.finished)
                    .push_bind(true)
                    .push_bind(d.finished)
                    .push_bind(d.finished)
            });
            bulk!(pool, "INSERT INTO deployment_commits (deployment_id, repo, sha, authored_at, pr_number) ", 5, commit_rows, |b, r| {
                b.push_bind(r.0).push_bind("acme/bench").push_bind(&r.1).push_bind(r.2).push_bind(None::<i64>)
            });
            bulk!(pool, "INSERT INTO deployment_attribution (deployment_id, method, notes, complete, rolls_back_previous, attributed_at) ", 6, deps, |b, d| {
                b.push_bind(d.id)
                    .push_bind(if d.rollback { "rollback" } else { "graph" })
                    .push_bind(sqlx::types::Json(Vec::<String>::new()))
                    .push_bind(true)
                    .push_bind(d.rollback)
                    .push_bind(d.finished)
            });
            bulk!(pool, "INSERT INTO incidents (id, source, external_id, project_id, service, title, severity, opened_at, resolved_at, caused_by, created_at, updated_at) ", 12, incidents, |b, r| {
                let opened = r.1.finished + chrono::Duration::hours(1);
                b.push_bind(r.0)
                    .push_bind("bench")
                    .push_bind(r.0.simple().to_string())
                    .push_bind(pid)
                    .push_bind(format!("svc-{}", r.1.service))
                    .push_bind("incident")
                    .push_bind("sev2")
                    .push_bind(opened)
                    .push_bind(opened + chrono::Duration::seconds(r.2 as i64))
                    .push_bind(None::<String>)
                    .push_bind(opened)
                    .push_bind(opened)
            });
            // The triggers logged every incident; the rollups below are
            // what processing the log would write.
            sqlx::query("DELETE FROM incident_changes").execute(pool).await?;
            bulk!(pool, "INSERT INTO incident_days (project_id, service, day, incidents, resolved, restore_hist) ", 6, incident_rows, |b, r| {
                b.push_bind(pid)
                    .push_bind(r.0.0.clone())
                    .push_bind(r.0.1)
                    .push_bind(r.1.incidents)
                    .push_bind(r.1.resolved)
                    .push_bind(r.1.hist.encode())
            });
            bulk!(pool, "INSERT INTO deployment_facts (deployment_id, project_id, service, environment, finished_at, day, is_change, failed, failure_reason, failure_ref, commits, lead_hist) ", 12, facts, |b, f| {
                let d = f.0;
                b.push_bind(d.id)
                    .push_bind(pid)
                    .push_bind(format!("svc-{}", d.service))
                    .push_bind("production")
                    .push_bind(d.finished)
                    .push_bind(d.finished.date_naive())
                    .push_bind(!d.rollback)
                    .push_bind(d.failed)
                    .push_bind(d.failed.then_some("incident_in_window"))
                    .push_bind(None::<String>)
                    .push_bind(d.commits.len() as i64)
                    .push_bind(f.1.clone())
            });
            bulk!(pool, "INSERT INTO delivery_days (project_id, environment, service, day, deployments, changes, failures, commits, lead_hist) ", 9, day_rows, |b, r| {
                b.push_bind(pid)
                    .push_bind("production")
                    .push_bind(r.0.0.clone())
                    .push_bind(r.0.1)
                    .push_bind(r.1.deployments)
                    .push_bind(r.1.changes)
                    .push_bind(r.1.failures)
                    .push_bind(r.1.commits)
                    .push_bind(r.1.hist.encode())
            });
        }};
    }
    match db.engine {
        EngineKind::Sqlite => {
            let opts: sqlx::sqlite::SqliteConnectOptions = db.url.parse()?;
            let pool = sqlx::SqlitePool::connect_with(
                opts.journal_mode(sqlx::sqlite::SqliteJournalMode::Wal),
            )
            .await?;
            write_all!(&pool);
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await?;
            write_all!(&pool);
            sqlx::query("ANALYZE").execute(&pool).await?;
            pool.close().await;
        }
    }
    Ok((deps, commit_count))
}

/// The team and project `key` (named `Key`), repository `acme/KEY`,
/// created at the start of 2025.
async fn create_org(store: &Store, key: &str, services: Vec<String>) -> anyhow::Result<Org> {
    let now = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let name = format!("{}{}", key[..1].to_uppercase(), &key[1..]);
    let org = Org::new(
        (key, &name),
        (key, &name),
        vec![format!("acme/{key}")],
        services,
        now,
    );
    org.create(store).await?;
    Ok(org)
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
                service: Some(format!("svc-{}", rng.next() % args.services as u64)),
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
