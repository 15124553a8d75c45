//! `/api/v1/teams/{team}/pulse…` (issue 15, ADR 0028): the team pulse.
//! A member answers for themself (the person is the caller; the answer is
//! stored without them); team figures come from `tandem_app::pulse::week`,
//! which shows nothing below the team's threshold (never below 3). The
//! configuration and "ask now" are for managers.

use axum::Json;
use axum::extract::{Path, State};
use chrono::Utc;
use serde::Deserialize;
use tandem_app::pulse::{Answered, Asked};
use tandem_domain::pulse::{AnswerInput, PulseConfig, PulseWeek, TrendPoint};

use crate::AppState;
use crate::http::auth::{RequireManager, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PulseWeekParams {
    /// An ISO week (`2026-W49`) or any day of it (`2026-12-02`); default:
    /// this week in the team's zone.
    pub week: Option<String>,
}

#[utoipa::path(get, operation_id = "get_pulse_config", path = "/api/v1/teams/{team}/pulse/config", tag = "pulse",
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = PulseConfig), (status = 403, body = ErrorBody, description = "needs the member role or higher"), (status = 404, body = ErrorBody)))]
pub async fn get_config(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
) -> ApiResult<Json<PulseConfig>> {
    Ok(Json(
        tandem_app::pulse::config(&state.store, &team).await?.1,
    ))
}

#[utoipa::path(put, operation_id = "put_pulse_config", path = "/api/v1/teams/{team}/pulse/config", tag = "pulse", request_body = PulseConfig,
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = PulseConfig), (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_config(
    State(state): State<AppState>,
    _: RequireManager,
    Path(team): Path<String>,
    ApiJson(config): ApiJson<PulseConfig>,
) -> ApiResult<Json<PulseConfig>> {
    Ok(Json(
        tandem_app::pulse::set_config(&state.store, &team, config, Utc::now()).await?,
    ))
}

#[utoipa::path(post, operation_id = "answer_pulse", path = "/api/v1/teams/{team}/pulse/answers", tag = "pulse", request_body = AnswerInput,
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = Answered, description = "stored without the caller's identity; a second answer in the week replaces the first"),
        (status = 403, body = ErrorBody, description = "needs the member role, a signed-in person and membership of the team"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn answer(
    State(state): State<AppState>,
    RequireMember(who): RequireMember,
    Path(team): Path<String>,
    ApiJson(input): ApiJson<AnswerInput>,
) -> ApiResult<Json<Answered>> {
    let Some(id) = who.user_id else {
        return Err(ApiError::Forbidden(
            "the pulse is answered by a signed-in person, not an API token".into(),
        ));
    };
    let me = state.store.get_user(id).await?;
    Ok(Json(
        tandem_app::pulse::answer(&state.store, &team, &me, &input, Utc::now()).await?,
    ))
}

#[utoipa::path(get, operation_id = "team_pulse", path = "/api/v1/teams/{team}/pulse", tag = "pulse", params(("team" = String, Path, description = "team key or id"), PulseWeekParams),
    responses((status = 200, body = PulseWeek, description = "team aggregates only, and none below the threshold"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "needs the member role or higher"), (status = 404, body = ErrorBody)))]
pub async fn team_pulse(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
    ApiQuery(params): ApiQuery<PulseWeekParams>,
) -> ApiResult<Json<PulseWeek>> {
    let week = params
        .week
        .as_deref()
        .map(tandem_app::pulse::parse_week_text)
        .transpose()?;
    Ok(Json(
        tandem_app::pulse::week(&state.store, &team, week, Utc::now()).await?,
    ))
}

#[utoipa::path(get, operation_id = "team_pulse_trend", path = "/api/v1/teams/{team}/pulse/trend", tag = "pulse", params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = Vec<TrendPoint>, description = "the last 12 weeks, oldest first; means only above the threshold"),
        (status = 403, body = ErrorBody, description = "needs the member role or higher"), (status = 404, body = ErrorBody)))]
pub async fn team_trend(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
) -> ApiResult<Json<Vec<TrendPoint>>> {
    Ok(Json(
        tandem_app::pulse::trend(&state.store, &team, Utc::now()).await?,
    ))
}

#[utoipa::path(post, operation_id = "ask_pulse", path = "/api/v1/teams/{team}/pulse/ask", tag = "pulse", params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = Asked, description = "this week's pulse sent in Slack to every member Slack knows by e-mail"),
        (status = 403, body = ErrorBody, description = "needs the manager role or higher"), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "the Slack app is not configured (`[slack] bot_token`)")))]
pub async fn ask(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path(team): Path<String>,
) -> ApiResult<Json<Asked>> {
    let owner = format!("api-{}", who.name);
    Ok(Json(
        tandem_app::pulse::ask(
            &state.store,
            &state.settings,
            &team,
            &owner,
            true,
            Utc::now(),
        )
        .await?,
    ))
}
