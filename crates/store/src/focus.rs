//! Team policies and calendar feeds (issue 15). A feed row keeps the last
//! text that parsed (`body`) beside the outcome of the last refresh; a
//! failed refresh records its error and leaves `body`, `etag` and `warnings`
//! alone. Refreshes are claimed per feed with a lease (ADR 0006) so two
//! replicas never fetch the same feed at once.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tandem_domain::calendar::CalendarFeed;
use tandem_domain::policy::TeamPolicy;
use uuid::Uuid;

use crate::{Result, Store, StoreError, on_pool};

const FEED_COLS: &str =
    "id, team_id, user_id, source, etag, warnings, last_error, fetched_at, ok_at, created_at";

#[derive(sqlx::FromRow)]
struct FeedRow {
    id: Uuid,
    team_id: Uuid,
    user_id: Option<Uuid>,
    source: String,
    etag: Option<String>,
    warnings: Json<Vec<String>>,
    last_error: Option<String>,
    fetched_at: Option<DateTime<Utc>>,
    ok_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
}

impl From<FeedRow> for CalendarFeed {
    fn from(r: FeedRow) -> Self {
        CalendarFeed {
            id: r.id,
            team_id: r.team_id,
            user_id: r.user_id,
            source: r.source,
            etag: r.etag,
            warnings: r.warnings.0,
            last_error: r.last_error,
            fetched_at: r.fetched_at,
            ok_at: r.ok_at,
            created_at: r.created_at,
        }
    }
}

fn fk(e: sqlx::Error, team_id: Uuid) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::MissingReference {
                field: "team".into(),
                message: format!("team {team_id} or the user does not exist"),
            }
        }
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict {
            field: "source".into(),
            message: "this team already has a feed with that source".into(),
        },
        _ => StoreError::Database(e),
    }
}

/// What a calendar refresh brought: `Ok(Some((body, etag, warnings)))` new
/// good data, `Ok(None)` not modified, `Err(message)` a failure.
pub type RefreshOutcome<'a> =
    std::result::Result<Option<(&'a str, Option<&'a str>, &'a [String])>, &'a str>;

impl Store {
    /// A team's policy, if one was set.
    pub async fn team_policy(&self, team_id: Uuid) -> Result<Option<TeamPolicy>> {
        let row: Option<(Json<TeamPolicy>,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT policy FROM team_policies WHERE team_id = $1")
                .bind(team_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|r| r.0.0))
    }

    /// Sets a team's policy (the caller validated it).
    pub async fn put_team_policy(
        &self,
        team_id: Uuid,
        policy: &TeamPolicy,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO team_policies (team_id, policy, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (team_id) DO UPDATE SET policy = excluded.policy, \
                 updated_at = excluded.updated_at",
            )
            .bind(team_id)
            .bind(Json(policy))
            .bind(now)
            .execute(pool)
            .await
            .map_err(|e| match fk(e, team_id) {
                StoreError::MissingReference { .. } => StoreError::not_found("team", team_id),
                other => other,
            })?;
        });
        Ok(())
    }

    pub async fn create_calendar_feed(&self, f: &CalendarFeed) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO calendar_feeds (id, team_id, user_id, source, etag, warnings, \
                 last_error, fetched_at, ok_at, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(f.id)
            .bind(f.team_id)
            .bind(f.user_id)
            .bind(&f.source)
            .bind(&f.etag)
            .bind(Json(&f.warnings))
            .bind(&f.last_error)
            .bind(f.fetched_at)
            .bind(f.ok_at)
            .bind(f.created_at)
            .execute(pool)
            .await
            .map_err(|e| fk(e, f.team_id))?;
        });
        Ok(())
    }

    pub async fn get_calendar_feed(&self, id: Uuid) -> Result<CalendarFeed> {
        let row: Option<FeedRow> = on_pool!(self, |pool| {
            sqlx::query_as(crate::engine::sql(format!(
                "SELECT {FEED_COLS} FROM calendar_feeds WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.map(CalendarFeed::from)
            .ok_or_else(|| StoreError::not_found("calendar feed", id))
    }

    /// Every feed, or a team's, oldest first.
    pub async fn list_calendar_feeds(&self, team_id: Option<Uuid>) -> Result<Vec<CalendarFeed>> {
        let rows: Vec<FeedRow> = on_pool!(self, |pool| {
            sqlx::query_as(crate::engine::sql(format!(
                "SELECT {FEED_COLS} FROM calendar_feeds WHERE ($1 IS NULL OR team_id = $1) \
                 ORDER BY created_at, id"
            )))
            .bind(team_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows.into_iter().map(CalendarFeed::from).collect())
    }

    /// The last good text of each of a team's feeds that has one, with the feed.
    pub async fn calendar_bodies(&self, team_id: Uuid) -> Result<Vec<(CalendarFeed, String)>> {
        let feeds = self.list_calendar_feeds(Some(team_id)).await?;
        let bodies: Vec<(Uuid, Option<String>)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, body FROM calendar_feeds WHERE team_id = $1")
                .bind(team_id)
                .fetch_all(pool)
                .await?
        });
        Ok(feeds
            .into_iter()
            .filter_map(|f| {
                let body = bodies.iter().find(|(id, _)| *id == f.id)?.1.clone()?;
                Some((f, body))
            })
            .collect())
    }

    /// Claims a feed's refresh for `owner` until `lease_until`: `true` when
    /// nobody holds a lease that runs past `now`.
    pub async fn claim_calendar_feed(
        &self,
        id: Uuid,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE calendar_feeds SET lease_owner = $2, lease_until = $4 \
                 WHERE id = $1 AND (lease_until IS NULL OR lease_until < $3 OR lease_owner = $2)",
            )
            .bind(id)
            .bind(owner)
            .bind(now)
            .bind(lease_until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records a refresh: `Ok(Some((body, etag, warnings)))` new good data,
    /// `Ok(None)` not modified, `Err(message)` a failure that keeps the last
    /// good data. Releases the lease.
    pub async fn record_calendar_refresh(
        &self,
        id: Uuid,
        outcome: RefreshOutcome<'_>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let n = on_pool!(self, |pool| {
            match outcome {
                Ok(Some((body, etag, warnings))) => sqlx::query(
                    "UPDATE calendar_feeds SET body = $2, etag = $3, warnings = $4, last_error = NULL, \
                     fetched_at = $5, ok_at = $5, lease_owner = NULL, lease_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(body)
                .bind(etag)
                .bind(Json(warnings))
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected(),
                Ok(None) => sqlx::query(
                    "UPDATE calendar_feeds SET last_error = NULL, fetched_at = $2, ok_at = $2, \
                     lease_owner = NULL, lease_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected(),
                Err(message) => sqlx::query(
                    "UPDATE calendar_feeds SET last_error = $2, fetched_at = $3, \
                     lease_owner = NULL, lease_until = NULL WHERE id = $1",
                )
                .bind(id)
                .bind(message)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected(),
            }
        });
        if n == 0 {
            return Err(StoreError::not_found("calendar feed", id));
        }
        Ok(())
    }

    pub async fn delete_calendar_feed(&self, id: Uuid) -> Result<()> {
        let n = on_pool!(self, |pool| {
            sqlx::query("DELETE FROM calendar_feeds WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::not_found("calendar feed", id));
        }
        Ok(())
    }
}
