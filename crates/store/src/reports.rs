//! Storage for weekly reports: drafts (the editor's edits only), deliveries
//! claimed per channel and recipient, their attempt log, team schedules,
//! scheduled runs claimed once per team and week, and the archive.
//!
//! Exactly-once rules kept here:
//! - A delivery row is inserted (claimed) before the first attempt; its key
//!   `(team, week, channel, recipient)` is unique, so a second sender finds
//!   it taken. Only a `failed` delivery, or a `sending` one whose claim is
//!   older than the caller's staleness bound (its sender died), can be
//!   claimed again; a `sent` one never.
//! - A scheduled run row `(team, week)` is claimed by one replica with a
//!   lease; another replica may take it over only once the lease ran out and
//!   the run is not finished.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::FromRow;
use sqlx::types::Json;
use tandem_domain::report::{Channel, DeliveryStatus, DraftStatus, ReportEdits};
use uuid::Uuid;

use crate::{BeginWrite, Result, Store, StoreError, on_pool};

/// A team's draft for one ISO week.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportDraft {
    pub id: Uuid,
    pub team_id: Uuid,
    /// ISO week, e.g. `2026-W47`.
    pub week: String,
    pub edits: ReportEdits,
    pub status: DraftStatus,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
    pub sent_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromRow)]
