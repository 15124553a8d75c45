//! The generic events API for any CI/CD or incident tool, and webhook
//! secret management.
//!
//! `POST /api/v1/events/deployments` and `/api/v1/events/incidents` take one
//! object or a batch `{"items": [...]}` (for backfill). A batch is all or
//! nothing: every item is checked first, errors name the item and field
//! (`items[3].started_at`), and everything is stored in one transaction.
//! Both are idempotent on `(source "api", id)`: sending an item again
//! updates it (a deployment's final status) or changes nothing.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tandem_domain::FieldError;
use tandem_domain::engineering::{
    CommitRef, Deployment, DeploymentStatus, Incident, Provider, Record,
};
use tandem_domain::project::Project;
use tandem_domain::time::{micros, micros_opt};
use uuid::Uuid;

use super::new_id;
use crate::AppState;
use crate::http::auth::{RequireAdmin, RequireMember};
use crate::http::error::{ApiError, ApiResult, ErrorBody};
use crate::http::extract::ApiJson;

/// The most items one batch may carry.
pub const MAX_BATCH_ITEMS: usize = 5_000;

const SOURCE: &str = "api";

/// A deployment reported by a CI/CD tool.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentEvent {
    /// The sender's id of the deployment; sending the same id again updates
    /// it (e.g. with its final status).
    pub id: String,
    /// The service deployed, as the project's `services` list it.
    pub service: String,
    /// `production`, `staging`, ... (kept apart; stored lower-cased).
    pub environment: String,
    pub started_at: DateTime<Utc>,
    /// Required once the status is final.
    #[serde(default)]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: DeploymentStatus,
    /// The commits this deployment shipped.
    #[serde(default)]
    pub commits: Vec<CommitRef>,
    /// Project id or key, when the service name alone is ambiguous.
    #[serde(default)]
    pub project: Option<String>,
    /// A rollback or revert deployment.
    #[serde(default)]
    pub is_rollback: bool,
}

/// An incident reported by an incident tool.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentEvent {
    pub id: String,
    pub service: String,
    /// As the tool names it (`sev1`, `critical`, ...).
    pub severity: String,
    pub opened_at: DateTime<Utc>,
    #[serde(default)]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The `id` of the deployment (sent to this API) that caused it.
    #[serde(default)]
    pub caused_by_deployment: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// Project id or key, when the service name alone is ambiguous.
    #[serde(default)]
    pub project: Option<String>,
}

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
fn items<T: DeserializeOwned>(body: Value) -> ApiResult<Vec<(String, T)>> {
    let batch = body.as_object().is_some_and(|o| o.contains_key("items"));
    if !batch {
        return Ok(vec![(String::new(), parse_item(body, "")?)]);
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
            parse_item(v, &prefix).map(|t| (prefix, t))
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

/// Prefixes the fields of a domain error with the item's path.
fn prefixed(prefix: &str, e: tandem_domain::DomainError) -> ApiError {
    match e {
        tandem_domain::DomainError::Invalid(errors) => ApiError::Invalid(
            errors
                .into_iter()
                .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message))
                .collect(),
        ),
        other => other.into(),
    }
}

