//! Metric series and their points.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::metric::{Metric, MetricPatch, MetricPoint, NewMetric, NewPoint};

use super::{Filter, ListParams, Page};
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::RequireManager;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use tandem_app::lookup;

#[utoipa::path(get, path = "/api/v1/metrics", tag = "metrics", params(ListParams),
    responses((status = 200, body = Page<Metric>), (status = 400, body = ErrorBody)))]
pub async fn list_metrics(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Metric>>> {
    let q = params
        .resolve(&state, &[Filter::Team, Filter::Audience])
        .await?;
    Ok(Json(state.store.list_metrics(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/metrics", tag = "metrics", request_body = NewMetric,
    responses((status = 201, body = Metric), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_metric(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewMetric>,
) -> ApiResult<(StatusCode, Json<Metric>)> {
    let m = tandem_app::kpi::create_series(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(m)))
}

#[utoipa::path(get, path = "/api/v1/metrics/{metric}", tag = "metrics",
    params(("metric" = String, Path, description = "Metric id or key")),
    responses((status = 200, body = Metric), (status = 404, body = ErrorBody)))]
pub async fn get_metric(
    State(state): State<AppState>,
    _: Principal,
    Path(metric): Path<String>,
) -> ApiResult<Json<Metric>> {
    Ok(Json(lookup::metric(&state.store, &metric).await?))
}

#[utoipa::path(patch, path = "/api/v1/metrics/{metric}", tag = "metrics", request_body = MetricPatch,
    params(("metric" = String, Path, description = "Metric id or key")),
    responses((status = 200, body = Metric), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_metric(
    State(state): State<AppState>,
    _: RequireManager,
    Path(metric): Path<String>,
    ApiJson(patch): ApiJson<MetricPatch>,
) -> ApiResult<Json<Metric>> {
    let mut m = lookup::metric(&state.store, &metric).await?;
    m.apply(patch, Utc::now())?;
    state.store.update_metric(&m).await?;
    Ok(Json(m))
}

/// Range of points to read: `[from, to)`, oldest first.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PointsParams {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// At most this many points (1–10000, default 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/metrics/{metric}/points", tag = "metrics",
    params(("metric" = String, Path, description = "Metric id or key"), PointsParams),
    responses((status = 200, body = Vec<MetricPoint>), (status = 404, body = ErrorBody)))]
pub async fn list_points(
    State(state): State<AppState>,
    _: Principal,
    Path(metric): Path<String>,
    ApiQuery(params): ApiQuery<PointsParams>,
) -> ApiResult<Json<Vec<MetricPoint>>> {
    let m = lookup::metric(&state.store, &metric).await?;
    let limit = params.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::bad_field(
            "limit",
            "limit must be between 1 and 10000",
        ));
    }
    Ok(Json(
        state
            .store
            .list_points(m.id, params.from, params.to, limit)
            .await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPoints {
    pub points: Vec<NewPoint>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PointsWritten {
    /// Points received (a point at an instant already stored replaces it).
    pub written: usize,
}

#[utoipa::path(post, path = "/api/v1/metrics/{metric}/points", tag = "metrics", request_body = NewPoints,
    params(("metric" = String, Path, description = "Metric id or key")),
    responses((status = 200, body = PointsWritten), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn write_points(
    State(state): State<AppState>,
    _: RequireManager,
    Path(metric): Path<String>,
    ApiJson(input): ApiJson<NewPoints>,
) -> ApiResult<Json<PointsWritten>> {
    let written = tandem_app::kpi::add_points(&state.store, &metric, input.points).await?;
    Ok(Json(PointsWritten { written }))
}
