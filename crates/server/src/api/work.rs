//! Work items, risks and decisions.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tandem_domain::decision::{Decision, DecisionPatch, NewDecision};
use tandem_domain::risk::{NewRisk, Risk, RiskPatch, RiskStatus};
use tandem_domain::work_item::{NewWorkItem, WorkItem, WorkItemPatch, WorkKind, WorkState};

use super::{Filter, ListParams, Page, parses, path_id};
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::{RequireManager, RequireMember};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use tandem_app::work_items;

#[utoipa::path(get, path = "/api/v1/work-items", tag = "work items", params(ListParams),
    responses((status = 200, body = Page<WorkItem>), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_work_items(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<WorkItem>>> {
    let filters = [
        Filter::Team,
        Filter::Project,
        Filter::Goal,
        Filter::Stage,
        Filter::Status(parses::<WorkState>),
        Filter::Kind(parses::<WorkKind>),
    ];
    let q = params.resolve(&state, &filters).await?;
    Ok(Json(state.store.list_work_items(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/work-items", tag = "work items", request_body = NewWorkItem,
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = WorkItem), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_work_item(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewWorkItem>,
) -> ApiResult<(StatusCode, Json<WorkItem>)> {
    let item = work_items::create(&state.store, &state.settings.planning, input).await?;
    Ok((StatusCode::CREATED, Json(item)))
}

#[utoipa::path(get, path = "/api/v1/work-items/{id}", tag = "work items", params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = WorkItem), (status = 404, body = ErrorBody)))]
pub async fn get_work_item(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<WorkItem>> {
    Ok(Json(
        state
            .store
            .get_work_item(path_id("work item", &id)?)
            .await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/work-items/{id}", tag = "work items", request_body = WorkItemPatch,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = WorkItem), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_work_item(
    State(state): State<AppState>,
    _: RequireManager,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<WorkItemPatch>,
) -> ApiResult<Json<WorkItem>> {
    let id = path_id("work item", &id)?;
    Ok(Json(work_items::update(&state.store, id, patch).await?))
}

#[utoipa::path(get, path = "/api/v1/risks", tag = "risks", params(ListParams),
    responses((status = 200, body = Page<Risk>), (status = 400, body = ErrorBody)))]
pub async fn list_risks(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Risk>>> {
    let filters = [
        Filter::Team,
        Filter::Goal,
        Filter::Stage,
        Filter::Status(parses::<RiskStatus>),
    ];
    let q = params.resolve(&state, &filters).await?;
    Ok(Json(state.store.list_risks(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/risks", tag = "risks", request_body = NewRisk,
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = Risk), (status = 422, body = ErrorBody)))]
pub async fn create_risk(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewRisk>,
) -> ApiResult<(StatusCode, Json<Risk>)> {
    let risk = tandem_app::risks::create(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(risk)))
}

#[utoipa::path(get, path = "/api/v1/risks/{id}", tag = "risks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Risk), (status = 404, body = ErrorBody)))]
pub async fn get_risk(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Risk>> {
    Ok(Json(state.store.get_risk(path_id("risk", &id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/risks/{id}", tag = "risks", request_body = RiskPatch,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Risk), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_risk(
    State(state): State<AppState>,
    _: RequireManager,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<RiskPatch>,
) -> ApiResult<Json<Risk>> {
    let id = path_id("risk", &id)?;
    Ok(Json(
        tandem_app::risks::update(&state.store, id, patch).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/decisions", tag = "decisions", params(ListParams),
    responses((status = 200, body = Page<Decision>), (status = 400, body = ErrorBody)))]
pub async fn list_decisions(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Decision>>> {
    let q = params
        .resolve(&state, &[Filter::Team, Filter::Goal])
        .await?;
    Ok(Json(state.store.list_decisions(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/decisions", tag = "decisions", request_body = NewDecision,
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = Decision), (status = 422, body = ErrorBody)))]
pub async fn create_decision(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewDecision>,
) -> ApiResult<(StatusCode, Json<Decision>)> {
    let d = tandem_app::decisions::create(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(d)))
}

#[utoipa::path(get, path = "/api/v1/decisions/{id}", tag = "decisions", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Decision), (status = 404, body = ErrorBody)))]
pub async fn get_decision(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Decision>> {
    Ok(Json(
        state.store.get_decision(path_id("decision", &id)?).await?,
    ))
}

#[utoipa::path(patch, path = "/api/v1/decisions/{id}", tag = "decisions", request_body = DecisionPatch,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Decision), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_decision(
    State(state): State<AppState>,
    _: RequireManager,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<DecisionPatch>,
) -> ApiResult<Json<Decision>> {
    let id = path_id("decision", &id)?;
    Ok(Json(
        tandem_app::decisions::update(&state.store, id, patch).await?,
    ))
}
