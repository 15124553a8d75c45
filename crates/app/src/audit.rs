//! The audit log and sign-in throttling: the API, the web sign-in form and
//! the admin actions of both (and of the CLI) call these, so they record and
//! throttle alike.
//!
//! Throttling (rule in `tandem_domain::audit`): failures are counted per
//! account (`account:<username>`, lower case, known or not, so throttling
//! says nothing about which usernames exist) and per client address
//! (`address:<ip>`), in the database, so every replica sees the same
//! counts. While either key is locked, sign-ins are refused without the
//! password being checked; a successful sign-in clears the account's count
//! (not the address's: one good account must not reset a guesser's budget).

use chrono::{DateTime, Utc};
use tandem_domain::audit::{
    ACCOUNT_THROTTLE, ADDRESS_THROTTLE, AuditAction, AuditEvent, seconds_until,
};
use tandem_store::{ListQuery, Page, Store};
use uuid::Uuid;

use crate::AppResult;

/// Appends one event to the audit log.
pub async fn record(
    store: &Store,
    now: DateTime<Utc>,
    action: AuditAction,
    actor: &str,
    subject: &str,
    client: Option<&str>,
    detail: &str,
) -> AppResult<()> {
    let event = AuditEvent::new(Uuid::now_v7(), now, action, actor, subject, client, detail);
    store.record_audit(&event).await?;
    Ok(())
}

/// The audit log, newest first.
pub async fn list(store: &Store, q: &ListQuery) -> AppResult<Page<AuditEvent>> {
    Ok(store.list_audit(q).await?)
}

fn account_key(username: &str) -> String {
    let name: String = username.trim().to_lowercase().chars().take(200).collect();
    format!("account:{name}")
}

fn address_key(client: &str) -> String {
    format!("address:{client}")
}

/// `Some(seconds)` when sign-ins for this username or from this address
/// are refused now, for that long.
pub async fn sign_in_locked(
    store: &Store,
    username: &str,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Option<u64>> {
    let mut keys = vec![account_key(username)];
    keys.extend(client.map(address_key));
    let until = store
        .throttle_states(&keys)
        .await?
        .into_iter()
        .filter_map(|s| s.locked_until)
        .filter(|until| *until > now)
        .max();
    Ok(until.map(|u| seconds_until(u, now)))
}

/// Records a failed sign-in: counts it against the account and the address
/// and writes it to the audit log. Returns the seconds sign-ins are now
/// refused for, when this failure locked them.
pub async fn sign_in_failed(
    store: &Store,
    username: &str,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<Option<u64>> {
    let (failures, account_until) = store
        .count_sign_in_failure(&account_key(username), &ACCOUNT_THROTTLE, now)
        .await?;
    let address_until = match client {
        Some(c) => {
            store
                .count_sign_in_failure(&address_key(c), &ADDRESS_THROTTLE, now)
                .await?
                .1
        }
        None => None,
    };
    let until = account_until.max(address_until);
    let detail = match until {
        Some(u) => format!(
            "wrong username or password ({failures} in a row for this account); sign-ins refused for {} s",
            seconds_until(u, now)
        ),
        None => format!("wrong username or password ({failures} in a row for this account)"),
    };
    record(
        store,
        now,
        AuditAction::SignInFailed,
        username,
        username,
        client,
        &detail,
    )
    .await?;
    Ok(until.map(|u| seconds_until(u, now)))
}

/// Records a successful sign-in: clears the account's failures and writes
/// it to the audit log.
pub async fn sign_in_succeeded(
    store: &Store,
    username: &str,
    client: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<()> {
    store.clear_sign_in_failures(&account_key(username)).await?;
    record(
        store,
        now,
        AuditAction::SignInSucceeded,
        username,
        username,
        client,
        "",
    )
    .await
}
