//! Deployments and incidents from any CI/CD tool or pager: what
//! `POST /api/v1/events/{deployments,incidents}` and `tandem deploy record`,
//! `tandem incident open|resolve` store, through the same functions.
//!
//! Rules:
//! - An event names its service; its project is the one named by `project`
//!   or else the only project listing the service.
//! - A deployment may name the repository and commit it deployed (`repo` +
//!   `sha`, together): the repository must be one the project lists (else
//!   `Invalid` on `repo`); the sha need not be in the imported history yet.
//!   Such a deployment is stored exactly as a GitHub deployment is (repo,
//!   sha) and attributed by the same rules (`domain::attribution`): a graph
//!   walk from the previous deployment, or "waiting for history" until the
//!   commit arrives. `commits` is an explicit override of those rules.
//! - A batch is all or nothing: every item is checked before anything is
//!   stored, errors name the item and field (`items[3].repo`), and the
//!   records are written in one transaction.
//! - Idempotent on `(source "api", id)`: sending an event again updates it
//!   (a deployment's final status) or changes nothing (`updated_at` comes
//!   from the event's own times, never from the clock).

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tandem_domain::engineering::{CommitRef, Deployment, DeploymentStatus, Incident, Record};
use tandem_domain::project::Project;
use tandem_domain::time::{micros, micros_opt};
use tandem_domain::{DomainError, FieldError};
use tandem_store::{ListQuery, Store};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::paging;

/// The source of every record stored through here.
pub const SOURCE: &str = "api";

/// The most items one batch may carry.
pub const MAX_BATCH_ITEMS: usize = 5_000;

/// A deployment reported by a CI/CD tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(examples(json!({"id": "deploy-2026-04-03-1", "service": "payments-api", "environment": "production", "started_at": "2026-04-03T14:00:00Z", "finished_at": "2026-04-03T14:06:30Z", "status": "success", "repo": "acme/payments-api", "sha": "9f2c4e1b7a3d5e6f8091a2b3c4d5e6f708192a3b", "project": "payments-api"})))]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<DateTime<Utc>>,
    pub status: DeploymentStatus,
    /// The repository deployed (`owner/name`), one the project lists;
    /// given together with `sha`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    /// The commit deployed (40 hex digits). Its shipped commits are found
    /// as for a GitHub deployment: the history from the previous successful
    /// deployment of the service to the environment. A commit not imported
    /// yet is accepted; the deployment is attributed when it arrives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// The commits this deployment shipped: an explicit override of the
    /// history walk from `sha`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commits: Vec<CommitRef>,
    /// Project id or key, when the service name alone is ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// A rollback or revert deployment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_rollback: bool,
}

/// An incident reported by an incident tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IncidentEvent {
    pub id: String,
    pub service: String,
    /// As the tool names it (`sev1`, `critical`, ...).
    pub severity: String,
    pub opened_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<DateTime<Utc>>,
    /// The `id` of the deployment (sent to this API) that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caused_by_deployment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Project id or key, when the service name alone is ambiguous.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
}

impl IncidentEvent {
    /// The event that reports a stored incident as it is (to resolve it, or
    /// to send it again).
    pub fn of(stored: &Incident) -> IncidentEvent {
        IncidentEvent {
            id: stored.external_id.clone(),
            service: stored.service.clone().unwrap_or_default(),
            severity: stored.severity.clone(),
            opened_at: stored.opened_at,
            resolved_at: stored.resolved_at,
            caused_by_deployment: stored.caused_by.clone(),
            title: Some(stored.title.clone()),
            project: Some(stored.project_id.to_string()),
        }
    }
}

/// One event of a request with the path that names its fields in errors
/// (`""` for a single event, `items[3].` in a batch).
#[derive(Debug, Clone)]
pub struct Item<E> {
    pub prefix: String,
    pub event: E,
}

impl<E> Item<E> {
    /// A single event (fields named without a prefix).
    pub fn one(event: E) -> Item<E> {
        Item {
            prefix: String::new(),
            event,
        }
    }
}

/// Checks every deployment, then stores them all in one transaction.
/// Returns how many were stored (a repeated one counts).
pub async fn record_deployments(
    store: &Store,
    items: Vec<Item<DeploymentEvent>>,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let now = micros(now);
    let mut projects = Projects::default();
    let mut records = Vec::with_capacity(items.len());
    for Item { prefix, event } in items {
        let project = projects
            .owning(store, &prefix, &event.service, event.project.as_deref())
            .await?;
        records.push(Record::Deployment(build_deployment(
            &prefix, event, &project, now,
        )?));
    }
    store_all(store, records).await
}

