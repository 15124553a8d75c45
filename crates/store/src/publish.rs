//! Storage for publishing (issue 17, ADR 0033): the publishing outbox
//! (`publications`), each publisher's lease and health
//! (`publish_targets`), and where each document lives on the other side
//! (`publish_mappings`).
//!
//! Exactly-once rules kept here:
//! - A publication is inserted once per (target, document kind, document,
//!   revision); enqueuing again adds nothing.
//! - One replica at a time delivers a target's publications: it claims the
//!   target's row by setting `lease_owner`/`lease_until` where the lease is
//!   free. Finishing a publication checks that the caller still holds the
//!   lease, so a replica whose lease ran out writes nothing.

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use tandem_domain::publish::{DocKind, PublicationStatus, PublishTarget};
use uuid::Uuid;

use crate::engine::sql;
use crate::{Result, Store, StoreError, on_pool};

/// One document revision to publish to one target, and how it went.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = PublicationEntry)]
pub struct Publication {
    pub id: Uuid,
    pub target: PublishTarget,
    pub doc_kind: DocKind,
    /// The goal, the decision or the archived report.
    pub doc_id: Uuid,
    /// The goal's version; a decision's last edit (microseconds since
    /// 1970); 1 for a report.
    pub revision: i64,
    pub status: PublicationStatus,
    pub attempts: i32,
    /// When the next attempt is due (pending).
    pub due_at: DateTime<Utc>,
    /// The provider's message of the last failed attempt.
    pub last_error: Option<String>,
    /// The commit, page or comment written.
    pub remote_ref: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct PublicationRow {
    id: Uuid,
    target: String,
    doc_kind: String,
    doc_id: Uuid,
    revision: i64,
    status: String,
    attempts: i32,
    due_at: DateTime<Utc>,
    last_error: Option<String>,
    remote_ref: Option<String>,
    published_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

fn bad(field: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("publications.{field}: {e}"))
}

impl TryFrom<PublicationRow> for Publication {
    type Error = StoreError;
    fn try_from(r: PublicationRow) -> Result<Self> {
        Ok(Publication {
            id: r.id,
            target: PublishTarget::from_str(&r.target).map_err(|e| bad("target", e))?,
            doc_kind: DocKind::from_str(&r.doc_kind).map_err(|e| bad("doc_kind", e))?,
            doc_id: r.doc_id,
            revision: r.revision,
            status: PublicationStatus::from_str(&r.status).map_err(|e| bad("status", e))?,
            attempts: r.attempts,
            due_at: r.due_at,
            last_error: r.last_error,
            remote_ref: r.remote_ref,
            published_at: r.published_at,
            created_at: r.created_at,
        })
    }
}

const PUB_COLS: &str = "id, target, doc_kind, doc_id, revision, status, attempts, due_at, \
                        last_error, remote_ref, published_at, created_at";

/// A publisher's health: failing (with the provider's message) or not.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[schema(as = PublisherState)]
pub struct PublishTargetState {
    pub target: PublishTarget,
    /// True when the last pass ended in an error.
    pub failing: bool,
    /// The provider's message of the last failure.
    pub last_error: Option<String>,
    pub last_run_at: Option<DateTime<Utc>>,
    pub last_ok_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct TargetRow {
    target: String,
    failing: bool,
    last_error: Option<String>,
    last_run_at: Option<DateTime<Utc>>,
    last_ok_at: Option<DateTime<Utc>>,
}

/// Where a document lives on the other side.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct PublishMapping {
    pub remote_id: String,
    /// The remote version number last written (Confluence), else 0.
    pub remote_version: i64,
    /// The hash of the content last written.
    pub content_hash: String,
}

/// How a claimed publication's attempt ended.
#[derive(Debug, Clone)]
pub enum PublishOutcome<'a> {
    /// Written; what was written.
    Published(&'a str),
    /// Failed; retried at `retry_at`, or given up without one.
    Failed {
        error: &'a str,
        retry_at: Option<DateTime<Utc>>,
    },
}

impl Store {
    /// Enqueues a publication unless it exists; true when new.
    pub async fn enqueue_publication(
        &self,
        target: PublishTarget,
        kind: DocKind,
        doc_id: Uuid,
        revision: i64,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(sql(format!(
                "INSERT INTO publications ({PUB_COLS}) VALUES \
                 ($1, $2, $3, $4, $5, 'pending', 0, $6, NULL, NULL, NULL, $6) \
                 ON CONFLICT (target, doc_kind, doc_id, revision) DO NOTHING"
            )))
            .bind(Uuid::now_v7())
            .bind(target.as_str())
            .bind(kind.as_str())
            .bind(doc_id)
            .bind(revision)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// The (document, revision) pairs of `kind` already enqueued for
    /// `target`.
    pub async fn publication_keys(
        &self,
        target: PublishTarget,
        kind: DocKind,
    ) -> Result<Vec<(Uuid, i64)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT doc_id, revision FROM publications WHERE target = $1 AND doc_kind = $2",
            )
            .bind(target.as_str())
            .bind(kind.as_str())
            .fetch_all(pool)
            .await?
        }))
    }

    /// Every (goal, version) pair recorded, in version order.
    pub async fn goal_version_keys(&self) -> Result<Vec<(Uuid, i32)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as("SELECT goal_id, version FROM goal_versions ORDER BY goal_id, version")
                .fetch_all(pool)
                .await?
        }))
    }

    /// Claims `target` for `owner` until `lease_until` when its lease is
    /// free at `now`; true when claimed.
    pub async fn claim_publish_target(
        &self,
        target: PublishTarget,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO publish_targets (target, lease_owner, lease_until, failing) \
                 VALUES ($1, $2, $3, FALSE) \
                 ON CONFLICT (target) DO UPDATE SET lease_owner = $2, lease_until = $3 \
                 WHERE publish_targets.lease_until IS NULL OR publish_targets.lease_until < $4",
            )
            .bind(target.as_str())
            .bind(owner)
            .bind(lease_until)
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Ends `owner`'s pass over `target`: frees the lease and records the
    /// publisher's health (`error` marks it failing with that message).
    pub async fn release_publish_target(
        &self,
        target: PublishTarget,
        owner: &str,
        now: DateTime<Utc>,
        error: Option<&str>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE publish_targets SET lease_owner = NULL, lease_until = NULL, \
                 failing = $3, last_error = COALESCE($4, last_error), last_run_at = $5, \
                 last_ok_at = CASE WHEN $3 THEN last_ok_at ELSE $5 END \
                 WHERE target = $1 AND lease_owner = $2",
            )
            .bind(target.as_str())
            .bind(owner)
            .bind(error.is_some())
            .bind(error)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Every publisher that ever ran, by name.
    pub async fn publish_target_states(&self) -> Result<Vec<PublishTargetState>> {
        let rows: Vec<TargetRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT target, failing, last_error, last_run_at, last_ok_at \
                 FROM publish_targets ORDER BY target",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(PublishTargetState {
                    target: PublishTarget::from_str(&r.target).map_err(|e| bad("target", e))?,
                    failing: r.failing,
                    last_error: r.last_error,
                    last_run_at: r.last_run_at,
                    last_ok_at: r.last_ok_at,
                })
            })
            .collect()
    }

    /// Up to `limit` pending publications of `target` due at `now`, in the
    /// order they were enqueued (a goal's versions in order).
    pub async fn due_publications(
        &self,
        target: PublishTarget,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Publication>> {
        let rows: Vec<PublicationRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {PUB_COLS} FROM publications WHERE target = $1 AND status = 'pending' \
                 AND due_at <= $2 ORDER BY id LIMIT $3"
            )))
            .bind(target.as_str())
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Publication::try_from).collect()
    }

    /// Records an attempt of publication `id` by the holder of `target`'s
    /// lease. False (nothing written) when `owner` no longer holds it.
    pub async fn finish_publication(
        &self,
        id: Uuid,
        target: PublishTarget,
        owner: &str,
        now: DateTime<Utc>,
        outcome: PublishOutcome<'_>,
    ) -> Result<bool> {
        let (status, error, remote, due) = match outcome {
            PublishOutcome::Published(r) => (PublicationStatus::Published, None, Some(r), None),
            PublishOutcome::Failed { error, retry_at } => (
                if retry_at.is_some() {
                    PublicationStatus::Pending
                } else {
                    PublicationStatus::Failed
                },
                Some(error),
                None,
                retry_at,
            ),
        };
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE publications SET status = $3, attempts = attempts + 1, \
                 last_error = $4, remote_ref = COALESCE($5, remote_ref), \
                 due_at = COALESCE($6, due_at), \
                 published_at = CASE WHEN $3 = 'published' THEN $7 ELSE published_at END \
                 WHERE id = $1 AND status = 'pending' AND EXISTS (SELECT 1 FROM publish_targets t \
                 WHERE t.target = $2 AND t.lease_owner = $8)",
            )
            .bind(id)
            .bind(target.as_str())
            .bind(status.as_str())
            .bind(error)
            .bind(remote)
            .bind(due)
            .bind(now)
            .bind(owner)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n > 0)
    }

    /// Puts failed publications of `target` (all when `None`) back in the
    /// queue, due at `now`; how many.
    pub async fn retry_failed_publications(
        &self,
        target: Option<PublishTarget>,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        Ok(on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE publications SET status = 'pending', attempts = 0, due_at = $2 \
                 WHERE status = 'failed' AND ($1 IS NULL OR target = $1)",
            )
            .bind(target.map(|t| t.as_str()))
            .bind(now)
            .execute(pool)
            .await?
            .rows_affected()
        }))
    }

    /// The publications of one document (every target and revision), newest
    /// revision first.
    pub async fn document_publications(
        &self,
        kind: DocKind,
        doc_id: Uuid,
    ) -> Result<Vec<Publication>> {
        let rows: Vec<PublicationRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {PUB_COLS} FROM publications WHERE doc_kind = $1 AND doc_id = $2 \
                 ORDER BY revision DESC, target"
            )))
            .bind(kind.as_str())
            .bind(doc_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(Publication::try_from).collect()
    }

    /// How many publications each target has in each status.
    pub async fn publication_counts(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT target, status, COUNT(*) FROM publications \
                 GROUP BY target, status ORDER BY target, status",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Where document `doc_key` lives in `target`.
    pub async fn publish_mapping(
        &self,
        target: PublishTarget,
        doc_key: &str,
    ) -> Result<Option<PublishMapping>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT remote_id, remote_version, content_hash FROM publish_mappings \
                 WHERE target = $1 AND doc_key = $2",
            )
            .bind(target.as_str())
            .bind(doc_key)
            .fetch_optional(pool)
            .await?
        }))
    }

    /// Records where document `doc_key` lives in `target` now.
    pub async fn put_publish_mapping(
        &self,
        target: PublishTarget,
        doc_key: &str,
        m: &PublishMapping,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO publish_mappings (target, doc_key, remote_id, remote_version, content_hash, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (target, doc_key) DO UPDATE SET \
                 remote_id = $3, remote_version = $4, content_hash = $5, updated_at = $6",
            )
            .bind(target.as_str())
            .bind(doc_key)
            .bind(&m.remote_id)
            .bind(m.remote_version)
            .bind(&m.content_hash)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
