//! The generic events API for any CI/CD or incident tool, and webhook
//! secret management.
//!
//! `POST /api/v1/events/deployments` and `/api/v1/events/incidents` take one
//! object or a batch `{"items": [...]}` (for backfill). A batch is all or
//! nothing: every item is checked first, errors name the item and field
//! (`items[3].started_at`), and everything is stored in one transaction.
//! Both are idempotent on `(source "api", id)`: sending an item again
//! updates it (a deployment's final status) or changes nothing. A
//! deployment may name its `repo` and `sha`, and is then attributed as a
//! GitHub deployment is. `GET …/{id}` reads one back as stored (what
//! `tandem deploy record --server` and `tandem incident resolve --server`
//! read before they send). The rules live in `tandem_app::events`; this
//! module only reads bodies (naming `items[i].field` in errors).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_app::events::{self, Item};
pub use tandem_app::events::{DeploymentEvent, IncidentEvent, MAX_BATCH_ITEMS};
use tandem_domain::engineering::{Deployment, Incident, Provider};

use crate::AppState;
use crate::http::auth::{RequireAdmin, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiJson;

/// One deployment, or a batch of them under `items` (documentation of the
/// body; the handler reads it field by field to name errors precisely).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DeploymentsBody {
    Batch { items: Vec<DeploymentEvent> },
    One(DeploymentEvent),
}

/// One incident, or a batch of them under `items`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum IncidentsBody {
    Batch { items: Vec<IncidentEvent> },
    One(IncidentEvent),
}

#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct EventsStored {
    /// Items received and stored (an item sent before is updated or left
    /// as it was).
    pub stored: usize,
}

/// The items of a body: a batch when it is an object with `items`, else one
/// object. Each parsed with errors naming `items[i].field`.
fn items<T: DeserializeOwned>(body: Value) -> ApiResult<Vec<Item<T>>> {
    let batch = body.as_object().is_some_and(|o| o.contains_key("items"));
    if !batch {
        return Ok(vec![Item::one(parse_item(body, "")?)]);
    }
    let Value::Object(mut o) = body else {
        unreachable!("checked above")
    };
    if o.len() > 1 {
        let other = o
            .keys()
            .find(|k| *k != "items")
            .cloned()
            .unwrap_or_default();
        return Err(ApiError::invalid(
            other.clone(),
            format!("unknown field `{other}` next to `items`"),
        ));
    }
    let Some(Value::Array(list)) = o.remove("items") else {
        return Err(ApiError::invalid("items", "must be an array of events"));
    };
    if list.is_empty() {
        return Err(ApiError::invalid("items", "must list at least one event"));
    }
    if list.len() > MAX_BATCH_ITEMS {
        return Err(ApiError::invalid(
            "items",
            format!(
                "{} items in one batch; the limit is {MAX_BATCH_ITEMS}",
                list.len()
            ),
        ));
    }
    list.into_iter()
        .enumerate()
        .map(|(i, v)| {
            let prefix = format!("items[{i}].");
            parse_item(v, &prefix).map(|event| Item { prefix, event })
        })
        .collect()
}

fn parse_item<T: DeserializeOwned>(v: Value, prefix: &str) -> ApiResult<T> {
    serde_path_to_error::deserialize(v).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        let named = ["missing field `", "unknown field `"]
            .iter()
            .find_map(|p| message.split_once(p))
            .and_then(|(_, rest)| rest.split_once('`'))
            .map(|(name, _)| name.to_owned());
        let field = match (path.as_str(), named) {
            (".", Some(name)) => name,
            (".", None) => prefix.trim_end_matches('.').to_owned(),
            (p, Some(name)) if message.starts_with("missing") => format!("{p}.{name}"),
            (p, _) => p.to_owned(),
        };
        let field = if field.is_empty() {
            "body".to_owned()
        } else {
            format!("{prefix}{field}")
        };
        ApiError::invalid(field, message)
    })
}

#[utoipa::path(post, path = "/api/v1/events/deployments", tag = "events",
    request_body(content = DeploymentsBody, description = "One deployment, or `{\"items\": [...]}`"),
    responses((status = 200, body = EventsStored), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_deployments(
    State(state): State<AppState>,
    _: RequireMember,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<EventsStored>> {
    let items = items::<DeploymentEvent>(body)?;
    let stored = events::record_deployments(&state.store, items, Utc::now()).await?;
    Ok(Json(EventsStored { stored }))
}

#[utoipa::path(post, path = "/api/v1/events/incidents", tag = "events",
    request_body(content = IncidentsBody, description = "One incident, or `{\"items\": [...]}`"),
    responses((status = 200, body = EventsStored), (status = 400, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn post_incidents(
    State(state): State<AppState>,
    _: RequireMember,
    ApiJson(body): ApiJson<Value>,
) -> ApiResult<Json<EventsStored>> {
    let items = items::<IncidentEvent>(body)?;
    let stored = events::record_incidents(&state.store, items, Utc::now()).await?;
    Ok(Json(EventsStored { stored }))
}

/// A deployment sent through this API, as stored (all reports folded).
#[utoipa::path(get, path = "/api/v1/events/deployments/{id}", tag = "events",
    params(("id" = String, Path, description = "The sender's id of the deployment")),
    responses((status = 200, body = Deployment), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_deployment(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<Deployment>> {
    Ok(Json(events::deployment(&state.store, &id).await?))
}

/// An incident sent through this API, as stored.
#[utoipa::path(get, path = "/api/v1/events/incidents/{id}", tag = "events",
    params(("id" = String, Path, description = "The sender's id of the incident")),
    responses((status = 200, body = Incident), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn get_incident(
    State(state): State<AppState>,
    _: RequireMember,
    Path(id): Path<String>,
) -> ApiResult<Json<Incident>> {
    Ok(Json(events::incident(&state.store, &id).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecret {
    /// The secret configured on the GitHub webhook, or the GitLab webhook's
    /// secret token: 16 to 512 characters.
    pub secret: String,
}

#[utoipa::path(put, path = "/api/v1/projects/{project}/webhook-secrets/{provider}", tag = "events",
    request_body = WebhookSecret,
    params(("project" = String, Path, description = "Project id or key", example = "payments-api"),
        ("provider" = Provider, Path, description = "`github` or `gitlab`")),
    responses((status = 204, description = "Set (a previous secret is replaced)"),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn put_webhook_secret(
    State(state): State<AppState>,
    RequireAdmin(who): RequireAdmin,
    client: crate::http::auth::ClientAddress,
    Path((project, provider)): Path<(String, String)>,
    ApiJson(input): ApiJson<WebhookSecret>,
) -> ApiResult<StatusCode> {
    let provider: Provider = match provider.parse() {
        Ok(p @ (Provider::Github | Provider::Gitlab)) => p,
        _ => {
            return Err(ApiError::NotFound(format!(
                "no webhook provider {provider:?}; use github or gitlab"
            )));
        }
    };
    let found =
        tandem_app::org::set_webhook_secret(&state.store, &project, provider, &input.secret)
            .await?;
    crate::http::auth::audit(
        &state,
        &who,
        &client,
        tandem_domain::audit::AuditAction::WebhookSecretSet,
        &format!("{} {provider}", found.key),
        "",
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
