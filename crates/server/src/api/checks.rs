//! Health checks, their incidents, and heartbeats over HTTP (issue 16).
//!
//! `/api/v1/checks…` defines, lists, runs and silences checks and reads
//! their results and uptime; `/api/v1/incidents…` lists incidents of every
//! source, with the alerts sent for each, and acknowledges them.
//! `POST /heartbeats/{token}` is the one unauthenticated route here: the
//! token is a random secret looked up by its SHA-256 hash (never stored in
//! clear), and an unknown token gets 404 with nothing stored. The rules
//! live in `tandem_app::checks` and `tandem_app::events`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};
use tandem_app::checks::probe::Verdict;
use tandem_app::checks::{self, Defined, Uptime};
use tandem_app::events;
use tandem_domain::check::CheckSpec;
use tandem_store::{Alert, AlertAttempt, CheckResult, IncidentEntry, StoredCheck};

use crate::AppState;
use crate::http::auth::{RequireManager, RequireMember};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::{ApiJson, ApiQuery};

#[utoipa::path(get, path = "/api/v1/checks", tag = "checks",
    responses((status = 200, body = Vec<StoredCheck>), (status = 403, body = ErrorBody)))]
pub async fn list_checks(
    State(state): State<AppState>,
    _: RequireMember,
) -> ApiResult<Json<Vec<StoredCheck>>> {
    Ok(Json(checks::list(&state.store).await?))
}

