//! Tandem storage: one narrow API over domain types, two engines.
//!
//! Invariants:
//! - Only this crate knows SQL. Callers pass and receive domain types.
//! - SQLite and PostgreSQL each have their own migrations folder with native
//!   types (BLOB/TEXT in SQLite, UUID/TIMESTAMPTZ/JSONB in PostgreSQL). Query
//!   text is shared where both dialects accept it, and every query runs on both
//!   engines in the conformance suite. Whatever differs between the engines
//!   is named once, in `engine` (the pool switch `on_pool!`, `Tx`, the `Db`
//!   trait: write transactions, row locks, the bind list of each table).
//! - Every instant is UTC with microsecond precision (see `tandem_domain::time`).
//! - A write that fails leaves the database as it was (one transaction per
//!   operation that touches more than one row).
//!
//! Map: `engine` (the one engine switch), `entities/` (teams, users,
//! projects, goals, stages, work items, risks, risk history, metrics,
//! decisions, planning reads: one file each), `engineering/` (records and
//! webhook ingest, git history, tracker items), `metrics/` (delivery metrics:
//! attribution writes, then reads), `reports`, `retention`, `dump/` (export
//! and import; `tables` moves rows table by table), `inserts` (one INSERT per
//! planning table, shared by creates and the dump), `rows` (rows to domain).

mod backups;
mod checks;
mod dump;
mod engine;
mod engineering;
mod entities;
mod error;
mod focus;
mod frontline;
mod inserts;
mod intake;
mod metrics;
mod publish;
mod pulse;
mod reports;
mod retention;
mod rows;

use std::str::FromStr;
use std::time::Duration;

use std::path::Path;

use sqlx::Connection;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use crate::engine::Engine;
pub(crate) use crate::engine::{BeginSnapshot, BeginWrite, on_pool};

/// A PostgreSQL server that did not take a connection, said in a few words:
/// "connection refused at HOST:PORT" rather than the driver's chain.
fn unreachable_postgres(opts: &PgConnectOptions, e: sqlx::Error) -> StoreError {
    let at = format!("{}:{}", opts.get_host(), opts.get_port());
    match &e {
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => {
                StoreError::Unreachable(format!("PostgreSQL: connection refused at {at}"))
            }
            _ => StoreError::Unreachable(format!("PostgreSQL at {at}: {io}")),
        },
        _ => StoreError::Database(e),
    }
}

pub use backups::BackupRun;
pub use checks::{
    Alert, AlertAttempt, CheckResult, CheckRun, CheckWrite, FINISH_ROWS, FinishedRun,
    IncidentEntry, NewAlert, StoredCheck,
};
pub use dump::{DumpSummary, EXPORT_FORMAT, NOT_DUMPED, demo_dump, dumped_tables};
pub use engineering::fetches::FetchKey;
pub use engineering::records::{Ingest, RawDeliveryFilter};
pub use engineering::tracker::{ParentLink, TrackedItem, TrackerWrite};
pub use entities::audit::ThrottleState;
pub use entities::decisions::GoalDecisionWrite;
pub use entities::requests::{RequestFilter, RequestWrites};
pub use entities::risk_history::RiskHistoryEntry;
pub use error::StoreError;
pub use frontline::{
    BusinessUpdate, IncidentNote, KpiRunOutcome, KpiSource, UPDATE_FAILED, UPDATE_PENDING,
    UPDATE_POSTED,
};

pub use metrics::{AttributionRecord, ShippedCommit};
pub use publish::{Publication, PublishMapping, PublishOutcome, PublishTargetState};
pub use pulse::PulseWrite;
pub use reports::{
    ArchiveEntry, ArchivedReport, ReportDelivery, ReportDeliveryAttempt, ReportDraft,
    ReportSchedule,
};
pub use retention::ArchivedCheckResult;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The storage engine behind a [`Store`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineKind {
    Sqlite,
    Postgres,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Sqlite => "sqlite",
            EngineKind::Postgres => "postgres",
        }
    }
}

/// A handle to the database. Cheap to clone (it wraps a connection pool).
#[derive(Debug, Clone)]
pub struct Store {
    engine: Engine,
    /// Rows ingested since the planner's statistics were last refreshed
    /// (PostgreSQL; see `engineering::growth`).
    growth: std::sync::Arc<engineering::growth::Growth>,
}

/// Connection settings that do not come from the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
    /// Whether a missing SQLite file is created (the default) or refused
    /// with [`StoreError::NoDatabase`]: commands that only read must not
    /// leave an empty database behind.
    pub create_if_missing: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            busy_timeout: Duration::from_secs(5),
            create_if_missing: true,
        }
    }
}

/// The start of an id as a person types it (`0190a1b2`, `0190A1B2-3C`):
/// hexadecimal digits, dashes ignored, at least [`IdPrefix::MIN_DIGITS`].
/// Holds lowercase digits only, so it can go into a `LIKE` pattern as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPrefix(String);

impl IdPrefix {
    /// Fewer digits than this match too much to be meant as an id.
    pub const MIN_DIGITS: usize = 4;

