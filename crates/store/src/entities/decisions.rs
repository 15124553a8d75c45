//! Decisions (ADR-like records of a team or goal), and a business decision
//! about a goal written whole: the decision, the goal's new version, the
//! risks it answers and the items it moves, in one transaction.

use super::goals::GOAL_UPDATE;
use super::work_items::ITEM_UPDATE;
use super::*;

/// Everything one decision about a goal writes ([`Store::record_goal_decision`]).
#[derive(Debug, Clone)]
pub struct GoalDecisionWrite {
    pub decision: Decision,
    /// The goal's change and its version entry.
    pub goal: GoalChange,
    /// The goal's version the change was computed from.
    pub read_version: i32,
    /// Risks as they become (closed, or mitigating with a plan).
    pub risks: Vec<Risk>,
    /// Work items as they become (moved out of the goal).
    pub items: Vec<WorkItem>,
}

impl Store {
    pub async fn create_decision(&self, d: &Decision) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(d.team_id)),
                    ("goal_id", Table::Goals, d.goal_id),
                ]
            );
            insert_decision(&mut tx, d).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_decision(&self, id: Uuid) -> Result<Decision> {
        let row: Option<DecisionRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(DECISION_COLS, "decisions", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Decision::from)
            .ok_or_else(|| StoreError::not_found("decision", id))
    }

    pub async fn list_decisions(&self, q: &ListQuery) -> Result<Page<Decision>> {
        let limit = q.limit();
        let rows: Vec<DecisionRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {DECISION_COLS} FROM decisions WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR goal_id = $3) \
                 ORDER BY id LIMIT $4"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.goal_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(
            rows.into_iter().map(Decision::from).collect(),
            limit,
            |d| d.id,
        ))
    }

    pub async fn update_decision(&self, d: &Decision) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("goal_id", Table::Goals, d.goal_id)]);
            // `$n` as in `DECISION_COLS`; the team, decision date and creation stay.
            let n = bind_row(
                sqlx::query(
                    "UPDATE decisions SET goal_id = $3, title = $4, context = $5, options = $6, \
                     decision = $7, consequences = $8, decided_by = $9, updated_at = $12 WHERE id = $1",
                ),
                d,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        });
        found(done, "decision", d.id)
    }

    /// Writes a decision about a goal whole or not at all. When the goal
    /// changed since `read_version` was read, nothing is written and `Stale`
    /// is returned (the forecast the decision answered is out of date too).
    pub async fn record_goal_decision(&self, w: &GoalDecisionWrite) -> Result<()> {
        let g = &w.goal.goal;
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(w.decision.team_id)),
                    ("goal_id", Table::Goals, w.decision.goal_id),
                ]
            );
            let n = bind_row(sqlx::query(GOAL_UPDATE), g)
                .bind(w.read_version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                return Err(StoreError::Stale(format!(
                    "goal {} changed since version {} was read; reload and decide again",
                    g.id, w.read_version
                )));
            }
            if let Some(v) = &w.goal.version {
                insert_version(&mut tx, v).await?;
            }
            insert_decision(&mut tx, &w.decision).await?;
            for r in &w.risks {
                let n = bind_row(
                    sqlx::query(sql(format!("{RISK_UPDATE}, owner = $10 WHERE id = $1"))),
                    r,
                )
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if n == 0 {
                    return Err(StoreError::not_found("risk", r.id));
                }
            }
            for i in &w.items {
                let n = bind_row(sqlx::query(ITEM_UPDATE), i)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                if n == 0 {
                    return Err(StoreError::not_found("work item", i.id));
                }
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
