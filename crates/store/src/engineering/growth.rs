//! Fresh planner statistics for the tables webhook ingestion grows
//! (PostgreSQL; issue 18, the round-over-round decline).
//!
//! A webhook batch looks commits up by `(repo, sha)` in statements whose
//! plans PostgreSQL chooses from its statistics and, after five runs,
//! caches per connection as a generic plan. On a table that grows from
//! empty faster than autovacuum's one-minute naptime the statistics still
//! describe a handful of rows, so the plan reads every commit of the
//! repository through `commits_authored` and filters the shas: each batch
//! costs more than the last (measured: 952 → 227 deliveries/s over five
//! rounds of 3,000; `auto_explain` showed the scan). Autovacuum analyses
//! the table only after the load (BENCHMARKS.md, "Round-over-round
//! decline").
//!
//! So the store counts the rows it ingests and, once they reach a fifth of
//! what the tables held at the last refresh (at least [`FIRST`]), runs
//! `ANALYZE` on them in the background, one at a time: the statistics
//! follow the table at every size, a new `ANALYZE` invalidates the cached
//! plans, and a table that grows slowly (what autovacuum already follows)
//! is analysed rarely — a fifth more rows each time, so about 40 times from
//! empty to a million rows.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use crate::engine::Engine;

/// The tables a webhook batch writes, analysed together.
const TABLES: &str = "commits, git_refs, deliveries, pull_requests, pull_request_commits, \
     reviews, deployments, pipelines, incidents";

/// Rows after which the first refresh runs.
const FIRST: u64 = 1_000;

#[derive(Debug, Default)]
pub(crate) struct Growth {
    /// Rows ingested since the last refresh started.
    since: AtomicU64,
    /// Rows ingested up to the last refresh.
    total: AtomicU64,
    running: AtomicBool,
}

impl Growth {
    /// Counts `rows` ingested; returns whether a refresh is due now (the
    /// caller then owns it and calls [`Growth::done`]).
    fn add(&self, rows: u64) -> bool {
        let since = self.since.fetch_add(rows, Ordering::Relaxed) + rows;
        let due = since >= FIRST.max(self.total.load(Ordering::Relaxed) / 5);
        due && !self.running.swap(true, Ordering::AcqRel)
    }

    fn started(&self) {
        let since = self.since.swap(0, Ordering::Relaxed);
        self.total.fetch_add(since, Ordering::Relaxed);
    }

    fn done(&self) {
        self.running.store(false, Ordering::Release);
    }
}

impl crate::Store {
    /// Notes `rows` written by ingestion; on PostgreSQL, refreshes the
    /// ingestion tables' statistics in the background when they have grown
    /// by a fifth (see the module header). Never fails the write: an
    /// `ANALYZE` that fails is logged and tried again at the next growth.
    pub(crate) fn note_growth(&self, rows: u64) {
        let Engine::Postgres(pool) = &self.engine else {
            return;
        };
        if rows == 0 || !self.growth.add(rows) {
            return;
        }
        self.growth.started();
        let (pool, growth) = (pool.clone(), self.growth.clone());
        tokio::spawn(async move {
            if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(format!("ANALYZE {TABLES}")))
                .execute(&pool)
                .await
            {
                tracing::warn!(error = %e, "refreshing the ingestion tables' statistics failed");
            }
            growth.done();
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refreshes_when_a_fifth_more_rows_arrived_and_one_at_a_time() {
        let g = Growth::default();
        assert!(!g.add(999), "not before the first thousand");
        assert!(g.add(1), "at the first thousand");
        g.started();
        assert!(!g.add(5_000), "not while one runs");
        g.done();
        assert!(g.add(1), "the rows that came meanwhile count");
        g.started();
        g.done();
        // 6,001 rows so far: the next refresh after a fifth more (1,200).
        assert!(!g.add(1_199));
        assert!(g.add(1));
    }
}