#[utoipa::path(post, path = "/api/v1/checks", tag = "checks", request_body = CheckSpec,
    responses((status = 201, body = Defined,
        description = "stored (a check of that name is updated); a heartbeat check's token is shown once"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn define_check(
    State(state): State<AppState>,
    _: RequireManager,
    ApiJson(spec): ApiJson<CheckSpec>,
) -> ApiResult<(StatusCode, Json<Defined>)> {
    let defined = checks::define(&state.store, spec, checks::ORIGIN_API, Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(defined)))
}

#[utoipa::path(get, path = "/api/v1/checks/{name}", tag = "checks",
    params(("name" = String, Path)),
    responses((status = 200, body = StoredCheck), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_check(
    State(state): State<AppState>,
    _: RequireMember,
    Path(name): Path<String>,
) -> ApiResult<Json<StoredCheck>> {
    Ok(Json(checks::get(&state.store, &name).await?))
}

#[utoipa::path(delete, path = "/api/v1/checks/{name}", tag = "checks",
    params(("name" = String, Path)),
    responses((status = 204), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete_check(
    State(state): State<AppState>,
    _: RequireManager,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    checks::delete(&state.store, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A check after a run, with the run's verdict.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CheckRunReply {
    pub check: StoredCheck,
    pub verdict: Verdict,
}

#[utoipa::path(post, path = "/api/v1/checks/{name}/run", tag = "checks",
    params(("name" = String, Path)),
    responses((status = 200, body = CheckRunReply), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn run_check(
    State(state): State<AppState>,
    _: RequireManager,
    Path(name): Path<String>,
) -> ApiResult<Json<CheckRunReply>> {
    let runner = checks::run::Runner::for_settings(
        format!("api-{}", uuid::Uuid::now_v7()),
        1,
        &state.settings.monitor,
    )?;
    let (check, verdict) =
        checks::run::run_now(&state.store, &state.settings, &runner, &name, Utc::now()).await?;
    Ok(Json(CheckRunReply { check, verdict }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SilenceBody {
    /// How long, from now (0 lifts a silence).
    pub minutes: u32,
}

#[utoipa::path(post, path = "/api/v1/checks/{name}/silence", tag = "checks",
    params(("name" = String, Path)), request_body = SilenceBody,
    responses((status = 200, body = StoredCheck), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn silence_check(
    State(state): State<AppState>,
    _: RequireManager,
    Path(name): Path<String>,
    ApiJson(body): ApiJson<SilenceBody>,
) -> ApiResult<Json<StoredCheck>> {
    Ok(Json(
        checks::silence(&state.store, &name, body.minutes, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/checks/{name}/results", tag = "checks",
    params(("name" = String, Path)),
    responses((status = 200, body = Vec<CheckResult>), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn check_results(
    State(state): State<AppState>,
    _: RequireMember,
    Path(name): Path<String>,
) -> ApiResult<Json<Vec<CheckResult>>> {
    Ok(Json(checks::results(&state.store, &name, 100).await?))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct UptimeQuery {
    /// Start (RFC 3339; default 90 days before `to`).
    pub from: Option<DateTime<Utc>>,
    /// End (RFC 3339; default now).
    pub to: Option<DateTime<Utc>>,
}

#[utoipa::path(get, path = "/api/v1/checks/{name}/uptime", tag = "checks",
    params(("name" = String, Path), UptimeQuery),
    responses((status = 200, body = Uptime), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn check_uptime(
    State(state): State<AppState>,
    _: RequireMember,
    Path(name): Path<String>,
    ApiQuery(q): ApiQuery<UptimeQuery>,
) -> ApiResult<Json<Uptime>> {
    let to = q.to.unwrap_or_else(Utc::now);
    let from = q.from.unwrap_or(to - TimeDelta::days(90));
    Ok(Json(checks::uptime(&state.store, &name, from, to).await?))
}

/// What a heartbeat got.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct HeartbeatReply {
    pub check: String,
    pub received_at: DateTime<Utc>,
}

#[utoipa::path(post, path = "/heartbeats/{token}", tag = "checks",
    params(("token" = String, Path, description = "the check's heartbeat token")),
    security(()),
    responses((status = 200, body = HeartbeatReply), (status = 404, body = ErrorBody)))]
pub async fn heartbeat(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Json<HeartbeatReply>> {
    let now = Utc::now();
    let check = checks::ping(&state.store, &token, now).await?;
    Ok(Json(HeartbeatReply {
        check,
        received_at: now,
    }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct IncidentsQuery {
    /// Only unresolved incidents.
    #[serde(default)]
    pub open: bool,
    /// At most this many (default 100).
    pub limit: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/incidents", tag = "incidents", params(IncidentsQuery),
    responses((status = 200, body = Vec<IncidentEntry>), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    _: RequireMember,
    ApiQuery(q): ApiQuery<IncidentsQuery>,
) -> ApiResult<Json<Vec<IncidentEntry>>> {
    Ok(Json(
        events::list_incidents(&state.store, q.open, q.limit.unwrap_or(100)).await?,
    ))
}

/// An alert with its delivery attempts.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AlertLog {
    pub alert: Alert,
    pub attempts: Vec<AlertAttempt>,
}

/// An incident with every alert sent (or waiting) for it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    pub incident: IncidentEntry,
    pub alerts: Vec<AlertLog>,
}

#[utoipa::path(get, path = "/api/v1/incidents/{id}", tag = "incidents", operation_id = "get_incident_detail",
    params(("id" = String, Path, description = "the incident's id or its sender's id")),
    responses((status = 200, body = IncidentDetail), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_incident(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentDetail>> {
    let incident = events::find_incident(&state.store, &id).await?;
    let mut alerts = Vec::new();
    for alert in state.store.list_alerts(Some(incident.id)).await? {
        let attempts = state.store.alert_attempts(alert.id).await?;
        alerts.push(AlertLog { alert, attempts });
    }
    Ok(Json(IncidentDetail { incident, alerts }))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/ack", tag = "incidents",
    params(("id" = String, Path, description = "the incident's id or its sender's id")),
    responses((status = 200, body = IncidentEntry), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn ack_incident(
    State(state): State<AppState>,
    principal: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentEntry>> {
    let by = principal.0.name.clone();
    Ok(Json(
        events::acknowledge(&state.store, &id, &by, Utc::now()).await?,
    ))
}
