//! `tandem-bench-webhooks`: signed GitHub `push` and `pull_request`
//! deliveries into the release `tandem serve` at 32 concurrent connections,
//! on SQLite and PostgreSQL, against the raw batched-insert rate of the same
//! rows as the ceiling. Each delivery is acknowledged only after the
//! transaction holding it committed.
//!
//! Rows per delivery, in both the API run and the ceiling: the raw delivery
//! (headers and body), plus for a `push` its three commits and the branch
//! ref, for a `pull_request` the pull request. See BENCHMARKS.md.
//!
//! The ceiling is held to the server's terms: the same rows (the same
//! kept headers, bodies and derived values), a fresh database of the same
//! engine, and the same durability (SQLite in WAL with `synchronous =
//! NORMAL`, as the store opens it; PostgreSQL the same server with its
//! settings), each transaction committed before the next. It is not held to
//! the server's batch size: 500 deliveries per transaction, where the
//! server's writer can gather at most one delivery per connection (32).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use chrono::{TimeZone, Utc};
use clap::Parser;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_bench::fixtures::Org;
use tandem_bench::stats::{join_whole, median_f64, ms};
use tandem_bench::{Engines, Load, machine, process};
use tandem_domain::engineering::{Outcome, Provider, RawDelivery, Record};
use tandem_domain::git::{Commit, GitRef};
use tandem_domain::webhook::{Context as MapContext, Labels, Mapped, github};
use tandem_store::{ConnectOptions, EngineKind, Ingest, Store};
use tandem_testkit::TestDb;
use uuid::Uuid;

#[derive(Debug, Parser)]
#[command(
    name = "tandem-bench-webhooks",
    about = "Signed GitHub push and pull_request deliveries per second against the raw batched-insert ceiling, on both engines."
)]
struct Args {
    #[command(flatten)]
    binary: process::Binary,
    /// Measured deliveries per round (half push, half pull_request).
    #[arg(long, default_value_t = 3000)]
    deliveries: usize,
    // An operation of --warmup is a delivery.
    #[command(flatten)]
    load: Load,
    /// Deliveries per transaction in the ceiling.
    #[arg(long, default_value_t = 500)]
    batch: usize,
    #[command(flatten)]
    engines: Engines,
}

const SECRET: &str = "bench-webhook-secret-0123456789";
const REPO: &str = "acme/payments";

/// One prepared delivery: what is sent, and what it maps to.
#[derive(Debug, Clone)]
struct Prepared {
    event: &'static str,
    id: String,
    body: Vec<u8>,
    signature: String,
    mapped: Mapped,
}

