//! Risk history, and storage for Tandem's own checks: the risks they raised,
//! applying their changes atomically with a history line each, and reading a
//! team's work.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use tandem_domain::risk::Risk;
use tandem_domain::risk_check::RiskChange;
use tandem_domain::work_item::WorkItem;
use uuid::Uuid;

use crate::engine::{RISK_UPDATE, bind_row, sql};
use crate::inserts::insert_risk;
use crate::rows::{RiskRow, WorkItemRow};
use crate::{BeginWrite, Result, Store, on_pool};

/// One line of a risk's history.
#[derive(Debug, Clone, PartialEq, serde::Serialize, FromRow, utoipa::ToSchema)]
pub struct RiskHistoryEntry {
    pub at: DateTime<Utc>,
    pub status: String,
    pub note: String,
}

impl Store {
    /// Every risk raised by a check (any status), for reconciling.
    pub async fn list_check_risks(&self) -> Result<Vec<Risk>> {
        let rows: Vec<RiskRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM risks WHERE source <> 'manual' ORDER BY id",
                crate::engine::RISK_COLS
            )))
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Risk::try_from).collect()
    }

    /// Applies the changes of one check run in one transaction, with a
    /// history line per change. An opening that another replica already made
    /// (same cause) is skipped; one made at the very same moment fails this
    /// run on the unique cause key, and the next run converges.
    pub async fn apply_risk_changes(&self, changes: &[RiskChange]) -> Result<usize> {
        if changes.is_empty() {
            return Ok(0);
        }
        let applied = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let mut applied = 0;
            for change in changes {
                let r = change.risk();
                let n = match change {
                    RiskChange::Open(_) => {
                        let (taken,): (i64,) =
                            sqlx::query_as("SELECT COUNT(*) FROM risks WHERE cause_key = $1")
                                .bind(&r.cause_key)
                                .fetch_one(&mut *tx)
                                .await?;
                        if taken == 0 {
                            insert_risk(&mut tx, r).await?;
                            1
                        } else {
                            0
                        }
                    }
                    // A check moves a risk to its goal and stage, never its owner.
                    RiskChange::Update(_) | RiskChange::Reopen(_) | RiskChange::Close(_) => {
                        bind_row(
                            sqlx::query(sql(format!(
                                "{RISK_UPDATE}, goal_id = $3, stage_id = $4 WHERE id = $1"
                            ))),
                            r,
                        )
                        .execute(&mut *tx)
                        .await?
                        .rows_affected()
                    }
                };
                if n == 0 {
                    continue;
                }
                sqlx::query(
                    "INSERT INTO risk_history (risk_id, at, status, note) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (risk_id, at) DO NOTHING",
                )
                .bind(r.id)
                .bind(r.updated_at)
                .bind(r.status.as_str())
                .bind(change.note())
                .execute(&mut *tx)
                .await?;
                applied += 1;
            }
            tx.commit().await?;
            applied
        });
        Ok(applied)
    }

    /// A risk's history, oldest first.
    pub async fn list_risk_history(&self, risk_id: Uuid) -> Result<Vec<RiskHistoryEntry>> {
        let rows: Vec<RiskHistoryEntry> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT at, status, note FROM risk_history WHERE risk_id = $1 ORDER BY at",
            )
            .bind(risk_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// Every work item of a team, in creation order, in one query.
    pub async fn team_work_items(&self, team_id: Uuid) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {} FROM work_items WHERE team_id = $1 ORDER BY id",
                crate::engine::ITEM_COLS
            )))
            .bind(team_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(WorkItem::try_from).collect()
    }
}
