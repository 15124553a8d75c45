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
//!   one bind list per table ([`Db::bind_work_item`], [`Db::bind_risk`],
//!   goals, goal versions, stages, metrics, decisions, raw deliveries), each
//!   in the order of the table's `*_COLS` list here; [`bind_row`] binds a
//!   row on whichever engine its query is for. Write paths are generic
//!   `async fn`s over a `Transaction` of any `Db` (engineering records keep
//!   their own per-record bind lists in `impl_merged!`).
//!   Batch statements that differ in shape (multi-row `VALUES` on SQLite,
//!   `UNNEST` of column arrays on PostgreSQL) are the engineering module's
//!   `IngestSql`, implemented for the same two `Db` types.
//! - Query text is otherwise shared: SQLite accepts PostgreSQL's `$n`
//!   placeholders, `ON CONFLICT … DO UPDATE/NOTHING` and `RETURNING`.
//!
//! Rules: no other module matches on [`Engine`] except through `on_pool!`
//! (or builds a [`Tx`]); a table's column list and bind order exist once.

use sqlx::{PgPool, SqlitePool};
use tandem_domain::decision::Decision;
use tandem_domain::engineering::RawDelivery;
use tandem_domain::goal::{Goal, GoalVersion};
use tandem_domain::metric::Metric;
use tandem_domain::risk::Risk;
use tandem_domain::stage::Stage;
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

/// The SQL expression of a row's `id` as lowercase hexadecimal without
/// dashes: SQLite stores a UUID as a 16-byte BLOB, PostgreSQL as `UUID`.
pub(crate) fn id_hex(engine: crate::EngineKind) -> &'static str {
    match engine {
        crate::EngineKind::Sqlite => "lower(hex(id))",
        crate::EngineKind::Postgres => "replace(id::text, '-', '')",
    }
}

/// Binds `each` of `items` into `qb`, separated by commas: the inside of an
/// `IN (…)` list the caller opened and closes.
pub(crate) fn push_list<D, I, T>(
    qb: &mut sqlx::QueryBuilder<D>,
    items: I,
    mut each: impl FnMut(I::Item) -> T,
) where
    D: sqlx::Database,
    I: IntoIterator,
    T: for<'e> sqlx::Encode<'e, D> + sqlx::Type<D>,
{
    let mut list = qb.separated(", ");
    for item in items {
        list.push_bind(each(item));
    }
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

    /// The statement opening a read-only transaction that sees one
    /// snapshot of the database for all its reads (`export`, backups).
    ///
    /// PostgreSQL: `REPEATABLE READ READ ONLY` (every statement sees the
    /// snapshot taken at the first one). SQLite: a plain deferred `BEGIN`;
    /// its first read takes a read lock (a WAL read mark) that pins the
    /// snapshot until the transaction ends.
    const BEGIN_SNAPSHOT: Option<&'static str>;

    /// Appended to a SELECT that reads a row the transaction will update:
    /// PostgreSQL `FOR UPDATE`; nothing on SQLite, whose write transaction
    /// already excludes other writers.
    const FOR_UPDATE: &'static str;

    /// Runs a bound statement; returns the number of rows it affected.
    async fn execute(conn: &mut Self::Connection, q: Query<'_, Self>) -> Result<u64, sqlx::Error>;

    /// Binds the columns of `work_items` in the order of [`ITEM_COLS`]
    /// (`$1` … `$19`).
    fn bind_work_item<'q>(q: Query<'q, Self>, w: &WorkItem) -> Query<'q, Self>;

    /// Binds the columns of `risks` in the order of [`RISK_COLS`]
    /// (`$1` … `$18`).
    fn bind_risk<'q>(q: Query<'q, Self>, r: &Risk) -> Query<'q, Self>;

    /// Binds the columns of `goals` in the order of [`GOAL_COLS`].
    fn bind_goal<'q>(q: Query<'q, Self>, g: &Goal) -> Query<'q, Self>;

    /// Binds the columns of `goal_versions` in the order of [`VERSION_COLS`].
    fn bind_version<'q>(q: Query<'q, Self>, v: &GoalVersion) -> Query<'q, Self>;

    /// Binds the columns of `stages` in the order of [`STAGE_COLS`].
    fn bind_stage<'q>(q: Query<'q, Self>, s: &Stage) -> Query<'q, Self>;

    /// Binds the columns of `metrics` in the order of [`METRIC_COLS`].
    fn bind_metric<'q>(q: Query<'q, Self>, m: &Metric) -> Query<'q, Self>;

    /// Binds the columns of `decisions` in the order of [`DECISION_COLS`].
    fn bind_decision<'q>(q: Query<'q, Self>, d: &Decision) -> Query<'q, Self>;

    /// Binds the columns of `deliveries` (raw webhook deliveries) in the
    /// order of [`DELIVERY_COLS`].
    fn bind_delivery<'q>(q: Query<'q, Self>, d: &RawDelivery) -> Query<'q, Self>;
}

