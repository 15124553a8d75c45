//! Pull request commits without a backfill: a merged pull (merge) request
//! reported by a webhook is queued ([`enqueue`]) when a token is configured
//! for its provider (`[github]`, `[gitlab]`), and [`run_due`] (the loop
//! `jobs::pr_commits` runs in `serve`) fetches its own commits once from
//! the API, so a squash or rebase merge is attributed to the commits it
//! replaced, with their authored times.
//!
//! Rules:
//! - Durable: the queue is a table (`pr_commit_fetches`); the receivers
//!   enqueue before the delivery is stored, so an acknowledged merge is
//!   never lost, and a merge reported twice is fetched once.
//! - Exactly once across replicas: each row is claimed with a lease
//!   ([`LEASE`]) before its request; a replica that dies mid-fetch leaves
//!   it to be taken over when the lease runs out.
//! - Rate limits are waited out in the queue, not in a task: GitHub's 403
//!   or 429 (`retry-after`, `x-ratelimit-reset`) and GitLab's 429
//!   (`Retry-After`, `RateLimit-Reset`) put the row, and every queued row
//!   of that provider, off until the reset, without counting an attempt;
//!   an answer that used the window up (`RateLimit-Remaining: 0`) does the
//!   same for the rows after it.
//! - Any other failure (a server error, no access, the pull request not
//!   stored yet) is retried with exponential backoff from [`BACKOFF_BASE`]
//!   up to [`BACKOFF_MAX`]; after `max_attempts` the row is `failed`, with
//!   the last error kept.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tandem_domain::engineering::{FetchState, PrCommitFetch, PrState, Provider, Record};
use tandem_importers::RestError;
use tandem_importers::backfill::BackfillError;
use tandem_importers::hosting::Remote;
use tandem_store::{FetchKey, Store};
use uuid::Uuid;

use crate::settings::{HostingSettings, Settings};

/// How long a claimed fetch is held before another replica may take it.
pub const LEASE: TimeDelta = TimeDelta::minutes(10);
/// The wait after a first failure; doubled after each further one.
pub const BACKOFF_BASE: TimeDelta = TimeDelta::minutes(1);
/// The longest wait between two attempts.
pub const BACKOFF_MAX: TimeDelta = TimeDelta::hours(6);
/// Rows one run takes at most.
const BATCH: i64 = 50;

/// The hosting settings of a provider, when it has a token.
fn hosting(settings: &Settings, provider: Provider) -> Option<&HostingSettings> {
    let h = match provider {
        Provider::Github => &settings.github,
        Provider::Gitlab => &settings.gitlab,
        Provider::Api => return None,
    };
    h.token().is_some().then_some(h)
}

/// The merged pull requests among `records`, as queue keys.
pub fn merged(provider: Provider, records: &[Record]) -> Vec<FetchKey> {
    records
        .iter()
        .filter_map(|r| match r {
            Record::PullRequest(pr) if pr.state == PrState::Merged => Some(FetchKey {
                provider,
                repo: pr.repo.clone(),
                number: pr.number,
            }),
            _ => None,
        })
        .collect()
}

/// Queues the commit fetch of every merged pull request among `records`
/// when `provider` has a token; returns how many were new.
pub async fn enqueue(
    store: &Store,
    settings: &Settings,
    provider: Provider,
    project_id: Uuid,
    records: &[Record],
    now: DateTime<Utc>,
) -> Result<u64, tandem_store::StoreError> {
    if hosting(settings, provider).is_none() {
        return Ok(0);
    }
    let keys = merged(provider, records);
    store
        .enqueue_pr_commit_fetches(project_id, &keys, now)
        .await
}

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct RunReport {
    /// Pull requests whose commits were stored.
    pub fetched: u64,
    /// Commits stored with them.
    pub commits: u64,
    /// Put off for a rate limit (not counted as attempts).
    pub rate_limited: u64,
    /// Failed attempts left for a retry.
    pub retried: u64,
    /// Given up after their last attempt.
    pub failed: u64,
    /// Claimed by another replica first.
    pub skipped: u64,
}

/// The wait before the next attempt after `attempts` failures (1, 2, …).
pub fn backoff(attempts: i32) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).clamp(0, 20) as u32;
    let wait = BACKOFF_BASE * 2i32.pow(doublings.min(16));
    wait.min(BACKOFF_MAX)
}

fn delta(wait: Duration) -> TimeDelta {
    TimeDelta::from_std(wait).unwrap_or(BACKOFF_MAX)
}

/// How one fetch ended, short of success.
enum Failure {
    /// Rate limited: try again after this long.
    Limited(Duration, String),
    /// Anything else, in words.
    Failed(String),
}