#[derive(Debug, Clone, Copy)]
struct Round {
    api_per_s: f64,
    raw_per_s: f64,
    store_per_s: f64,
    api_failures: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(
        args.deliveries > 1 && args.load.rounds > 0 && args.load.clients > 0 && args.batch > 0,
        "counts must be positive"
    );
    args.binary.require()?;
    let mut out = String::new();
    out.push_str(&format!(
        "Run {} on {} cores, commit {}; {} clients, {} rounds of {} deliveries (after {} warm-up); ceiling batches of {}; load average before: {}\n\n",
        Utc::now().format("%Y-%m-%dT%H:%M:%SZ"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        match machine::git_commit() {
            c if c.is_empty() => "unknown".to_owned(),
            c => c,
        },
        args.load.clients,
        args.load.rounds,
        args.deliveries,
        args.load.warmup,
        args.batch,
        machine::load_average(),
    ));
    out.push_str("| engine | API deliveries/s | p50 / p99 ack (ms) | raw batched inserts, deliveries/s | API ÷ raw | store batched ingest, deliveries/s | API ÷ store batches | failed API deliveries | bytes per delivery |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut per_round = String::new();
    let mut tables = String::new();
    for engine in &args.engines {
        eprintln!("== {} ==", engine.kind().as_str());
        let (rounds, latencies, bytes, engine_tables) = bench_engine(&args, engine.kind()).await?;
        tables.push_str(&engine_tables);
        let api = median_f64(rounds.iter().map(|r| r.api_per_s));
        let raw = median_f64(rounds.iter().map(|r| r.raw_per_s));
        let store = median_f64(rounds.iter().map(|r| r.store_per_s));
        let ratio = median_f64(rounds.iter().map(|r| r.api_per_s / r.raw_per_s));
        let ratio_store = median_f64(rounds.iter().map(|r| r.api_per_s / r.store_per_s));
        let failures: usize = rounds.iter().map(|r| r.api_failures).sum();
        out.push_str(&format!(
            "| {} | {api:.0} | {:.1} / {:.1} | {raw:.0} | {ratio:.2} | {store:.0} | {ratio_store:.2} | {failures} of {} | {bytes} |\n",
            engine.kind().as_str(),
            ms(percentile(&latencies, 50.0)),
            ms(percentile(&latencies, 99.0)),
            args.deliveries * args.load.rounds,
        ));
        per_round.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            engine.kind().as_str(),
            join_whole(rounds.iter().map(|r| r.api_per_s)),
            join_whole(rounds.iter().map(|r| r.raw_per_s)),
            join_whole(rounds.iter().map(|r| r.store_per_s)),
        ));
    }
    out.push_str("\nPer round:\n\n| engine | API deliveries/s | raw inserts, deliveries/s | store ingest, deliveries/s |\n|---|---|---|---|\n");
    out.push_str(&per_round);
    if !tables.is_empty() {
        out.push_str("\nPostgreSQL, the API database's tables:\n\n");
        out.push_str(&tables);
    }
    out.push_str(&format!(
        "\nLoad average after: {}\n",
        machine::load_average()
    ));
    print!("{out}");
    Ok(())
}

