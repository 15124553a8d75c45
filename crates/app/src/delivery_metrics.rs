//! Delivery metrics for every caller: the API (`/api/v1/delivery/...`), the
//! CLI (`tandem metrics ...`), the team page and the weekly report all call
//! these functions, so they show the same numbers.
//!
//! Each one resolves the query (team or project, service, environment,
//! range, bucket; every bad part named: `AppError::BadInput` with the field,
//! which the API answers with 400 and the CLI as `--field`), brings the stored facts up to date
//! (`Store::attribute_pending` under the configured rules), reads the inputs
//! and lets the domain (`tandem_domain::dora`) compute. Team-level only:
//! nothing here is per person.

use chrono::{NaiveDate, Utc};
use serde::Deserialize;
use tandem_domain::dora::{
    self, Bucket, DoraReport, ExplainMetric, Explanation, FlowReport, ItemFact, LeadTimeReport,
    MetricScope, Range, RepoCoverage, ReviewTimeReport,
};
use tandem_domain::project::Project;
use tandem_domain::work_item::WorkKind;
use tandem_store::{ListQuery, Store};
use uuid::Uuid;

use crate::error::{AppError, AppResult};
use crate::paging::all;
use crate::settings::Settings;

/// What a metric is asked for. Exactly one of `team` and `project`.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Team id or key: all of the team's projects.
    pub team: Option<String>,
    /// Project id or key.
    pub project: Option<String>,
    /// One service of the project (or of the team's projects).
    pub service: Option<String>,
    /// Environment (default: `metrics.production_environment`, `production`).
    pub env: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC), included. Required: a missing one is
    /// a 400 naming `since` (the field stays an `Option` so it is).
    #[param(required = true)]
    pub since: Option<NaiveDate>,
    /// Last day, `YYYY-MM-DD` (UTC), included (default: today).
    pub until: Option<NaiveDate>,
    /// `day`, `week` (ISO, Monday first; the default) or `month`.
    #[param(value_type = Option<tandem_domain::dora::Bucket>)]
    pub bucket: Option<String>,
}

/// A query resolved against the store.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub scope: MetricScope,
    pub range: Range,
    /// The projects' repositories (pull requests, coverage).
    pub repos: Vec<String>,
    pub projects: Vec<Project>,
    /// The team whose work items count, and the project filter on them.
    pub team_id: Uuid,
    pub project_filter: Option<Uuid>,
}

async fn team_projects(store: &Store, team_id: Uuid) -> AppResult<Vec<Project>> {
    let by_team = ListQuery {
        team_id: Some(team_id),
        ..ListQuery::default()
    };
    Ok(all(by_team, |q| async move { store.list_projects(&q).await }).await?)
}

/// Resolves a query, naming the parameter that is wrong.
pub async fn resolve(
    store: &Store,
    settings: &Settings,
    q: &DeliveryQuery,
    today: NaiveDate,
) -> AppResult<Resolved> {
    let (projects, team_id, project_filter) = match (&q.team, &q.project) {
        (Some(_), Some(_)) => {
            return Err(AppError::bad_field(
                "project",
                "name a team or a project, not both",
            ));
        }
        (None, None) => {
            return Err(AppError::bad_field(
                "project",
                "name a project (or a team) to measure",
            ));
        }
        (Some(team), None) => {
            let t = crate::lookup::find_team(store, team)
                .await
                .map_err(|e| match e {
                    AppError::NotFound(message) => AppError::bad_field("team", message),
                    other => other,
                })?;
            (team_projects(store, t.id).await?, t.id, None)
        }
        (None, Some(project)) => {
            let p = crate::lookup::find_project(store, project)
                .await
                .map_err(|e| match e {
                    AppError::NotFound(message) => AppError::bad_field("project", message),
                    other => other,
                })?;
            let (team, id) = (p.team_id, p.id);
            (vec![p], team, Some(id))
        }
    };
    if let Some(s) = &q.service
        && !projects.iter().any(|p| p.services.iter().any(|x| x == s))
    {
        let known: Vec<&str> = projects
            .iter()
            .flat_map(|p| p.services.iter().map(String::as_str))
            .collect();
        return Err(AppError::bad_field(
            "service",
            format!(
                "{s:?} is not a service of this scope (its services: {})",
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                }
            ),
        ));
    }
    let bucket = match &q.bucket {
        None => Bucket::Week,
        Some(b) => b
            .parse::<Bucket>()
            .map_err(|e| AppError::bad_field("bucket", e))?,
    };
    let since = q
        .since
        .ok_or_else(|| AppError::bad_field("since", "since (YYYY-MM-DD) is required"))?;
    let until = q.until.unwrap_or(today);
    // The days are the team's local days (docs/metrics.md, "Time zones").
    let zone = store.get_team(team_id).await?.zone();
    let range = Range::new(since, until, bucket)
        .map_err(|e| match e {
            tandem_domain::DomainError::Invalid(errors) if !errors.is_empty() => {
                AppError::bad_field(errors[0].field.clone(), errors[0].message.clone())
            }
            other => AppError::bad_field("since", other.to_string()),
        })?
        .in_zone(zone);
    let environment = match &q.env {
        Some(e) if e.trim().is_empty() => {
            return Err(AppError::bad_field("env", "env must name an environment"));
        }
        Some(e) => e.clone(),
        None => settings.metrics.production_environment.clone(),
    };
    let mut repos: Vec<String> = projects
        .iter()
        .flat_map(|p| p.repositories.iter().cloned())
        .collect();
    repos.sort();
    repos.dedup();
    Ok(Resolved {
        scope: MetricScope {
            project_ids: projects.iter().map(|p| p.id).collect(),
            service: q.service.clone(),
            environment,
        },
        range,
        repos,
        projects,
        team_id,
        project_filter,
    })
}

