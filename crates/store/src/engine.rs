//! The one engine switch. Everything that differs between SQLite and
//! PostgreSQL outside the migrations is named here:
//!
//! - [`Engine`] holds the pool; [`on_pool!`] is the single dispatch point
//!   from a [`crate::Store`] method to engine-typed code (its body compiles
//!   once per engine, so values bind with each engine's native types).
//! - [`Tx`] is a transaction on either engine, for work that spans several
//!   calls (attribution, the commit writer); [`on_tx!`] dispatches on it.
//! - [`Db`] is what a write path may ask of an engine: how to open a write
//!   transaction (`BEGIN IMMEDIATE` on SQLite), the row-lock suffix, and the
//!   one bind list per table ([`Db::bind_work_item`], [`Db::bind_risk`]).
//!   Batch statements that differ in shape (multi-row `VALUES` on SQLite,
//!   `UNNEST` of column arrays on PostgreSQL) are the engineering module's
//!   `IngestSql`, implemented for the same two `Db` types.
//! - Query text is otherwise shared: SQLite accepts PostgreSQL's `$n`
//!   placeholders, `ON CONFLICT … DO UPDATE/NOTHING` and `RETURNING`.
//!
//! Rules: no other module matches on [`Engine`] except through `on_pool!`
//! (or builds a [`Tx`]); a table's column list and bind order exist once.

use sqlx::{PgPool, SqlitePool};
use tandem_domain::risk::Risk;
use tandem_domain::work_item::WorkItem;

/// A pool on one of the two engines.
#[derive(Debug, Clone)]
pub(crate) enum Engine {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to the engine's pool. The body is compiled
/// once per engine, so each engine gets natively typed queries.
macro_rules! on_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.engine {
            $crate::engine::Engine::Sqlite($pool) => $body,
            $crate::engine::Engine::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Marks query text assembled from this crate's constants as safe: no
/// caller-supplied value is ever formatted into SQL, only bound.
pub(crate) fn sql(text: String) -> sqlx::AssertSqlSafe<String> {
    sqlx::AssertSqlSafe(text)
}

/// A query on engine `D` whose values are bound one by one.
pub(crate) type Query<'q, D> = sqlx::query::Query<'q, D, <D as sqlx::Database>::Arguments>;

/// What write paths ask of an engine. Implemented for `sqlx::Sqlite` and
/// `sqlx::Postgres` by one macro body each method is written in once.
pub(crate) trait Db: sqlx::Database {
    /// The statement opening a write transaction; `None` is a plain `BEGIN`.
    ///
    /// SQLite: `BEGIN IMMEDIATE`, which takes the write lock up front and so
    /// waits out `busy_timeout` when another connection is writing. A
    /// deferred transaction that reads first (every create checks its
    /// references) would instead fail at once with `SQLITE_BUSY` when it
    /// tries to upgrade to a write while another connection has written.
    const BEGIN_WRITE: Option<&'static str>;

    /// Appended to a SELECT that reads a row the transaction will update:
    /// PostgreSQL `FOR UPDATE`; nothing on SQLite, whose write transaction
    /// already excludes other writers.
    const FOR_UPDATE: &'static str;

    /// Binds the columns of `work_items` in the order of [`ITEM_COLS`]
    /// (`$1` … `$19`).
    fn bind_work_item<'q>(q: Query<'q, Self>, w: &WorkItem) -> Query<'q, Self>;

    /// Binds the columns of `risks` in the order of [`RISK_COLS`]
    /// (`$1` … `$18`).
    fn bind_risk<'q>(q: Query<'q, Self>, r: &Risk) -> Query<'q, Self>;
}

/// The columns of `work_items`, in [`Db::bind_work_item`] order.
pub(crate) const ITEM_COLS: &str = "id, team_id, project_id, goal_id, stage_id, title, kind, priority, \
     impact, complexity, state, context, scores, external_key, source, created_at, started_at, \
     done_at, updated_at";

/// `VALUES` for [`ITEM_COLS`].
pub(crate) const ITEM_VALUES: &str = "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
     $13, $14, $15, $16, $17, $18, $19)";

/// The columns of `risks`, in [`Db::bind_risk`] order.
pub(crate) const RISK_COLS: &str = "id, team_id, goal_id, stage_id, title, description, likelihood, impact, \
     plan, owner, schedule_impact_days, status, source, cause_key, drafted_update, created_at, \
     updated_at, closed_at";

/// `VALUES` for [`RISK_COLS`].
pub(crate) const RISK_VALUES: &str = "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
     $13, $14, $15, $16, $17, $18)";

/// The columns every risk update sets, `$n` as in [`RISK_COLS`]; each
/// caller appends what only it changes and `WHERE id = $1`.
pub(crate) const RISK_UPDATE: &str = "UPDATE risks SET title = $5, description = $6, likelihood = $7, \
     impact = $8, plan = $9, schedule_impact_days = $11, status = $12, drafted_update = $15, \
     updated_at = $17, closed_at = $18";

