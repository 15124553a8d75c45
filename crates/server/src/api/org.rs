//! Teams and their members; projects and their service scopes. Each
//! handler is the HTTP shape of a `tandem_app::org` function (the CLI's
//! `tandem team|member|project` call the same ones).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tandem_domain::project::{NewProject, NewServiceScope, Project, ProjectPatch, ServiceScope};
use tandem_domain::team::{NewTeam, Team, TeamPatch};
use tandem_domain::user::User;

use super::{Filter, ListParams, Page};
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::{RequireManager, RequireMember};
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
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = Team), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_team(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewTeam>,
) -> ApiResult<(StatusCode, Json<Team>)> {
    let team = org::create_team(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}", tag = "teams",
    params(("team" = String, Path, description = "Team id or key", example = "payments")),
    responses((status = 200, body = Team), (status = 404, body = ErrorBody)))]
pub async fn get_team(
    State(state): State<AppState>,
    _: Principal,
    Path(team): Path<String>,
) -> ApiResult<Json<Team>> {
    Ok(Json(lookup::team(&state.store, &team).await?))
}

#[utoipa::path(patch, path = "/api/v1/teams/{team}", tag = "teams", request_body = TeamPatch,
    params(("team" = String, Path, description = "Team id or key", example = "payments")),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Team), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 201, body = Project), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_project(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(input): ApiJson<NewProject>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let project = org::create_project(&state.store, input).await?;
    Ok((StatusCode::CREATED, Json(project)))
}

#[utoipa::path(get, path = "/api/v1/projects/{project}", tag = "projects",
    params(("project" = String, Path, description = "Project id or key", example = "payments-api")),
    responses((status = 200, body = Project), (status = 404, body = ErrorBody)))]
pub async fn get_project(
    State(state): State<AppState>,
    _: Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<Project>> {
    Ok(Json(lookup::project(&state.store, &project).await?))
}

#[utoipa::path(patch, path = "/api/v1/projects/{project}", tag = "projects", request_body = ProjectPatch,
    params(("project" = String, Path, description = "Project id or key", example = "payments-api")),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Project), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
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

#[utoipa::path(get, path = "/api/v1/projects/{project}/scopes", tag = "projects",
    params(("project" = String, Path, description = "Project id or key")),
    responses((status = 200, body = Vec<ServiceScope>, description = "the project's service scopes, by service"),
        (status = 404, body = ErrorBody)))]
pub async fn list_scopes(
    State(state): State<AppState>,
    _: Principal,
    Path(project): Path<String>,
) -> ApiResult<Json<Vec<ServiceScope>>> {
    Ok(Json(org::service_scopes(&state.store, &project).await?))
}

/// Scopes one of the project's services to path prefixes of one of its
/// repositories, replacing its earlier scope; its deployments are
/// attributed again.
#[utoipa::path(put, path = "/api/v1/projects/{project}/scopes/{service}", tag = "projects",
    request_body = NewServiceScope,
    params(("project" = String, Path, description = "Project id or key"),
        ("service" = String, Path, description = "One of the project's services")),
    responses((status = 200, body = ServiceScope), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "the service or repository is not the project's (`service`, `repo`), or a prefix is not usable")))]
pub async fn put_scope(
    State(state): State<AppState>,
    _: RequireManager,
    Path((project, service)): Path<(String, String)>,
    ApiJson(input): ApiJson<NewServiceScope>,
) -> ApiResult<Json<ServiceScope>> {
    let scope = input.for_service(service);
    Ok(Json(
        org::set_service_scope(&state.store, &project, scope).await?,
    ))
}

/// Removes a service's scope: its deployments count the whole repository
/// again.
#[utoipa::path(delete, path = "/api/v1/projects/{project}/scopes/{service}", tag = "projects",
    params(("project" = String, Path, description = "Project id or key"),
        ("service" = String, Path, description = "A service of the project")),
    responses((status = 204, description = "removed"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such project, or the service has no scope")))]
pub async fn delete_scope(
    State(state): State<AppState>,
    _: RequireManager,
    Path((project, service)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    org::remove_service_scope(&state.store, &project, &service).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's members, by username (people: members and above only).
#[utoipa::path(get, path = "/api/v1/teams/{team}/members", tag = "teams",
    params(("team" = String, Path, description = "Team id or key")),
    responses((status = 200, body = Vec<User>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_members(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
) -> ApiResult<Json<Vec<User>>> {
    Ok(Json(org::members(&state.store, &team).await?))
}

/// Adds a user to the team; adding a member again changes nothing.
#[utoipa::path(put, path = "/api/v1/teams/{team}/members/{username}", tag = "teams",
    params(("team" = String, Path, description = "Team id or key"),
        ("username" = String, Path, description = "The user to add")),
    responses((status = 200, body = User, description = "the member"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such team or user")))]
pub async fn put_member(
    State(state): State<AppState>,
    _: RequireManager,
    Path((team, username)): Path<(String, String)>,
) -> ApiResult<Json<User>> {
    Ok(Json(org::add_member(&state.store, &team, &username).await?))
}

/// Removes a user from the team.
#[utoipa::path(delete, path = "/api/v1/teams/{team}/members/{username}", tag = "teams",
    params(("team" = String, Path, description = "Team id or key"),
        ("username" = String, Path, description = "A member of the team")),
    responses((status = 204, description = "removed"), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody, description = "no such team or user, or not a member")))]
pub async fn delete_member(
    State(state): State<AppState>,
    _: RequireManager,
    Path((team, username)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    org::remove_member(&state.store, &team, &username).await?;
    Ok(StatusCode::NO_CONTENT)
}
