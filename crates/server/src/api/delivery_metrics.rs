//! `/api/v1/delivery/...`: delivery metrics (DORA four keys, lead time with
//! the pull-request view, review time, flow metrics of work items, test
//! coverage) and their explanations, under `/api/v1/delivery/` and, as the
//! issue asked, under `/api/v1/metrics/{name}` too (`aliases`): a stored
//! metric series cannot take one of these keys (`metric::RESERVED_KEYS`).
//!
//! Member role and up; team-level numbers only (nothing per person).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use tandem_domain::dora::{
    DoraReport, ExplainMetric, Explanation, FlowReport, LeadTimeReport, ReviewTimeReport,
};

use crate::AppState;
use crate::http::auth::RequireMember;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiQuery;
use tandem_app::delivery_metrics::{self as dm, CoverageReport, DeliveryQuery};

#[utoipa::path(get, path = "/api/v1/delivery/dora", tag = "delivery",
    params(DeliveryQuery),
    responses(
        (status = 200, body = DoraReport, description = "deployment frequency, lead time for \
            changes, change failure rate and time to restore, with DORA levels (2023 thresholds)"),
        (status = 400, body = ErrorBody, description = "a bad or unknown team, project, service, \
            date, range or bucket; `field` names it")))]
pub async fn dora(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<DoraReport>> {
    Ok(Json(dm::dora(&state.store, &state.settings, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/delivery/lead-time", tag = "delivery",
    params(DeliveryQuery),
    responses(
        (status = 200, body = LeadTimeReport, description = "lead time per shipped commit (median, \
            P85) by bucket, and the pull-request stages"),
        (status = 400, body = ErrorBody)))]
pub async fn lead_time(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<LeadTimeReport>> {
    Ok(Json(
        dm::lead_time(&state.store, &state.settings, &q).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/delivery/review-time", tag = "delivery",
    params(DeliveryQuery),
    responses(
        (status = 200, body = ReviewTimeReport, description = "ready for review → first review, \
            → approval, → merge (medians) of pull requests merged in the range"),
        (status = 400, body = ErrorBody)))]
pub async fn review_time(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<ReviewTimeReport>> {
    Ok(Json(
        dm::review_time(&state.store, &state.settings, &q).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/delivery/flow", tag = "delivery",
    params(DeliveryQuery),
    responses(
        (status = 200, body = FlowReport, description = "cycle time, throughput, production bugs \
            and tech-debt share of the work items (also at /cycle-time, /throughput, /bugs and \
            /debt-share)"),
        (status = 400, body = ErrorBody, description = "also: `service` or `env`, which work \
            items do not have")))]
pub async fn flow(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<FlowReport>> {
    Ok(Json(dm::flow(&state.store, &state.settings, &q).await?))
}

#[utoipa::path(get, path = "/api/v1/delivery/coverage", tag = "delivery",
    params(DeliveryQuery),
    responses(
        (status = 200, body = CoverageReport, description = "test coverage the pipelines of the \
            scope's repositories reported"),
        (status = 400, body = ErrorBody)))]
pub async fn coverage(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(q): ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<CoverageReport>> {
    Ok(Json(dm::coverage(&state.store, &state.settings, &q).await?))
}

/// Query of `GET /api/v1/delivery/explain`: a metric and the same scope as
/// the metric endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExplainParams {
    /// `deployment-frequency`, `lead-time`, `change-failure-rate`,
    /// `time-to-restore`, `pull-requests`, `review-time`, `cycle-time`,
    /// `throughput`, `bugs` or `debt-share`.
    pub metric: Option<String>,
    pub team: Option<String>,
    pub project: Option<String>,
    pub service: Option<String>,
    pub env: Option<String>,
    pub since: Option<chrono::NaiveDate>,
    pub until: Option<chrono::NaiveDate>,
    pub bucket: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/delivery/explain", tag = "delivery",
    params(ExplainParams),
    responses(
        (status = 200, body = Explanation, description = "the deployments (with their commits and \
            how they were found), incidents, pull requests or work items behind the metric"),
        (status = 400, body = ErrorBody)))]
pub async fn explain(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(p): ApiQuery<ExplainParams>,
) -> ApiResult<Json<Explanation>> {
    let metric: ExplainMetric = p
        .metric
        .as_deref()
        .ok_or_else(|| ApiError::bad_field("metric", "name the metric to explain"))?
        .parse()
        .map_err(|e| ApiError::bad_field("metric", e))?;
    let q = DeliveryQuery {
        team: p.team,
        project: p.project,
        service: p.service,
        env: p.env,
        since: p.since,
        until: p.until,
        bucket: p.bucket,
    };
    Ok(Json(
        dm::explain(&state.store, &state.settings, &q, metric).await?,
    ))
}

/// The same delivery metrics under `/api/v1/metrics/{name}`, next to the
/// stored metric series (whose keys cannot take these names). Each alias
/// answers exactly as its `/api/v1/delivery/...` route.
pub mod aliases {
    use super::*;

    #[utoipa::path(get, path = "/api/v1/metrics/dora", tag = "delivery", params(DeliveryQuery),
        responses((status = 200, body = DoraReport, description = "as `/api/v1/delivery/dora`"),
            (status = 400, body = ErrorBody)))]
    pub async fn dora(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<DoraReport>> {
        super::dora(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/lead-time", tag = "delivery",
        params(DeliveryQuery),
        responses((status = 200, body = LeadTimeReport,
            description = "as `/api/v1/delivery/lead-time`"), (status = 400, body = ErrorBody)))]
    pub async fn lead_time(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<LeadTimeReport>> {
        super::lead_time(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/review-time", tag = "delivery",
        params(DeliveryQuery),
        responses((status = 200, body = ReviewTimeReport,
            description = "as `/api/v1/delivery/review-time`"), (status = 400, body = ErrorBody)))]
    pub async fn review_time(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<ReviewTimeReport>> {
        super::review_time(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/flow", tag = "delivery", params(DeliveryQuery),
        responses((status = 200, body = FlowReport, description = "as `/api/v1/delivery/flow` \
            (also at /api/v1/metrics/cycle-time, /throughput, /bugs and /debt-share)"),
            (status = 400, body = ErrorBody)))]
    pub async fn flow(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<FlowReport>> {
        super::flow(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/coverage", tag = "delivery",
        params(DeliveryQuery),
        responses((status = 200, body = CoverageReport,
            description = "as `/api/v1/delivery/coverage`"), (status = 400, body = ErrorBody)))]
    pub async fn coverage(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<CoverageReport>> {
        super::coverage(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/explain", tag = "delivery",
        params(ExplainParams),
        responses((status = 200, body = Explanation,
            description = "as `/api/v1/delivery/explain`"), (status = 400, body = ErrorBody)))]
    pub async fn explain(
        state: State<AppState>,
        who: RequireMember,
        p: ApiQuery<ExplainParams>,
    ) -> ApiResult<Json<Explanation>> {
        super::explain(state, who, p).await
    }
}
