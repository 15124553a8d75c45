//! `/setup/projects/{key}`: a project's name, repositories and services,
//! its service scopes (which repository path prefixes make a service), and
//! its GitHub and GitLab webhook secrets.

use askama::Template;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use tandem_app::{AppError, lookup, org};
use tandem_domain::engineering::Provider;
use tandem_domain::project::{Project, ProjectPatch, ServiceScope};

use super::{absorb, entries, notice};
use crate::AppState;
use crate::web::admin::{CsrfForm, FormErrors};
use crate::web::view::{self, Nav};
use crate::web::{
    AdminViewer, ManagerViewer, PageError, PageForm, PageResult, Viewer, render, render_status,
    see_other,
};

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ProjectForm {
    pub csrf: String,
    pub name: String,
    pub repositories: String,
    pub services: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ScopeForm {
    pub csrf: String,
    pub service: String,
    pub repo: String,
    pub path_prefixes: String,
}

#[derive(Debug)]
pub struct ScopeRow {
    pub service: String,
    pub repo: String,
    /// The prefixes, or "the whole repository".
    pub paths: String,
}

#[derive(Debug)]
pub struct Choice {
    pub value: String,
    pub selected: bool,
}

/// One provider's webhook: where it posts and when its secret was set.
#[derive(Debug)]
pub struct WebhookRow {
    pub provider: &'static str,
    pub label: &'static str,
    pub payload_url: String,
    pub set_on: Option<String>,
}

/// A secret just generated, with what to type into the provider's form.
#[derive(Debug)]
pub struct NewSecret {
    pub label: &'static str,
    pub secret: String,
    pub payload_url: String,
    /// Where the provider's webhook form is.
    pub place: &'static str,
    /// What the provider calls the secret field.
    pub secret_field: &'static str,
    pub content_type: &'static str,
    pub events: &'static [&'static str],
}

/// The events Tandem reads from each provider (`domain::webhook::{github,gitlab}`).
const GITHUB_EVENTS: &[&str] = &[
    "Pushes",
    "Pull requests",
    "Pull request reviews",
    "Deployments",
    "Deployment statuses",
    "Workflow runs",
    "Issues",
    "Releases",
];
const GITLAB_EVENTS: &[&str] = &[
    "Push events",
    "Merge request events",
    "Comments",
    "Pipeline events",
    "Deployment events",
    "Issues events",
    "Releases events",
];

fn provider_label(p: Provider) -> &'static str {
    match p {
        Provider::Github => "GitHub",
        Provider::Gitlab => "GitLab",
        Provider::Api => "API",
    }
}

/// The project page's forms: what was typed and the errors of the one posted.
#[derive(Debug, Default)]
pub struct ProjectForms {
    pub edit: Option<ProjectForm>,
    pub edit_errors: FormErrors,
    pub scope: ScopeForm,
    pub scope_errors: FormErrors,
    pub new_secret: Option<NewSecret>,
}

#[derive(Debug, Template)]
#[template(path = "setup_project.html")]
pub struct ProjectPage {
    pub nav: Nav,
    pub notice: Option<String>,
    pub key: String,
    pub name: String,
    pub team_key: String,
    pub team_name: String,
    pub edit: ProjectForm,
    pub scopes: Vec<ScopeRow>,
    pub services: Vec<Choice>,
    pub repositories: Vec<Choice>,
    pub webhooks: Vec<WebhookRow>,
    /// Only admins generate webhook secrets (as in the API).
    pub admin: bool,
    pub f: ProjectForms,
}

fn choices(values: &[String], selected: &str) -> Vec<Choice> {
    values
        .iter()
        .map(|v| Choice {
            value: v.clone(),
            selected: v == selected,
        })
        .collect()
}

async fn project_page(
    state: &AppState,
    viewer: &Viewer,
    project: &Project,
    notice: Option<String>,
    mut f: ProjectForms,
) -> PageResult<ProjectPage> {
    let id = project.id.to_string();
    let team = state.store.get_team(project.team_id).await?;
    let scopes = org::service_scopes(&state.store, &id)
        .await?
        .into_iter()
        .map(|s| ScopeRow {
            paths: if s.path_prefixes.is_empty() {
                "the whole repository".to_owned()
            } else {
                s.path_prefixes.join(", ")
            },
            service: s.service,
            repo: s.repo,
        })
        .collect();
    let dates = org::webhook_secret_dates(&state.store, &id).await?;
    let base = state.settings.server.public_url();
    let webhooks = [Provider::Github, Provider::Gitlab]
        .into_iter()
        .map(|p| WebhookRow {
            provider: p.as_str(),
            label: provider_label(p),
            payload_url: format!("{base}/webhooks/{p}"),
            set_on: dates
                .iter()
                .find(|(q, _)| *q == p)
                .map(|(_, at)| view::instant(*at)),
        })
        .collect();
    let edit = f.edit.take().unwrap_or_else(|| ProjectForm {
        name: project.name.clone(),
        repositories: project.repositories.join("\n"),
        services: project.services.join("\n"),
        ..ProjectForm::default()
    });
    Ok(ProjectPage {
        nav: viewer.nav("setup"),
        notice,
        key: project.key.clone(),
        name: project.name.clone(),
        team_key: team.key,
        team_name: team.name,
        edit,
        scopes,
        services: choices(&project.services, &f.scope.service),
        repositories: choices(&project.repositories, &f.scope.repo),
        webhooks,
        admin: viewer.user.role.allows(tandem_domain::user::Role::Admin),
        f,
    })
}

