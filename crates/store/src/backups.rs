//! Scheduled backups' runs (ADR 0035): each due time of `backup.schedule`
//! is claimed by one replica under a lease, like the weekly report's runs,
//! so a scheduled backup is taken exactly once across replicas; a run left
//! unfinished is taken over once its lease runs out.

use chrono::{DateTime, Utc};

use crate::{BeginWrite, Result, Store, on_pool};

/// One scheduled backup run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BackupRun {
    pub due_at: DateTime<Utc>,
    pub claimed_by: String,
    pub finished_at: Option<DateTime<Utc>>,
    /// `done` or `failed`.
    pub outcome: Option<String>,
    /// The backup written.
    pub name: Option<String>,
    pub error: Option<String>,
}

impl Store {
    /// Claims the scheduled backup due at `due_at` for `owner` until
    /// `lease_until`. `true` when this caller should take it: nobody
    /// claimed it, or the previous claim's lease ran out before `now` and
    /// the run did not finish.
    pub async fn claim_backup_run(
        &self,
        due_at: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let claimed = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO backup_runs (due_at, claimed_by, claimed_at, lease_until) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (due_at) DO NOTHING",
            )
            .bind(due_at)
            .bind(owner)
            .bind(now)
            .bind(lease_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let claimed = inserted == 1
                || sqlx::query(
                    "UPDATE backup_runs SET claimed_by = $2, claimed_at = $3, lease_until = $4 \
                     WHERE due_at = $1 AND finished_at IS NULL AND lease_until < $3",
                )
                .bind(due_at)
                .bind(owner)
                .bind(now)
                .bind(lease_until)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            tx.commit().await?;
            claimed
        });
        Ok(claimed)
    }

    /// Records the outcome of `owner`'s run due at `due_at`: `Ok(name)`
    /// finishes it; `Err(message)` records the error and leaves it
    /// unfinished, so it is taken again once its lease runs out.
    pub async fn finish_backup_run(
        &self,
        due_at: DateTime<Utc>,
        owner: &str,
        outcome: std::result::Result<&str, &str>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (finished, label, name, error) = match outcome {
            Ok(name) => (Some(now), "done", Some(name), None),
            Err(e) => (None, "failed", None, Some(e)),
        };
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE backup_runs SET finished_at = $3, outcome = $4, name = $5, error = $6 \
                 WHERE due_at = $1 AND claimed_by = $2",
            )
            .bind(due_at)
            .bind(owner)
            .bind(finished)
            .bind(label)
            .bind(name)
            .bind(error)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The scheduled backup runs, newest first, at most `limit`.
    pub async fn backup_runs(&self, limit: i64) -> Result<Vec<BackupRun>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT due_at, claimed_by, finished_at, outcome, name, error \
                 FROM backup_runs ORDER BY due_at DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }
}
