//! Projects: a team's unit of delivery, with its repositories and services.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{DomainError, Problems};
use crate::text;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(examples(json!({"id": "0192f0c1-9b1c-7d2e-8f3a-4b5c6d7e8f90", "team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "key": "payments-api", "name": "Payments API", "repositories": ["acme/payments-api", "acme/payments-worker"], "services": ["payments-api", "payments-worker"], "created_at": "2026-01-05T09:05:00Z", "updated_at": "2026-01-05T09:05:00Z"})))]
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
#[schema(examples(json!({"team_id": "0192f0c1-7a2b-7c3d-8e4f-5a6b7c8d9e0f", "key": "refunds", "name": "Refunds", "repositories": ["acme/refunds"], "services": ["refunds-api"]})))]
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
        for (i, prefix) in self.path_prefixes.iter().enumerate() {
            // Commit paths are relative to the repository root
            // (`services/api/main.rs`): a rooted prefix would match nothing.
            if prefix.starts_with('/') || prefix.starts_with("./") {
                p.push(
                    format!("path_prefixes[{i}]"),
                    format!(
                        "{prefix:?} must be relative to the repository root, like \"services/api/\""
                    ),
                );
            }
        }
        p.into_result()
    }
}

/// The body of `PUT /projects/{project}/scopes/{service}`: the service is
/// named by the path.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewServiceScope {
    /// A repository of the project (`owner/name` as listed).
    pub repo: String,
    /// Path prefixes such as `services/api/`; `[]` (or absent) is the whole
    /// repository.
    #[serde(default)]
    pub path_prefixes: Vec<String>,
}

impl NewServiceScope {
    /// The scope of `service`.
    pub fn for_service(self, service: impl Into<String>) -> ServiceScope {
        ServiceScope {
            service: service.into(),
            repo: self.repo,
            path_prefixes: self.path_prefixes,
        }
    }
}

fn listed(values: &[String]) -> String {
    if values.is_empty() {
        "none yet".to_owned()
    } else {
        values.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        let now = chrono::DateTime::UNIX_EPOCH;
        Project {
            id: Uuid::nil(),
            team_id: Uuid::nil(),
            key: "pay".into(),
            name: "Payments".into(),
            repositories: vec!["acme/mono".into()],
            services: vec!["api".into(), "web".into()],
            created_at: now,
            updated_at: now,
        }
    }

    fn fields(scope: &ServiceScope) -> Vec<String> {
        match scope.validate_for(&project()) {
            Ok(()) => vec![],
            Err(DomainError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            Err(e) => panic!("unexpected {e}"),
        }
    }

    #[test]
    fn a_scope_names_the_projects_service_and_repository() {
        let ok = NewServiceScope {
            repo: "acme/mono".into(),
            path_prefixes: vec!["services/api/".into()],
        }
        .for_service("api");
        assert!(fields(&ok).is_empty());

        let bad = ServiceScope {
            service: "billing".into(),
            repo: "acme/other".into(),
            path_prefixes: vec!["/services/api".into(), "x/".into(), "x/".into()],
        };
        assert_eq!(
            fields(&bad),
            ["service", "repo", "path_prefixes[2]", "path_prefixes[0]"]
        );
        let Err(DomainError::Invalid(errors)) = bad.validate_for(&project()) else {
            panic!("refused");
        };
        assert!(
            errors[0].message.contains("its services: api, web"),
            "{}",
            errors[0].message
        );
        assert!(
            errors[1].message.contains("its repositories: acme/mono"),
            "{}",
            errors[1].message
        );
    }
}
