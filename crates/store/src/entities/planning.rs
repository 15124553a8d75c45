//! Planning reads: unpaged lists for the backlog, plans, debt and context.

use super::*;

impl Store {
    /// Every open item (todo, in progress, blocked) of a team, by id.
    pub async fn list_open_work_items(&self, team_id: Uuid) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE team_id = $1 \
                 AND state IN ('todo', 'in_progress', 'blocked') ORDER BY id"
            )))
            .bind(team_id)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// The team's items done at or after `since`, oldest `done_at` first.
    pub async fn list_done_work_items(
        &self,
        team_id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE team_id = $1 AND state = 'done' \
                 AND done_at >= $2 ORDER BY done_at, id"
            )))
            .bind(team_id)
            .bind(since)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// Every item of a goal, in any state, by id.
    pub async fn list_goal_work_items(&self, goal_id: Uuid) -> Result<Vec<WorkItem>> {
        let rows: Vec<WorkItemRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {ITEM_COLS} FROM work_items WHERE goal_id = $1 ORDER BY id"
            )))
            .bind(goal_id)
            .fetch_all(pool)
            .await?
        });
        convert(rows)
    }

    /// Every stage of a goal, in position order.
    pub async fn list_goal_stages(&self, goal_id: Uuid) -> Result<Vec<Stage>> {
        let rows: Vec<StageRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {STAGE_COLS} FROM stages WHERE goal_id = $1 ORDER BY position, id"
            )))
            .bind(goal_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(Stage::from).collect())
    }

    /// The most recent point of a metric, if it has any.
    pub async fn latest_point(
        &self,
        metric_id: Uuid,
        at_or_before: Option<DateTime<Utc>>,
    ) -> Result<Option<MetricPoint>> {
        let row: Option<PointRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT metric_id, at, value FROM metric_points WHERE metric_id = $1 \
                 AND ($2 IS NULL OR at <= $2) ORDER BY at DESC LIMIT 1",
            )
            .bind(metric_id)
            .bind(at_or_before)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(MetricPoint::from))
    }
}
