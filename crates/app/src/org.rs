//! Setting an organisation up: teams and their members, projects with their
//! repositories, services, service scopes and webhook secrets. The API, the
//! web set-up pages and the CLI (`tandem team|member|project`,
//! `tandem webhook-secret`) call these, so a refusal reads the same
//! everywhere and nothing is stored when one is refused.

use chrono::{DateTime, Utc};
use tandem_domain::engineering::Provider;
use tandem_domain::project::{NewProject, Project, ProjectPatch, ServiceScope};
use tandem_domain::team::{NewTeam, Team, TeamPatch};
use tandem_domain::user::User;
use tandem_store::Store;
use uuid::Uuid;

use crate::credentials::{check_webhook_secret, new_webhook_secret};
use crate::lookup;
use crate::{AppError, AppResult};

/// The most names a "not found" message lists before "…".
const NAMES_LISTED: usize = 30;

/// Creates a team; a key already taken is a conflict naming `key`.
pub async fn create_team(store: &Store, input: NewTeam) -> AppResult<Team> {
    let team = input.into_team(Uuid::now_v7(), Utc::now())?;
    store.create_team(&team).await?;
    Ok(team)
}

/// Changes a team's name or time zone.
pub async fn update_team(store: &Store, team: &str, patch: TeamPatch) -> AppResult<Team> {
    let mut t = find_team(store, team).await?;
    t.apply(patch, Utc::now())?;
    store.update_team(&t).await?;
    Ok(t)
}

/// Creates a project in a team; a key already taken is a conflict naming
/// `key`.
pub async fn create_project(store: &Store, input: NewProject) -> AppResult<Project> {
    let project = input.into_project(Uuid::now_v7(), Utc::now())?;
    store.create_project(&project).await?;
    Ok(project)
}

/// Changes a project's name, repositories or services. A service or
/// repository a service scope names cannot be dropped while the scope
/// exists (a conflict naming `services` or `repositories`): remove the
/// scope first.
pub async fn update_project(
    store: &Store,
    project: &str,
    patch: ProjectPatch,
) -> AppResult<Project> {
    let mut p = find_project(store, project).await?;
    p.apply(patch, Utc::now())?;
    for scope in store.list_service_scopes(p.id).await? {
        if !p.services.contains(&scope.service) {
            return Err(AppError::conflict(
                Some("services"),
                format!(
                    "service {:?} has a scope in project {}; remove the scope before the service",
                    scope.service, p.key
                ),
            ));
        }
        if !p.repositories.contains(&scope.repo) {
            return Err(AppError::conflict(
                Some("repositories"),
                format!(
                    "repository {:?} scopes service {:?} in project {}; remove the scope before the repository",
                    scope.repo, scope.service, p.key
                ),
            ));
        }
    }
    store.update_project(&p).await?;
    Ok(p)
}

/// Adds a repository (`owner/name`, or a GitLab path with subgroups) to a
/// project; adding one it already lists changes nothing.
pub async fn add_repository(store: &Store, project: &str, repo: &str) -> AppResult<Project> {
    let p = find_project(store, project).await?;
    if p.repositories.iter().any(|r| r == repo) {
        return Ok(p);
    }
    let mut repositories = p.repositories.clone();
    repositories.push(repo.to_owned());
    let patch = ProjectPatch {
        repositories: Some(repositories),
        ..ProjectPatch::default()
    };
    update_project(store, &p.id.to_string(), patch).await
}

/// Adds a service (as deployments and incidents name it) to a project;
/// adding one it already lists changes nothing.
pub async fn add_service(store: &Store, project: &str, service: &str) -> AppResult<Project> {
    let p = find_project(store, project).await?;
    if p.services.iter().any(|s| s == service) {
        return Ok(p);
    }
    let mut services = p.services.clone();
    services.push(service.to_owned());
    let patch = ProjectPatch {
        services: Some(services),
        ..ProjectPatch::default()
    };
    update_project(store, &p.id.to_string(), patch).await
}

/// The project's service scopes.
pub async fn service_scopes(store: &Store, project: &str) -> AppResult<Vec<ServiceScope>> {
    let p = find_project(store, project).await?;
    Ok(store.list_service_scopes(p.id).await?)
}

/// Scopes one of the project's services to path prefixes of one of its
/// repositories (replacing the service's earlier scope). The service's
/// deployments are attributed again.
pub async fn set_service_scope(
    store: &Store,
    project: &str,
    scope: ServiceScope,
) -> AppResult<ServiceScope> {
    let p = find_project(store, project).await?;
    scope.validate_for(&p)?;
    store
        .set_service_scope(p.id, &scope.service, &scope.repo, &scope.path_prefixes)
        .await?;
    Ok(scope)
}

