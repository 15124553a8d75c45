//! Risks entered by people (checks' risks: `risk_history`). Bound through
//! `engine::Db::bind_risk` (through `engine::bind_row`); the update shares `engine::RISK_UPDATE` with the checks.

use super::*;

impl Store {
    pub async fn create_risk(&self, r: &Risk) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(r.team_id)),
                    ("goal_id", Table::Goals, r.goal_id),
                    ("stage_id", Table::Stages, r.stage_id),
                ]
            );
            insert_risk(&mut tx, r).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_risk(&self, id: Uuid) -> Result<Risk> {
        let row: Option<RiskRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(RISK_COLS, "risks", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("risk", id))?
            .try_into()
    }

    pub async fn list_risks(&self, q: &ListQuery) -> Result<Page<Risk>> {
        let limit = q.limit();
        let rows: Vec<RiskRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {RISK_COLS} FROM risks WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR goal_id = $3) \
                 AND ($4 IS NULL OR stage_id = $4) AND ($5 IS NULL OR status = $5) \
                 ORDER BY id LIMIT $6"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.goal_id)
            .bind(q.stage_id)
            .bind(q.status.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |r| r.id))
    }

    pub async fn update_risk(&self, r: &Risk) -> Result<()> {
        let done = on_pool!(self, |pool| {
            // The people's edit: the owner, not the goal or stage.
            bind_row(
                sqlx::query(sql(format!("{RISK_UPDATE}, owner = $10 WHERE id = $1"))),
                r,
            )
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(done, "risk", r.id)
    }
}
