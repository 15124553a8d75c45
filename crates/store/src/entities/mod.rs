//! The planning entities, one file each: teams, users (with memberships,
//! tokens, sessions), projects, goals (with versions), stages, work items,
//! risks, risk history, metrics (with points), decisions, and the unpaged
//! planning reads. Query text is shared by both engines (SQLite accepts
//! PostgreSQL's `$n` parameters); `on_pool!` compiles each body once per
//! engine so values bind with each engine's native types.
//!
//! This file holds what the entity files share: the column lists of the
//! tables read here, reference checks (`ensure_refs!`), and small helpers.
//! Each entity file is `use super::*` plus its `impl Store` block.

use chrono::{DateTime, Utc};
use sqlx::QueryBuilder;
use sqlx::types::Json;
use tandem_domain::decision::Decision;
use tandem_domain::goal::{Goal, GoalChange, GoalVersion};
use tandem_domain::metric::{Metric, MetricPoint};
use tandem_domain::project::Project;
use tandem_domain::risk::Risk;
use tandem_domain::stage::Stage;
use tandem_domain::team::Team;
use tandem_domain::user::{ApiToken, Role, User};
use tandem_domain::work_item::WorkItem;
use uuid::Uuid;

use crate::engine::{
    DECISION_COLS, GOAL_COLS, ITEM_COLS, METRIC_COLS, RISK_COLS, RISK_UPDATE, STAGE_COLS,
    VERSION_COLS, bind_row, sql,
};
use crate::inserts::*;
use crate::rows::*;
use crate::{BeginWrite, ListQuery, Page, Result, Store, StoreError, on_pool, page};

/// Tables that other rows may reference.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Table {
    Teams,
    Users,
    Projects,
    Goals,
    Stages,
    Metrics,
    Requests,
}

impl Table {
    fn exists_sql(self) -> &'static str {
        match self {
            Table::Teams => "SELECT COUNT(*) FROM teams WHERE id = $1",
            Table::Users => "SELECT COUNT(*) FROM users WHERE id = $1",
            Table::Projects => "SELECT COUNT(*) FROM projects WHERE id = $1",
            Table::Goals => "SELECT COUNT(*) FROM goals WHERE id = $1",
            Table::Stages => "SELECT COUNT(*) FROM stages WHERE id = $1",
            Table::Metrics => "SELECT COUNT(*) FROM metrics WHERE id = $1",
            Table::Requests => "SELECT COUNT(*) FROM requests WHERE id = $1",
        }
    }

    fn entity(self) -> &'static str {
        match self {
            Table::Teams => "team",
            Table::Users => "user",
            Table::Projects => "project",
            Table::Goals => "goal",
            Table::Stages => "stage",
            Table::Metrics => "metric",
            Table::Requests => "request",
        }
    }
}

/// Checks that each referenced id exists, naming the field of the first that
/// does not. Runs inside the caller's transaction.
macro_rules! ensure_refs {
    ($conn:expr, [$(($field:expr, $table:expr, $id:expr)),* $(,)?]) => {{
        $(
            if let Some(id) = $id {
                let (n,): (i64,) = sqlx::query_as($table.exists_sql())
                    .bind(id)
                    .fetch_one(&mut *$conn)
                    .await?;
                if n == 0 {
                    return Err(StoreError::MissingReference {
                        field: $field.to_owned(),
                        message: format!("{} {} does not exist", $table.entity(), id),
                    });
                }
            }
        )*
    }};
}

const TEAM_COLS: &str = "id, key, name, timezone, created_at, updated_at";
const USER_COLS: &str =
    "id, username, display_name, email, role, disabled, created_at, password_hash";
const TOKEN_COLS: &str =
    "id, name, prefix, role, created_by, created_at, last_used_at, revoked_at, token_hash";
const PROJECT_COLS: &str = "id, team_id, key, name, repositories, services, created_at, updated_at";

/// Rows per multi-row INSERT on the bulk paths (well under SQLite's limit of
/// 32,766 bound parameters).
const BULK_ROWS: usize = 500;

fn select(cols: &str, table: &str, filter: &str) -> sqlx::AssertSqlSafe<String> {
    sql(format!("SELECT {cols} FROM {table} WHERE {filter}"))
}

/// The value to store for a metric point: `-0.0` becomes `0.0`. SQLite
/// writes integral REALs as integers and so loses the sign, PostgreSQL keeps
/// it; storing `0.0` makes both engines read back (and export) the same.
pub(crate) fn point_value(value: f64) -> f64 {
    if value == 0.0 { 0.0 } else { value }
}

/// Scores as stored: NULL when none are given.
fn found(rows: u64, entity: &'static str, id: impl ToString) -> Result<()> {
    if rows == 0 {
        Err(StoreError::not_found(entity, id))
    } else {
        Ok(())
    }
}

pub(crate) mod audit;
pub mod decisions;
mod goals;
mod metrics;
mod planning;
mod projects;
pub(crate) mod requests;
pub(crate) mod risk_history;
mod risks;
mod stages;
mod teams;
mod users;
mod work_items;
