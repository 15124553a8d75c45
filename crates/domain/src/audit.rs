//! The audit log: who signed in (or failed to), and what admins did to
//! users (their roles and passwords too), tokens and webhook secrets; and
//! the sign-in throttling rule.
//!
//! Pure: events are built by the application with the time it read; the
//! throttle rule turns a count of consecutive failures into how long
//! sign-ins are refused, so every replica (which share the counts through
//! the database) applies the same delays.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::string_enum;
use crate::text;

string_enum! {
    /// What an audit event records.
    AuditAction {
        SignInSucceeded => "sign_in_succeeded",
        SignInFailed => "sign_in_failed",
        UserCreated => "user_created",
        UserDisabled => "user_disabled",
        UserEnabled => "user_enabled",
        RoleChanged => "role_changed",
        PasswordChanged => "password_changed",
        TokenCreated => "token_created",
        TokenRevoked => "token_revoked",
        WebhookSecretSet => "webhook_secret_set",
    }
}

/// One entry of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub action: AuditAction,
    /// Who acted: a username, `token:<name>`, `cli`; for sign-ins the
    /// username given.
    pub actor: String,
    /// What it was done to: a username, a token's name and id, a project
    /// and provider.
    pub subject: String,
    /// The client's address, when the action came over HTTP.
    pub client: Option<String>,
    /// Anything else worth knowing (a role, why a sign-in failed).
    pub detail: String,
}

impl AuditEvent {
    /// An event with its texts cut to what the log keeps (one line, 200
    /// characters each; the detail 2000): a failed sign-in records whatever
    /// username was typed.
    pub fn new(
        id: Uuid,
        at: DateTime<Utc>,
        action: AuditAction,
        actor: &str,
        subject: &str,
        client: Option<&str>,
        detail: &str,
    ) -> Self {
        let line = |s: &str, max: usize| -> String {
            s.chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .take(max)
                .collect()
        };
        AuditEvent {
            id,
            at: crate::time::micros(at),
            action,
            actor: line(actor, text::SHORT),
            subject: line(subject, text::SHORT),
            client: client.map(|c| line(c, text::SHORT)),
            detail: line(detail, 2000),
        }
    }
}

/// How sign-in failures are throttled, for one key (an account or a client
/// address): the first `free` consecutive failures cost nothing; from then
/// on each failure refuses sign-ins for `base` seconds doubled per further
/// failure, at most `max`. A failure more than `forget` after the previous
/// one starts the count again; a successful sign-in clears an account's
/// count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleRule {
    pub free: u32,
    pub base_seconds: i64,
    pub max_seconds: i64,
    pub forget_seconds: i64,
}

/// Per account: five tries, then 1 s, 2 s, 4 s… up to 15 minutes.
pub const ACCOUNT_THROTTLE: ThrottleRule = ThrottleRule {
    free: 5,
    base_seconds: 1,
    max_seconds: 15 * 60,
    forget_seconds: 60 * 60,
};

/// Per client address (many people can share one behind a NAT or proxy):
/// twenty tries, then the same growth.
pub const ADDRESS_THROTTLE: ThrottleRule = ThrottleRule {
    free: 20,
    base_seconds: 1,
    max_seconds: 15 * 60,
    forget_seconds: 60 * 60,
};

impl ThrottleRule {
    /// The count of consecutive failures after one more at `now`, the
    /// previous count being `previous` with its last failure at `last`.
    pub fn count_after_failure(
        &self,
        previous: u32,
        last: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> u32 {
        match last {
            Some(last) if now - last <= Duration::seconds(self.forget_seconds) => {
                previous.saturating_add(1)
            }
            _ => 1,
        }
    }

    /// How long sign-ins are refused after `failures` consecutive failures.
    pub fn lock_for(&self, failures: u32) -> Option<Duration> {
        if failures < self.free {
            return None;
        }
        let doublings = (failures - self.free).min(30);
        let seconds = self
            .base_seconds
            .saturating_mul(1i64 << doublings)
            .min(self.max_seconds);
        Some(Duration::seconds(seconds))
    }

    /// The count a stored one stands for at `now` (0 once forgotten).
    pub fn current(&self, failures: u32, last: DateTime<Utc>, now: DateTime<Utc>) -> u32 {
        if now - last > Duration::seconds(self.forget_seconds) {
            0
        } else {
            failures
        }
    }
}

/// Whole seconds until `until`, at least 1 (for `Retry-After`).
pub fn seconds_until(until: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    let ms = (until - now).num_milliseconds().max(0);
    u64::try_from((ms + 999) / 1000).unwrap_or(1).max(1)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::seconds(s)
    }

    #[test]
    fn delays_grow_after_the_free_tries_and_stop_at_the_cap() {
        let r = ACCOUNT_THROTTLE;
        assert_eq!(r.lock_for(4), None);
        assert_eq!(r.lock_for(5), Some(Duration::seconds(1)));
        assert_eq!(r.lock_for(6), Some(Duration::seconds(2)));
        assert_eq!(r.lock_for(9), Some(Duration::seconds(16)));
        assert_eq!(r.lock_for(50), Some(Duration::seconds(900)));
        assert_eq!(r.lock_for(u32::MAX), Some(Duration::seconds(900)));
        assert_eq!(ADDRESS_THROTTLE.lock_for(19), None);
    }

    #[test]
    fn counts_restart_after_a_quiet_hour() {
        let r = ACCOUNT_THROTTLE;
        assert_eq!(r.count_after_failure(7, Some(t(0)), t(60)), 8);
        assert_eq!(r.count_after_failure(7, Some(t(0)), t(3601)), 1);
        assert_eq!(r.count_after_failure(0, None, t(0)), 1);
        assert_eq!(r.current(7, t(0), t(3601)), 0);
        assert_eq!(seconds_until(t(10), t(0)), 10);
        assert_eq!(seconds_until(t(0), t(10)), 1);
    }

    #[test]
    fn events_keep_one_short_line() {
        let e = AuditEvent::new(
            Uuid::nil(),
            t(0),
            AuditAction::SignInFailed,
            &format!("a\u{1b}[31m{}", "x".repeat(500)),
            "s",
            Some("127.0.0.1"),
            "d",
        );
        assert_eq!(e.actor.chars().count(), 200);
        assert!(!e.actor.contains('\u{1b}'));
    }
}