/// Removes a service's scope: its deployments count the whole repository again.
pub async fn remove_service_scope(store: &Store, project: &str, service: &str) -> AppResult<()> {
    let p = find_project(store, project).await?;
    if store.remove_service_scope(p.id, service).await? {
        Ok(())
    } else {
        let scoped: Vec<String> = store
            .list_service_scopes(p.id)
            .await?
            .into_iter()
            .map(|s| s.service)
            .collect();
        Err(AppError::NotFound(format!(
            "service {service:?} of project {} has no scope ({})",
            p.key,
            known("scoped services", &scoped)
        )))
    }
}

/// The members of a team.
pub async fn members(store: &Store, team: &str) -> AppResult<Vec<User>> {
    let t = find_team(store, team).await?;
    Ok(store.team_members(t.id).await?)
}

/// Adds a user to a team; adding a member again changes nothing.
pub async fn add_member(store: &Store, team: &str, username: &str) -> AppResult<User> {
    let t = find_team(store, team).await?;
    let user = user(store, username).await?;
    store.add_member(t.id, user.id).await?;
    Ok(user)
}

/// Removes a user from a team; not found when they were not a member.
pub async fn remove_member(store: &Store, team: &str, username: &str) -> AppResult<()> {
    let t = find_team(store, team).await?;
    let user = user(store, username).await?;
    if store.remove_member(t.id, user.id).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "{username} is not a member of team {}",
            t.key
        )))
    }
}

async fn user(store: &Store, username: &str) -> AppResult<User> {
    match store.find_user_by_username(username).await? {
        Some((user, _)) => Ok(user),
        None => {
            let names: Vec<String> = store
                .list_users()
                .await?
                .into_iter()
                .map(|u| u.username)
                .collect();
            Err(AppError::NotFound(format!(
                "no user is named {username:?} ({})",
                known("users", &names)
            )))
        }
    }
}

/// A team by id or key; when none matches, the error suggests the closest
/// keys ([`lookup::find_team`], the one definition).
pub async fn find_team(store: &Store, id_or_key: &str) -> AppResult<Team> {
    lookup::find_team(store, id_or_key).await
}

/// A project by id or key; when none matches, the error suggests the
/// closest keys ([`lookup::find_project`]).
pub async fn find_project(store: &Store, id_or_key: &str) -> AppResult<Project> {
    lookup::find_project(store, id_or_key).await
}

/// "teams: a, b, c" (at most [`NAMES_LISTED`], then "…"), or "there are no
/// teams yet".
fn known(what: &str, names: &[String]) -> String {
    if names.is_empty() {
        return format!("there are no {what} yet");
    }
    let mut shown = names
        .iter()
        .take(NAMES_LISTED)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_LISTED {
        shown.push_str(", …");
    }
    format!("{what}: {shown}")
}

/// Sets (or replaces) a project's webhook secret for GitHub or GitLab: the
/// GitHub webhook's secret or the GitLab webhook's secret token. A secret of
/// the wrong shape is refused naming `secret`; a provider that takes no
/// webhooks names `provider`.
pub async fn set_webhook_secret(
    store: &Store,
    project: &str,
    provider: Provider,
    secret: &str,
) -> AppResult<Project> {
    if !matches!(provider, Provider::Github | Provider::Gitlab) {
        return Err(AppError::bad_field(
            "provider",
            format!("{provider} takes no webhooks; use github or gitlab"),
        ));
    }
    let p = lookup::find_project(store, project).await?;
    check_webhook_secret(secret).map_err(|e| AppError::invalid("secret", e))?;
    store
        .set_webhook_secret(p.id, provider, secret, Utc::now())
        .await?;
    Ok(p)
}

/// Generates a random webhook secret for the project and provider, stores
/// it (replacing an earlier one) and returns it: the caller shows it once.
pub async fn generate_webhook_secret(
    store: &Store,
    project: &str,
    provider: Provider,
) -> AppResult<(Project, String)> {
    let secret = new_webhook_secret()?;
    let p = set_webhook_secret(store, project, provider, &secret).await?;
    Ok((p, secret))
}

/// When the project's webhook secrets were set, by provider (never the
/// secrets themselves).
pub async fn webhook_secret_dates(
    store: &Store,
    project: &str,
) -> AppResult<Vec<(Provider, DateTime<Utc>)>> {
    let p = lookup::project(store, project).await?;
    Ok(store.webhook_secret_dates(p.id).await?)
}
