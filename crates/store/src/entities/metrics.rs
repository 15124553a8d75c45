//! Product metrics and their points (the bulk path `upsert_points`).

use super::*;

impl Store {
    pub async fn create_metric(&self, m: &Metric) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("team_id", Table::Teams, m.team_id)]);
            insert_metric(&mut tx, m).await?;
            tx.commit().await?;
        });
        Ok(())
    }

    pub async fn get_metric(&self, id: Uuid) -> Result<Metric> {
        let row: Option<MetricRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(METRIC_COLS, "metrics", "id = $1"))
                .bind(id)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("metric", id))?
            .try_into()
    }

    pub async fn get_metric_by_key(&self, key: &str) -> Result<Metric> {
        let row: Option<MetricRow> = on_pool!(self, |pool| {
            sqlx::query_as(select(METRIC_COLS, "metrics", "key = $1"))
                .bind(key)
                .fetch_optional(pool)
                .await?
        });
        row.ok_or_else(|| StoreError::not_found("metric", key))?
            .try_into()
    }

    pub async fn list_metrics(&self, q: &ListQuery) -> Result<Page<Metric>> {
        let limit = q.limit();
        let rows: Vec<MetricRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {METRIC_COLS} FROM metrics WHERE ($1 IS NULL OR id > $1) \
                 AND ($2 IS NULL OR team_id = $2) AND ($3 IS NULL OR audience = $3) \
                 ORDER BY id LIMIT $4"
            )))
            .bind(q.after)
            .bind(q.team_id)
            .bind(q.audience.as_deref())
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        Ok(page(convert(rows)?, limit, |m| m.id))
    }

    pub async fn update_metric(&self, m: &Metric) -> Result<()> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            ensure_refs!(tx, [("team_id", Table::Teams, m.team_id)]);
            // `$n` as in `METRIC_COLS`; the key and creation stay.
            let n = bind_row(
                sqlx::query(
                    "UPDATE metrics SET name = $3, description = $4, unit = $5, direction = $6, \
                     audience = $7, team_id = $8, updated_at = $10, computed_from = $11 WHERE id = $1",
                ),
                m,
            )
            .execute(&mut *tx)
            .await?
            .rows_affected();
            tx.commit().await?;
            n
        });
        found(done, "metric", m.id)
    }

    /// Writes points in batches, in one transaction; a point at an instant
    /// that already has one replaces its value.
    pub async fn upsert_points(&self, points: &[MetricPoint]) -> Result<u64> {
        if points.is_empty() {
            return Ok(0);
        }
        // One row per (metric, instant), the last value winning: PostgreSQL
        // refuses to update a row twice in one statement, SQLite would not.
        let mut seen = std::collections::HashSet::new();
        let mut points: Vec<&MetricPoint> = points
            .iter()
            .rev()
            .filter(|p| seen.insert((p.metric_id, p.at)))
            .collect();
        points.reverse();
        let mut metric_ids: Vec<Uuid> = points.iter().map(|p| p.metric_id).collect();
        metric_ids.sort();
        metric_ids.dedup();
        let written = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for id in &metric_ids {
                ensure_refs!(tx, [("metric_id", Table::Metrics, Some(*id))]);
            }
            let mut written = 0;
            for chunk in points.chunks(BULK_ROWS) {
                let mut qb = QueryBuilder::new("INSERT INTO metric_points (metric_id, at, value) ");
                qb.push_values(chunk, |mut b, p| {
                    b.push_bind(p.metric_id)
                        .push_bind(p.at)
                        .push_bind(point_value(p.value));
                });
                qb.push(" ON CONFLICT (metric_id, at) DO UPDATE SET value = excluded.value");
                written += qb.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            written
        });
        Ok(written)
    }

    /// Points of a metric in `[from, to)`, oldest first, at most `limit`.
    pub async fn list_points(
        &self,
        metric_id: Uuid,
        from: Option<DateTime<Utc>>,
        to: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<MetricPoint>> {
        let rows: Vec<PointRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT metric_id, at, value FROM metric_points WHERE metric_id = $1 \
                 AND ($2 IS NULL OR at >= $2) AND ($3 IS NULL OR at < $3) ORDER BY at LIMIT $4",
            )
            .bind(metric_id)
            .bind(from)
            .bind(to)
            .bind(i64::from(limit))
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(MetricPoint::from).collect())
    }
}