async fn bench_engine(
    args: &Args,
    engine: EngineKind,
) -> anyhow::Result<(Vec<Round>, Vec<Duration>, usize, String)> {
    let templates = Templates::load()?;
    let db = TestDb::new(engine).await;
    process::tandem_cli(&args.binary.tandem, &db.url, &["migrate"], None).await?;
    let token = process::create_token(&args.binary.tandem, &db.url, "admin").await?;
    let log = process::server_log("tandem-bench-webhooks", engine)?;
    let port = process::free_port()?;
    let started = Instant::now();
    let mut server = process::spawn_server(
        &args.binary.tandem,
        &db.url,
        port,
        &log,
        &[
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            ("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS", "0"),
            ("TANDEM_LOG__LEVEL", "warn"),
        ],
    )?;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(args.load.clients)
        .timeout(Duration::from_secs(60))
        .build()?;
    process::wait_ready(&client, port, &mut server, &log, started).await?;
    let team: Value = client
        .post(format!("{base}/api/v1/teams"))
        .bearer_auth(&token)
        .json(&json!({"key": "bench", "name": "Bench"}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let project: Value = client
        .post(format!("{base}/api/v1/projects"))
        .bearer_auth(&token)
        .json(
            &json!({"team_id": team["id"], "key": "payments", "name": "Payments",
                       "repositories": [REPO], "services": ["payments"]}),
        )
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let project_id: Uuid = project["id"].as_str().context("project id")?.parse()?;
    let team_id: Uuid = team["id"].as_str().context("team id")?.parse()?;
    process::tandem_cli(
        &args.binary.tandem,
        &db.url,
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

    let ceiling = Ceiling {
        engine,
        project_id,
        team_id,
        per_tx: args.batch,
    };
    let warm = templates.prepare(0, args.load.warmup, project_id, team_id)?;
    api_run(&client, &base, &warm, args.load.clients).await?;
    let mut rounds = Vec::new();
    let mut latencies = Vec::new();
    let mut bytes = 0;
    let mut tables = String::new();
    for round in 0..args.load.rounds {
        let start = args.load.warmup + round * args.deliveries;
        let batch = templates.prepare(start, args.deliveries, project_id, team_id)?;
        bytes = batch.iter().map(|p| p.body.len()).sum::<usize>() / batch.len();
        let (wall, lat, failures) = api_run(&client, &base, &batch, args.load.clients).await?;
        let ok = batch.len() - failures;
        latencies.extend(lat);
        let raw = ceiling.raw_batched(&batch).await?;
        let store = ceiling.store_batched(&batch).await?;
        let r = Round {
            api_per_s: ok as f64 / wall.as_secs_f64(),
            raw_per_s: batch.len() as f64 / raw.as_secs_f64(),
            store_per_s: batch.len() as f64 / store.as_secs_f64(),
            api_failures: failures,
        };
        eprintln!(
            "  round {}: API {:.0}/s, raw {:.0}/s, store {:.0}/s, {failures} failed",
            round + 1,
            r.api_per_s,
            r.raw_per_s,
            r.store_per_s
        );
        rounds.push(r);
        if engine == EngineKind::Postgres {
            let snapshot = pg_tables(&db.url).await?;
            eprint!("{snapshot}");
            tables.push_str(&format!("After round {}:\n\n{snapshot}\n", round + 1));
        }
    }
    // Everything sent was stored once.
    let store = db.store().await;
    let kept: i64 = store
        .count_deliveries()
        .await?
        .iter()
        .map(|(_, n)| *n)
        .sum();
    let sent = args.load.warmup + args.load.rounds * args.deliveries;
    ensure!(
        kept as usize == sent,
        "{kept} deliveries stored, {sent} sent"
    );
    store.close().await;
    process::terminate(&mut server).await?;
    Ok((rounds, latencies, bytes, tables))
}

/// The API database's largest tables (PostgreSQL): live and dead rows,
/// updates (of which HOT), autovacuum and autoanalyze runs, total size
/// with indexes. Read after each round to see what grows with the table
/// (the statistics reach `pg_stat_user_tables` within about a second).
async fn pg_tables(url: &str) -> anyhow::Result<String> {
    /// Name, live, dead, updates, HOT updates, autovacuums, autoanalyzes, bytes.
    type TableStats = (String, i64, i64, i64, i64, i64, i64, i64);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let pool = sqlx::PgPool::connect(url).await?;
    let rows: Vec<TableStats> = sqlx::query_as(
        "SELECT relname::text, n_live_tup, n_dead_tup, n_tup_upd, n_tup_hot_upd, \
         autovacuum_count, autoanalyze_count, pg_total_relation_size(relid) \
         FROM pg_stat_user_tables \
         WHERE n_tup_ins + n_tup_upd + n_tup_del > 0 \
         ORDER BY pg_total_relation_size(relid) DESC, relname LIMIT 12",
    )
    .fetch_all(&pool)
    .await?;
    pool.close().await;
    let mut out = String::from(
        "| table | live rows | dead rows | updates (HOT) | autovacuums | autoanalyzes | size with indexes (kB) |\n|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for (name, live, dead, upd, hot, vac, an, size) in rows {
        out.push_str(&format!(
            "| {name} | {live} | {dead} | {upd} ({hot}) | {vac} | {an} | {} |\n",
            size / 1024
        ));
    }
    Ok(out)
}

// ---- the deliveries --------------------------------------------------------

struct Templates {
    push: Value,
    pull_request: Value,
}

impl Templates {
    fn load() -> anyhow::Result<Templates> {
        let dir = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../domain/tests/fixtures/github"
        );
        let read = |name: &str| -> anyhow::Result<Value> {
            let path = format!("{dir}/{name}.json");
            Ok(serde_json::from_str(
                &std::fs::read_to_string(&path).with_context(|| path.clone())?,
            )?)
        };
        Ok(Templates {
            push: read("push")?,
            pull_request: read("pull_request_opened")?,
        })
    }

    /// Deliveries `start..start+n`: even ones a push of three new commits,
    /// odd ones a new pull request; each with its own delivery id.
    fn prepare(
        &self,
        start: usize,
        n: usize,
        project_id: Uuid,
        team_id: Uuid,
    ) -> anyhow::Result<Vec<Prepared>> {
        let labels = Labels::default();
        let ctx = MapContext {
            project_id,
            team_id,
            received_at: Utc.with_ymd_and_hms(2026, 3, 2, 12, 0, 0).unwrap(),
            labels: &labels,
            scoped_service: None,
            release_environment: "production",
            new_id: Uuid::now_v7,
        };
        (start..start + n)
            .map(|i| {
                let (event, payload) = if i % 2 == 0 {
                    let mut p = self.push.clone();
                    for (k, c) in p["commits"].as_array_mut().unwrap().iter_mut().enumerate() {
                        c["id"] = json!(sha(i, k));
                    }
                    p["after"] = json!(sha(i, 2));
                    p["head_commit"]["id"] = json!(sha(i, 2));
                    ("push", p)
                } else {
                    let mut p = self.pull_request.clone();
                    p["number"] = json!(i);
                    p["pull_request"]["number"] = json!(i);
                    p["pull_request"]["id"] = json!(1_000_000 + i);
                    p["pull_request"]["head"]["sha"] = json!(sha(i, 0));
                    ("pull_request", p)
                };
                let body = serde_json::to_vec(&payload)?;
                let mapped = github::map(event, &payload, &ctx)?;
                Ok(Prepared {
                    event,
                    id: format!("bench-{}-{i}", Uuid::now_v7().simple()),
                    signature: sign(&body),
                    body,
                    mapped,
                })
            })
            .collect()
    }
}

fn sha(i: usize, k: usize) -> String {
    format!("{:032x}{:08x}", i as u128 * 7919 + 1, k)
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

// ---- the API run -------------------------------------------------------------

/// Sends every delivery from `clients` tasks; returns the wall time, the
/// acknowledgement latencies and the number that failed.
async fn api_run(
    client: &reqwest::Client,
    base: &str,
    batch: &[Prepared],
    clients: usize,
) -> anyhow::Result<(Duration, Vec<Duration>, usize)> {
    let batch = Arc::new(batch.to_vec());
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{base}/webhooks/github");
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (batch, next, client, url) = (batch.clone(), next.clone(), client.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut failures = 0usize;
            let mut first_error = None;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = batch.get(i) else { break };
                let t = Instant::now();
                let resp = client
                    .post(&url)
                    .header("content-type", "application/json")
                    .header("x-github-event", p.event)
                    .header("x-github-delivery", &p.id)
                    .header("x-hub-signature-256", &p.signature)
                    .body(p.body.clone())
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => {
                        let body: Value = r.json().await.unwrap_or(Value::Null);
                        if body["status"] == "applied" {
                            lat.push(t.elapsed());
                        } else {
                            failures += 1;
                            first_error.get_or_insert(format!("not applied: {body}"));
                        }
                    }
                    Ok(r) => {
                        failures += 1;
                        let status = r.status();
                        let text = r.text().await.unwrap_or_default();
                        first_error.get_or_insert(format!("{status}: {text}"));
                    }
                    Err(e) => {
                        failures += 1;
                        first_error.get_or_insert(e.to_string());
                    }
                }
            }
            (lat, failures, first_error)
        }));
    }
    let mut lat = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (l, f, e) = t.await?;
        lat.extend(l);
        failures += f;
        if let Some(e) = e {
            eprintln!("  failure: {e}");
        }
    }
    Ok((started.elapsed(), lat, failures))
}