    /// The prefix `text` spells, or `None` when it is not the start of an
    /// id (other characters, too short, longer than a UUID).
    pub fn parse(text: &str) -> Option<IdPrefix> {
        let digits: String = text
            .chars()
            .filter(|c| *c != '-')
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let hex = digits.bytes().all(|b| b.is_ascii_hexdigit());
        (hex && (Self::MIN_DIGITS..=32).contains(&digits.len())).then_some(IdPrefix(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Which table [`Store::ids_with_prefix`] searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdTable {
    Goals,
    WorkItems,
    Risks,
    Decisions,
}

impl IdTable {
    fn table(self) -> &'static str {
        match self {
            IdTable::Goals => "goals",
            IdTable::WorkItems => "work_items",
            IdTable::Risks => "risks",
            IdTable::Decisions => "decisions",
        }
    }
}

impl Store {
    /// Connects to `url`: `postgres://…` / `postgresql://…` for PostgreSQL,
    /// `sqlite://PATH`, `sqlite:PATH` or a plain file path for SQLite (the
    /// file is created when missing). Does not migrate.
    pub async fn connect(url: &str, options: &ConnectOptions) -> Result<Store> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let opts = PgConnectOptions::from_str(url).map_err(|e| {
                StoreError::Config(format!("database.url is not a valid PostgreSQL URL: {e}"))
            })?;
            // One direct connection first: the pool retries a refused
            // connection until its acquire timeout, which would hide "nothing
            // listens there" behind a ten-second wait.
            let probe = PgConnection::connect_with(&opts)
                .await
                .map_err(|e| unreachable_postgres(&opts, e))?;
            let _ = probe.close().await;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                // As for SQLite below: never hand out a connection still in
                // a transaction whose rollback failed.
                .before_acquire(|conn, _| {
                    Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
                })
                .connect_with(opts)
                .await?;
            return Ok(Store {
                engine: Engine::Postgres(pool),
                growth: Default::default(),
            });
        }
        let path = match url.split_once("://") {
            Some(("sqlite", path)) => path,
            Some((scheme, _)) => {
                return Err(StoreError::Config(format!(
                    "database.url has the unknown scheme {scheme:?}: use sqlite://PATH or postgres://USER@HOST/DB"
                )));
            }
            None => url.strip_prefix("sqlite:").unwrap_or(url),
        };
        if path.is_empty() {
            return Err(StoreError::Config(
                "database.url names no SQLite file".into(),
            ));
        }
        if !options.create_if_missing && path != ":memory:" && !Path::new(path).exists() {
            return Err(StoreError::NoDatabase(path.to_owned()));
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(options.create_if_missing)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            // A connection whose rollback failed (a full disk can refuse it)
            // is still in its transaction: closed, not handed out again,
            // where every later `BEGIN` on it would fail (issue 18).
            .before_acquire(|conn, _| {
                Box::pin(async move { Ok(!sqlx::Connection::is_in_transaction(conn)) })
            })
            .connect_with(opts)
            .await?;
        Ok(Store {
            engine: Engine::Sqlite(pool),
            growth: Default::default(),
        })
    }

    /// The ids in `table` whose hexadecimal form (without dashes) starts
    /// with `prefix`, in id order, at most `limit`: what a person typing the
    /// start of an id may mean.
    pub async fn ids_with_prefix(
        &self,
        table: IdTable,
        prefix: &IdPrefix,
        limit: i64,
    ) -> Result<Vec<Uuid>> {
        let pattern = format!("{}%", prefix.0);
        let ids: Vec<(Uuid,)> = on_pool!(self, |pool| {
            sqlx::query_as(engine::sql(format!(
                "SELECT id FROM {} WHERE {} LIKE $1 ORDER BY id LIMIT $2",
                table.table(),
                engine::id_hex(self.engine()),
            )))
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    pub fn engine(&self) -> EngineKind {
        match self.engine {
            Engine::Sqlite(_) => EngineKind::Sqlite,
            Engine::Postgres(_) => EngineKind::Postgres,
        }
    }

    /// Applies pending migrations of this engine.
    pub async fn migrate(&self) -> Result<()> {
        match &self.engine {
            Engine::Sqlite(pool) => sqlx::migrate!("./migrations/sqlite").run(pool).await?,
            Engine::Postgres(pool) => sqlx::migrate!("./migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Checks the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Closes every connection, waiting for those in use to be returned.
    pub async fn close(&self) {
        on_pool!(self, |pool| pool.close().await)
    }
}

/// One page of a list, and the cursor to the next page if there is one.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<Uuid>,
}

/// Filters and paging for list operations. Each list reads the filters that
/// apply to it; the HTTP layer refuses filters a resource does not have.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Return rows with an id greater than this (ids grow with creation time).
    pub after: Option<Uuid>,
    /// At most this many rows; clamped to 1..=500.
    pub limit: u32,
    pub team_id: Option<Uuid>,
    pub project_id: Option<Uuid>,
    pub goal_id: Option<Uuid>,
    pub stage_id: Option<Uuid>,
    /// Goal status, work item state or risk status, as text.
    pub status: Option<String>,
    /// Work item kind, as text.
    pub kind: Option<String>,
    /// Metric audience, as text.
    pub audience: Option<String>,
}

impl ListQuery {
    pub const DEFAULT_LIMIT: u32 = 50;
    pub const MAX_LIMIT: u32 = 500;

    fn limit(&self) -> i64 {
        let limit = if self.limit == 0 {
            Self::DEFAULT_LIMIT
        } else {
            self.limit
        };
        i64::from(limit.min(Self::MAX_LIMIT))
    }
}

/// Builds a page from `limit + 1` fetched rows.
fn page<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> Uuid) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(&id)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}