/// The columns of `goals`, in [`Db::bind_goal`] order.
pub(crate) const GOAL_COLS: &str = "id, team_id, project_id, title, business_goal, technical_tasks, \
     hypotheses, success_metrics, parties, timeline, status, version, agreed_at, agreed_by, \
     created_at, updated_at";
/// The columns of `goal_versions`, in [`Db::bind_version`] order.
pub(crate) const VERSION_COLS: &str = "goal_id, version, changed_at, changed_by, action, changes";
/// The columns of `stages`, in [`Db::bind_stage`] order.
pub(crate) const STAGE_COLS: &str =
    "id, goal_id, name, description, position, starts_on, ends_on, created_at, updated_at";
/// The columns of `metrics`, in [`Db::bind_metric`] order.
pub(crate) const METRIC_COLS: &str = "id, key, name, description, unit, direction, audience, team_id, created_at, updated_at, \
     computed_from";
/// The columns of `decisions`, in [`Db::bind_decision`] order.
pub(crate) const DECISION_COLS: &str = "id, team_id, goal_id, title, context, options, decision, \
     consequences, decided_by, decided_at, created_at, updated_at";

/// The columns of `audit_log`, in the order `Store::record_audit` binds
/// them.
pub(crate) const AUDIT_COLS: &str = "id, at, action, actor, subject, client, detail";

/// The columns of `deliveries`, in [`Db::bind_delivery`] order.
pub(crate) const DELIVERY_COLS: &str =
    "id, provider, delivery_id, event, project_id, received_at, headers, body, outcome, detail";