// ---- the ceiling -------------------------------------------------------------

fn deliveries_of(batch: &[Prepared], project_id: Uuid) -> Vec<Ingest> {
    batch
        .iter()
        .map(|p| Ingest {
            delivery: RawDelivery {
                id: Uuid::now_v7(),
                provider: Provider::Github,
                delivery_id: p.id.clone(),
                event: p.event.to_owned(),
                project_id: Some(project_id),
                received_at: Utc::now(),
                headers: [
                    ("content-type".to_owned(), "application/json".to_owned()),
                    ("x-github-event".to_owned(), p.event.to_owned()),
                    ("x-github-delivery".to_owned(), p.id.clone()),
                ]
                .into_iter()
                .collect(),
                body: p.body.clone(),
                outcome: Outcome::Applied,
                detail: p.mapped.summary(),
            },
            records: p.mapped.records.clone(),
        })
        .collect()
}

/// Where the ceilings write: a fresh database of `engine` per run, with the
/// project the deliveries belong to, `per_tx` deliveries per transaction.
struct Ceiling {
    engine: EngineKind,
    project_id: Uuid,
    team_id: Uuid,
    per_tx: usize,
}

/// Binds one row of a multi-row INSERT, value by value, in column order.
macro_rules! row {
    ($b:ident: $($value:expr),+ $(,)?) => {{
        $( $b.push_bind($value); )+
    }};
}

