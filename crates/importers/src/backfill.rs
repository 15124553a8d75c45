//! What a REST backfill (GitHub, GitLab) is asked to import, and how one
//! fails: the options and the error both importers take, so the CLI fills
//! the same fields for either provider.
//!
//! Rules: provider specifics (the form of `--repo`, the API root) stay in
//! the provider's module; `github::GithubImport` and
//! `gitlab::GitlabImport` (and their `…Error`) are names of these types.

use std::time::Duration;

use chrono::{DateTime, Utc};
use tandem_domain::webhook::{Labels, PayloadError};

use crate::rest::RestError;

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
