//! Work items: create, read, list, update (bound through
//! `engine::Db::bind_work_item` (through `engine::bind_row`), the one column list of the table).

use super::*;

/// A work item's change, `$n` as in `ITEM_COLS`; team, key, source and
/// creation stay.
pub(crate) const ITEM_UPDATE: &str = "UPDATE work_items SET project_id = $3, goal_id = $4, stage_id = $5, \
     title = $6, kind = $7, priority = $8, impact = $9, complexity = $10, state = $11, context = $12, \
     scores = $13, started_at = $17, done_at = $18, updated_at = $19 WHERE id = $1";

impl Store {
    pub async fn create_work_item(&self, w: &WorkItem) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(w.team_id)),
                    ("project_id", Table::Projects, w.project_id),
                    ("goal_id", Table::Goals, w.goal_id),
                    ("stage_id", Table::Stages, w.stage_id),
                ]
            );
            insert_item(&mut tx, w).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_work_item(&self, id: Uuid) -> Result<WorkItem> {
        let row: Option<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(ITEM_COLS, "work_items", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("work item", id))?
            .try_into()
    }

    /// The item with this external key, in any source.
    pub async fn get_work_item_by_key(&self, key: &str) -> Result<WorkItem> {
        let row: Option<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE external_key = $1 ORDER BY id LIMIT 1"
            )))
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        row.ok_or_else(|| StoreError::not_found("work item", key))?
            .try_into()
    }

    pub async fn list_work_items(&self, q: &ListQuery) -> Result<Page<WorkItem>> {
        let limit = q.limit();
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR project_id = $3) \
                 AND ($4 IS NULL OR goal_id = $4) AND ($5 IS NULL OR stage_id = $5) \
                 AND ($6 IS NULL OR state = $6) AND ($7 IS NULL OR kind = $7) \
                 ORDER BY id LIMIT $8"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.project_id)
            .bind(q.goal_id)
            .bind(q.stage_id)
            .bind(q.status.as_deref())
            .bind(q.kind.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |w| w.id))
    }

    pub async fn update_work_item(&self, w: &WorkItem) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("project_id", Table::Projects, w.project_id),
                    ("goal_id", Table::Goals, w.goal_id),
                    ("stage_id", Table::Stages, w.stage_id),
                ]
            );
            // `$n` as in `ITEM_COLS`; team, key, source and creation stay.
            let n = bind_row(sqlx::query(ITEM_UPDATE), w)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tx.commit().await?;
            n
        });
        found(done, "work item", w.id)
    }
}
