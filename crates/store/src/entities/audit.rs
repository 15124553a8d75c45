//! The audit log (appended, read newest first) and the sign-in throttle
//! counts, one row per key (`account:<username>`, `address:<client>`).
//! Each failure is counted by one statement (an upsert), so replicas
//! sharing the database count every failure once.

use tandem_domain::audit::{AuditAction, AuditEvent, ThrottleRule};

use super::*;
use crate::engine::AUDIT_COLS;

type AuditRow = (
    Uuid,
    DateTime<Utc>,
    String,
    String,
    String,
    Option<String>,
    String,
);

/// `key, failures, last_failure_at, locked_until`.
type ThrottleRow = (String, i64, DateTime<Utc>, Option<DateTime<Utc>>);

fn audit_event(row: AuditRow) -> Result<AuditEvent> {
    let (id, at, action, actor, subject, client, detail) = row;
    Ok(AuditEvent {
        id,
        at,
        action: action
            .parse::<AuditAction>()
            .map_err(|e| StoreError::Corrupt(format!("audit_log.action: {e}")))?,
        actor,
        subject,
        client,
        detail,
    })
}

/// A key's stored throttle state: consecutive failures, when the last was,
/// and until when sign-ins are refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleState {
    pub key: String,
    pub failures: u32,
    pub last_failure_at: DateTime<Utc>,
    pub locked_until: Option<DateTime<Utc>>,
}

impl Store {
    /// Appends an event to the audit log.
    pub async fn record_audit(&self, e: &AuditEvent) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(sql(format!(
                "INSERT INTO audit_log ({AUDIT_COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            )))
            .bind(e.id)
            .bind(e.at)
            .bind(e.action.as_str())
            .bind(&e.actor)
            .bind(&e.subject)
            .bind(&e.client)
            .bind(&e.detail)
            .execute(pool)
            .await?;
        });
        Ok(())
    }

    /// The audit log, newest first; `q.after` is the `next_cursor` of the
    /// previous page (events older than it).
    pub async fn list_audit(&self, q: &ListQuery) -> Result<Page<AuditEvent>> {
        let limit = q.limit();
        let rows: Vec<AuditRow> = on_pool!(self, |pool| {
            sqlx::query_as(sql(format!(
                "SELECT {AUDIT_COLS} FROM audit_log WHERE ($1 IS NULL OR id < $1) \
                 ORDER BY id DESC LIMIT $2"
            )))
            .bind(q.after)
            .bind(limit + 1)
            .fetch_all(pool)
            .await?
        });
        let items = rows
            .into_iter()
            .map(audit_event)
            .collect::<Result<Vec<_>>>()?;
        Ok(page(items, limit, |e| e.id))
    }

    /// The throttle state of these keys (those with a row).
    pub async fn throttle_states(&self, keys: &[String]) -> Result<Vec<ThrottleState>> {
        let mut out = Vec::new();
        for key in keys {
            let row: Option<ThrottleRow> = on_pool!(self, |pool| {
                sqlx::query_as(
                    "SELECT key, CAST(failures AS BIGINT), last_failure_at, locked_until \
                         FROM sign_in_throttle WHERE key = $1",
                )
                .bind(key)
                .fetch_optional(pool)
                .await?
            });
            if let Some((key, failures, last_failure_at, locked_until)) = row {
                out.push(ThrottleState {
                    key,
                    failures: u32::try_from(failures.max(0)).unwrap_or(u32::MAX),
                    last_failure_at,
                    locked_until,
                });
            }
        }
        Ok(out)
    }

    /// Counts one failed sign-in for `key` at `now` under `rule` and returns
    /// the new count and until when sign-ins are refused. The count is
    /// kept by one upsert (a count older than the rule's `forget` starts
    /// again); the lock only ever moves later.
    pub async fn count_sign_in_failure(
        &self,
        key: &str,
        rule: &ThrottleRule,
        now: DateTime<Utc>,
    ) -> Result<(u32, Option<DateTime<Utc>>)> {
        let now = tandem_domain::time::micros(now);
        let forget_before = now - chrono::Duration::seconds(rule.forget_seconds);
        let failures: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO sign_in_throttle (key, failures, last_failure_at, locked_until) \
                 VALUES ($1, 1, $2, NULL) \
                 ON CONFLICT (key) DO UPDATE SET \
                 failures = CASE WHEN sign_in_throttle.last_failure_at < $3 THEN 1 \
                                 ELSE sign_in_throttle.failures + 1 END, \
                 last_failure_at = $2 \
                 RETURNING CAST(failures AS BIGINT)",
            )
            .bind(key)
            .bind(now)
            .bind(forget_before)
            .fetch_one(pool)
            .await?
        });
        let failures = u32::try_from(failures.max(0)).unwrap_or(u32::MAX);
        let Some(lock) = rule.lock_for(failures) else {
            return Ok((failures, None));
        };
        let until = now + lock;
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE sign_in_throttle SET locked_until = $2 \
                 WHERE key = $1 AND (locked_until IS NULL OR locked_until < $2)",
            )
            .bind(key)
            .bind(until)
            .execute(pool)
            .await?;
        });
        Ok((failures, Some(until)))
    }

    /// Forgets a key's failures (after a successful sign-in).
    pub async fn clear_sign_in_failures(&self, key: &str) -> Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sign_in_throttle WHERE key = $1")
                .bind(key)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}
