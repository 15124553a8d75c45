//! Retention of raw webhook deliveries. A delivery is kept byte for byte so
//! its records can be derived again after a fix (`tandem reprocess`); after
//! the retention period only the records it produced remain. Senders
//! redeliver within hours or days, so dropping a months-old delivery id
//! does not reopen double counting (and the records are upserts anyway).

use chrono::{DateTime, Utc};

use crate::{BeginWrite, Result, Store, on_pool};

/// Rows deleted per statement, so a long-overdue prune does not hold the
/// write lock for one huge transaction.
const PRUNE_BATCH: i64 = 5_000;

impl Store {
    /// Deletes raw deliveries received before `before`; returns how many.
    pub async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        let mut total = 0u64;
        loop {
            let n = on_pool!(self, |pool| {
                let mut tx = pool.begin_write().await?;
                let n = sqlx::query(
                    "DELETE FROM deliveries WHERE id IN \
                     (SELECT id FROM deliveries WHERE received_at < $1 LIMIT $2)",
                )
                .bind(before)
                .bind(PRUNE_BATCH)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                tx.commit().await?;
                n
            });
            total += n;
            if n < PRUNE_BATCH as u64 {
                return Ok(total);
            }
        }
    }
}
