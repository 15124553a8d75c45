//! The DORA benchmark's synthetic delivery data (`tandem-bench-dora`, and
//! `tandem-bench-backup`, which backs the same database up): one project,
//! N production deployments spread evenly over 2025 with 20 commits each,
//! 1 in 10 changes failed with an incident, and the rows attribution
//! precomputes. See `tandem-bench-dora`'s documentation for the shape.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use sqlx::QueryBuilder;
use tandem_domain::dora::Histogram;
use tandem_domain::project::Project;
use tandem_store::{EngineKind, Store};
use tandem_testkit::TestDb;
use uuid::Uuid;

use crate::fixtures::Org;

/// splitmix64: a deterministic stream, seeded.
#[derive(Debug)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Log-uniform between `lo` and `hi`.
    pub fn log_uniform(&mut self, lo: f64, hi: f64) -> f64 {
        (lo.ln() + self.unit() * (hi.ln() - lo.ln())).exp()
    }
}

const BIND_LIMIT: usize = 32_000;

#[derive(Debug)]
pub struct Dep {
    pub id: Uuid,
    pub service: usize,
    pub finished: DateTime<Utc>,
    pub rollback: bool,
    pub failed: bool,
    pub commits: Vec<DateTime<Utc>>,
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

pub async fn generate(
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
            let rollback = rng.next_u64().is_multiple_of(200);
            let failed = !rollback && rng.next_u64().is_multiple_of(10);
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
pub async fn create_org(store: &Store, key: &str, services: Vec<String>) -> anyhow::Result<Org> {
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
