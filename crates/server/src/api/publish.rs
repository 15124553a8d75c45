//! Publishing state (issue 17, ADR 0033): where a goal's agreement and a
//! decision record were published (git, Notion, Confluence, Jira) and how
//! each publisher is doing.

use axum::Json;
use axum::extract::{Path, State};
use tandem_app::publish::{self, DocumentPublications, PublisherStatus};
use tandem_domain::publish::DocKind;

use super::path_id;
use crate::AppState;
use crate::http::auth::{Principal, RequireManager};
use crate::http::error::{ApiResult, ErrorBody};

#[utoipa::path(get, path = "/api/v1/goals/{id}/publications", tag = "publishing",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = DocumentPublications), (status = 404, body = ErrorBody)))]
pub async fn goal_publications(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentPublications>> {
    let id = path_id("goal", &id)?;
    state.store.get_goal(id).await?;
    Ok(Json(
        publish::document(&state.store, DocKind::Goal, id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/decisions/{id}/publications", tag = "publishing",
    params(("id" = uuid::Uuid, Path)),
    responses((status = 200, body = DocumentPublications), (status = 404, body = ErrorBody)))]
pub async fn decision_publications(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Json<DocumentPublications>> {
    let id = path_id("decision", &id)?;
    state.store.get_decision(id).await?;
    Ok(Json(
        publish::document(&state.store, DocKind::Decision, id).await?,
    ))
}

#[utoipa::path(get, path = "/api/v1/publishers", tag = "publishing",
    responses((status = 200, body = Vec<PublisherStatus>),
        (status = 403, body = ErrorBody, description = "needs the manager role or higher")))]
pub async fn publishers(
    State(state): State<AppState>,
    _: RequireManager,
) -> ApiResult<Json<Vec<PublisherStatus>>> {
    Ok(Json(publish::status(&state.store, &state.settings).await?))
}
