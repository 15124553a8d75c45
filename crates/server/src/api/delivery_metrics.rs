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
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
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
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
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
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
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
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
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

#[utoipa::path(get, path = "/api/v1/delivery/cycle-time", tag = "delivery",
    params(DeliveryQuery),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport, description = "the flow report of `/api/v1/delivery/flow`, \
            for its cycle time: started → done of the items done in the range (median, P85)"),
        (status = 400, body = ErrorBody)))]
pub async fn cycle_time(
    state: State<AppState>,
    who: RequireMember,
    q: ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<FlowReport>> {
    flow(state, who, q).await
}

#[utoipa::path(get, path = "/api/v1/delivery/throughput", tag = "delivery",
    params(DeliveryQuery),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport, description = "the flow report of `/api/v1/delivery/flow`, \
            for its throughput: items done in the range and per bucket"),
        (status = 400, body = ErrorBody)))]
pub async fn throughput(
    state: State<AppState>,
    who: RequireMember,
    q: ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<FlowReport>> {
    flow(state, who, q).await
}

#[utoipa::path(get, path = "/api/v1/delivery/bugs", tag = "delivery",
    params(DeliveryQuery),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport, description = "the flow report of `/api/v1/delivery/flow`, \
            for its bugs: bugs opened in the range and still open at its end"),
        (status = 400, body = ErrorBody)))]
pub async fn bugs(
    state: State<AppState>,
    who: RequireMember,
    q: ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<FlowReport>> {
    flow(state, who, q).await
}

#[utoipa::path(get, path = "/api/v1/delivery/debt-share", tag = "delivery",
    params(DeliveryQuery),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport, description = "the flow report of `/api/v1/delivery/flow`, \
            for its tech-debt share: done items of kind debt, by count and by cycle days"),
        (status = 400, body = ErrorBody)))]
pub async fn debt_share(
    state: State<AppState>,
    who: RequireMember,
    q: ApiQuery<DeliveryQuery>,
) -> ApiResult<Json<FlowReport>> {
    flow(state, who, q).await
}

#[utoipa::path(get, path = "/api/v1/delivery/coverage", tag = "delivery",
    params(DeliveryQuery),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
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
    /// The metric to explain (required).
    #[param(required = true, value_type = Option<ExplainMetric>)]
    pub metric: Option<String>,
    /// Team id or key: all of the team's projects (exactly one of `team`
    /// and `project`).
    pub team: Option<String>,
    /// Project id or key.
    pub project: Option<String>,
    /// One service of the project (or of the team's projects).
    pub service: Option<String>,
    /// Environment (default: `metrics.production_environment`).
    pub env: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC), included (required).
    #[param(required = true)]
    pub since: Option<chrono::NaiveDate>,
    /// Last day, `YYYY-MM-DD` (UTC), included (default: today).
    pub until: Option<chrono::NaiveDate>,
    /// `day`, `week` (the default) or `month`.
    #[param(value_type = Option<tandem_domain::dora::Bucket>)]
    pub bucket: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/delivery/explain", tag = "delivery",
    params(ExplainParams),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
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

    #[utoipa::path(get, path = "/api/v1/metrics/dora", tag = "delivery",
        operation_id = "metrics_dora", params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = DoraReport, description = "as `/api/v1/delivery/dora`"),
            (status = 400, body = ErrorBody)))]
    pub async fn dora(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<DoraReport>> {
        super::dora(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/lead-time", tag = "delivery",
        operation_id = "metrics_lead_time",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = LeadTimeReport,
            description = "as `/api/v1/delivery/lead-time`"), (status = 400, body = ErrorBody)))]
    pub async fn lead_time(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<LeadTimeReport>> {
        super::lead_time(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/review-time", tag = "delivery",
        operation_id = "metrics_review_time",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = ReviewTimeReport,
            description = "as `/api/v1/delivery/review-time`"), (status = 400, body = ErrorBody)))]
    pub async fn review_time(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<ReviewTimeReport>> {
        super::review_time(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/flow", tag = "delivery",
        operation_id = "metrics_flow", params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport, description = "as `/api/v1/delivery/flow` \
            (also at /api/v1/metrics/cycle-time, /throughput, /bugs and /debt-share)"),
            (status = 400, body = ErrorBody)))]
    pub async fn flow(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<FlowReport>> {
        super::flow(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/cycle-time", tag = "delivery",
        operation_id = "metrics_cycle_time",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport,
            description = "as `/api/v1/delivery/cycle-time`"), (status = 400, body = ErrorBody)))]
    pub async fn cycle_time(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<FlowReport>> {
        super::flow(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/throughput", tag = "delivery",
        operation_id = "metrics_throughput",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport,
            description = "as `/api/v1/delivery/throughput`"), (status = 400, body = ErrorBody)))]
    pub async fn throughput(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<FlowReport>> {
        super::flow(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/bugs", tag = "delivery",
        operation_id = "metrics_bugs",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport,
            description = "as `/api/v1/delivery/bugs`"), (status = 400, body = ErrorBody)))]
    pub async fn bugs(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<FlowReport>> {
        super::flow(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/debt-share", tag = "delivery",
        operation_id = "metrics_debt_share",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = FlowReport,
            description = "as `/api/v1/delivery/debt-share`"), (status = 400, body = ErrorBody)))]
    pub async fn debt_share(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<FlowReport>> {
        super::flow(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/coverage", tag = "delivery",
        operation_id = "metrics_coverage",
        params(DeliveryQuery),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = CoverageReport,
            description = "as `/api/v1/delivery/coverage`"), (status = 400, body = ErrorBody)))]
    pub async fn coverage(
        state: State<AppState>,
        who: RequireMember,
        q: ApiQuery<DeliveryQuery>,
    ) -> ApiResult<Json<CoverageReport>> {
        super::coverage(state, who, q).await
    }

    #[utoipa::path(get, path = "/api/v1/metrics/explain", tag = "delivery",
        operation_id = "metrics_explain",
        params(ExplainParams),
        responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = Explanation,
            description = "as `/api/v1/delivery/explain`"), (status = 400, body = ErrorBody)))]
    pub async fn explain(
        state: State<AppState>,
        who: RequireMember,
        p: ApiQuery<ExplainParams>,
    ) -> ApiResult<Json<Explanation>> {
        super::explain(state, who, p).await
    }
}
