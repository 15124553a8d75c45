//! Teams and projects.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tandem_domain::project::{NewProject, Project, ProjectPatch};
use tandem_domain::team::{NewTeam, Team, TeamPatch};

use super::{Filter, ListParams, Page};
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::RequireManager;
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};
use tandem_app::{lookup, org};

#[utoipa::path(get, path = "/api/v1/teams", tag = "teams", params(ListParams),
    responses((status = 200, body = Page<Team>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list_teams(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Team>>> {
    let q = params.resolve(&state, &[]).await?;
    Ok(Json(state.store.list_teams(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/teams", tag = "teams", request_body = NewTeam,
    responses((status = 201, body = Team), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let team = org::create_team(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}", tag = "teams",
    params(("team" = String, Path, description = "Team id or key")),
    responses((status = 200, body = Team), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<AppState>,
    _: Principal,
    Path(team): Path<String>,
) -> ApiResult<Json<Team>> {
    Ok(Json(lookup::team(&state.store, &team).await?))
}

#[utoipa::path(patch, path = "/api/v1/teams/{team}", tag = "teams", request_body = TeamPatch,
    params(("team" = String, Path, description = "Team id or key")),
    responses((status = 200, body = Team), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_team(
    State(state): State<AppState>,
    _: RequireManager,
    Path(team): Path<String>,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> ApiResult<Json<Team>> {
    Ok(Json(org::update_team(&state.store, &team, patch).await?))
}

#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ListParams),
    responses((status = 200, body = Page<Project>), (status = 400, body = ErrorBody)))]
pub async fn list_projects(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<ListParams>,
) -> ApiResult<Json<Page<Project>>> {
    let q = params.resolve(&state, &[Filter::Team]).await?;
    Ok(Json(state.store.list_projects(&q).await?.into()))
}

#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = NewProject,
    responses((status = 201, body = Project), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_project(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let project = org::create_project(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(project)))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects",
    params(("project" = String, Path, description = "Project id or key")),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
pub async fn get_project(
    State(state): State<AppState>,
    _: Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<Project>> {
    Ok(Json(lookup::project(&state.store, &project).await?))
}

#[utoipa::path(patch, path = "/api/v1/projects/{project}", tag = "projects", request_body = ProjectPatch,
    params(("project" = String, Path, description = "Project id or key")),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update_project(
    State(state): State<AppState>,
    _: RequireManager,
    Path(project): Path<String>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> ApiResult<Json<Project>> {
    Ok(Json(
        org::update_project(&state.store, &project, patch).await?,
    ))
}
