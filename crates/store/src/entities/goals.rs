//! Goals and their version history: every change is a new version row,
//! written in the same transaction as the goal.

use super::*;

/// A goal's change, `$n` as in `GOAL_COLS`; the team and creation stay.
/// `$17`: the version the caller read (optimistic concurrency).
pub(crate) const GOAL_UPDATE: &str = "UPDATE goals SET project_id = $3, title = $4, business_goal = $5, \
     technical_tasks = $6, hypotheses = $7, success_metrics = $8, parties = $9, timeline = $10, \
     status = $11, version = $12, agreed_at = $13, agreed_by = $14, updated_at = $16 \
     WHERE id = $1 AND version = $17";

impl Store {
    pub async fn create_goal(&self, g: &Goal) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(
                tx,
                [
                    ("team_id", Table::Teams, Some(g.team_id)),
                    ("project_id", Table::Projects, g.project_id),
                ]
            );
            insert_goal(&mut tx, g).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_goal(&self, id: Uuid) -> Result<Goal> {
        let row: Option<GoalRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(GOAL_COLS, "goals", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("goal", id))?
            .try_into()
    }

    /// The titles of these goals, by id, in one query (ids not found are
    /// left out): for lists that name the goal beside each row.
    pub async fn goal_titles(
        &self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, String>> {
        let mut out = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            let rows: Vec<(Uuid, String)> = on_pool!(self, |pool| {
                let mut qb = sqlx::QueryBuilder::new("SELECT id, title FROM goals WHERE id IN (");
                crate::engine::push_list(&mut qb, chunk, |id| *id);
                qb.push(")");
                qb.build_query_as().fetch_all(pool).await?
            });
            out.extend(rows);
        }
        Ok(out)
    }

    pub async fn list_goals(&self, q: &ListQuery) -> Result<Page<Goal>> {
        let limit = q.limit();
        let rows: Vec<GoalRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {GOAL_COLS} FROM goals WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR project_id = $3) \
                 AND ($4 IS NULL OR status = $4) ORDER BY id LIMIT $5"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.project_id)
            .bind(q.status.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |g| g.id))
    }

    /// Saves a changed goal and its version entry atomically. `read_version`
    /// is the version the change was computed from: when another writer got
    /// there first, nothing is saved and `Stale` is returned.
    pub async fn save_goal_change(&self, change: &GoalChange, read_version: i32) -> Result<()> {
        let g = &change.goal;
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("project_id", Table::Projects, g.project_id)]);
            // `$n` as in `GOAL_COLS`; the team and creation stay. `$17`: the
            // version the caller read (optimistic concurrency).
            let n = bind_row(sqlx::query(GOAL_UPDATE), g)
                .bind(read_version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 0 {
                let (exists,): (i64,) = sqlx::query_as(Table::Goals.exists_sql())
                    .bind(g.id)
                    .fetch_one(&mut *tx)
                    .await?;
                return Err(if exists == 0 {
                    StoreError::not_found("goal", g.id)
                } else {
                    StoreError::Stale(format!(
                        "goal {} changed since version {read_version} was read; reload and try again",
                        g.id
                    ))
                });
            }
            if let Some(v) = &change.version {
                insert_version(&mut tx, v).await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn list_goal_versions(&self, goal_id: Uuid) -> Result<Vec<GoalVersion>> {
        let rows: Vec<GoalVersionRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {VERSION_COLS} FROM goal_versions WHERE goal_id = $1 ORDER BY version"
            )))
            .bind(goal_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(GoalVersion::from).collect())
    }
}
