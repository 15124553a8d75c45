//! Setting an organisation up: teams and their members, projects with their
//! repositories, services and service scopes. The API, the web set-up pages
//! and the CLI (`tandem team|member|project`) call these, so a refusal reads
//! the same everywhere and nothing is stored when one is refused.

use chrono::Utc;
use tandem_domain::project::{NewProject, Project, ProjectPatch, ServiceScope};
use tandem_domain::team::{NewTeam, Team, TeamPatch};
use tandem_domain::user::User;
use tandem_store::Store;
use uuid::Uuid;

use crate::lookup;
use crate::{AppError, AppResult};

/// Creates a team; a key already taken is a conflict naming `key`.
pub async fn create_team(store: &Store, input: NewTeam) -> AppResult<Team> {
    let team = input.into_team(Uuid::now_v7(), Utc::now())?;
    store.create_team(&team).await?;
    Ok(team)
}

/// Changes a team's name or time zone.
pub async fn update_team(store: &Store, team: &str, patch: TeamPatch) -> AppResult<Team> {
    let mut t = lookup::team(store, team).await?;
    t.apply(patch, Utc::now())?;
    store.update_team(&t).await?;
    Ok(t)
}

/// Creates a project in a team.
pub async fn create_project(store: &Store, input: NewProject) -> AppResult<Project> {
    let project = input.into_project(Uuid::now_v7(), Utc::now())?;
    store.create_project(&project).await?;
    Ok(project)
}

/// Changes a project's name, repositories or services.
pub async fn update_project(
    store: &Store,
    project: &str,
    patch: ProjectPatch,
) -> AppResult<Project> {
    let mut p = lookup::project(store, project).await?;
    p.apply(patch, Utc::now())?;
    store.update_project(&p).await?;
    Ok(p)
}

/// Adds a repository (`owner/name`, or a GitLab path with subgroups) to a
/// project; adding one it already lists changes nothing.
pub async fn add_repository(store: &Store, project: &str, repo: &str) -> AppResult<Project> {
    let p = lookup::project(store, project).await?;
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
    let p = lookup::project(store, project).await?;
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
    let p = lookup::project(store, project).await?;
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
    let p = lookup::project(store, project).await?;
    scope.validate_for(&p)?;
    store
        .set_service_scope(p.id, &scope.service, &scope.repo, &scope.path_prefixes)
        .await?;
    Ok(scope)
}

/// Removes a service's scope: its deployments count the whole repository again.
pub async fn remove_service_scope(store: &Store, project: &str, service: &str) -> AppResult<()> {
    let p = lookup::project(store, project).await?;
    if store.remove_service_scope(p.id, service).await? {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "service {service:?} of project {} has no scope",
            p.key
        )))
    }
}

/// The members of a team.
pub async fn members(store: &Store, team: &str) -> AppResult<Vec<User>> {
    let t = lookup::team(store, team).await?;
    Ok(store.team_members(t.id).await?)
}

/// Adds a user to a team; adding a member again changes nothing.
pub async fn add_member(store: &Store, team: &str, username: &str) -> AppResult<User> {
    let t = lookup::team(store, team).await?;
    let user = user(store, username).await?;
    store.add_member(t.id, user.id).await?;
    Ok(user)
}

/// Removes a user from a team; not found when they were not a member.
pub async fn remove_member(store: &Store, team: &str, username: &str) -> AppResult<()> {
    let t = lookup::team(store, team).await?;
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
        None => Err(AppError::NotFound(format!("no user named {username:?}"))),
    }
}