macro_rules! impl_db {
    ($db:ty, begin_write: $begin:expr, for_update: $lock:expr) => {
        impl Db for $db {
            const BEGIN_WRITE: Option<&'static str> = $begin;
            const FOR_UPDATE: &'static str = $lock;

            fn bind_work_item<'q>(q: Query<'q, Self>, w: &WorkItem) -> Query<'q, Self> {
                q.bind(w.id)
                    .bind(w.team_id)
                    .bind(w.project_id)
                    .bind(w.goal_id)
                    .bind(w.stage_id)
                    .bind(&w.title)
                    .bind(w.kind.as_str())
                    .bind(w.priority.as_str())
                    .bind(w.impact.map(|l| l.as_str()))
                    .bind(w.complexity.map(|l| l.as_str()))
                    .bind(w.state.as_str())
                    .bind(sqlx::types::Json(&w.context))
                    .bind(scores_json(&w.scores))
                    .bind(&w.external_key)
                    .bind(&w.source)
                    .bind(w.created_at)
                    .bind(w.started_at)
                    .bind(w.done_at)
                    .bind(w.updated_at)
            }

            fn bind_risk<'q>(q: Query<'q, Self>, r: &Risk) -> Query<'q, Self> {
                q.bind(r.id)
                    .bind(r.team_id)
                    .bind(r.goal_id)
                    .bind(r.stage_id)
                    .bind(&r.title)
                    .bind(&r.description)
                    .bind(r.likelihood.as_str())
                    .bind(r.impact.as_str())
                    .bind(&r.plan)
                    .bind(&r.owner)
                    .bind(r.schedule_impact_days)
                    .bind(r.status.as_str())
                    .bind(r.source.as_str())
                    .bind(&r.cause_key)
                    .bind(&r.drafted_update)
                    .bind(r.created_at)
                    .bind(r.updated_at)
                    .bind(r.closed_at)
            }
        }
    };
}

impl_db!(sqlx::Sqlite, begin_write: Some("BEGIN IMMEDIATE"), for_update: "");
impl_db!(sqlx::Postgres, begin_write: None, for_update: " FOR UPDATE");

/// Binds a work item's columns (see [`Db::bind_work_item`]).
pub(crate) fn bind_work_item<'q, D: Db>(q: Query<'q, D>, w: &WorkItem) -> Query<'q, D> {
    D::bind_work_item(q, w)
}

/// Binds a risk's columns (see [`Db::bind_risk`]).
pub(crate) fn bind_risk<'q, D: Db>(q: Query<'q, D>, r: &Risk) -> Query<'q, D> {
    D::bind_risk(q, r)
}

/// A work item's scores as a JSON column: NULL when there are none.
pub(crate) fn scores_json(
    scores: &tandem_domain::work_item::Scores,
) -> Option<sqlx::types::Json<&tandem_domain::work_item::Scores>> {
    (!scores.is_empty()).then_some(sqlx::types::Json(scores))
}

/// Starts a transaction that will write (see [`Db::BEGIN_WRITE`]).
pub(crate) trait BeginWrite {
    type Db: sqlx::Database;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl<D: Db> BeginWrite for sqlx::Pool<D> {
    type Db = D;

    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, D>, sqlx::Error> {
        match D::BEGIN_WRITE {
            Some(statement) => self.begin_with(statement).await,
            None => self.begin().await,
        }
    }
}

/// A transaction on either engine.
pub(crate) enum Tx {
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    pub(crate) async fn commit(self) -> crate::Result<()> {
        match self {
            Tx::Sqlite(t) => t.commit().await?,
            Tx::Postgres(t) => t.commit().await?,
        }
        Ok(())
    }
}

/// Runs `$body` with `$c` bound to the transaction's connection, once per
/// engine (like `on_pool!`).
macro_rules! on_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match $tx {
            $crate::engine::Tx::Sqlite(t) => {
                let $c: &mut sqlx::SqliteConnection = &mut **t;
                $body
            }
            $crate::engine::Tx::Postgres(t) => {
                let $c: &mut sqlx::PgConnection = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

impl crate::Store {
    /// A transaction that only reads.
    pub(crate) async fn read_tx(&self) -> crate::Result<Tx> {
        Ok(match &self.engine {
            Engine::Sqlite(p) => Tx::Sqlite(p.begin().await?),
            Engine::Postgres(p) => Tx::Postgres(p.begin().await?),
        })
    }

    /// A transaction that will write (see [`Db::BEGIN_WRITE`]).
    pub(crate) async fn write_tx(&self) -> crate::Result<Tx> {
        Ok(match &self.engine {
            Engine::Sqlite(p) => Tx::Sqlite(p.begin_write().await?),
            Engine::Postgres(p) => Tx::Postgres(p.begin_write().await?),
        })
    }
}