/// `INSERT INTO table (cols) VALUES ($1, …, $n)`, one placeholder a column,
/// for a column list of this module.
pub(crate) fn insert_sql(table: &str, cols: &str) -> sqlx::AssertSqlSafe<String> {
    let values: Vec<String> = (1..=cols.split(',').count())
        .map(|i| format!("${i}"))
        .collect();
    sql(format!(
        "INSERT INTO {table} ({cols}) VALUES ({})",
        values.join(", ")
    ))
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

/// The columns every risk update sets, `$n` as in [`RISK_COLS`]; each
/// caller appends what only it changes and `WHERE id = $1`.
pub(crate) const RISK_UPDATE: &str = "UPDATE risks SET title = $5, description = $6, likelihood = $7, \
     impact = $8, plan = $9, schedule_impact_days = $11, status = $12, drafted_update = $15, \
     updated_at = $17, closed_at = $18";

macro_rules! impl_db {
    ($db:ty, begin_write: $begin:expr, begin_snapshot: $snapshot:expr, for_update: $lock:expr) => {
        impl Db for $db {
            const BEGIN_WRITE: Option<&'static str> = $begin;
            const BEGIN_SNAPSHOT: Option<&'static str> = $snapshot;
            const FOR_UPDATE: &'static str = $lock;

            async fn execute(
                conn: &mut Self::Connection,
                q: Query<'_, Self>,
            ) -> Result<u64, sqlx::Error> {
                Ok(q.execute(conn).await?.rows_affected())
            }

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

            fn bind_goal<'q>(q: Query<'q, Self>, g: &Goal) -> Query<'q, Self> {
                q.bind(g.id)
                    .bind(g.team_id)
                    .bind(g.project_id)
                    .bind(&g.title)
                    .bind(&g.business_goal)
                    .bind(&g.technical_tasks)
                    .bind(sqlx::types::Json(&g.hypotheses))
                    .bind(sqlx::types::Json(&g.success_metrics))
                    .bind(sqlx::types::Json(&g.parties))
                    .bind(sqlx::types::Json(&g.timeline))
                    .bind(g.status.as_str())
                    .bind(g.version)
                    .bind(g.agreed_at)
                    .bind(&g.agreed_by)
                    .bind(g.created_at)
                    .bind(g.updated_at)
            }

            fn bind_version<'q>(q: Query<'q, Self>, v: &GoalVersion) -> Query<'q, Self> {
                q.bind(v.goal_id)
                    .bind(v.version)
                    .bind(v.changed_at)
                    .bind(&v.changed_by)
                    .bind(&v.action)
                    .bind(sqlx::types::Json(&v.changes))
            }

            fn bind_stage<'q>(q: Query<'q, Self>, s: &Stage) -> Query<'q, Self> {
                q.bind(s.id)
                    .bind(s.goal_id)
                    .bind(&s.name)
                    .bind(&s.description)
                    .bind(s.position)
                    .bind(s.starts_on)
                    .bind(s.ends_on)
                    .bind(s.created_at)
                    .bind(s.updated_at)
            }

            fn bind_metric<'q>(q: Query<'q, Self>, m: &Metric) -> Query<'q, Self> {
                q.bind(m.id)
                    .bind(&m.key)
                    .bind(&m.name)
                    .bind(&m.description)
                    .bind(&m.unit)
                    .bind(m.direction.as_str())
                    .bind(m.audience.as_str())
                    .bind(m.team_id)
                    .bind(m.created_at)
                    .bind(m.updated_at)
                    .bind(m.computed_from.map(|c| c.as_str()))
            }

            fn bind_decision<'q>(q: Query<'q, Self>, d: &Decision) -> Query<'q, Self> {
                q.bind(d.id)
                    .bind(d.team_id)
                    .bind(d.goal_id)
                    .bind(&d.title)
                    .bind(&d.context)
                    .bind(sqlx::types::Json(&d.options))
                    .bind(&d.decision)
                    .bind(&d.consequences)
                    .bind(&d.decided_by)
                    .bind(d.decided_at)
                    .bind(d.created_at)
                    .bind(d.updated_at)
            }

            fn bind_delivery<'q>(q: Query<'q, Self>, d: &RawDelivery) -> Query<'q, Self> {
                q.bind(d.id)
                    .bind(d.provider.as_str())
                    .bind(&d.delivery_id)
                    .bind(&d.event)
                    .bind(d.project_id)
                    .bind(d.received_at)
                    .bind(sqlx::types::Json(&d.headers))
                    .bind(&d.body)
                    .bind(d.outcome.as_str())
                    .bind(&d.detail)
            }
        }
    };
}

impl_db!(sqlx::Sqlite, begin_write: Some("BEGIN IMMEDIATE"), begin_snapshot: None, for_update: "");
impl_db!(
    sqlx::Postgres,
    begin_write: None,
    begin_snapshot: Some("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
    for_update: " FOR UPDATE"
);

/// A row of a table with one bind list in [`Db`]: [`bind_row`] binds it on
/// whichever engine the query is for.
pub(crate) trait Columns {
    fn bind_on<'q, D: Db>(&self, q: Query<'q, D>) -> Query<'q, D>;
}

/// Implements [`Columns`] for each type by its [`Db`] bind method.
macro_rules! impl_columns {
    ($($ty:ty => $bind:ident),* $(,)?) => {$(
        impl Columns for $ty {
            fn bind_on<'q, D: Db>(&self, q: Query<'q, D>) -> Query<'q, D> {
                D::$bind(q, self)
            }
        }
    )*};
}

impl_columns!(
    WorkItem => bind_work_item,
    Goal => bind_goal,
    Stage => bind_stage,
    Metric => bind_metric,
    Decision => bind_decision,
    Risk => bind_risk,
);

/// Binds a row's columns in the order of its table's `*_COLS` list, on the
/// query's engine.
pub(crate) fn bind_row<'q, D: Db, T: Columns>(q: Query<'q, D>, row: &T) -> Query<'q, D> {
    row.bind_on(q)
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

/// Starts a read-only transaction over one snapshot (see
/// [`Db::BEGIN_SNAPSHOT`]).
pub(crate) trait BeginSnapshot {
    type Db: sqlx::Database;

    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, Self::Db>, sqlx::Error>;
}

impl<D: Db> BeginSnapshot for sqlx::Pool<D> {
    type Db = D;

    async fn begin_snapshot(&self) -> Result<sqlx::Transaction<'static, D>, sqlx::Error> {
        match D::BEGIN_SNAPSHOT {
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