/// Works on the queued fetches due at `now` as replica `owner`: claims
/// each, fetches the pull request's commits, stores them and marks the
/// deployments whose attribution they change.
pub async fn run_due(
    store: &Store,
    settings: &Settings,
    owner: &str,
    now: DateTime<Utc>,
) -> Result<RunReport, tandem_store::StoreError> {
    let mut report = RunReport::default();
    let due = store.due_pr_commit_fetches(now, BATCH).await?;
    let mut remotes: HashMap<Provider, Remote> = HashMap::new();
    let mut paused: HashSet<Provider> = HashSet::new();
    for item in due {
        if paused.contains(&item.provider) {
            continue;
        }
        let key = FetchKey {
            provider: item.provider,
            repo: item.repo.clone(),
            number: item.number,
        };
        if !store
            .claim_pr_commit_fetch(&key, owner, now, now + LEASE)
            .await?
        {
            report.skipped += 1;
            continue;
        }
        let max_attempts = match item.provider {
            Provider::Gitlab => settings.gitlab.max_attempts,
            _ => settings.github.max_attempts,
        };
        let outcome = match hosting(settings, item.provider) {
            None => Err(Failure::Failed(format!(
                "no [{}] token is configured",
                item.provider
            ))),
            Some(h) => {
                let remote = match remotes.entry(item.provider) {
                    std::collections::hash_map::Entry::Occupied(e) => Ok(e.into_mut()),
                    std::collections::hash_map::Entry::Vacant(e) => {
                        Remote::new(item.provider, &h.api_url, h.token(), Duration::ZERO)
                            .map(|r| e.insert(r.deferring()))
                    }
                };
                match remote {
                    Ok(remote) => {
                        let result = fetch_one(store, remote, &item).await;
                        if let Some(wait) = remote.exhausted_for() {
                            let until = now + delta(wait);
                            store
                                .postpone_pr_commit_fetches(item.provider, until)
                                .await?;
                            paused.insert(item.provider);
                        }
                        result
                    }
                    Err(e) => Err(Failure::Failed(e.to_string())),
                }
            }
        };
        match outcome {
            Ok(n) => {
                store
                    .finish_pr_commit_fetch(&key, owner, FetchState::Done, "", now)
                    .await?;
                report.fetched += 1;
                report.commits += n;
            }
            Err(Failure::Limited(wait, message)) => {
                let until = now + delta(wait);
                tracing::info!(provider = %item.provider, repo = item.repo, number = item.number, %until, "rate limited; pull request commits fetched later");
                store
                    .retry_pr_commit_fetch(&key, owner, until, false, &message)
                    .await?;
                store
                    .postpone_pr_commit_fetches(item.provider, until)
                    .await?;
                paused.insert(item.provider);
                report.rate_limited += 1;
            }
            Err(Failure::Failed(message)) => {
                let attempts = item.attempts + 1;
                if attempts >= max_attempts as i32 {
                    tracing::warn!(provider = %item.provider, repo = item.repo, number = item.number, error = message, "pull request commits not fetched; given up");
                    store
                        .finish_pr_commit_fetch(&key, owner, FetchState::Failed, &message, now)
                        .await?;
                    report.failed += 1;
                } else {
                    tracing::warn!(provider = %item.provider, repo = item.repo, number = item.number, error = message, attempts, "fetching pull request commits failed; retrying later");
                    store
                        .retry_pr_commit_fetch(&key, owner, now + backoff(attempts), true, &message)
                        .await?;
                    report.retried += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Fetches one pull request's commits and stores them with it; the number
/// of commits.
async fn fetch_one(
    store: &Store,
    remote: &mut Remote,
    item: &PrCommitFetch,
) -> Result<u64, Failure> {
    let failed = |e: tandem_store::StoreError| Failure::Failed(e.to_string());
    let Some(mut pr) = store
        .get_pull_request(&item.repo, item.number)
        .await
        .map_err(failed)?
    else {
        return Err(Failure::Failed(format!(
            "pull request {}#{} is not stored yet",
            item.repo, item.number
        )));
    };
    let commits = match remote.pull_request_commits(&item.repo, item.number).await {
        Ok(c) => c,
        Err(BackfillError::Rest(RestError::Deferred { method, url, wait })) => {
            return Err(Failure::Limited(
                wait,
                format!("{method} {url} is rate limited"),
            ));
        }
        Err(e) => return Err(Failure::Failed(e.to_string())),
    };
    let n = commits.len() as u64;
    let mut shas: Vec<String> = pr.merge_commit_sha.iter().cloned().collect();
    shas.extend(commits.iter().map(|c| c.sha.clone()));
    pr.commits = commits;
    pr.first_commit_at = pr.commits.iter().map(|c| c.authored_at).min();
    store
        .upsert_records(&[Record::PullRequest(pr)])
        .await
        .map_err(failed)?;
    store
        .invalidate_attribution(&item.repo, &shas)
        .await
        .map_err(failed)?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        assert_eq!(backoff(1), TimeDelta::minutes(1));
        assert_eq!(backoff(2), TimeDelta::minutes(2));
        assert_eq!(backoff(4), TimeDelta::minutes(8));
        assert_eq!(backoff(30), BACKOFF_MAX);
    }
}
