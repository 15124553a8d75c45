//! Stages of a goal.

use super::*;

impl Store {
    /// Creates a stage; `position` 0 means "after the last stage of the goal".
    pub async fn create_stage(&self, s: &Stage) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("goal_id", Table::Goals, Some(s.goal_id))]);
            insert_stage(&mut tx, s).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The position after the goal's last stage.
    pub async fn next_stage_position(&self, goal_id: Uuid) -> Result<i32> {
        let (max,): (Option<i32>,) = on_pool!(self, |pool| {
            sqlx::query_as("SELECT MAX(position) FROM stages WHERE goal_id = $1")
                .bind(goal_id)
                .fetch_one(pool)
                .await?
        });
        Ok(max.unwrap_or(0) + 1)
    }

    pub async fn get_stage(&self, id: Uuid) -> Result<Stage> {
        let row: Option<StageRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(STAGE_COLS, "stages", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.map(Stage::from)
            .ok_or_else(|| StoreError::not_found("stage", id))
    }

    pub async fn list_stages(&self, q: &ListQuery) -> Result<Page<Stage>> {
        let limit = q.limit();
        let rows: Vec<StageRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {STAGE_COLS} FROM stages WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR goal_id = $2) \
                 AND ($3 IS NULL OR goal_id IN (SELECT id FROM goals WHERE team_id = $3)) \
                 ORDER BY id LIMIT $4"
            )))
            .bind(q.after)
            .bind(q.goal_id)
            .bind(q.team_id)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(
            rows.into_iter().map(Stage::from).collect(),
            limit,
            |s| s.id,
        ))
    }

    pub async fn update_stage(&self, s: &Stage) -> Result<()> {
        let done = on_pool!(self, |pool| {
            // `$n` as in `STAGE_COLS`; the goal and creation stay.
            bind_row(
                sqlx::query(
                    "UPDATE stages SET name = $3, description = $4, position = $5, starts_on = $6, \
                     ends_on = $7, updated_at = $9 WHERE id = $1",
                ),
                s,
            )
            .execute(pool)
            .await?
            .rows_affected()
        });
        found(done, "stage", s.id)
    }
}