/// Checks every incident, then stores them all in one transaction.
pub async fn record_incidents(
    store: &Store,
    items: Vec<Item<IncidentEvent>>,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    record_incidents_from(store, SOURCE, items, now).await
}

/// As [`record_incidents`], for incidents from another sender (`source`:
/// `alertmanager`, ...), idempotent on `(source, id)`. The one path by
/// which incidents from any tool are stored.
pub async fn record_incidents_from(
    store: &Store,
    source: &str,
    items: Vec<Item<IncidentEvent>>,
    now: DateTime<Utc>,
) -> AppResult<usize> {
    let now = micros(now);
    let mut projects = Projects::default();
    let mut records = Vec::with_capacity(items.len());
    for Item { prefix, event } in items {
        let project = projects
            .owning(store, &prefix, &event.service, event.project.as_deref())
            .await?;
        records.push(Record::Incident(build_incident(
            &prefix, source, event, &project, now,
        )?));
    }
    store_all(store, records).await
}

/// Stores one incident reported by another part of Tandem (`source`
/// `check` for health checks) through the same rules as the events API:
/// the same project resolution, validation and idempotent upsert on
/// `(source, id)`. Returns the stored incident.
///
/// `reported_at` is when this version was made (default: from the event's
/// times, as for the API); a reopened incident passes the reopening time so
/// that it wins over its stored resolution.
pub async fn record_incident_from(
    store: &Store,
    source: &str,
    event: IncidentEvent,
    reported_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> AppResult<Incident> {
    let now = micros(now);
    let project = owning_project(store, "", &event.service, event.project.as_deref()).await?;
    let id = event.id.clone();
    let mut incident = build_incident("", source, event, &project, now)?;
    if let Some(at) = reported_at {
        incident.updated_at = micros(at).max(incident.updated_at);
    }
    store.upsert_incident(&incident).await?;
    store
        .get_incident(source, &id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("incident {id:?} was not stored")))
}

/// The project an event on `service` belongs to: the one named by
/// `project`, or the only one listing the service (errors name
/// `{prefix}service` / `{prefix}project`).
pub async fn owning_project(
    store: &Store,
    prefix: &str,
    service: &str,
    project: Option<&str>,
) -> AppResult<Project> {
    Projects::default()
        .owning(store, prefix, service, project)
        .await
}

