//! The front line over HTTP (issue 16, items 4, 5 and 7; ADR 0031): an
//! incident's page data, resolving it, its business updates and
//! post-incident note; the status page's data; switching checks off; and
//! KPI sources. The rules live in `tandem_app::{frontline, status,
//! kpi_sources}`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tandem_app::frontline::{self, IncidentView};
use tandem_app::kpi_sources::{self, SourcedKpi};
use tandem_app::status::{self, StatusPage};
use tandem_domain::frontline::{BusinessUpdateInput, KpiSourceSpec};
use tandem_store::{BusinessUpdate, IncidentEntry, IncidentNote, StoredCheck};

use crate::AppState;
use crate::http::auth::{Principal, RequireManager, RequireMember};
use crate::http::error::{ApiResult, ErrorBody};
use crate::http::extract::ApiJson;

#[utoipa::path(get, path = "/api/v1/incidents/{id}/front-line", tag = "incidents",
    params(("id" = String, Path, description = "the incident's id or its sender's id")),
    responses((status = 200, body = IncidentView,
        description = "timeline, the last deployment and its commits, business updates, the note"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn incident_view(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<IncidentView>> {
    Ok(Json(
        frontline::incident(&state.store, &state.settings, &id).await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveBody {
    /// When it was resolved (default now).
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/resolve", tag = "incidents",
    params(("id" = String, Path, description = "the incident's id or its sender's id")),
    request_body = ResolveBody,
    responses((status = 200, body = IncidentEntry), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn resolve_incident(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ResolveBody>,
) -> ApiResult<Json<IncidentEntry>> {
    Ok(Json(
        frontline::resolve(&state.store, &id, body.resolved_at, Utc::now()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/incidents/{id}/updates", tag = "incidents",
    params(("id" = String, Path, description = "the incident's id or its sender's id")),
    request_body = BusinessUpdateInput,
    responses((status = 201, body = BusinessUpdate,
        description = "stored and shown on the status page at once; `slack_outcome` is `pending` until the Slack outbox posts it (`posted`), `failed` after its last attempt (`slack_error` says why), or `not configured`"),
        (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_update(
    State(state): State<AppState>,
    who: RequireMember,
    Path(id): Path<String>,
    ApiJson(input): ApiJson<BusinessUpdateInput>,
) -> ApiResult<(StatusCode, Json<BusinessUpdate>)> {
    let update = frontline::post_business_update(
        &state.store,
        &state.settings,
        &id,
        input,
        &who.0.name,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(update)))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteBody {
    /// Markdown.
    pub body: String,
}

#[utoipa::path(put, path = "/api/v1/incidents/{id}/note", tag = "incidents",
    params(("id" = String, Path, description = "the incident's id or its sender's id")),
    request_body = NoteBody,
    responses((status = 200, body = IncidentNote), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn put_note(
    State(state): State<AppState>,
    who: RequireMember,
    Path(id): Path<String>,
    ApiJson(note): ApiJson<NoteBody>,
) -> ApiResult<Json<IncidentNote>> {
    Ok(Json(
        frontline::save_note(&state.store, &id, &note.body, &who.0.name, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/status", tag = "incidents",
    responses((status = 200, body = StatusPage,
        description = "every service's state and 90-day uptime, the latest business updates")))]
pub async fn status_page(
    State(state): State<AppState>,
    _: Principal,
) -> ApiResult<Json<StatusPage>> {
    Ok(Json(
        status::page(&state.store, &state.settings, None, Utc::now()).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/status/{team}", tag = "incidents",
    params(("team" = String, Path, description = "team id or key")),
    responses((status = 200, body = StatusPage), (status = 404, body = ErrorBody)))]
pub async fn team_status_page(
    State(state): State<AppState>,
    _: Principal,
    Path(team): Path<String>,
) -> ApiResult<Json<StatusPage>> {
    Ok(Json(
        status::page(&state.store, &state.settings, Some(&team), Utc::now()).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/checks/{name}/disable", tag = "checks",
    params(("name" = String, Path)),
    responses((status = 200, body = StoredCheck, description = "kept, never run until enabled"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn disable_check(
    State(state): State<AppState>,
    _: RequireManager,
    Path(name): Path<String>,
) -> ApiResult<Json<StoredCheck>> {
    Ok(Json(
        frontline::set_check_disabled(&state.store, &name, true).await?,
    ))
}

#[utoipa::path(post, path = "/api/v1/checks/{name}/enable", tag = "checks",
    params(("name" = String, Path)),
    responses((status = 200, body = StoredCheck), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn enable_check(
    State(state): State<AppState>,
    _: RequireManager,
    Path(name): Path<String>,
) -> ApiResult<Json<StoredCheck>> {
    Ok(Json(
        frontline::set_check_disabled(&state.store, &name, false).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/metrics/{metric}/source", tag = "metrics",
    params(("metric" = String, Path, description = "Metric id or key")),
    responses((status = 200, body = SourcedKpi,
        description = "the query, schedule, last success and last error"),
        (status = 404, body = ErrorBody)))]
pub async fn get_source(
    State(state): State<AppState>,
    _: Principal,
    Path(metric): Path<String>,
) -> ApiResult<Json<SourcedKpi>> {
    Ok(Json(kpi_sources::get(&state.store, &metric).await?))
}

#[utoipa::path(put, path = "/api/v1/metrics/{metric}/source", tag = "metrics",
    params(("metric" = String, Path, description = "Metric id or key")),
    request_body = KpiSourceSpec,
    responses((status = 200, body = SourcedKpi, description = "set; the first run is due at once"),
        (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_source(
    State(state): State<AppState>,
    _: RequireManager,
    Path(metric): Path<String>,
    ApiJson(spec): ApiJson<KpiSourceSpec>,
) -> ApiResult<Json<SourcedKpi>> {
    Ok(Json(
        kpi_sources::set(&state.store, &metric, spec, Utc::now()).await?,
    ))
}

#[utoipa::path(delete, path = "/api/v1/metrics/{metric}/source", tag = "metrics",
    params(("metric" = String, Path, description = "Metric id or key")),
    responses((status = 204, description = "removed; the points stay"),
        (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody)))]
pub async fn delete_source(
    State(state): State<AppState>,
    _: RequireManager,
    Path(metric): Path<String>,
) -> ApiResult<StatusCode> {
    kpi_sources::remove(&state.store, &metric).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/metrics/{metric}/source/run", tag = "metrics",
    params(("metric" = String, Path, description = "Metric id or key")),
    responses((status = 200, body = SourcedKpi,
        description = "ran now; `last_error` says whether it worked"),
        (status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn run_source(
    State(state): State<AppState>,
    _: RequireManager,
    Path(metric): Path<String>,
) -> ApiResult<Json<SourcedKpi>> {
    Ok(Json(
        kpi_sources::run_now(&state.store, &state.settings, &metric, Utc::now()).await?,
    ))
}
