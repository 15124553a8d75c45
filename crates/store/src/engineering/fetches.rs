//! The queue of pull request commit fetches (`pr_commit_fetches`): merged
//! pull requests whose own commits `tandem_app::pr_commits` fetches from
//! the provider's API.
//!
//! Invariants:
//! - One row per `(provider, repo, number)`, inserted once: enqueueing a
//!   pull request already queued, done or failed changes nothing, so a
//!   replayed merge delivery never fetches again.
//! - A row is worked on only by the replica whose claim set its lease
//!   (`claimed_by`, `lease_until`); another may take it over only once the
//!   lease ran out. Every later write names the owner, so a replica whose
//!   lease was taken over cannot finish the row.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use tandem_domain::engineering::{FetchState, PrCommitFetch, Provider};
use uuid::Uuid;

use crate::engine::sql;
use crate::{Result, Store, StoreError, on_pool};

const COLS: &str = "provider, repo, number, project_id, state, attempts, not_before, last_error, \
     enqueued_at, finished_at";

#[derive(FromRow)]
struct Row {
    provider: String,
    repo: String,
    number: i64,
    project_id: Uuid,
    state: String,
    attempts: i32,
    not_before: DateTime<Utc>,
    last_error: String,
    enqueued_at: DateTime<Utc>,
    finished_at: Option<DateTime<Utc>>,
}

impl TryFrom<Row> for PrCommitFetch {
    type Error = StoreError;
    fn try_from(r: Row) -> Result<Self> {
        let corrupt = |column: &str, e: String| StoreError::Corrupt(format!("{column}: {e}"));
        Ok(PrCommitFetch {
            provider: r
                .provider
                .parse::<Provider>()
                .map_err(|e| corrupt("pr_commit_fetches.provider", e))?,
            repo: r.repo,
            number: r.number,
            project_id: r.project_id,
            state: r
                .state
                .parse::<FetchState>()
                .map_err(|e| corrupt("pr_commit_fetches.state", e))?,
            attempts: r.attempts,
            not_before: r.not_before,
            last_error: r.last_error,
            enqueued_at: r.enqueued_at,
            finished_at: r.finished_at,
        })
    }
}

/// One pull request of one provider: the queue's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchKey {
    pub provider: Provider,
    pub repo: String,
    pub number: i64,
}

impl Store {
    /// Queues the commit fetch of each merged pull request of `project_id`
    /// not queued before; returns how many were new.
    pub async fn enqueue_pr_commit_fetches(
        &self,
        project_id: Uuid,
        keys: &[FetchKey],
        now: DateTime<Utc>,
    ) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let now = tandem_domain::time::micros(now);
        let added = on_pool!(self, |pool| {
            let mut tx = pool.begin().await?;
            let mut added = 0;
            for k in keys {
                added += sqlx::query(
                    "INSERT INTO pr_commit_fetches (provider, repo, number, project_id, state, \
                     attempts, not_before, last_error, enqueued_at) \
                     VALUES ($1, $2, $3, $4, 'queued', 0, $5, '', $5) \
                     ON CONFLICT (provider, repo, number) DO NOTHING",
                )
                .bind(k.provider.as_str())
                .bind(&k.repo)
                .bind(k.number)
                .bind(project_id)
                .bind(now)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            tx.commit().await?;
            added
        });
        Ok(added)
    }

    /// One pull request's fetch, whatever its state.
    pub async fn pr_commit_fetch(&self, key: &FetchKey) -> Result<Option<PrCommitFetch>> {
        let row: Option<Row> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {COLS} FROM pr_commit_fetches \
                 WHERE provider = $1 AND repo = $2 AND number = $3"
            )))
            .bind(key.provider.as_str())
            .bind(&key.repo)
            .bind(key.number)
            .fetch_optional(pool)
            .await?
        });
        row.map(PrCommitFetch::try_from).transpose()
    }

    /// Queued fetches due at `now` and not held by a live lease, the
    /// longest waiting first, at most `limit`.
    pub async fn due_pr_commit_fetches(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<PrCommitFetch>> {
        let rows: Vec<Row> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {COLS} FROM pr_commit_fetches \
                 WHERE state = 'queued' AND not_before <= $1 \
                 AND (lease_until IS NULL OR lease_until < $1) \
                 ORDER BY not_before, provider, repo, number LIMIT $2"
            )))
            .bind(tandem_domain::time::micros(now))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(PrCommitFetch::try_from).collect()
    }

    /// Claims a due fetch for `owner` until `lease_until`; false when it is
    /// no longer queued and due, or another replica holds a live lease.
    pub async fn claim_pr_commit_fetch(
        &self,
        key: &FetchKey,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let claimed = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE pr_commit_fetches SET claimed_by = $4, lease_until = $6 \
                 WHERE provider = $1 AND repo = $2 AND number = $3 AND state = 'queued' \
                 AND not_before <= $5 AND (lease_until IS NULL OR lease_until < $5)",
            )
            .bind(key.provider.as_str())
            .bind(&key.repo)
            .bind(key.number)
            .bind(owner)
            .bind(tandem_domain::time::micros(now))
            .bind(tandem_domain::time::micros(lease_until))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(claimed == 1)
    }

    /// Ends `owner`'s claimed fetch as `done` or `failed` (with `error`).
    pub async fn finish_pr_commit_fetch(
        &self,
        key: &FetchKey,
        owner: &str,
        state: FetchState,
        error: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE pr_commit_fetches SET state = $5, last_error = $6, finished_at = $7, \
                 attempts = attempts + $8, \
                 claimed_by = NULL, lease_until = NULL \
                 WHERE provider = $1 AND repo = $2 AND number = $3 AND claimed_by = $4",
            )
            .bind(key.provider.as_str())
            .bind(&key.repo)
            .bind(key.number)
            .bind(owner)
            .bind(state.as_str())
            .bind(error)
            .bind(tandem_domain::time::micros(now))
            .bind(i32::from(state == FetchState::Failed))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Gives `owner`'s claimed fetch back to the queue, not to be tried
    /// before `not_before`; `failed` counts the attempt as a failure (a
    /// rate limit does not).
    pub async fn retry_pr_commit_fetch(
        &self,
        key: &FetchKey,
        owner: &str,
        not_before: DateTime<Utc>,
        failed: bool,
        error: &str,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE pr_commit_fetches SET not_before = $5, last_error = $6, \
                 attempts = attempts + $7, claimed_by = NULL, lease_until = NULL \
                 WHERE provider = $1 AND repo = $2 AND number = $3 AND claimed_by = $4",
            )
            .bind(key.provider.as_str())
            .bind(&key.repo)
            .bind(key.number)
            .bind(owner)
            .bind(tandem_domain::time::micros(not_before))
            .bind(error)
            .bind(i32::from(failed))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Puts every queued fetch of `provider` off until at least `until`
    /// (the provider's rate limit resets then); returns how many moved.
    pub async fn postpone_pr_commit_fetches(
        &self,
        provider: Provider,
        until: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE pr_commit_fetches SET not_before = $2 \
                 WHERE provider = $1 AND state = 'queued' AND not_before < $2",
            )
            .bind(provider.as_str())
            .bind(tandem_domain::time::micros(until))
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