/// Brings the stored facts up to date under the configured rules.
pub async fn prepare(store: &Store, settings: &Settings) -> AppResult<()> {
    store.set_metric_rules(&settings.metrics.rules()).await?;
    store.attribute_pending().await?;
    Ok(())
}

/// Brings the stored facts up to date ([`prepare`]) and returns their
/// version (`Store::metric_data_version`): caches of delivery figures key on
/// it, so a new deployment, incident, commit or rule is shown on the next
/// read, by this process or any other, on either engine.
pub async fn data_version(store: &Store, settings: &Settings) -> AppResult<i64> {
    prepare(store, settings).await?;
    Ok(store.metric_data_version().await?)
}

fn today() -> NaiveDate {
    Utc::now().date_naive()
}

/// Resolves, prepares, and returns the resolved query.
async fn ready(store: &Store, settings: &Settings, q: &DeliveryQuery) -> AppResult<Resolved> {
    let r = resolve(store, settings, q, today()).await?;
    prepare(store, settings).await?;
    Ok(r)
}

/// The DORA four keys with their levels.
pub async fn dora(store: &Store, settings: &Settings, q: &DeliveryQuery) -> AppResult<DoraReport> {
    let r = ready(store, settings, q).await?;
    let inputs = store.dora_inputs(&r.scope, &r.range).await?;
    Ok(dora::report(&r.scope, &r.range, &inputs))
}

/// Lead time for changes, by bucket, with the pull-request view.
pub async fn lead_time(
    store: &Store,
    settings: &Settings,
    q: &DeliveryQuery,
) -> AppResult<LeadTimeReport> {
    let r = ready(store, settings, q).await?;
    let inputs = store.dora_inputs(&r.scope, &r.range).await?;
    let prs = store.pr_facts(&r.repos, &r.scope, &r.range).await?;
    Ok(dora::lead_time_report(&r.scope, &r.range, &inputs, &prs))
}

/// Code review time of the pull requests merged in the range.
pub async fn review_time(
    store: &Store,
    settings: &Settings,
    q: &DeliveryQuery,
) -> AppResult<ReviewTimeReport> {
    let r = ready(store, settings, q).await?;
    let prs = store.pr_facts(&r.repos, &r.scope, &r.range).await?;
    Ok(dora::review_time_report(&r.range, &prs))
}

async fn items(store: &Store, r: &Resolved) -> AppResult<Vec<ItemFact>> {
    Ok(store
        .team_work_items(r.team_id)
        .await?
        .into_iter()
        .filter(|w| r.project_filter.is_none_or(|p| w.project_id == Some(p)))
        .map(|w| ItemFact {
            id: w.id,
            title: w.title,
            kind: w.kind,
            state: w.state,
            created_at: w.created_at,
            started_at: w.started_at,
            done_at: w.done_at,
        })
        .collect())
}

fn debt_target(settings: &Settings) -> f64 {
    settings
        .metrics
        .debt_target_percent
        .unwrap_or(settings.planning.debt_target_percent)
}

