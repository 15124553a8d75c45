//! Projects: a team's unit of delivery, with its repositories and services.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Project {
    pub id: Uuid,
    pub team_id: Uuid,
    pub key: String,
    pub name: String,
    /// Repository locations (URLs or `owner/name`).
    pub repositories: Vec<String>,
    /// Service names as deployments and incidents report them.
    pub services: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProject {
    pub team_id: Uuid,
    pub key: String,
    pub name: String,
    #[serde(default)]
    pub repositories: Vec<String>,
    #[serde(default)]
    pub services: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectPatch {
    pub name: Option<String>,
    pub repositories: Option<Vec<String>>,
    pub services: Option<Vec<String>>,
}

impl NewProject {
    pub fn into_project(self, id: Uuid, now: DateTime<Utc>) -> Result<Project, DomainError> {
        let now = crate::time::micros(now);
        let project = Project {
            id,
            team_id: self.team_id,
            key: self.key,
            name: self.name,
            repositories: self.repositories,
            services: self.services,
            created_at: now,
            updated_at: now,
        };
        project.validate()?;
        Ok(project)
    }
}

impl Project {
    pub fn validate(&self) -> Result<(), DomainError> {
        let mut p = Problems::new();
        p.check(text::key("key", &self.key));
        p.check(text::required("name", &self.name));
        check_list(&mut p, "repositories", &self.repositories);
        check_list(&mut p, "services", &self.services);
        p.into_result()
    }

    pub fn apply(&mut self, patch: ProjectPatch, now: DateTime<Utc>) -> Result<(), DomainError> {
        if let Some(v) = patch.name {
            self.name = v;
        }
        if let Some(v) = patch.repositories {
            self.repositories = v;
        }
        if let Some(v) = patch.services {
            self.services = v;
        }
        self.updated_at = crate::time::micros(now);
        self.validate()
    }
}

/// A list of short, non-empty, distinct strings, at most 100 of them.
pub(crate) fn check_list(p: &mut Problems, field: &str, values: &[String]) {
    if values.len() > 100 {
        p.push(
            field,
            format!("has {} entries; the limit is 100", values.len()),
        );
    }
    for (i, v) in values.iter().enumerate() {
        p.check(text::required(&format!("{field}[{i}]"), v));
        if values[..i].contains(v) {
            p.push(format!("{field}[{i}]"), format!("{v:?} is listed twice"));
        }
    }
}

/// Which part of a repository makes a service: its deployments are
/// attributed only the commits that touched one of `path_prefixes`
/// (a monorepo); an empty list means the whole repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceScope {
    /// A service of the project.
    pub service: String,
    /// A repository of the project (`owner/name` as listed).
    pub repo: String,
    /// Path prefixes such as `services/api/`; `[]` is the whole repository.
    #[serde(default)]
    pub path_prefixes: Vec<String>,
}

impl ServiceScope {
    /// Checks the scope against its project: the service and the repository
    /// must be ones the project lists, the prefixes short and distinct.
    pub fn validate_for(&self, project: &Project) -> Result<(), DomainError> {
        let mut p = Problems::new();
        if !project.services.contains(&self.service) {
            p.push(
                "service",
                format!(
                    "{:?} is not a service of project {} (its services: {})",
                    self.service,
                    project.key,
                    listed(&project.services)
                ),
            );
        }
        if !project.repositories.contains(&self.repo) {
            p.push(
                "repo",
                format!(
                    "{:?} is not a repository of project {} (its repositories: {})",
                    self.repo,
                    project.key,
                    listed(&project.repositories)
                ),
            );
        }
        check_list(&mut p, "path_prefixes", &self.path_prefixes);
        p.into_result()
    }
}

fn listed(values: &[String]) -> String {
    if values.is_empty() {
        "none yet".to_owned()
    } else {
        values.join(", ")
    }
}
