//! Requests arriving through Slack and e-mail (ADR 0022): received e-mails
//! (`inbound_mail`), e-mail threads (`mail_threads`), how far each IMAP
//! mailbox was read (`imap_cursors`).
//!
//! Invariants:
//! - An e-mail is stored once per `dedupe_key` (its Message-ID, else the
//!   SHA-256 of its bytes): storing it again returns `None` and changes
//!   nothing, so replicas polling one mailbox, a restart, or a second pipe
//!   never make a second request.
//! - A stored e-mail is worked on only by the holder of its lease
//!   (`lease_until`); one left `received` by a crash is taken again once the
//!   lease ran out. Its bytes are never changed or deleted here.
//! - An IMAP cursor only moves forward under one UIDVALIDITY.

use chrono::{DateTime, Utc};
use sqlx::FromRow;
use tandem_domain::intake::{InboundMail, MailSource, MailState};
use uuid::Uuid;

use crate::engine::sql;
use crate::{Result, Store, StoreError, on_pool};

const MAIL_COLS: &str = "id, dedupe_key, message_id, source, sender, subject, raw, state, error, \
     request_id, team, received_at";

#[derive(FromRow)]
struct MailRow {
    id: Uuid,
    dedupe_key: String,
    message_id: Option<String>,
    source: String,
    sender: String,
    subject: String,
    raw: Vec<u8>,
    state: String,
    error: String,
    request_id: Option<Uuid>,
    team: Option<String>,
    received_at: DateTime<Utc>,
}

fn corrupt(column: &str, e: String) -> StoreError {
    StoreError::Corrupt(format!("{column}: {e}"))
}

impl TryFrom<MailRow> for InboundMail {
    type Error = StoreError;
    fn try_from(r: MailRow) -> Result<Self> {
        Ok(InboundMail {
            id: r.id,
            dedupe_key: r.dedupe_key,
            message_id: r.message_id,
            source: r
                .source
                .parse::<MailSource>()
                .map_err(|e| corrupt("inbound_mail.source", e))?,
            sender: r.sender,
            subject: r.subject,
            raw: r.raw,
            state: r
                .state
                .parse::<MailState>()
                .map_err(|e| corrupt("inbound_mail.state", e))?,
            error: r.error,
            request_id: r.request_id,
            team: r.team,
            received_at: r.received_at,
        })
    }
}

