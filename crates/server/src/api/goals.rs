//! Goals (agreements), their lifecycle and versions, and stages.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use tandem_app::decisions::GoalDecisionOutcome;
use tandem_domain::decision::GoalDecisionInput;
use tandem_domain::goal::{Goal, GoalPatch, GoalStatus, GoalTransition, GoalVersion, NewGoal};
use tandem_domain::stage::{NewStage, Stage, StagePatch};

use super::{Filter, ListParams, Page, new_id, parses, path_id};
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::RequireManager;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};

#[utoipa::path(get, path = "/api/v1/goals", tag = "goals", params(ListParams),
    responses((status = 200, body = Page<Goal>), (status = 400, body = ErrorBody)))]
pub async fn list_goals(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Goal>>> {
    let filters = [
        Filter::Team,
        Filter::Project,
        Filter::Status(parses::<GoalStatus>),
    ];
    let q = params.resolve(&state, &filters).await?;
    Ok(Json(state.store.list_goals(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/goals", tag = "goals", request_body = NewGoal,
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = Goal), (status = 422, body = ErrorBody)))]
pub async fn create_goal(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewGoal>,
) -> ApiResult<(StatusCode, Json<Goal>)> {
    let goal = input.into_goal(new_id(), Utc::now())?;
    state.store.create_goal(&goal).await?;
    Ok((StatusCode::CREATED, Json(goal)))
}

#[utoipa::path(get, path = "/api/v1/goals/{id}", tag = "goals",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Goal), (status = 404, body = ErrorBody)))]
pub async fn get_goal(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Goal>> {
    Ok(Json(state.store.get_goal(path_id("goal", &id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/goals/{id}", tag = "goals", request_body = GoalPatch,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Goal), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn update_goal(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<GoalPatch>,
) -> ApiResult<Json<Goal>> {
    let goal = state.store.get_goal(path_id("goal", &id)?).await?;
    let change = goal.apply(patch, &who.name, Utc::now())?;
    if change.goal != goal {
        state.store.save_goal_change(&change, goal.version).await?;
    }
    Ok(Json(change.goal))
}

#[utoipa::path(post, path = "/api/v1/goals/{id}/decision", tag = "goals",
    operation_id = "decide_goal", request_body = GoalDecisionInput,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 201, body = GoalDecisionOutcome,
            description = "the decision, the goal's new version, the risks it answered and the items it moved"),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the goal is not under agreement, or changed since it was read"),
        (status = 422, body = ErrorBody, description = "the decision's fields break a rule; each is named")))]
/// Records the business's decision about a goal at risk (accept the new
/// date, cut scope to the cut line, add people, drop). Anyone signed in may
/// decide: stakeholders are who the agenda asks.
pub async fn decide_goal(
    State(state): State<AppState>,
    who: Principal,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<GoalDecisionInput>,
) -> ApiResult<(StatusCode, Json<GoalDecisionOutcome>)> {
    let id = path_id("goal", &id)?;
    let outcome =
        tandem_app::decisions::decide_goal(&state.store, &state.settings, id, input, &who.name)
            .await?;
    Ok((StatusCode::CREATED, Json(outcome)))
}

#[utoipa::path(post, path = "/api/v1/goals/{id}/{transition}", tag = "goals",
    params(("id" = uuid::Uuid, Path), ("transition" = GoalTransition, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Goal), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the goal's state does not allow it"),
        (status = 422, body = ErrorBody, description = "agreement is missing parts; each is named")))]
pub async fn transition_goal(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path((id, transition)): Path<(String, String)>,
) -> ApiResult<Json<Goal>> {
    let id = path_id("goal", &id)?;
    let action: GoalTransition = transition
        .parse()
        .map_err(|e| ApiError::NotFound(format!("no such goal action: {e}")))?;
    Ok(Json(
        tandem_app::goals::transition(&state.store, id, action, &who.name).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/goals/{id}/versions", tag = "goals",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Vec<GoalVersion>), (status = 404, body = ErrorBody)))]
pub async fn goal_versions(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<GoalVersion>>> {
    let goal = state.store.get_goal(path_id("goal", &id)?).await?;
    Ok(Json(state.store.list_goal_versions(goal.id).await?))
}

#[utoipa::path(get, path = "/api/v1/stages", tag = "stages", params(ListParams),
    responses((status = 200, body = Page<Stage>), (status = 400, body = ErrorBody)))]
pub async fn list_stages(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Stage>>> {
    let q = params
        .resolve(&state, &[Filter::Team, Filter::Goal])
        .await?;
    Ok(Json(state.store.list_stages(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/stages", tag = "stages", request_body = NewStage,
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = Stage), (status = 422, body = ErrorBody)))]
pub async fn create_stage(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewStage>,
) -> ApiResult<(StatusCode, Json<Stage>)> {
    let stage = tandem_app::stages::create(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(stage)))
}

#[utoipa::path(get, path = "/api/v1/stages/{id}", tag = "stages", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Stage), (status = 404, body = ErrorBody)))]
pub async fn get_stage(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Stage>> {
    Ok(Json(state.store.get_stage(path_id("stage", &id)?).await?))
}

#[utoipa::path(patch, path = "/api/v1/stages/{id}", tag = "stages", request_body = StagePatch,
    params(("id" = uuid::Uuid, Path)),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Stage), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_stage(
    State(state): State<AppState>,
    _: RequireManager,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<StagePatch>,
) -> ApiResult<Json<Stage>> {
    let id = path_id("stage", &id)?;
    Ok(Json(
        tandem_app::stages::update(&state.store, id, patch).await?,
    ))
}