/// `GET /setup/projects/{key}`.
pub async fn page(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> PageResult<Response> {
    let project = lookup::project(&state.store, &key).await?;
    let page = project_page(
        &state,
        &viewer,
        &project,
        notice(query.as_deref()),
        ProjectForms::default(),
    );
    render(&page.await?)
}

/// `POST /setup/projects/{key}`: changes the name, repositories and services.
pub async fn update(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<ProjectForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let project = lookup::project(&state.store, &key).await?;
    let patch = ProjectPatch {
        name: Some(form.name.trim().to_owned()),
        repositories: Some(entries(&form.repositories)),
        services: Some(entries(&form.services)),
    };
    let mut f = ProjectForms::default();
    let status = match org::update_project(&state.store, &project.id.to_string(), patch).await {
        Ok(p) => {
            return Ok(see_other(&format!(
                "/setup/projects/{}?done=project-saved",
                p.key
            )));
        }
        Err(e) => absorb(&mut f.edit_errors, e)?,
    };
    f.edit = Some(form);
    let page = project_page(&state, &viewer, &project, None, f).await?;
    render_status(status, &page)
}

/// `POST /setup/projects/{key}/scopes`: scopes a service to path prefixes
/// of one of the project's repositories (replacing its earlier scope).
pub async fn set_scope(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<ScopeForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let project = lookup::project(&state.store, &key).await?;
    let scope = ServiceScope {
        service: form.service.trim().to_owned(),
        repo: form.repo.trim().to_owned(),
        path_prefixes: entries(&form.path_prefixes),
    };
    let mut f = ProjectForms::default();
    let status = match org::set_service_scope(&state.store, &project.id.to_string(), scope).await {
        Ok(_) => {
            return Ok(see_other(&format!(
                "/setup/projects/{}?done=scope-saved",
                project.key
            )));
        }
        Err(e) => absorb(&mut f.scope_errors, e)?,
    };
    f.scope = form;
    let page = project_page(&state, &viewer, &project, None, f).await?;
    render_status(status, &page)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct RemoveScopeForm {
    pub csrf: String,
    pub service: String,
}

/// `POST /setup/projects/{key}/scopes/remove`: the service counts the whole
/// repository again.
pub async fn remove_scope(
    State(state): State<AppState>,
    ManagerViewer(viewer): ManagerViewer,
    Path(key): Path<String>,
    PageForm(form): PageForm<RemoveScopeForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let project = lookup::project(&state.store, &key).await?;
    match org::remove_service_scope(&state.store, &project.id.to_string(), &form.service).await {
        Ok(()) => Ok(see_other(&format!(
            "/setup/projects/{}?done=scope-removed",
            project.key
        ))),
        Err(AppError::NotFound(message)) => {
            let mut f = ProjectForms::default();
            f.scope_errors.form = Some(message);
            let page = project_page(&state, &viewer, &project, None, f).await?;
            render_status(StatusCode::NOT_FOUND, &page)
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /setup/projects/{key}/webhook-secrets/{provider}` (admins): makes a
/// new secret and shows it once with the payload URL and the events to pick.
pub async fn generate_secret(
    State(state): State<AppState>,
    AdminViewer(viewer): AdminViewer,
    Path((key, provider)): Path<(String, String)>,
    PageForm(form): PageForm<CsrfForm>,
) -> PageResult<Response> {
    viewer.check_csrf(&form.csrf)?;
    let provider = match provider.parse::<Provider>() {
        Ok(p @ (Provider::Github | Provider::Gitlab)) => p,
        _ => {
            return Err(PageError::not_found(format!(
                "There is no webhook provider {provider:?}; Tandem takes github and gitlab webhooks."
            )));
        }
    };
    let project = lookup::project(&state.store, &key).await?;
    let (_, secret) =
        org::generate_webhook_secret(&state.store, &project.id.to_string(), provider).await?;
    let payload_url = format!("{}/webhooks/{provider}", state.settings.server.public_url());
    let new_secret = match provider {
        Provider::Gitlab => NewSecret {
            label: "GitLab",
            secret,
            payload_url,
            place: "the GitLab project's Settings → Webhooks → Add new webhook",
            secret_field: "Secret token",
            content_type: "JSON (GitLab always sends JSON)",
            events: GITLAB_EVENTS,
        },
        _ => NewSecret {
            label: "GitHub",
            secret,
            payload_url,
            place: "the GitHub repository's (or organisation's) Settings → Webhooks → Add webhook",
            secret_field: "Secret",
            content_type: "application/json",
            events: GITHUB_EVENTS,
        },
    };
    let f = ProjectForms {
        new_secret: Some(new_secret),
        ..ProjectForms::default()
    };
    let page = project_page(&state, &viewer, &project, None, f).await?;
    render_status(StatusCode::CREATED, &page)
}