impl Store {
    /// Stores a received e-mail in state `received`, leased until
    /// `lease_until` to the caller; `None` when one with its `dedupe_key`
    /// is already stored (nothing changes).
    pub async fn insert_inbound_mail(
        &self,
        mail: &InboundMail,
        lease_until: DateTime<Utc>,
    ) -> Result<Option<Uuid>> {
        let added = on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO inbound_mail (id, dedupe_key, message_id, source, sender, subject, \
                 raw, state, error, request_id, team, received_at, lease_until) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                 ON CONFLICT (dedupe_key) DO NOTHING",
            )
            .bind(mail.id)
            .bind(&mail.dedupe_key)
            .bind(&mail.message_id)
            .bind(mail.source.as_str())
            .bind(&mail.sender)
            .bind(&mail.subject)
            .bind(&mail.raw)
            .bind(mail.state.as_str())
            .bind(&mail.error)
            .bind(mail.request_id)
            .bind(&mail.team)
            .bind(tandem_domain::time::micros(mail.received_at))
            .bind(tandem_domain::time::micros(lease_until))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok((added == 1).then_some(mail.id))
    }

    /// One stored e-mail.
    pub async fn inbound_mail(&self, id: Uuid) -> Result<Option<InboundMail>> {
        let row: Option<MailRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {MAIL_COLS} FROM inbound_mail WHERE id = $1"
            )))
            .bind(id)
            .fetch_optional(pool)
            .await?
        });
        row.map(InboundMail::try_from).transpose()
    }

    /// Stored e-mails, newest first, optionally only those in `state`.
    pub async fn inbound_mails(
        &self,
        state: Option<MailState>,
        limit: i64,
    ) -> Result<Vec<InboundMail>> {
        let rows: Vec<MailRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {MAIL_COLS} FROM inbound_mail \
                 WHERE ($1 IS NULL OR state = $1) ORDER BY received_at DESC, id LIMIT $2"
            )))
            .bind(state.map(MailState::as_str))
            .bind(limit)
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(InboundMail::try_from).collect()
    }

    /// E-mails still `received` whose lease ran out at `now` (a replica
    /// stopped while working on them), oldest first.
    pub async fn abandoned_inbound_mails(&self, now: DateTime<Utc>) -> Result<Vec<Uuid>> {
        let ids: Vec<(Uuid,)> = on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id FROM inbound_mail WHERE state = 'received' \
                 AND (lease_until IS NULL OR lease_until < $1) ORDER BY received_at, id LIMIT 100",
            )
            .bind(tandem_domain::time::micros(now))
            .fetch_all(pool)
            .await?
        });
        Ok(ids.into_iter().map(|(id,)| id).collect())
    }

    /// Takes over an abandoned e-mail until `lease_until`; false when it is
    /// done or another replica's lease is live.
    pub async fn claim_inbound_mail(
        &self,
        id: Uuid,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE inbound_mail SET lease_until = $3 WHERE id = $1 AND state = 'received' \
                 AND (lease_until IS NULL OR lease_until < $2)",
            )
            .bind(id)
            .bind(tandem_domain::time::micros(now))
            .bind(tandem_domain::time::micros(lease_until))
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// Records what became of a `received` e-mail; false when it was
    /// already finished (by another replica).
    pub async fn finish_inbound_mail(
        &self,
        id: Uuid,
        state: MailState,
        error: &str,
        request_id: Option<Uuid>,
    ) -> Result<bool> {
        let n = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE inbound_mail SET state = $2, error = $3, request_id = $4, \
                 lease_until = NULL WHERE id = $1 AND state = 'received'",
            )
            .bind(id)
            .bind(state.as_str())
            .bind(error)
            .bind(request_id)
            .execute(pool)
            .await?
            .rows_affected()
        });
        Ok(n == 1)
    }

    /// The request the first of `message_ids` that belongs to a thread
    /// belongs to.
    pub async fn mail_thread_request(&self, message_ids: &[String]) -> Result<Option<Uuid>> {
        for id in message_ids {
            let found: Option<(Uuid,)> = on_pool!(self, |pool| {
                sqlx::query_as("SELECT request_id FROM mail_threads WHERE message_id = $1")
                    .bind(id)
                    .fetch_optional(pool)
                    .await?
            });
            if let Some((request,)) = found {
                return Ok(Some(request));
            }
        }
        Ok(None)
    }

    /// Adds a Message-ID to a request's thread (a second add changes nothing).
    pub async fn add_mail_thread_id(
        &self,
        message_id: &str,
        request_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO mail_threads (message_id, request_id, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (message_id) DO NOTHING",
            )
            .bind(message_id)
            .bind(request_id)
            .bind(tandem_domain::time::micros(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// How far `mailbox` was read: its UIDVALIDITY and the highest UID stored.
    pub async fn imap_cursor(&self, mailbox: &str) -> Result<Option<(i64, i64)>> {
        Ok(on_pool!(self, |pool| {
            sqlx::query_as("SELECT uid_validity, last_uid FROM imap_cursors WHERE mailbox = $1")
                .bind(mailbox)
                .fetch_optional(pool)
                .await?
        }))
    }

    /// Moves `mailbox`'s cursor to `last_uid` under `uid_validity`: never
    /// backwards under the same UIDVALIDITY; a new UIDVALIDITY replaces it.
    pub async fn advance_imap_cursor(
        &self,
        mailbox: &str,
        uid_validity: i64,
        last_uid: i64,
        now: DateTime<Utc>,
    ) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO imap_cursors (mailbox, uid_validity, last_uid, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (mailbox) DO UPDATE SET \
                 last_uid = CASE WHEN imap_cursors.uid_validity = excluded.uid_validity \
                   AND imap_cursors.last_uid > excluded.last_uid \
                   THEN imap_cursors.last_uid ELSE excluded.last_uid END, \
                 uid_validity = excluded.uid_validity, updated_at = excluded.updated_at",
            )
            .bind(mailbox)
            .bind(uid_validity)
            .bind(last_uid)
            .bind(tandem_domain::time::micros(now))
            .execute(pool)
            .await?;
        });
        Ok(())
    }
}
