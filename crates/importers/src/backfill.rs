//! What a REST backfill (GitHub, GitLab) is asked to import, and how one
//! fails: the options and the error both importers take, so the CLI fills
//! the same fields for either provider.
//!
//! Both imports also start and end alike: [`start`] finds the service the
//! repository scopes to and opens the client, [`context`] is the mapping
//! context, [`Started::finish`] attributes what was stored and counts.
//!
//! Rules: provider specifics (the form of `--repo`, the API root) stay in
//! the provider's module; `github::GithubImport` and
//! `gitlab::GitlabImport` (and their `…Error`) are names of these types.

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use tandem_domain::project::Project;
use tandem_domain::webhook::{Context, Labels, PayloadError};
use tandem_store::Store;
use uuid::Uuid;

use crate::rest::{Api, Client, RestError};

/// What to import.
#[derive(Debug, Clone)]
pub struct Backfill {
    /// The repository (GitHub `OWNER/NAME`, GitLab `group/subgroup/name`),
    /// one of the Tandem project's repositories.
    pub repo: String,
    /// The API root (`https://api.github.com` or a GitHub Enterprise
    /// `https://host/api/v3`; `https://gitlab.com/api/v4` or a
    /// self-managed `https://host/api/v4`).
    pub api_url: String,
    /// A token (GitHub classic or fine-grained; GitLab personal, project or
    /// group with `read_api`); `None` for public repositories.
    pub token: Option<String>,
    /// Ignore what was last updated before this (first runs of big
    /// repositories).
    pub since: Option<DateTime<Utc>>,
    /// The longest a rate limit is waited out before a retry.
    pub max_wait: Duration,
    /// Labels that make an issue an incident or a bug.
    pub labels: Labels,
    /// The environment a published release counts as deployed to.
    pub release_environment: String,
}

#[derive(Debug, thiserror::Error)]
pub enum BackfillError {
    #[error("--repo: {repo:?} is not {expected}")]
    BadRepo {
        repo: String,
        /// What the provider takes, e.g. `OWNER/NAME`.
        expected: &'static str,
    },
    #[error(transparent)]
    Rest(#[from] RestError),
    #[error("GET {url}: {error}")]
    Payload { url: String, error: PayloadError },
    #[error(transparent)]
    Store(#[from] tandem_store::StoreError),
}

/// A payload that did not map, with the URL it came from.
pub(crate) fn payload(url: &str, error: PayloadError) -> BackfillError {
    BackfillError::Payload {
        url: url.to_owned(),
        error,
    }
}

/// A started import: when it started, the one service the repository
/// belongs to (when it names exactly one), and the client of the API.
pub(crate) struct Started<A> {
    at: Instant,
    pub scoped: Option<String>,
    pub client: Client<A>,
}

/// Starts an import of `what.repo` into `project`, speaking `api`.
pub(crate) async fn start<A: Api>(
    store: &Store,
    project: &Project,
    what: &Backfill,
    api: A,
) -> Result<Started<A>, BackfillError> {
    let at = Instant::now();
    let services = store.services_in_repository(project.id, &what.repo).await?;
    let scoped = (services.len() == 1).then(|| services[0].clone());
    let client = Client::new(api, &what.api_url, what.max_wait)?;
    Ok(Started { at, scoped, client })
}

/// The mapping context of an import: the same as a webhook's, received
/// `now`.
pub(crate) fn context<'a>(
    project: &Project,
    what: &'a Backfill,
    scoped: Option<&'a str>,
    now: DateTime<Utc>,
) -> Context<'a> {
    Context {
        project_id: project.id,
        team_id: project.team_id,
        received_at: now,
        labels: &what.labels,
        scoped_service: scoped,
        release_environment: &what.release_environment,
        new_id: Uuid::now_v7,
    }
}

impl<A> Started<A> {
    /// Attributes what the run stored; then the counts every summary ends
    /// with: requests made, rate-limit waits, seconds since the start.
    pub async fn finish(&self, store: &Store) -> Result<(u64, u64, f64), BackfillError> {
        store.attribute_pending().await?;
        let seconds = self.at.elapsed().as_secs_f64();
        Ok((self.client.requests, self.client.waits, seconds))
    }
}
