//! Work items imported from an issue tracker (Jira), with their parent links
//! (migration 0010).
//!
//! Invariants:
//! - A tracked item is keyed on `(source, external_key)`. A re-import of the
//!   same data writes nothing; a newer report (its `updated_at` not older
//!   than the stored one) replaces the tracker's fields: title, kind, state,
//!   started and done times, project; a report without a start keeps the
//!   stored one (see `kept_start!`). Planning fields set in Tandem
//!   (priority, impact, stage, goal) are written on insertion only.
//! - Parent links (`work_item_parents`) are by tracker key; the parent need
//!   not be a stored work item (epics are containers). An item reported
//!   without a parent loses its link; one whose report does not say keeps it.
//! - One call is one transaction: all of it is stored, or none of it.

use tandem_domain::DomainError;
use tandem_domain::work_item::WorkItem;
use uuid::Uuid;

use crate::engine::{ITEM_COLS, ITEM_VALUES, bind_row};
use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// A work item as a tracker reports it, with its parent link.
#[derive(Debug, Clone, PartialEq)]
pub struct TrackedItem {
    pub item: WorkItem,
    pub parent: ParentLink,
}

/// What a report says about an item's parent (epic or parent issue).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParentLink {
    /// The report does not say (a CSV export without parent columns, or a
    /// parent it names by an id it does not resolve): a stored link stays.
    Unknown,
    /// No parent: a stored link is removed.
    Detached,
    /// The parent's key in the tracker.
    Key(String),
}

/// What [`Store::upsert_tracked_items`] changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TrackerWrite {
    /// Work items inserted or changed.
    pub items: u64,
    /// Parent links added, changed or removed.
    pub parents: u64,
}

/// The start an update keeps: none for an item back to do; the reported one;
/// else the stored one (a CSV export has no changelog, so it must not erase
/// the start a REST import found), unless that is after the reported finish.
macro_rules! kept_start {
    () => {
        "CASE WHEN excluded.state = 'todo' THEN NULL \
         WHEN excluded.started_at IS NOT NULL THEN excluded.started_at \
         WHEN excluded.done_at IS NOT NULL AND work_items.started_at > excluded.done_at THEN NULL \
         ELSE work_items.started_at END"
    };
}

/// Inserts a tracked work item or updates it from a report at least as new.
fn upsert_item_sql() -> String {
    format!(
        concat!(
            "INSERT INTO work_items ({cols}) {values} \
             ON CONFLICT (source, external_key) DO UPDATE SET title = excluded.title, kind = excluded.kind, \
             state = excluded.state, project_id = excluded.project_id, created_at = excluded.created_at, \
             done_at = excluded.done_at, updated_at = excluded.updated_at, started_at = ",
            kept_start!(),
            " WHERE work_items.updated_at <= excluded.updated_at AND (work_items.title <> excluded.title \
             OR work_items.kind <> excluded.kind OR work_items.state <> excluded.state \
             OR work_items.project_id IS DISTINCT FROM excluded.project_id \
             OR work_items.created_at <> excluded.created_at \
             OR work_items.done_at IS DISTINCT FROM excluded.done_at \
             OR work_items.started_at IS DISTINCT FROM (",
            kept_start!(),
            "))"
        ),
        cols = ITEM_COLS,
        values = ITEM_VALUES,
    )
}

const UPSERT_PARENT: &str = "INSERT INTO work_item_parents (source, external_key, parent_key) \
     VALUES ($1, $2, $3) ON CONFLICT (source, external_key) DO UPDATE SET parent_key = excluded.parent_key \
     WHERE work_item_parents.parent_key <> excluded.parent_key";

const DELETE_PARENT: &str = "DELETE FROM work_item_parents WHERE source = $1 AND external_key = $2";

/// Every item below `parent_key` (children, their children, ...), then the
/// ones of those whose goal is not already `goal_id`.
const LINK_GOAL: &str = "WITH RECURSIVE tree (k) AS ( \
     SELECT external_key FROM work_item_parents WHERE source = $1 AND parent_key = $2 \
     UNION SELECT p.external_key FROM work_item_parents p JOIN tree ON p.parent_key = tree.k \
     WHERE p.source = $1) \
     UPDATE work_items SET goal_id = $3 WHERE source = $1 AND external_key IN (SELECT k FROM tree) \
     AND (goal_id IS NULL OR goal_id <> $3)";

fn keyed(w: &WorkItem) -> Result<&str> {
    w.validate()?;
    w.external_key.as_deref().ok_or_else(|| {
        StoreError::Domain(DomainError::invalid(
            "external_key",
            "a tracked work item needs the key it has in its tracker",
        ))
    })
}

impl Store {
    /// Stores work items reported by a tracker and their parent links, all
    /// in one transaction (see the module's invariants). Every item is
    /// validated before anything is written.
    pub async fn upsert_tracked_items(&self, items: &[TrackedItem]) -> Result<TrackerWrite> {
        for t in items {
            keyed(&t.item)?;
            if let ParentLink::Key(parent) = &t.parent
                && parent.trim().is_empty()
            {
                return Err(StoreError::Domain(DomainError::invalid(
                    "parent_key",
                    "is empty",
                )));
            }
        }
        let mut out = TrackerWrite::default();
        on_pool!(self, |pool| {
            let upsert = upsert_item_sql();
            let mut tx = pool.begin_write().await?;
            for t in items {
                let w = &t.item;
                let key = keyed(w)?;
                // `key` is `w.external_key`, bound with the rest of the row.
                let done = bind_row(sqlx::query(sqlx::AssertSqlSafe(upsert.as_str())), w)
                    .execute(&mut *tx)
                    .await
                    .map_err(crate::engineering::records::missing_project(
                        "team_id", w.team_id,
                    ))?;
                out.items += done.rows_affected();
                out.parents += match &t.parent {
                    ParentLink::Key(parent) => sqlx::query(UPSERT_PARENT)
                        .bind(&w.source)
                        .bind(key)
                        .bind(parent)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                    ParentLink::Detached => sqlx::query(DELETE_PARENT)
                        .bind(&w.source)
                        .bind(key)
                        .execute(&mut *tx)
                        .await?
                        .rows_affected(),
                    ParentLink::Unknown => 0,
                };
            }
            tx.commit().await?;
        });
        Ok(out)
    }

    /// The keys of the items whose parent is `parent_key`, sorted.
    pub async fn tracked_children(&self, source: &str, parent_key: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT external_key FROM work_item_parents WHERE source = $1 AND parent_key = $2 \
                 ORDER BY external_key",
            )
            .bind(source)
            .bind(parent_key)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(|(k,)| k).collect())
    }

    /// Sets the goal of every stored item below `parent_key` (its children
    /// and their descendants) to `goal_id`; returns how many changed. The
    /// goal must exist (`MissingReference { field: "goal_id" }` otherwise).
    pub async fn link_tracked_children_to_goal(
        &self,
        source: &str,
        parent_key: &str,
        goal_id: Uuid,
    ) -> Result<u64> {
        let changed = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let done = sqlx::query(LINK_GOAL)
                .bind(source)
                .bind(parent_key)
                .bind(goal_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| match &e {
                    sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                        StoreError::MissingReference {
                            field: "goal_id".to_owned(),
                            message: format!("goal {goal_id} does not exist"),
                        }
                    }
                    _ => StoreError::Database(e),
                })?;
            tx.commit().await?;
            done.rows_affected()
        });
        Ok(changed)
    }
}
