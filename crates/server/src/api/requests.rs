//! Business requests: submit (anyone signed in; recorded as `api`), read,
//! answer the clarifying questions, the cost of yes and decisions
//! (managers), and the triage queue (members). Everything calls
//! `tandem_app::requests`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::Deserialize;
use tandem_app::lookup;
use tandem_app::requests::{self, CostOfYes, PlacementInput, Queue, QueueFilter, RequestView};
use tandem_domain::request::{
    Answers, DecisionInput, NewRequest, Request, RequestSource, RequestStatus,
};
use tandem_domain::work_item::Priority;

use super::path_id;
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::{RequireManager, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QueueParams {
    /// Team id or key.
    pub team: Option<String>,
    /// `web`, `api`, `slack` or `email`.
    pub source: Option<String>,
    /// `P0` … `P3`.
    pub priority: Option<String>,
    /// A request status; default: the pending ones (`waiting`,
    /// `needs_info`).
    pub status: Option<String>,
}

fn parse_field<T: std::str::FromStr<Err = String>>(
    field: &str,
    v: Option<&str>,
) -> ApiResult<Option<T>> {
    v.map(|v| {
        v.parse::<T>()
            .map_err(|e| ApiError::bad_field(field, format!("{field}: {e}")))
    })
    .transpose()
}

/// The filters of the queue, as the pages and the API take them.
pub async fn queue_filter(state: &AppState, p: &QueueParams) -> ApiResult<QueueFilter> {
    let team_id = match p.team.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(
            lookup::team(&state.store, t)
                .await
                .map(|t| t.id)
                .map_err(|_| {
                    ApiError::bad_field("team", format!("no team has the id or key {t:?}"))
                })?,
        ),
        None => None,
    };
    Ok(QueueFilter {
        team_id,
        source: parse_field::<RequestSource>(
            "source",
            p.source.as_deref().filter(|s| !s.is_empty()),
        )?,
        priority: parse_field::<Priority>(
            "priority",
            p.priority.as_deref().filter(|s| !s.is_empty()),
        )?,
        statuses: parse_field::<RequestStatus>(
            "status",
            p.status.as_deref().filter(|s| !s.is_empty()),
        )?
        .into_iter()
        .collect(),
    })
}

/// The triage queue: pending requests, the most urgent first, then the
/// longest waiting, with the waiting time against the target.
#[utoipa::path(get, path = "/api/v1/requests", tag = "requests", params(QueueParams),
    responses((status = 200, body = Queue), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_requests(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(params): ApiQuery<QueueParams>,
) -> ApiResult<Json<Queue>> {
    let f = queue_filter(&state, &params).await?;
    Ok(Json(
        requests::queue(&state.store, &state.settings, &f).await?,
    ))
}

/// Submits a request (recorded with source `api`; the requester defaults
/// to the caller). An unknown team is 422 naming `team_id`.
#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = NewRequest,
    responses((status = 201, body = Request), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn submit_request(
    State(state): State<AppState>,
    who: Principal,
    ApiJson(mut input): ApiJson<NewRequest>,
) -> ApiResult<(StatusCode, Json<Request>)> {
    input.source = RequestSource::Api;
    if input.requester.trim().is_empty() {
        input.requester = who.name.clone();
    }
    if input.requester_user_id.is_none() {
        input.requester_user_id = who.user_id;
    }
    let r = requests::submit(&state.store, &state.settings, input).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// A request with its questions, criticality, waiting time and the
/// messages to its requester.
#[utoipa::path(get, path = "/api/v1/requests/{id}", tag = "requests", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = RequestView), (status = 404, body = ErrorBody)))]
pub async fn get_request(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<RequestView>> {
    let id = path_id("request", &id)?;
    Ok(Json(
        requests::show(&state.store, &state.settings, id).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersInput {
    pub answers: Answers,
    /// The version the answers were written against (409 when it changed).
    #[serde(default)]
    pub version: Option<i32>,
}

/// Answers (some of) the four clarifying questions; a request waiting for
/// information waits for a decision again.
#[utoipa::path(post, path = "/api/v1/requests/{id}/answers", tag = "requests", request_body = AnswersInput,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Request), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer_request(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<AnswersInput>,
) -> ApiResult<Json<Request>> {
    let id = path_id("request", &id)?;
    Ok(Json(
        requests::answer(&state.store, id, input.answers, input.version).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CostParams {
    /// The priority to place the request at (default: its own).
    pub priority: Option<String>,
    /// Items (the bottom of a range); default `[requests] default_size_items`.
    pub size: Option<u32>,
    /// The top of a size range.
    pub size_max: Option<u32>,
}

/// The cost of yes: every goal in flight's on-time probability and P85
/// date before → after inserting the request, and what could be postponed
/// to make room.
#[utoipa::path(get, path = "/api/v1/requests/{id}/cost-of-yes", tag = "requests", params(("id" = uuid::Uuid, Path), CostParams),
    responses((status = 200, body = CostOfYes), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn cost_of_yes(
    State(state): State<AppState>,
    _: RequireManager,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<CostParams>,
) -> ApiResult<Json<CostOfYes>> {
    let id = path_id("request", &id)?;
    let at = PlacementInput {
        priority: parse_field::<Priority>("priority", params.priority.as_deref())?,
        size: params.size,
        size_max: params.size_max,
    };
    Ok(Json(
        requests::cost_of_yes(
            &state.store,
            &state.settings,
            id,
            at,
            Utc::now().date_naive(),
        )
        .await?,
    ))
}

/// Decides a request: accept (a draft goal with the answers), postpone,
/// decline (reason required), merge as duplicate, or ask for more
/// information. Recorded in the decisions log with the cost of yes; the
/// requester is told in the request's channel. A decision made against an
/// older version (another decision came first) is 409.
#[utoipa::path(post, path = "/api/v1/requests/{id}/decision", tag = "requests", request_body = DecisionInput,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Request), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn decide_request(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<DecisionInput>,
) -> ApiResult<Json<Request>> {
    let id = path_id("request", &id)?;
    Ok(Json(
        requests::decide(&state.store, &state.settings, id, input, &who.name).await?,
    ))
}