impl Ceiling {
    /// A fresh database with the project the deliveries belong to.
    async fn fresh(&self) -> anyhow::Result<TestDb> {
        let db = TestDb::new(self.engine).await;
        let store = db.store().await;
        let org = Org::new(
            ("bench", "Bench"),
            ("payments", "Payments"),
            vec![REPO.into()],
            vec!["payments".into()],
            Utc::now(),
        )
        .with_ids(self.team_id, self.project_id);
        org.create(&store).await?;
        store.close().await;
        Ok(db)
    }

    /// The same rows through the store's batched paths (`ingest`,
    /// `upsert_commits`, `set_refs`), `per_tx` deliveries per transaction.
    async fn store_batched(&self, batch: &[Prepared]) -> anyhow::Result<Duration> {
        let db = self.fresh().await?;
        let store = Store::connect(&db.url, &ConnectOptions::default()).await?;
        let items = deliveries_of(batch, self.project_id);
        let started = Instant::now();
        for (chunk, prepared) in items.chunks(self.per_tx).zip(batch.chunks(self.per_tx)) {
            let commits: Vec<Commit> = prepared
                .iter()
                .flat_map(|p| p.mapped.commits.iter().cloned())
                .collect();
            // One branch: its last position is the row (as the server does).
            let refs: Vec<GitRef> = prepared
                .iter()
                .flat_map(|p| p.mapped.refs.iter().cloned())
                .last()
                .into_iter()
                .collect();
            store.upsert_commits(&commits).await?;
            store.set_refs(&refs).await?;
            store.ingest(chunk).await?;
        }
        let wall = started.elapsed();
        store.close().await;
        Ok(wall)
    }

