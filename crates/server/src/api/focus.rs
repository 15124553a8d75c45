//! `/api/v1/teams/{team}/policy`, `/calendars` and `/focus` (issue 15): a
//! team's policy, its calendar feeds and the week measured against the
//! policy. Feeds (whose URLs are often secret) are for managers; the team
//! figures are aggregates any member may read; `/focus/me` is the caller's
//! own week and there is no path to anyone else's.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tandem_app::focus::Refreshed;
use tandem_domain::calendar::CalendarFeed;
use tandem_domain::focus::{FocusWeek, TrendPoint};
use tandem_domain::policy::TeamPolicy;

use crate::AppState;
use crate::http::auth::{RequireManager, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct WeekParams {
    /// Any day of the week, YYYY-MM-DD (default: this week in the team's zone).
    pub week: Option<NaiveDate>,
}

/// A feed to add: an `http(s)://` URL or an absolute file path on the server.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"source": "https://calendar.example/team.ics", "user": null})))]
pub struct NewFeed {
    pub source: String,
    /// Username of the member whose own calendar this is.
    #[serde(default)]
    pub user: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/policy", tag = "focus",
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = TeamPolicy), (status = 403, body = ErrorBody, description = "needs the member role or higher"), (status = 404, body = ErrorBody)))]
pub async fn get_policy(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
) -> ApiResult<Json<TeamPolicy>> {
    Ok(Json(
        tandem_app::focus::policy(&state.store, &team).await?.1,
    ))
}

#[utoipa::path(put, path = "/api/v1/teams/{team}/policy", tag = "focus", request_body = TeamPolicy,
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = TeamPolicy), (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_policy(
    State(state): State<AppState>,
    _: RequireManager,
    Path(team): Path<String>,
    ApiJson(policy): ApiJson<TeamPolicy>,
) -> ApiResult<Json<TeamPolicy>> {
    Ok(Json(
        tandem_app::focus::set_policy(&state.store, &team, policy, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/calendars", tag = "focus",
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = Vec<CalendarFeed>), (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody)))]
pub async fn list_calendars(
    State(state): State<AppState>,
    _: RequireManager,
    Path(team): Path<String>,
) -> ApiResult<Json<Vec<CalendarFeed>>> {
    Ok(Json(
        tandem_app::focus::list_feeds(&state.store, Some(&team)).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/calendars", tag = "focus", request_body = NewFeed,
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 201, body = CalendarFeed), (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_calendar(
    State(state): State<AppState>,
    _: RequireManager,
    Path(team): Path<String>,
    ApiJson(feed): ApiJson<NewFeed>,
) -> ApiResult<(StatusCode, Json<CalendarFeed>)> {
    let f = tandem_app::focus::add_feed(
        &state.store,
        &team,
        feed.user.as_deref(),
        &feed.source,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(f)))
}

#[utoipa::path(post, path = "/api/v1/teams/{team}/calendars/refresh", tag = "focus",
    params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = Vec<Refreshed>), (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody)))]
pub async fn refresh_calendars(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path(team): Path<String>,
) -> ApiResult<Json<Vec<Refreshed>>> {
    let owner = format!("api-{}", who.name);
    Ok(Json(
        tandem_app::focus::refresh_all(&state.store, Some(&team), &owner, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/focus", tag = "focus", params(("team" = String, Path, description = "team key or id"), WeekParams),
    responses((status = 200, body = FocusWeek, description = "team aggregates, no names"), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody, description = "needs the member role or higher"), (status = 404, body = ErrorBody)))]
pub async fn team_focus(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
    ApiQuery(params): ApiQuery<WeekParams>,
) -> ApiResult<Json<FocusWeek>> {
    Ok(Json(
        tandem_app::focus::team_week(&state.store, &team, params.week, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/focus/trend", tag = "focus", params(("team" = String, Path, description = "team key or id")),
    responses((status = 200, body = Vec<TrendPoint>, description = "the last 12 weeks, oldest first"), (status = 403, body = ErrorBody, description = "needs the member role or higher"), (status = 404, body = ErrorBody)))]
pub async fn team_trend(
    State(state): State<AppState>,
    _: RequireMember,
    Path(team): Path<String>,
) -> ApiResult<Json<Vec<TrendPoint>>> {
    Ok(Json(
        tandem_app::focus::trend(&state.store, &team, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/teams/{team}/focus/me", tag = "focus", params(("team" = String, Path, description = "team key or id"), WeekParams),
    responses((status = 200, body = FocusWeek, description = "the caller's own week"), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "API tokens have no person"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn my_focus(
    State(state): State<AppState>,
    RequireMember(who): RequireMember,
    Path(team): Path<String>,
    ApiQuery(params): ApiQuery<WeekParams>,
) -> ApiResult<Json<FocusWeek>> {
    let Some(id) = who.user_id else {
        return Err(ApiError::Forbidden(
            "own figures need a signed-in person, not an API token".into(),
        ));
    };
    let me = state.store.get_user(id).await?;
    Ok(Json(
        tandem_app::focus::my_week(&state.store, &team, &me, params.week, Utc::now()).await?,
    ))
}