/// A deployment sent through the events API, by its sender's id.
pub async fn deployment(store: &Store, id: &str) -> AppResult<Deployment> {
    store
        .get_deployment(SOURCE, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no deployment {id:?} was recorded")))
}

/// An incident sent through the events API, by its sender's id.
pub async fn incident(store: &Store, id: &str) -> AppResult<Incident> {
    store
        .get_incident(SOURCE, id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no incident {id:?} was recorded")))
}

fn build_deployment(
    prefix: &str,
    e: DeploymentEvent,
    project: &Project,
    now: DateTime<Utc>,
) -> AppResult<Deployment> {
    let field = |name: &str| format!("{prefix}{name}");
    if e.status.is_final() && e.finished_at.is_none() {
        return Err(AppError::invalid(
            field("finished_at"),
            format!("is required when the status is {}", e.status),
        ));
    }
    let repo = match (e.repo.as_deref().map(str::trim), &e.sha) {
        (None, None) => None,
        (Some(repo), Some(_)) => Some(listed_repo(project, repo).ok_or_else(|| {
            AppError::invalid(
                field("repo"),
                format!(
                    "project {} does not list the repository {repo:?} ({}); add it to the \
                     project's repositories",
                    project.key,
                    if project.repositories.is_empty() {
                        "it lists none".to_owned()
                    } else {
                        format!("it lists: {}", project.repositories.join(", "))
                    }
                ),
            )
        })?),
        (Some(_), None) => {
            return Err(AppError::invalid(
                field("sha"),
                "is required with repo: the commit deployed",
            ));
        }
        (None, Some(_)) => {
            return Err(AppError::invalid(
                field("repo"),
                "is required with sha: the repository the commit is in",
            ));
        }
    };
    let d = Deployment {
        id: Uuid::now_v7(),
        source: SOURCE.to_owned(),
        external_id: e.id,
        project_id: project.id,
        service: e.service,
        // Lower-cased like the webhooks' (`Production` is `production`).
        environment: e.environment.trim().to_lowercase(),
        status: e.status,
        repo,
        sha: e.sha.map(|s| s.trim().to_ascii_lowercase()),
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
    Ok(d)
}

/// The project's own spelling of a repository it lists (compared without
/// regard to case, as the webhook receivers match repositories), so the
/// deployment names the repository its imported history is stored under.
fn listed_repo(project: &Project, repo: &str) -> Option<String> {
    project
        .repositories
        .iter()
        .find(|r| r.eq_ignore_ascii_case(repo))
        .cloned()
}

fn build_incident(
    prefix: &str,
    source: &str,
    e: IncidentEvent,
    project: &Project,
    now: DateTime<Utc>,
) -> AppResult<Incident> {
    let title = match e.title {
        Some(t) if !t.trim().is_empty() => t,
        _ => format!("Incident {}", e.id),
    };
    let i = Incident {
        id: Uuid::now_v7(),
        source: source.to_owned(),
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
    Ok(i)
}

/// Prefixes the fields of a domain error with the item's path.
fn prefixed(prefix: &str, e: DomainError) -> AppError {
    match e {
        DomainError::Invalid(errors) => AppError::Invalid(
            errors
                .into_iter()
                .map(|f| FieldError::new(format!("{prefix}{}", f.field), f.message))
                .collect(),
        ),
        other => other.into(),
    }
}

/// The projects, read once per request.
#[derive(Default)]
struct Projects(Option<Vec<Project>>);

impl Projects {
    /// The project an event belongs to: the one named by `project`, or the
    /// only one listing the service.
    async fn owning(
        &mut self,
        store: &Store,
        prefix: &str,
        service: &str,
        project: Option<&str>,
    ) -> AppResult<Project> {
        if self.0.is_none() {
            let all = paging::all(ListQuery::default(), |q| async move {
                store.list_projects(&q).await
            })
            .await?;
            self.0 = Some(all);
        }
        let projects = self.0.as_deref().unwrap_or_default();
        let field = |name: &str| format!("{prefix}{name}");
        if let Some(named) = project {
            let found = projects
                .iter()
                .find(|p| p.key == named || Uuid::try_parse(named).is_ok_and(|id| id == p.id))
                .ok_or_else(|| {
                    AppError::invalid(
                        field("project"),
                        format!("no project has the id or key {named:?}"),
                    )
                })?;
            if !found.services.iter().any(|s| s == service) {
                return Err(AppError::invalid(
                    field("service"),
                    format!(
                        "project {} does not list the service {service:?}",
                        found.key
                    ),
                ));
            }
            return Ok(found.clone());
        }
        let serving: Vec<&Project> = projects
            .iter()
            .filter(|p| p.services.iter().any(|s| s == service))
            .collect();
        match serving[..] {
            [one] => Ok(one.clone()),
            [] => Err(AppError::invalid(
                field("service"),
                format!("no project lists the service {service:?}; add it to a project's services"),
            )),
            _ => Err(AppError::invalid(
                field("service"),
                format!(
                    "several projects list the service {service:?} ({}); name one in `project`",
                    serving
                        .iter()
                        .map(|p| p.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        }
    }
}

async fn store_all(store: &Store, records: Vec<Record>) -> AppResult<usize> {
    let mut seen = HashSet::new();
    for (i, r) in records.iter().enumerate() {
        let key = match r {
            Record::Deployment(d) => &d.external_id,
            Record::Incident(x) => &x.external_id,
            _ => continue,
        };
        if !seen.insert(key.clone()) && records.len() > 1 {
            return Err(AppError::invalid(
                format!("items[{i}].id"),
                format!("{key:?} is listed twice in this batch"),
            ));
        }
    }
    store.upsert_records(&records).await?;
    Ok(records.len())
}

/// Incidents of every source (the events API, checks, webhooks), newest
/// first, with their acknowledgement: `tandem incident list` and
/// `GET /api/v1/incidents`.
pub async fn list_incidents(
    store: &Store,
    open_only: bool,
    limit: i64,
) -> AppResult<Vec<tandem_store::IncidentEntry>> {
    Ok(store
        .list_incident_entries(open_only, limit.clamp(1, 1000))
        .await?)
}

/// One incident by its id or its sender's id (any source).
pub async fn find_incident(store: &Store, id: &str) -> AppResult<tandem_store::IncidentEntry> {
    store
        .find_incident_entry(id)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no incident {id:?} was recorded")))
}

/// Acknowledges an incident (someone is on it); the first acknowledgement
/// stays. Returns the incident.
pub async fn acknowledge(
    store: &Store,
    id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> AppResult<tandem_store::IncidentEntry> {
    let found = find_incident(store, id).await?;
    store
        .acknowledge_incident(found.id, by, micros(now))
        .await?;
    find_incident(store, &found.id.to_string()).await
}