    /// The same rows as plain multi-row INSERTs, `per_tx` deliveries per
    /// transaction: deliveries, pull requests, commits, refs. The SQL is the
    /// bench's own on purpose: plain INSERTs with no conflict handling, no
    /// RETURNING and no read-back, independent of the store code it bounds.
    async fn raw_batched(&self, batch: &[Prepared]) -> anyhow::Result<Duration> {
        let db = self.fresh().await?;
        let items = deliveries_of(batch, self.project_id);
        let per_tx = self.per_tx;
        macro_rules! run {
            ($pool:expr) => {{
                let pool = $pool;
                let started = Instant::now();
                for (chunk, prepared) in items.chunks(per_tx).zip(batch.chunks(per_tx)) {
                    let mut tx = pool.begin().await?;
                    let mut qb = sqlx::QueryBuilder::new(
                        "INSERT INTO deliveries (id, provider, delivery_id, event, project_id, received_at, headers, body, outcome, detail) ",
                    );
                    qb.push_values(chunk, |mut b, it| {
                        let d = &it.delivery;
                        row!(b: d.id, d.provider.as_str(), &d.delivery_id, &d.event, d.project_id, d.received_at,
                             sqlx::types::Json(&d.headers), &d.body, d.outcome.as_str(), &d.detail);
                    });
                    qb.build().execute(&mut *tx).await?;
                    let prs: Vec<_> = chunk
                        .iter()
                        .flat_map(|it| it.records.iter())
                        .filter_map(|r| match r {
                            Record::PullRequest(pr) => Some(pr),
                            _ => None,
                        })
                        .collect();
                    if !prs.is_empty() {
                        let mut qb = sqlx::QueryBuilder::new(
                            "INSERT INTO pull_requests (repo, number, source, title, state, draft, base_branch, head_sha, \
                             merge_commit_sha, created_at, ready_at, first_commit_at, first_review_at, approved_at, \
                             merged_at, closed_at, updated_at) ",
                        );
                        qb.push_values(prs, |mut b, pr| {
                            row!(b: &pr.repo, pr.number, &pr.source, &pr.title, pr.state.as_str(), pr.draft,
                                 &pr.base_branch, &pr.head_sha, &pr.merge_commit_sha, pr.created_at, pr.ready_at,
                                 pr.first_commit_at, pr.first_review_at, pr.approved_at, pr.merged_at,
                                 pr.closed_at, pr.updated_at);
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                    let commits: Vec<&Commit> =
                        prepared.iter().flat_map(|p| p.mapped.commits.iter()).collect();
                    if !commits.is_empty() {
                        let mut qb = sqlx::QueryBuilder::new(
                            "INSERT INTO commits (repo, sha, author_name, author_email, authored_at, author_offset, \
                             committed_at, committer_offset, subject, parent_count, additions, deletions, source) ",
                        );
                        qb.push_values(commits, |mut b, c| {
                            row!(b: &c.repo, &c.sha, &c.author_name, &c.author_email, c.authored_at, c.author_offset,
                                 c.committed_at, c.committer_offset, &c.subject, c.parent_count, c.additions,
                                 c.deletions, c.source.as_str());
                        });
                        qb.build().execute(&mut *tx).await?;
                    }
                    let refs: Vec<&GitRef> = prepared.iter().flat_map(|p| p.mapped.refs.iter()).collect();
                    if let Some(last) = refs.last() {
                        // One branch: only its last position is a row.
                        sqlx::query(
                            "INSERT INTO git_refs (repo, name, sha, updated_at) VALUES ($1, $2, $3, $4) \
                             ON CONFLICT (repo, name) DO UPDATE SET sha = excluded.sha, updated_at = excluded.updated_at",
                        )
                        .bind(&last.repo)
                        .bind(&last.name)
                        .bind(&last.sha)
                        .bind(last.updated_at)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
                let wall = started.elapsed();
                pool.close().await;
                wall
            }};
        }
        let wall = match self.engine {
            EngineKind::Sqlite => {
                let opts = sqlx::sqlite::SqliteConnectOptions::new()
                    .filename(db.url.trim_start_matches("sqlite://"))
                    .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
                    .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                    .foreign_keys(true);
                run!(sqlx::SqlitePool::connect_with(opts).await?)
            }
            EngineKind::Postgres => run!(sqlx::PgPool::connect(&db.url).await?),
        };
        Ok(wall)
    }
}

// ---- statistics ------------------------------------------------------------

/// The acknowledgement percentile as this benchmark has always taken it:
/// the sample at `(n - 1) · p / 100` rounded, which can differ by one
/// sample from the nearest rank of `tandem_bench::stats::percentile`; kept
/// so its figures stay comparable with the published ones.
fn percentile(samples: &[Duration], p: f64) -> Duration {
    if samples.is_empty() {
        return Duration::ZERO;
    }
    let mut s = samples.to_vec();
    s.sort();
    let rank = ((p / 100.0) * (s.len() - 1) as f64).round() as usize;
    s[rank.min(s.len() - 1)]
}