struct DraftRow {
    id: Uuid,
    team_id: Uuid,
    week: String,
    edits: Json<ReportEdits>,
    status: String,
    approved_by: Option<String>,
    approved_at: Option<DateTime<Utc>>,
    sent_at: Option<DateTime<Utc>>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DraftRow> for ReportDraft {
    type Error = StoreError;

    fn try_from(r: DraftRow) -> Result<Self> {
        Ok(ReportDraft {
            id: r.id,
            team_id: r.team_id,
            week: r.week,
            edits: r.edits.0,
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            approved_by: r.approved_by,
            approved_at: r.approved_at,
            sent_at: r.sent_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

const DRAFT_COLS: &str =
    "id, team_id, week, edits, status, approved_by, approved_at, sent_at, created_at, updated_at";

/// One channel and recipient of one report.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportDelivery {
    pub id: Uuid,
    pub team_id: Uuid,
    pub week: String,
    pub channel: Channel,
    pub recipient: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub claimed_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct ReportDeliveryRow {
    id: Uuid,
    team_id: Uuid,
    week: String,
    channel: String,
    recipient: String,
    status: String,
    attempts: i32,
    last_error: Option<String>,
    claimed_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

impl TryFrom<ReportDeliveryRow> for ReportDelivery {
    type Error = StoreError;

    fn try_from(r: ReportDeliveryRow) -> Result<Self> {
        Ok(ReportDelivery {
            id: r.id,
            team_id: r.team_id,
            week: r.week,
            channel: r.channel.parse().map_err(StoreError::Corrupt)?,
            recipient: r.recipient,
            status: r.status.parse().map_err(StoreError::Corrupt)?,
            attempts: r.attempts,
            last_error: r.last_error,
            claimed_at: r.claimed_at,
            sent_at: r.sent_at,
        })
    }
}

const DELIVERY_COLS: &str =
    "id, team_id, week, channel, recipient, status, attempts, last_error, claimed_at, sent_at";

/// One attempt of a delivery.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct ReportDeliveryAttempt {
    pub delivery_id: Uuid,
    pub attempt: i32,
    pub at: DateTime<Utc>,
    /// `sent` or `failed`.
    pub outcome: String,
    pub message: String,
}

/// A team's report schedule.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ReportSchedule {
    pub team_id: Uuid,
    /// Five fields, minute first (`0 16 * * 5`: Fridays 16:00), in the
    /// team's time zone.
    pub cron: String,
    /// Send without approval when due; otherwise hold the draft until a
    /// manager approves it.
    pub auto_send: bool,
    /// E-mail recipients.
    pub email_to: Vec<String>,
    /// When the team's own schedule was last saved; `null` while the
    /// configured default applies (it was never saved). Saving without one
    /// stamps the current time.
    pub updated_at: Option<DateTime<Utc>>,
}

#[derive(FromRow)]
struct ScheduleRow {
    team_id: Uuid,
    cron: String,
    auto_send: bool,
    email_to: Json<Vec<String>>,
    updated_at: DateTime<Utc>,
}

/// A sent report with its rendered forms.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ArchivedReport {
    pub id: Uuid,
    pub team_id: Uuid,
    pub week: String,
    pub title: String,
    pub sent_at: DateTime<Utc>,
    /// The report as sent (edits applied), as JSON.
    #[schema(value_type = Object)]
    pub report: serde_json::Value,
    pub markdown: String,
    pub html: String,
    pub text: String,
    /// The Slack Block Kit message.
    #[schema(value_type = Object)]
    pub slack: serde_json::Value,
    /// The object-store prefix the rendered forms were uploaded under.
    pub object_prefix: Option<String>,
}

#[derive(FromRow)]
struct ArchiveRow {
    id: Uuid,
    team_id: Uuid,
    week: String,
    title: String,
    sent_at: DateTime<Utc>,
    report: Json<serde_json::Value>,
    markdown: String,
    html: String,
    text: String,
    slack: Json<serde_json::Value>,
    object_prefix: Option<String>,
}

impl From<ArchiveRow> for ArchivedReport {
    fn from(r: ArchiveRow) -> Self {
        ArchivedReport {
            id: r.id,
            team_id: r.team_id,
            week: r.week,
            title: r.title,
            sent_at: r.sent_at,
            report: r.report.0,
            markdown: r.markdown,
            html: r.html,
            text: r.text,
            slack: r.slack.0,
            object_prefix: r.object_prefix,
        }
    }
}

/// A line of the archive's list.
#[derive(Debug, Clone, PartialEq, Serialize, FromRow, utoipa::ToSchema)]
pub struct ArchiveEntry {
    pub id: Uuid,
    pub team_id: Uuid,
    pub week: String,
    pub title: String,
    pub sent_at: DateTime<Utc>,
    pub object_prefix: Option<String>,
}

impl Store {
    // ---- drafts ------------------------------------------------------------

    /// The team's draft for `week`, created (empty) when there is none.
    /// Replicas racing to create it get the same row.
    pub async fn draft(
        &self,
        team_id: Uuid,
        week: &str,
        now: DateTime<Utc>,
    ) -> Result<ReportDraft> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO report_drafts (id, team_id, week, edits, status, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, 'draft', $5, $5) ON CONFLICT (team_id, week) DO NOTHING",
            )
            .bind(Uuid::now_v7())
            .bind(team_id)
            .bind(week)
            .bind(Json(ReportEdits::default()))
            .bind(now)
            .execute(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::not_found("team", team_id)
                }
                _ => StoreError::Database(e),
            })?;
        });
        self.find_draft(team_id, week)
            .await?
            .ok_or_else(|| StoreError::not_found("report draft", format!("{team_id}/{week}")))
    }

    /// The team's draft for `week`, if one was made.
    pub async fn find_draft(&self, team_id: Uuid, week: &str) -> Result<Option<ReportDraft>> {
        let row: Option<DraftRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {DRAFT_COLS} FROM report_drafts WHERE team_id = $1 AND week = $2"
            )))
            .bind(team_id)
            .bind(week)
            .fetch_optional(pool)
            .await?
        });
        row.map(ReportDraft::try_from).transpose()
    }

    /// Drafts, newest week first; of one team when `team_id` is given.
    pub async fn list_drafts(&self, team_id: Option<Uuid>) -> Result<Vec<ReportDraft>> {
        let rows: Vec<DraftRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {DRAFT_COLS} FROM report_drafts WHERE ($1 IS NULL OR team_id = $1) \
                 ORDER BY week DESC, team_id"
            )))
            .bind(team_id)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ReportDraft::try_from).collect()
    }

    /// Saves a draft's new edits and status, provided nobody saved it since
    /// it was read (`read.updated_at`); otherwise `Stale`. A sent draft is
    /// not changed (`Stale` too: it is no longer a draft).
    pub async fn save_draft(&self, read: &ReportDraft, next: &ReportDraft) -> Result<()> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE report_drafts SET edits = $2, status = $3, approved_by = $4, approved_at = $5, \
                 sent_at = $6, updated_at = $7 WHERE id = $1 AND updated_at = $8 AND status <> 'sent'",
            )
            .bind(next.id)
            .bind(Json(&next.edits))
            .bind(next.status.as_str())
            .bind(&next.approved_by)
            .bind(next.approved_at)
            .bind(next.sent_at)
            .bind(next.updated_at)
            .bind(read.updated_at)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::Stale(format!(
                "the report draft of {} changed since it was read (or was sent); read it again",
                read.week
            )));
        }
        Ok(())
    }

    /// Marks a draft sent (whatever its state: the send happened).
    pub async fn mark_draft_sent(&self, id: Uuid, now: DateTime<Utc>) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE report_drafts SET status = 'sent', sent_at = $2, updated_at = $2 WHERE id = $1",
            )
            .bind(id)
            .bind(now)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    // ---- deliveries --------------------------------------------------------

    /// Claims the delivery of a team's `week` report on `channel` to
    /// `recipient`. `Some` when this caller may send: the row is new, or it
    /// failed before, or its sender claimed it before `stale_before` and never
    /// finished. `None` when it was sent or another sender holds it.
    pub async fn claim_report_delivery(
        &self,
        team_id: Uuid,
        week: &str,
        channel: Channel,
        recipient: &str,
        now: DateTime<Utc>,
        stale_before: DateTime<Utc>,
    ) -> Result<Option<ReportDelivery>> {
        let id = Uuid::now_v7();
        let row: Option<ReportDeliveryRow> = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO report_deliveries (id, team_id, week, channel, recipient, status, attempts, claimed_at) \
                 VALUES ($1, $2, $3, $4, $5, 'sending', 0, $6) \
                 ON CONFLICT (team_id, week, channel, recipient) DO NOTHING",
            )
            .bind(id)
            .bind(team_id)
            .bind(week)
            .bind(channel.as_str())
            .bind(recipient)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let claimed = inserted == 1
                || sqlx::query(
                    "UPDATE report_deliveries SET status = 'sending', claimed_at = $5 \
                     WHERE team_id = $1 AND week = $2 AND channel = $3 AND recipient = $4 \
                     AND (status = 'failed' OR (status = 'sending' AND claimed_at < $6))",
                )
                .bind(team_id)
                .bind(week)
                .bind(channel.as_str())
                .bind(recipient)
                .bind(now)
                .bind(stale_before)
                .execute(&mut *tx)
                .await?
                .rows_affected()
                    == 1;
            let row = if claimed {
                sqlx::query_as(sqlx::AssertSqlSafe(format!(
                    "SELECT {DELIVERY_COLS} FROM report_deliveries \
                     WHERE team_id = $1 AND week = $2 AND channel = $3 AND recipient = $4"
                )))
                .bind(team_id)
                .bind(week)
                .bind(channel.as_str())
                .bind(recipient)
                .fetch_optional(&mut *tx)
                .await?
            } else {
                None
            };
            tx.commit().await?;
            row
        });
        row.map(ReportDelivery::try_from).transpose()
    }

    /// Records one attempt of a claimed delivery: a log line, and the
    /// delivery's status (`sent` is final; `failed` with the error).
    pub async fn record_report_delivery_attempt(
        &self,
        delivery_id: Uuid,
        outcome: DeliveryStatus,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let (attempts,): (i32,) = sqlx::query_as(
                "UPDATE report_deliveries SET attempts = attempts + 1, status = $2, \
                 last_error = CASE WHEN $2 = 'sent' THEN NULL ELSE $3 END, \
                 sent_at = CASE WHEN $2 = 'sent' THEN $4 ELSE sent_at END \
                 WHERE id = $1 RETURNING attempts",
            )
            .bind(delivery_id)
            .bind(outcome.as_str())
            .bind(message)
            .bind(now)
            .fetch_one(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO report_delivery_log (delivery_id, attempt, at, outcome, message) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(delivery_id)
            .bind(attempts)
            .bind(now)
            .bind(outcome.as_str())
            .bind(message)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// The deliveries of a team's report for `week`, by channel and recipient.
    pub async fn list_report_deliveries(
        &self,
        team_id: Uuid,
        week: &str,
    ) -> Result<Vec<ReportDelivery>> {
        let rows: Vec<ReportDeliveryRow> = on_pool!(self, |pool| {
            sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "SELECT {DELIVERY_COLS} FROM report_deliveries WHERE team_id = $1 AND week = $2 \
                 ORDER BY channel, recipient"
            )))
            .bind(team_id)
            .bind(week)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(ReportDelivery::try_from).collect()
    }

    /// Every attempt at the deliveries of a team's report for `week`.
    pub async fn list_report_delivery_log(
        &self,
        team_id: Uuid,
        week: &str,
    ) -> Result<Vec<ReportDeliveryAttempt>> {
        let rows: Vec<ReportDeliveryAttempt> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT l.delivery_id, l.attempt, l.at, l.outcome, l.message \
                 FROM report_delivery_log l JOIN report_deliveries d ON d.id = l.delivery_id \
                 WHERE d.team_id = $1 AND d.week = $2 ORDER BY l.at, l.delivery_id, l.attempt",
            )
            .bind(team_id)
            .bind(week)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    // ---- schedules ---------------------------------------------------------

    /// A team's schedule, if one was set.
    pub async fn report_schedule(&self, team_id: Uuid) -> Result<Option<ReportSchedule>> {
        let row: Option<ScheduleRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT team_id, cron, auto_send, email_to, updated_at FROM report_schedules \
                 WHERE team_id = $1",
            )
            .bind(team_id)
            .fetch_optional(pool)
            .await?
        });
        Ok(row.map(|r| ReportSchedule {
            team_id: r.team_id,
            cron: r.cron,
            auto_send: r.auto_send,
            email_to: r.email_to.0,
            updated_at: Some(r.updated_at),
        }))
    }

    /// Sets a team's schedule (the caller validated the expression).
    pub async fn put_report_schedule(&self, s: &ReportSchedule) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO report_schedules (team_id, cron, auto_send, email_to, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (team_id) DO UPDATE SET \
                 cron = excluded.cron, auto_send = excluded.auto_send, \
                 email_to = excluded.email_to, updated_at = excluded.updated_at",
            )
            .bind(s.team_id)
            .bind(&s.cron)
            .bind(s.auto_send)
            .bind(Json(&s.email_to))
            .bind(
                s.updated_at
                    .unwrap_or_else(|| tandem_domain::time::micros(Utc::now())),
            )
            .execute(pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                    StoreError::not_found("team", s.team_id)
                }
                _ => StoreError::Database(e),
            })?;
        });
        Ok(())
    }

    // ---- scheduled runs ----------------------------------------------------

    /// Claims the scheduled run of a team's `week` report for `owner` until
    /// `lease_until`. `true` when this caller should run it: nobody claimed
    /// it, or the previous claim's lease ran out before `now` and the run
    /// did not finish.
    pub async fn claim_report_run(
        &self,
        team_id: Uuid,
        week: &str,
        due_at: DateTime<Utc>,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let claimed = on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            let inserted = sqlx::query(
                "INSERT INTO report_runs (team_id, week, due_at, claimed_by, claimed_at, lease_until) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (team_id, week) DO NOTHING",
            )
            .bind(team_id)
            .bind(week)
            .bind(due_at)
            .bind(owner)
            .bind(now)
            .bind(lease_until)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            let claimed = inserted == 1
                || sqlx::query(
                    "UPDATE report_runs SET claimed_by = $3, claimed_at = $4, lease_until = $5 \
                     WHERE team_id = $1 AND week = $2 AND finished_at IS NULL AND lease_until < $4",
                )
                .bind(team_id)
                .bind(week)
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

    /// Ends a claimed run with its outcome (`sent`, `held`, `failed`).
    pub async fn finish_report_run(
        &self,
        team_id: Uuid,
        week: &str,
        owner: &str,
        outcome: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE report_runs SET finished_at = $4, outcome = $5 \
                 WHERE team_id = $1 AND week = $2 AND claimed_by = $3",
            )
            .bind(team_id)
            .bind(week)
            .bind(owner)
            .bind(now)
            .bind(outcome)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// Whether a team's run for `week` exists (claimed, finished or not).
    pub async fn report_run_outcome(
        &self,
        team_id: Uuid,
        week: &str,
    ) -> Result<Option<Option<String>>> {
        let row: Option<(Option<String>,)> = on_pool!(self, |pool| {
            sqlx::query_as("SELECT outcome FROM report_runs WHERE team_id = $1 AND week = $2")
                .bind(team_id)
                .bind(week)
                .fetch_optional(pool)
                .await?
        });
        Ok(row.map(|r| r.0))
    }

    // ---- archive -----------------------------------------------------------

    /// Stores a sent report; a later send of the same week replaces it (and,
    /// when it was uploaded, ends a pending upload retry of the earlier one).
    pub async fn archive_report(&self, a: &ArchivedReport) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query(
                "INSERT INTO report_archive (id, team_id, week, title, sent_at, report, markdown, html, text, slack, object_prefix) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (team_id, week) DO UPDATE SET \
                 title = excluded.title, sent_at = excluded.sent_at, report = excluded.report, \
                 markdown = excluded.markdown, html = excluded.html, text = excluded.text, \
                 slack = excluded.slack, object_prefix = excluded.object_prefix",
            )
            .bind(a.id)
            .bind(a.team_id)
            .bind(&a.week)
            .bind(&a.title)
            .bind(a.sent_at)
            .bind(Json(&a.report))
            .bind(&a.markdown)
            .bind(&a.html)
            .bind(&a.text)
            .bind(Json(&a.slack))
            .bind(&a.object_prefix)
            .execute(&mut *tx)
            .await?;
            if a.object_prefix.is_some() {
                sqlx::query(
                    "DELETE FROM archive_uploads WHERE archive_id IN \
                     (SELECT id FROM report_archive WHERE team_id = $1 AND week = $2)",
                )
                .bind(a.team_id)
                .bind(&a.week)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Notes that the S3 upload of a team's archived report of `week`
    /// failed: it is due again at `due_at` (one more attempt counted).
    pub async fn archive_upload_failed(
        &self,
        team_id: Uuid,
        week: &str,
        error: &str,
        due_at: DateTime<Utc>,
    ) -> Result<()> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO archive_uploads (archive_id, attempts, due_at, last_error) \
                 SELECT id, 1, $3, $4 FROM report_archive WHERE team_id = $1 AND week = $2 \
                 ON CONFLICT (archive_id) DO UPDATE SET attempts = archive_uploads.attempts + 1, \
                 due_at = excluded.due_at, last_error = excluded.last_error",
            )
            .bind(team_id)
            .bind(week)
            .bind(due_at)
            .bind(error)
            .execute(pool)
            .await?
            .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::not_found("archived report", week));
        }
        Ok(())
    }

    /// Claims up to `limit` archive uploads due at `now`, each until
    /// `lease_until` (another replica skips it meanwhile; a replica that
    /// stops holding one leaves it due again then). Returns each report
    /// with the attempts made so far.
    pub async fn claim_archive_uploads(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<(ArchivedReport, i32)>> {
        let due: Vec<(Uuid, DateTime<Utc>, i32)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT archive_id, due_at, attempts FROM archive_uploads WHERE due_at <= $1 \
                 ORDER BY due_at, archive_id LIMIT $2",
            )
            .bind(now)
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        let mut out = Vec::new();
        for (id, due_at, attempts) in due {
            let claimed = on_pool!(self, |pool| {
                sqlx::query(
                    "UPDATE archive_uploads SET due_at = $3 WHERE archive_id = $1 AND due_at = $2",
                )
                .bind(id)
                .bind(due_at)
                .bind(lease_until)
                .execute(pool)
                .await?
                .rows_affected()
            });
            if claimed == 0 {
                continue;
            }
            let row: Option<ArchiveRow> = on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT id, team_id, week, title, sent_at, report, markdown, html, text, slack, object_prefix \
                     FROM report_archive WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(pool)
                .await?
            });
            if let Some(r) = row {
                out.push((ArchivedReport::from(r), attempts));
            }
        }
        Ok(out)
    }

    /// Records a retried upload that succeeded: the archive row gets its
    /// prefix and the retry is done.
    pub async fn archive_uploaded(&self, archive_id: Uuid, prefix: &str) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            sqlx::query("UPDATE report_archive SET object_prefix = $2 WHERE id = $1")
                .bind(archive_id)
                .bind(prefix)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM archive_uploads WHERE archive_id = $1")
                .bind(archive_id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
        });
        Ok(())
    }

    /// Records a retried upload that failed again: one more attempt, due
    /// again at `due_at`.
    pub async fn archive_upload_retry(
        &self,
        archive_id: Uuid,
        error: &str,
        due_at: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE archive_uploads SET attempts = attempts + 1, due_at = $2, last_error = $3 \
                 WHERE archive_id = $1",
            )
            .bind(archive_id)
            .bind(due_at)
            .bind(error)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The archive uploads still to retry: archive id, attempts made, when
    /// due, the last error.
    pub async fn pending_archive_uploads(&self) -> Result<Vec<(Uuid, i32, DateTime<Utc>, String)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT archive_id, attempts, due_at, last_error FROM archive_uploads \
                 ORDER BY due_at, archive_id",
            )
            .fetch_all(pool)
            .await?
        }))
    }

    /// Archived reports, newest first; of one team when `team_id` is given.
    pub async fn list_archive(&self, team_id: Option<Uuid>) -> Result<Vec<ArchiveEntry>> {
        let rows: Vec<ArchiveEntry> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, team_id, week, title, sent_at, object_prefix FROM report_archive \
                 WHERE ($1 IS NULL OR team_id = $1) ORDER BY week DESC, team_id",
            )
            .bind(team_id)
            .fetch_all(pool)
            .await?
        });
        Ok(rows)
    }

    /// A team's archived report of `week`.
    pub async fn archived_report(&self, team_id: Uuid, week: &str) -> Result<ArchivedReport> {
        let row: Option<ArchiveRow> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, team_id, week, title, sent_at, report, markdown, html, text, slack, object_prefix \
                 FROM report_archive WHERE team_id = $1 AND week = $2",
            )
            .bind(team_id)
            .bind(week)
            .fetch_optional(pool)
            .await?
        });
        row.map(ArchivedReport::from)
            .ok_or_else(|| StoreError::not_found("archived report", week))
    }

    // ---- the JSON lines archive (ADR 0036) ---------------------------------

    /// Sent reports not yet in the JSON lines archive (or sent again since),
    /// oldest send first, at most `limit`, each with its team's key.
    pub async fn reports_to_archive(&self, limit: i64) -> Result<Vec<(ArchivedReport, String)>> {
        #[derive(FromRow)]
        struct Row {
            #[sqlx(flatten)]
            report: ArchiveRow,
            team_key: String,
        }
        let rows: Vec<Row> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT r.id, r.team_id, r.week, r.title, r.sent_at, r.report, r.markdown, r.html, \
                 r.text, r.slack, r.object_prefix, t.key AS team_key \
                 FROM report_archive r JOIN teams t ON t.id = r.team_id \
                 LEFT JOIN report_archive_lines l ON l.archive_id = r.id \
                 WHERE l.archive_id IS NULL OR l.sent_at <> r.sent_at \
                 ORDER BY r.sent_at, r.id LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| (ArchivedReport::from(r.report), r.team_key))
            .collect())
    }

    /// Notes that these sends of reports (id, `sent_at`) are in the archive
    /// object `object`.
    pub async fn reports_archived(
        &self,
        sends: &[(Uuid, DateTime<Utc>)],
        object: &str,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            let mut tx = pool.begin_write().await?;
            for (id, sent_at) in sends {
                sqlx::query(
                    "INSERT INTO report_archive_lines (archive_id, sent_at, object) VALUES ($1, $2, $3) \
                     ON CONFLICT (archive_id) DO UPDATE SET sent_at = excluded.sent_at, object = excluded.object",
                )
                .bind(id)
                .bind(sent_at)
                .bind(object)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
        });
        Ok(())
    }
}
