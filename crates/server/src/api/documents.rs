//! Goals as agreement documents: `GET` and `PUT /api/v1/goals/{id}/document`
//! in `text/markdown` (see `tandem_domain::document` for the format). A PUT
//! follows the same rules as `tandem goal import`: an unknown id creates a
//! draft with that id; a known one is edited (versioned once agreed), unless
//! the document was exported from another version (409 naming `version`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;
use tandem_domain::document::{self, ImportError, ImportPlan, Resolved};
use tandem_domain::goal::Goal;
use tandem_store::StoreError;

use super::path_id;
use crate::AppState;
use crate::http::auth::Principal;
use crate::http::auth::RequireManager;
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::check_storable;

/// The media type of an agreement document.
pub const MARKDOWN: &str = "text/markdown; charset=utf-8";

/// A `text/markdown` body as UTF-8 text. Another content type → 415; an
/// oversized body → 413; bytes that are not UTF-8 → 400.
#[derive(Debug)]
pub struct Markdown(pub String);

impl FromRequest<AppState> for Markdown {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_markdown = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| {
                let mime = ct.split(';').next().unwrap_or("").trim();
                mime.eq_ignore_ascii_case("text/markdown")
                    || mime.eq_ignore_ascii_case("text/x-markdown")
            });
        if !is_markdown {
            return Err(ApiError::UnsupportedMediaType(
                "expected an agreement document with Content-Type: text/markdown".into(),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::TooLarge(state.settings.server.body_limit_bytes)
            } else {
                ApiError::bad_request(format!("could not read the request body: {rejection}"))
            }
        })?;
        String::from_utf8(bytes.to_vec())
            .map(Markdown)
            .map_err(|_| ApiError::bad_request("the document is not UTF-8 text"))
    }
}

/// The goal as a document, with its team and project named by key.
async fn render(state: &AppState, goal: &Goal) -> ApiResult<String> {
    let team = state.store.get_team(goal.team_id).await?;
    let project = match goal.project_id {
        Some(id) => Some(state.store.get_project(id).await?.key),
        None => None,
    };
    Ok(document::render_goal(goal, &team.key, project.as_deref()))
}

#[utoipa::path(get, path = "/api/v1/goals/{id}/document", tag = "goals",
    params(("id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = String, content_type = "text/markdown",
            description = "the goal as a Markdown agreement document with TOML front matter"),
        (status = 404, body = ErrorBody)))]
pub async fn get_document(
    State(state): State<AppState>,
    _: Principal,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let goal = state.store.get_goal(path_id("goal", &id)?).await?;
    let text = render(&state, &goal).await?;
    Ok(([(CONTENT_TYPE, HeaderValue::from_static(MARKDOWN))], text).into_response())
}

#[utoipa::path(put, path = "/api/v1/goals/{id}/document", tag = "goals",
    params(("id" = uuid::Uuid, Path)),
    request_body(content = String, content_type = "text/markdown",
        description = "an agreement document, as GET returns it or as `tandem goal new` prints it"),
    responses((status = 403, body = ErrorBody, description = "needs the manager role or higher"),
        (status = 200, body = Goal, description = "the goal, edited (or unchanged: the document says what is stored)"),
        (status = 201, body = Goal, description = "no goal had this id: a new draft"),
        (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody,
            description = "the document is another version than the stored goal (field `version`), or the goal is closed"),
        (status = 413, body = ErrorBody),
        (status = 415, body = ErrorBody, description = "the body is not text/markdown"),
        (status = 422, body = ErrorBody,
            description = "the document or the goal it describes is not valid; the field is named")))]
pub async fn put_document(
    State(state): State<AppState>,
    RequireManager(who): RequireManager,
    Path(id): Path<String>,
    Markdown(text): Markdown,
) -> ApiResult<(StatusCode, Json<Goal>)> {
    let id = path_id("goal", &id)?;
    let doc = document::parse(&text)?;
    if let Some(doc_id) = doc.id
        && doc_id != id
    {
        return Err(ApiError::invalid(
            "id",
            format!("the document is goal {doc_id}, not {id}"),
        ));
    }
    let stored = match state.store.get_goal(id).await {
        Ok(goal) => Some(goal),
        Err(StoreError::NotFound { .. }) => None,
        Err(e) => return Err(e.into()),
    };
    let team_id = lookup("team", &doc.team, state.store.get_team_by_key(&doc.team))
        .await?
        .id;
    let project_id = match &doc.project {
        Some(key) => Some(
            lookup("project", key, state.store.get_project_by_key(key))
                .await?
                .id,
        ),
        None => None,
    };
    let plan = document::plan_import(
        &doc,
        stored.as_ref(),
        Resolved {
            team_id,
            project_id,
        },
        &who.name,
        Utc::now(),
        id,
    )
    .map_err(|e| match e {
        ImportError::Stale { .. } => ApiError::Conflict {
            message: e.to_string(),
            field: Some("version".into()),
        },
        ImportError::Invalid(d) => d.into(),
    })?;
    match plan {
        ImportPlan::Create(goal) => {
            storable(&goal)?;
            state.store.create_goal(&goal).await?;
            Ok((StatusCode::CREATED, Json(goal)))
        }
        ImportPlan::Update(change) => {
            storable(&change.goal)?;
            let read_version = stored.as_ref().map_or(0, |g| g.version);
            state
                .store
                .save_goal_change(&change, read_version)
                .await
                .map_err(|e| match e {
                    StoreError::Stale(message) => ApiError::Conflict {
                        message,
                        field: Some("version".into()),
                    },
                    other => other.into(),
                })?;
            Ok((StatusCode::OK, Json(change.goal)))
        }
        ImportPlan::Unchanged(goal) => Ok((StatusCode::OK, Json(goal))),
    }
}

/// A team or project by the key a document names: refused with 422 naming
/// `field` when the key is unknown or not storable text.
async fn lookup<T>(
    field: &str,
    key: &str,
    found: impl Future<Output = Result<T, StoreError>>,
) -> ApiResult<T> {
    check_storable(key).map_err(|m| ApiError::invalid(field, m))?;
    found.await.map_err(|e| match e {
        StoreError::NotFound { .. } => {
            ApiError::invalid(field, format!("no {field} has the key {key:?}"))
        }
        other => other.into(),
    })
}

/// Refuses text the engines cannot store alike (as JSON bodies are refused),
/// naming the field.
fn storable(goal: &Goal) -> ApiResult<()> {
    let tree = serde_json::to_value(goal).map_err(|e| ApiError::Unexpected(e.into()))?;
    let mut path = String::new();
    match first_unstorable(&tree, &mut path) {
        Some(message) => Err(ApiError::invalid(path, message)),
        None => Ok(()),
    }
}

fn first_unstorable(value: &Value, path: &mut String) -> Option<String> {
    let at = |path: &mut String, segment: String, item: &Value| {
        let len = path.len();
        path.push_str(&segment);
        let found = first_unstorable(item, path);
        if found.is_none() {
            path.truncate(len);
        }
        found
    };
    match value {
        Value::String(s) => check_storable(s).err(),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| at(path, format!("[{i}]"), item)),
        Value::Object(fields) => fields.iter().find_map(|(name, item)| {
            let segment = if path.is_empty() {
                name.clone()
            } else {
                format!(".{name}")
            };
            at(path, segment, item)
        }),
        _ => None,
    }
}