/// Cycle time, throughput, production bugs and tech-debt share (work
/// items; `service` and `env` do not apply and are refused).
pub async fn flow(store: &Store, settings: &Settings, q: &DeliveryQuery) -> AppResult<FlowReport> {
    if q.service.is_some() {
        return Err(AppError::bad_field(
            "service",
            "work item metrics are per team or project, not per service",
        ));
    }
    if q.env.is_some() {
        return Err(AppError::bad_field(
            "env",
            "work item metrics have no environment",
        ));
    }
    let r = resolve(store, settings, q, today()).await?;
    let items = items(store, &r).await?;
    Ok(dora::flow_report(&r.range, &items, debt_target(settings)))
}

/// Test coverage reported by the pipelines of the scope's repositories.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct CoverageReport {
    pub since: NaiveDate,
    pub until: NaiveDate,
    pub bucket: Bucket,
    pub repos: Vec<RepoCoverage>,
}

pub async fn coverage(
    store: &Store,
    settings: &Settings,
    q: &DeliveryQuery,
) -> AppResult<CoverageReport> {
    let r = resolve(store, settings, q, today()).await?;
    let points = store.coverage_points(&r.repos, &r.range).await?;
    Ok(CoverageReport {
        since: r.range.start,
        until: r.range.end.pred_opt().unwrap_or(r.range.end),
        bucket: r.range.bucket,
        repos: dora::coverage_report(&r.range, &r.repos, &points),
    })
}

/// The deployments, commits, pull requests, incidents or work items behind
/// one metric's number for the query.
pub async fn explain(
    store: &Store,
    settings: &Settings,
    q: &DeliveryQuery,
    metric: ExplainMetric,
) -> AppResult<Explanation> {
    let r = ready(store, settings, q).await?;
    let mut ex = Explanation {
        metric,
        definition: metric.definition().to_owned(),
        since: r.range.start,
        until: r.range.end.pred_opt().unwrap_or(r.range.end),
        environment: r.scope.environment.clone(),
        service: r.scope.service.clone(),
        deployments: Vec::new(),
        incidents: Vec::new(),
        pull_requests: Vec::new(),
        work_items: Vec::new(),
    };
    let (from, to) = (r.range.start_at(), r.range.end_at());
    match metric {
        ExplainMetric::DeploymentFrequency => {
            ex.deployments = store.explain_deployments(&r.scope, &r.range).await?;
        }
        ExplainMetric::LeadTime => {
            ex.deployments = store
                .explain_deployments(&r.scope, &r.range)
                .await?
                .into_iter()
                .filter(|d| !d.commits.is_empty() || !d.notes.is_empty())
                .collect();
        }
        ExplainMetric::ChangeFailureRate => {
            ex.deployments = store
                .explain_deployments(&r.scope, &r.range)
                .await?
                .into_iter()
                .filter(|d| d.is_change)
                .collect();
            ex.incidents = store.incidents_in(&r.scope, &r.range).await?;
        }
        ExplainMetric::TimeToRestore => {
            ex.incidents = store.incidents_in(&r.scope, &r.range).await?;
        }
        ExplainMetric::PullRequests | ExplainMetric::ReviewTime => {
            ex.pull_requests = store.pr_facts(&r.repos, &r.scope, &r.range).await?;
        }
        ExplainMetric::CycleTime | ExplainMetric::Throughput | ExplainMetric::DebtShare => {
            ex.work_items = items(store, &r)
                .await?
                .into_iter()
                .filter(|i| {
                    i.state == tandem_domain::work_item::WorkState::Done
                        && i.done_at.is_some_and(|d| d >= from && d < to)
                })
                .collect();
        }
        ExplainMetric::Bugs => {
            ex.work_items = items(store, &r)
                .await?
                .into_iter()
                .filter(|i| i.kind == WorkKind::Bug && i.created_at < to)
                .collect();
        }
    }
    Ok(ex)
}

/// The incidents of a team's projects (one service's, when named) that are
/// not resolved, whenever they were opened: `tandem_incidents_open`.
pub async fn open_incidents(
    store: &Store,
    settings: &Settings,
    team_id: Uuid,
    service: Option<&str>,
) -> AppResult<Vec<tandem_domain::dora::IncidentFact>> {
    let projects = team_projects(store, team_id).await?;
    let scope = MetricScope {
        project_ids: projects.iter().map(|p| p.id).collect(),
        service: service.map(str::to_owned),
        environment: settings.metrics.production_environment.clone(),
    };
    Ok(store.open_incidents(&scope).await?)
}
