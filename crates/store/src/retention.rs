//! Retention of raw webhook deliveries. A delivery is kept byte for byte so
//! its records can be derived again after a fix (`tandem reprocess`); after
//! the retention period only the records it produced remain. Senders
//! redeliver within hours or days, so dropping a months-old delivery id
//! does not reopen double counting (and the records are upserts anyway).
//!
//! With `[archive]` (ADR 0036) the deliveries and raw check results past
//! retention are read here in order, written to the archive by the app,
//! and only then deleted, by id or up to the last one written.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{FromRow, QueryBuilder};
use tandem_domain::engineering::RawDelivery;
use uuid::Uuid;

use crate::engine::{DELIVERY_COLS, push_list};
use crate::engineering::records::DeliveryRow;
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

/// Body bytes of deliveries read at once for the archive (at least one
/// delivery is read whatever its size).
const ARCHIVE_BODY_BUDGET: i64 = 32 * 1024 * 1024;
/// Ids deleted per statement (bound parameters stay far below SQLite's
/// limit).
const DELETE_CHUNK: usize = 500;

/// A raw check result as the archive keeps it: with its check's name, which
/// outlives the check in the archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, FromRow)]
pub struct ArchivedCheckResult {
    pub check_id: Uuid,
    pub check: String,
    pub at: DateTime<Utc>,
    pub ok: bool,
    pub latency_ms: i64,
    pub message: String,
}

impl Store {
    /// The oldest deliveries received before `before`, in `(received_at,
    /// id)` order: at most `limit`, and no more body bytes than a budget
    /// (32 MiB) beyond the first. What the archive writes before
    /// [`Store::delete_deliveries`] deletes exactly these.
    pub async fn deliveries_to_archive(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<RawDelivery>> {
        let sizes: Vec<(Uuid, i64)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, CAST(length(body) AS BIGINT) FROM deliveries WHERE received_at < $1 \
                 ORDER BY received_at, id LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut ids = Vec::new();
        let mut bytes = 0i64;
        for (id, size) in sizes {
            if !ids.is_empty() && bytes + size > ARCHIVE_BODY_BUDGET {
                break;
            }
            bytes += size;
            ids.push(id);
        }
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<DeliveryRow> = on_pool!(self, |pool| {
            let mut qb = QueryBuilder::new(format!(
                "SELECT {DELIVERY_COLS} FROM deliveries WHERE id IN ("
            ));
            push_list(&mut qb, &ids, |id| *id);
            qb.push(") ORDER BY received_at, id");
            qb.build_query_as().fetch_all(pool).await?
        });
        rows.into_iter().map(RawDelivery::try_from).collect()
    }

    /// Deletes the deliveries with these ids; returns how many were.
    pub async fn delete_deliveries(&self, ids: &[Uuid]) -> Result<u64> {
        let mut total = 0;
        for chunk in ids.chunks(DELETE_CHUNK) {
            total += on_pool!(self, |pool| {
                let mut qb = QueryBuilder::new("DELETE FROM deliveries WHERE id IN (");
                push_list(&mut qb, chunk, |id| *id);
                qb.push(")");
                qb.build().execute(pool).await?.rows_affected()
            });
        }
        Ok(total)
    }

    /// The oldest raw check results before `before`, in `(at, check_id)`
    /// order, at most `limit`.
    pub async fn check_results_to_archive(
        &self,
        before: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<ArchivedCheckResult>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT r.check_id, c.name AS \"check\", r.at, r.ok, r.latency_ms, r.message \
                 FROM check_results r JOIN checks c ON c.id = r.check_id \
                 WHERE r.at < $1 ORDER BY r.at, r.check_id LIMIT $2",
            )
            .bind(before)
            .bind(limit)
            .fetch_all(pool)
            .await?
        }))
    }

    /// Deletes the raw check results before `before` up to and including
    /// `last` in `(at, check_id)` order: the ones
    /// [`Store::check_results_to_archive`] returned (results are written
    /// when a check runs, so none older than `before` arrives meanwhile).
    pub async fn delete_check_results_through(
        &self,
        before: DateTime<Utc>,
        last: (DateTime<Utc>, Uuid),
    ) -> Result<u64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "DELETE FROM check_results WHERE at < $1 \
                 AND (at < $2 OR (at = $2 AND check_id <= $3))",
            )
            .bind(before)
            .bind(last.0)
            .bind(last.1)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }
}
