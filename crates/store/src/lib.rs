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

mod dump;
mod engine;
mod engineering;
mod entities;
mod error;
mod inserts;
mod metrics;
mod reports;
mod retention;
mod rows;

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use uuid::Uuid;

use crate::engine::Engine;
pub(crate) use crate::engine::{BeginWrite, on_pool};

pub use dump::{DumpSummary, EXPORT_FORMAT, demo_dump};
pub use engineering::records::{Ingest, RawDeliveryFilter};
pub use engineering::tracker::{ParentLink, TrackedItem, TrackerWrite};
pub use entities::audit::ThrottleState;
pub use entities::risk_history::RiskHistoryEntry;
pub use error::StoreError;
pub use metrics::{AttributionRecord, ShippedCommit};
pub use reports::{
    ArchiveEntry, ArchivedReport, ReportDelivery, ReportDeliveryAttempt, ReportDraft,
    ReportSchedule,
};

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
}

/// Connection settings that do not come from the URL.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    pub max_connections: u32,
    pub busy_timeout: Duration,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        Self {
            max_connections: 10,
            busy_timeout: Duration::from_secs(5),
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
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(opts)
                .await?;
            return Ok(Store {
                engine: Engine::Postgres(pool),
            });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            return Err(StoreError::Config(
                "database.url names no SQLite file".into(),
            ));
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(options.busy_timeout);
        let pool = SqlitePoolOptions::new()
            .max_connections(options.max_connections)
            .connect_with(opts)
            .await?;
        Ok(Store {
            engine: Engine::Sqlite(pool),
        })
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
