//! KPI series (the `metrics` entity) and their points: what the API
//! (`POST /api/v1/metrics`, `…/points`), the web set-up page and the CLI
//! call, so a refusal reads the same everywhere and nothing is stored when
//! one is refused.

use chrono::Utc;
use tandem_domain::metric::{MAX_POINTS_PER_WRITE, Metric, NewMetric, NewPoint};
use tandem_store::Store;
use uuid::Uuid;

use crate::lookup;
use crate::{AppError, AppResult};

/// Creates a series; a key already taken is a conflict naming `key`.
pub async fn create_series(store: &Store, input: NewMetric) -> AppResult<Metric> {
    let metric = input.into_metric(Uuid::now_v7(), Utc::now())?;
    store.create_metric(&metric).await?;
    Ok(metric)
}

/// Adds points to a series (by id or key), all or none; a point at an
/// instant already stored replaces its value. Returns how many were written.
pub async fn add_points(store: &Store, series: &str, points: Vec<NewPoint>) -> AppResult<usize> {
    let metric = lookup::metric(store, series).await?;
    if points.len() > MAX_POINTS_PER_WRITE {
        return Err(AppError::invalid(
            "points",
            format!(
                "{} points in one request; the limit is {MAX_POINTS_PER_WRITE}",
                points.len()
            ),
        ));
    }
    let points = points
        .into_iter()
        .enumerate()
        .map(|(i, p)| p.into_point(metric.id, i))
        .collect::<Result<Vec<_>, _>>()?;
    store.upsert_points(&points).await?;
    Ok(points.len())
}
