//! Planning views: the team backlog (with the priority inflation flag and the
//! tech-debt budget), a goal's stage plan, the tech-debt budget alone, and a
//! work item's context, as JSON. The views are built by
//! `tandem_app::planning` (the command line and the pages show the same).

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;
use tandem_domain::planning::{GoalPlan, TaskContext};
use tandem_store::StoreError;

use super::path_id;
use crate::AppState;
use crate::http::auth::{Principal, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiQuery;

use tandem_app::lookup;
use tandem_app::planning::{
    BacklogView, TeamDebt, backlog_view, debt_budget, goal_plan, task_context,
};

/// Query of `GET /api/v1/backlog`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BacklogParams {
    /// Team id or key (required; a missing one is a 400 naming `team`).
    #[param(required = true)]
    pub team: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/backlog", tag = "planning", params(BacklogParams),
    responses((status = 200, body = BacklogView), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn backlog(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(params): ApiQuery<BacklogParams>,
) -> ApiResult<Json<BacklogView>> {
    let team = params
        .team
        .ok_or_else(|| ApiError::bad_field("team", "name the team: ?team=<id or key>"))?;
    let team = lookup::team(&state.store, &team)
        .await
        .map_err(|e| match e {
            StoreError::NotFound { .. } => {
                ApiError::bad_field("team", format!("no team has the id or key {team:?}"))
            }
            other => other.into(),
        })?;
    Ok(Json(
        backlog_view(&state.store, &team, &state.settings.planning, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/debt", tag = "planning",
    params(("team" = String, Path, description = "Team id or key", example = "payments")),
    responses((status = 200, body = TeamDebt), (status = 404, body = ErrorBody)))]
pub async fn team_debt(
    State(state): State<AppState>,
    _: Principal,
    Path(team): Path<String>,
) -> ApiResult<Json<TeamDebt>> {
    let team = lookup::team(&state.store, &team).await?;
    let debt = debt_budget(&state.store, &team, &state.settings.planning, Utc::now()).await?;
    Ok(Json(TeamDebt {
        team: (&team).into(),
        debt,
    }))
}

#[utoipa::path(get, path = "/api/v1/goals/{id}/plan", tag = "planning",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = GoalPlan), (status = 404, body = ErrorBody)))]
pub async fn plan(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<GoalPlan>> {
    let id = path_id("goal", &id)?;
    Ok(Json(
        goal_plan(&state.store, id, &state.settings.planning).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/work-items/{id}/context", tag = "planning",
    params(("id" = String, Path, description = "Work item id or external key (PAY-123)")),
    responses((status = 403, body = ErrorBody, description = "needs the member role or higher"),
        (status = 200, body = TaskContext), (status = 404, body = ErrorBody)))]
pub async fn context(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskContext>> {
    let item = lookup::work_item(&state.store, &id).await?;
    Ok(Json(
        task_context(&state.store, &item, &state.settings).await?,
    ))
}
