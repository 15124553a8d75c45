//! The team and project a benchmark's data belongs to, written straight
//! through the store.
//!
//! Rules: a fixture only creates (a fresh database is the caller's); the
//! team's time zone is UTC, and team and project carry the same
//! timestamps.

use chrono::{DateTime, Utc};
use tandem_domain::project::Project;
use tandem_domain::team::Team;
use tandem_store::Store;
use uuid::Uuid;

/// One team and its one project.
#[derive(Debug, Clone)]
pub struct Org {
    pub team: Team,
    pub project: Project,
}

impl Org {
    /// A team `(key, name)` with a project `(key, name)` of `repositories`
    /// and `services`, created at `at`, with new ids.
    pub fn new(
        team: (&str, &str),
        project: (&str, &str),
        repositories: Vec<String>,
        services: Vec<String>,
        at: DateTime<Utc>,
    ) -> Org {
        let team = Team {
            id: Uuid::now_v7(),
            key: team.0.to_owned(),
            name: team.1.to_owned(),
            timezone: "UTC".to_owned(),
            created_at: at,
            updated_at: at,
        };
        let project = Project {
            id: Uuid::now_v7(),
            team_id: team.id,
            key: project.0.to_owned(),
            name: project.1.to_owned(),
            repositories,
            services,
            created_at: at,
            updated_at: at,
        };
        Org { team, project }
    }

    /// The same with given ids (data prepared against them beforehand).
    pub fn with_ids(mut self, team_id: Uuid, project_id: Uuid) -> Org {
        self.team.id = team_id;
        self.project.team_id = team_id;
        self.project.id = project_id;
        self
    }

    /// Writes the team, then the project.
    pub async fn create(&self, store: &Store) -> anyhow::Result<()> {
        store.create_team(&self.team).await?;
        store.create_project(&self.project).await?;
        Ok(())
    }
}