/// The project a generic event belongs to: the one named by `project`, or
/// the only one listing the service.
async fn project_for(
    state: &AppState,
    projects: &mut Vec<Project>,
    prefix: &str,
    service: &str,
    project: Option<&str>,
) -> ApiResult<Project> {
    if projects.is_empty() {
        let store = &state.store;
        *projects = paging::all(tandem_store::ListQuery::default(), |q| async move {
            store.list_projects(&q).await
        })
        .await?;
    }
    let serving: Vec<&Project> = projects
        .iter()
        .filter(|p| p.services.iter().any(|s| s == service))
        .collect();
    match project {
        Some(named) => {
            let found = projects
                .iter()
                .find(|p| p.key == named || Uuid::try_parse(named).is_ok_and(|id| id == p.id))
                .ok_or_else(|| {
                    ApiError::invalid(
                        format!("{prefix}project"),
                        format!("no project has the id or key {named:?}"),
                    )
                })?;
            if !found.services.iter().any(|s| s == service) {
                return Err(ApiError::invalid(
                    format!("{prefix}service"),
                    format!(
                        "project {} does not list the service {service:?}",
                        found.key
                    ),
                ));
            }
            Ok(found.clone())
        }
        None => match serving[..] {
            [one] => Ok(one.clone()),
            [] => Err(ApiError::invalid(
                format!("{prefix}service"),
                format!("no project lists the service {service:?}; add it to a project's services"),
            )),
            _ => Err(ApiError::invalid(
                format!("{prefix}service"),
                format!(
                    "several projects list the service {service:?} ({}); name one in `project`",
                    serving
                        .iter()
                        .map(|p| p.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        },
    }
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
    ingest(&state, body, |prefix, e: DeploymentEvent, project, now| {
        if e.status.is_final() && e.finished_at.is_none() {
            return Err(ApiError::invalid(
                format!("{prefix}finished_at"),
                format!("is required when the status is {}", e.status),
            ));
        }
        let d = Deployment {
            id: new_id(),
            source: SOURCE.to_owned(),
            external_id: e.id,
            project_id: project.id,
            service: e.service,
            // Lower-cased like the webhooks' (`Production` is `production`).
            environment: e.environment.trim().to_lowercase(),
            status: e.status,
            repo: None,
            sha: None,
            is_rollback: e.is_rollback,
            explicit_commits: e
                .commits
                .into_iter()
                .map(|c| CommitRef {
                    repo: c.repo,
                    sha: c.sha.to_ascii_lowercase(),
                })
                .collect(),
            started_at: micros(e.started_at),
            finished_at: micros_opt(e.finished_at),
            created_at: now,
            // From the event, so that sending it again changes nothing.
            updated_at: micros(e.finished_at.unwrap_or(e.started_at)),
        };
        d.validate().map_err(|err| prefixed(prefix, err))?;
        Ok(Record::Deployment(d))
    })
    .await
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
    ingest(&state, body, |prefix, e: IncidentEvent, project, now| {
        let title = match e.title {
            Some(t) if !t.trim().is_empty() => t,
            _ => format!("Incident {}", e.id),
        };
        let i = Incident {
            id: new_id(),
            source: SOURCE.to_owned(),
            external_id: e.id,
            project_id: project.id,
            service: Some(e.service),
            title,
            severity: e.severity,
            opened_at: micros(e.opened_at),
            resolved_at: micros_opt(e.resolved_at),
            caused_by: e.caused_by_deployment,
            created_at: now,
            // From the event, so that sending it again changes nothing.
            updated_at: micros(e.resolved_at.unwrap_or(e.opened_at)),
        };
        i.validate().map_err(|err| prefixed(prefix, err))?;
        Ok(Record::Incident(i))
    })
    .await
}

/// A generic event: the service it concerns and, optionally, its project.
trait ServiceEvent: DeserializeOwned {
    fn service(&self) -> &str;
    fn project(&self) -> Option<&str>;
}

impl ServiceEvent for DeploymentEvent {
    fn service(&self) -> &str {
        &self.service
    }
    fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

impl ServiceEvent for IncidentEvent {
    fn service(&self) -> &str {
        &self.service
    }
    fn project(&self) -> Option<&str> {
        self.project.as_deref()
    }
}

/// Reads one event or a batch, finds each event's project, turns each into
/// a record with `build` (given the item's field prefix and the time now),
/// and stores them all in one transaction.
async fn ingest<E: ServiceEvent>(
    state: &AppState,
    body: Value,
    build: impl Fn(&str, E, &Project, DateTime<Utc>) -> ApiResult<Record>,
) -> ApiResult<Json<EventsStored>> {
    let now = micros(Utc::now());
    let mut projects = Vec::new();
    let mut records = Vec::new();
    for (prefix, e) in items::<E>(body)? {
        let project = project_for(state, &mut projects, &prefix, e.service(), e.project()).await?;
        records.push(build(&prefix, e, &project, now)?);
    }
    store_all(state, records).await
}

async fn store_all(state: &AppState, records: Vec<Record>) -> ApiResult<Json<EventsStored>> {
    let mut seen = std::collections::HashSet::new();
    for (i, r) in records.iter().enumerate() {
        let key = match r {
            Record::Deployment(d) => &d.external_id,
            Record::Incident(x) => &x.external_id,
            _ => continue,
        };
        if !seen.insert(key.clone()) && records.len() > 1 {
            return Err(ApiError::invalid(
                format!("items[{i}].id"),
                format!("{key:?} is listed twice in this batch"),
            ));
        }
    }
    state.store.upsert_records(&records).await?;
    Ok(Json(EventsStored {
        stored: records.len(),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookSecret {
    /// The secret configured on the GitHub webhook, or the GitLab webhook's
    /// secret token: 16 to 512 characters.
    pub secret: String,
}

use tandem_app::credentials::check_webhook_secret;
use tandem_app::{lookup, paging};

#[utoipa::path(put, path = "/api/v1/projects/{project}/webhook-secrets/{provider}", tag = "events",
    request_body = WebhookSecret,
    params(("project" = String, Path, description = "Project id or key"),
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
    let found = lookup::project(&state.store, &project).await?;
    check_webhook_secret(&input.secret).map_err(|e| ApiError::invalid("secret", e))?;
    state
        .store
        .set_webhook_secret(found.id, provider, &input.secret, Utc::now())
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
