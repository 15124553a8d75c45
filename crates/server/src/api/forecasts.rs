//! Forecasts, risk checks and the sync agenda.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;
use tandem_store::RiskHistoryEntry;

use super::path_id;
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::{RequireManager, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiQuery;
use tandem_app::forecasting::{self, Agenda, CheckReport, GoalForecast};
use tandem_app::lookup;

/// The goal's Monte Carlo forecast, made together with the other goals its
/// team is working on (they share the team's throughput).
#[utoipa::path(get, path = "/api/v1/goals/{id}/forecast", tag = "forecasts",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = GoalForecast), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the goal is not agreed or in progress"),
        (status = 422, body = ErrorBody, description = "the goal has no deadline")))]
pub async fn goal_forecast(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<GoalForecast>> {
    let id = path_id("goal", &id)?;
    let goal = state.store.get_goal(id).await?;
    if goal.timeline.deadline.is_none() {
        return Err(ApiError::invalid(
            "timeline.deadline",
            "the goal has no deadline, so there is no on-time probability to forecast; agree a deadline first",
        ));
    }
    let cfg = &state.settings.forecast;
    Ok(Json(
        forecasting::forecast_goal(&state.store, id, Utc::now().date_naive(), cfg).await?,
    ))
}

/// Runs Tandem's risk checks now (they also run on a schedule in `serve`).
#[utoipa::path(post, path = "/api/v1/risks/check", tag = "risks",
    responses((status = 200, body = CheckReport), (status = 403, body = ErrorBody)))]
pub async fn run_checks(
    State(state): State<AppState>,
    _: RequireManager,
) -> ApiResult<Json<CheckReport>> {
    Ok(Json(
        forecasting::run_checks(&state.store, &state.settings.forecast, Utc::now()).await?,
    ))
}

/// What happened to a risk: opened, updated, reopened, closed.
#[utoipa::path(get, path = "/api/v1/risks/{id}/history", tag = "risks", params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = Vec<RiskHistoryEntry>), (status = 404, body = ErrorBody)))]
pub async fn risk_history(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<Vec<RiskHistoryEntry>>> {
    let risk = state.store.get_risk(path_id("risk", &id)?).await?;
    Ok(Json(state.store.list_risk_history(risk.id).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgendaParams {
    /// Team id or key.
    pub team: String,
}

/// What to decide at the next product sync.
#[utoipa::path(get, path = "/api/v1/agenda", tag = "forecasts", params(AgendaParams),
    responses((status = 200, body = Agenda), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn agenda(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(params): ApiQuery<AgendaParams>,
) -> ApiResult<Json<Agenda>> {
    let team = lookup::team(&state.store, &params.team)
        .await
        .map(|t| t.id)
        .map_err(|_| {
            ApiError::bad_field(
                "team",
                format!("no team has the id or key {:?}", params.team),
            )
        })?;
    let cfg = &state.settings.forecast;
    Ok(Json(
        forecasting::agenda(&state.store, team, Utc::now().date_naive(), cfg).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AchievementParams {
    /// First day of the period (`YYYY-MM-DD`).
    pub from: chrono::NaiveDate,
    /// Day after the period.
    pub to: chrono::NaiveDate,
    /// Team id or key (default: every team).
    pub team: Option<String>,
}

/// Goal achievement rate over a period: agreed goals due in it that met
/// every success metric by their deadline.
#[utoipa::path(get, path = "/api/v1/goals/achievement", tag = "goals", params(AchievementParams),
    responses((status = 200, body = forecasting::Achievement), (status = 400, body = ErrorBody)))]
pub async fn achievement(
    State(state): State<AppState>,
    _: Principal,
    ApiQuery(params): ApiQuery<AchievementParams>,
) -> ApiResult<Json<forecasting::Achievement>> {
    let team = match &params.team {
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
    Ok(Json(
        forecasting::achievement(&state.store, team, params.from, params.to).await?,
    ))
}
