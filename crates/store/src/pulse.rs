//! The team pulse (issue 15, ADR 0028): each team's configuration, its
//! weeks (the per-week salt, and when the Slack messages went out) and the
//! answers, which hold no user id.
//!
//! An answer is found again only through `answer_key`, which the app
//! computes from the week's salt. Writing an answer and closing a week
//! exclude each other: an answer first locks its week's row, and only while
//! the salt is there (`salt IS NOT NULL`), so no keyed answer lands in a
//! week after it was closed. Closing clears the salt and every key of the
//! week in one transaction.

use chrono::{DateTime, Utc};
use sqlx::types::Json;
use tandem_domain::pulse::{Answer, PulseConfig};
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// What [`Store::put_pulse_answer`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PulseWrite {
    /// The person's first answer this week.
    Added,
    /// Their earlier answer of the week was replaced.
    Replaced,
    /// The week is closed (its salt is gone): nothing was written.
    Closed,
}

fn team_fk(e: sqlx::Error, team_id: Uuid) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
            StoreError::not_found("team", team_id)
        }
        _ => StoreError::Database(e),
    }
}

impl Store {
    /// A team's pulse configuration, if one was set.
    pub async fn pulse_config(&self, team_id: Uuid) -> Result<Option<PulseConfig>> {
        let row: Option<(Json<PulseConfig>,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT config FROM pulse_configs WHERE team_id = $1")
                .bind(team_id)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|r| r.0.0))
    }

    /// Sets a team's pulse configuration (the caller validated it).
    pub async fn put_pulse_config(
        &self,
        team_id: Uuid,
        config: &PulseConfig,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO pulse_configs (team_id, config, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (team_id) DO UPDATE SET config = excluded.config, \
                 updated_at = excluded.updated_at",
            )
            .bind(team_id)
            .bind(Json(config))
            .bind(now)
            .execute(pool)
            .await
            .map_err(|e| team_fk(e, team_id))?;
        });
        Ok(())
    }

    /// The salt of a team's week, made from `fresh` if the week has no row
    /// yet; `None` once the week is closed.
    pub async fn pulse_salt(
        &self,
        team_id: Uuid,
        week: &str,
        fresh: &[u8],
    ) -> Result<Option<Vec<u8>>> {
        let row: (Option<Vec<u8>>,) = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO pulse_weeks (team_id, week, salt) VALUES ($1, $2, $3) \
                 ON CONFLICT (team_id, week) DO NOTHING",
            )
            .bind(team_id)
            .bind(week)
            .bind(fresh)
            .execute(pool)
            .await
            .map_err(|e| team_fk(e, team_id))?;
            sqlx::query_as("SELECT salt FROM pulse_weeks WHERE team_id = $1 AND week = $2")
                .bind(team_id)
                .bind(week)
                .fetch_one(pool)
                .await?
        });
        Ok(row.0)
    }

    /// Stores an answer under `key`, replacing the one stored under the
    /// same key this week; nothing when the week is closed.
    pub async fn put_pulse_answer(
        &self,
        team_id: Uuid,
        week: &str,
        key: &str,
        answer: &Answer,
    ) -> Result<PulseWrite> {
        let done = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            // Locks the week's row (PostgreSQL) against a concurrent close.
            let open = sqlx::query(
                "UPDATE pulse_weeks SET salt = salt WHERE team_id = $1 AND week = $2 \
                 AND salt IS NOT NULL",
            )
            .bind(team_id)
            .bind(week)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if open == 0 {
                PulseWrite::Closed
            } else {
                let replaced = sqlx::query(
                    "UPDATE pulse_answers SET workload = $4, focus = $5, note = $6 \
                     WHERE team_id = $1 AND week = $2 AND answer_key = $3",
                )
                .bind(team_id)
                .bind(week)
                .bind(key)
                .bind(i32::from(answer.workload))
                .bind(i32::from(answer.focus))
                .bind(&answer.note)
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if replaced == 0 {
                    sqlx::query(
                        "INSERT INTO pulse_answers (id, team_id, week, answer_key, workload, focus, note) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    )
                    .bind(Uuid::new_v4())
                    .bind(team_id)
                    .bind(week)
                    .bind(key)
                    .bind(i32::from(answer.workload))
                    .bind(i32::from(answer.focus))
                    .bind(&answer.note)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                if replaced == 0 {
                    PulseWrite::Added
                } else {
                    PulseWrite::Replaced
                }
            }
        });
        Ok(done)
    }

    /// Sets the note of the answer stored under `key` this week: false when
    /// there is none (or the week is closed).
    pub async fn set_pulse_note(
        &self,
        team_id: Uuid,
        week: &str,
        key: &str,
        note: Option<&str>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let open = sqlx::query(
                "UPDATE pulse_weeks SET salt = salt WHERE team_id = $1 AND week = $2 \
                 AND salt IS NOT NULL",
            )
            .bind(team_id)
            .bind(week)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let n = if open == 0 {
                0
            } else {
                sqlx::query(
                    "UPDATE pulse_answers SET note = $4 \
                     WHERE team_id = $1 AND week = $2 AND answer_key = $3",
                )
                .bind(team_id)
                .bind(week)
                .bind(key)
                .bind(note)
                .execute(&mut *tx)
                .await?
                .rows_affected()
            };
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Whether an answer is stored under `key` for the week.
    pub async fn has_pulse_answer(&self, team_id: Uuid, week: &str, key: &str) -> Result<bool> {
        let row: Option<(i32,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT 1 FROM pulse_answers WHERE team_id = $1 AND week = $2 AND answer_key = $3",
            )
            .bind(team_id)
            .bind(week)
            .bind(key)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.is_some())
    }

    /// The answers of a team's week, in no meaningful order (their ids are
    /// random).
    pub async fn pulse_answers(&self, team_id: Uuid, week: &str) -> Result<Vec<Answer>> {
        let rows: Vec<(i32, i32, Option<String>)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT workload, focus, note FROM pulse_answers \
                 WHERE team_id = $1 AND week = $2 ORDER BY id",
            )
            .bind(team_id)
            .bind(week)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|(w, f, note)| Answer {
                workload: u8::try_from(w).unwrap_or(0),
                focus: u8::try_from(f).unwrap_or(0),
                note,
            })
            .collect())
    }

    /// The answers of several of a team's weeks (ISO week labels) in one
    /// query, each with its week's label; by week, then in no meaningful
    /// order. What [`Store::pulse_answers`] returns for each week.
    pub async fn pulse_answers_of_weeks(
        &self,
        team_id: Uuid,
        weeks: &[String],
    ) -> Result<Vec<(String, Answer)>> {
        if weeks.is_empty() {
            return Ok(Vec::new());
        }
        let rows: Vec<(String, i32, i32, Option<String>)> = on_pool!(self, |pool| {
            let mut qb = sqlx::QueryBuilder::new(
                "SELECT week, workload, focus, note FROM pulse_answers WHERE team_id = ",
            );
            qb.push_bind(team_id).push(" AND week IN (");
            crate::engine::push_list(&mut qb, weeks, |w| w.clone());
            qb.push(") ORDER BY week, id");
            qb.build_query_as().fetch_all(pool).await?
        });
        Ok(rows
            .into_iter()
            .map(|(week, w, f, note)| {
                (
                    week,
                    Answer {
                        workload: u8::try_from(w).unwrap_or(0),
                        focus: u8::try_from(f).unwrap_or(0),
                        note,
                    },
                )
            })
            .collect())
    }

    /// Closes every week of a team before `before` (an ISO week label; labels
    /// sort as weeks do): deletes their salts and clears their answers'
    /// keys. Returns how many weeks were closed.
    pub async fn close_pulse_weeks(
        &self,
        team_id: Uuid,
        before: &str,
        now: DateTime<Utc>,
    ) -> Result<u64> {
        let n = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let n = sqlx::query(
                "UPDATE pulse_weeks SET salt = NULL, closed_at = $3 \
                 WHERE team_id = $1 AND week < $2 AND salt IS NOT NULL",
            )
            .bind(team_id)
            .bind(before)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query(
                "UPDATE pulse_answers SET answer_key = NULL \
                 WHERE team_id = $1 AND week < $2 AND answer_key IS NOT NULL",
            )
            .bind(team_id)
            .bind(before)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            n
        });
        Ok(n)
    }

    /// Claims the sending of a team's week's Slack messages for `owner`
    /// until `until`: true when they were not sent yet and nobody else holds
    /// the claim. Makes the week (with `fresh` as its salt) if needed.
    pub async fn claim_pulse_ask(
        &self,
        team_id: Uuid,
        week: &str,
        fresh: &[u8],
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool> {
        self.pulse_salt(team_id, week, fresh).await?;
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE pulse_weeks SET lease_owner = $3, lease_until = $5 \
                 WHERE team_id = $1 AND week = $2 AND asked_at IS NULL AND salt IS NOT NULL \
                 AND (lease_until IS NULL OR lease_until < $4 OR lease_owner = $3)",
            )
            .bind(team_id)
            .bind(week)
            .bind(owner)
            .bind(now)
            .bind(until)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Ends a claim: `asked` records that the messages went out.
    pub async fn finish_pulse_ask(
        &self,
        team_id: Uuid,
        week: &str,
        owner: &str,
        asked: Option<DateTime<Utc>>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE pulse_weeks SET asked_at = COALESCE($4, asked_at), lease_owner = NULL, \
                 lease_until = NULL WHERE team_id = $1 AND week = $2 AND lease_owner = $3",
            )
            .bind(team_id)
            .bind(week)
            .bind(owner)
            .bind(asked)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// When a team's week's Slack messages went out, if they did.
    pub async fn pulse_asked_at(&self, team_id: Uuid, week: &str) -> Result<Option<DateTime<Utc>>> {
        let row: Option<(Option<DateTime<Utc>>,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT asked_at FROM pulse_weeks WHERE team_id = $1 AND week = $2")
                .bind(team_id)
                .bind(week)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.and_then(|r| r.0))
    }
}
