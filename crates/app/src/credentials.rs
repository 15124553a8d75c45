//! Credentials: password hashing, random secrets, API tokens and the shape
//! of webhook secrets, shared by the server's sign-in and the CLI's user,
//! token and webhook commands.
//!
//! - Passwords: argon2id PHC strings (the argon2 crate's defaults).
//! - API tokens and session ids: 32 random bytes from the OS, shown once;
//!   only their SHA-256 is stored (they are high-entropy, so a fast hash is
//!   the right tool; a slow password hash would add nothing but latency).

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;
use chrono::Utc;
use sha2::{Digest, Sha256};
use tandem_domain::user::{ApiToken, Role};
use tandem_store::Store;
use uuid::Uuid;

use crate::error::{AppError, AppResult};

pub const TOKEN_PREFIX: &str = "tdm_";

/// Hashes a password as an argon2id PHC string.
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password failed: {e}"))
}

/// True when `password` matches the stored PHC string.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A fresh random secret: `tdm_` + 43 URL-safe characters.
pub fn new_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    Ok(format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    ))
}

/// A fresh webhook secret: 32 random bytes as 64 hex digits (what
/// `openssl rand -hex 32` prints; every provider's form accepts it).
pub fn new_webhook_secret() -> anyhow::Result<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    Ok(hex::encode(bytes))
}

/// A generated password for the first admin: 24 URL-safe characters.
pub fn new_password() -> anyhow::Result<String> {
    let mut bytes = [0u8; 18];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("the OS random source failed: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a token or session id.
pub fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// The shown prefix of a token, for lists.
pub fn secret_prefix(secret: &str) -> String {
    secret.chars().take(TOKEN_PREFIX.len() + 6).collect()
}

/// Creates a token and returns it with its secret (shown once). Refused
/// (`Conflict` on `name`) while an active token has the same name.
pub async fn issue_token(
    store: &Store,
    name: &str,
    role: Role,
    created_by: Option<Uuid>,
) -> AppResult<(ApiToken, String)> {
    tandem_domain::text::required("name", name).map_err(|e| AppError::Invalid(vec![e]))?;
    // One active token per name: a list of tokens whose names repeat cannot
    // say which one to revoke (and a resent form must not make a second).
    if store
        .list_tokens()
        .await?
        .iter()
        .any(|t| t.revoked_at.is_none() && t.name == name)
    {
        return Err(AppError::Conflict {
            message: format!(
                "an active token is already named “{name}”: choose another name, or revoke that one first"
            ),
            field: Some("name".into()),
        });
    }
    let secret = new_secret()?;
    let token = ApiToken {
        id: Uuid::now_v7(),
        name: name.to_owned(),
        prefix: secret_prefix(&secret),
        role,
        created_by,
        created_at: tandem_domain::time::micros(Utc::now()),
        last_used_at: None,
        revoked_at: None,
    };
    store.create_token(&token, &secret_hash(&secret)).await?;
    Ok((token, secret))
}

/// Checks the shape of a project's webhook secret (set by an admin).
pub fn check_webhook_secret(secret: &str) -> Result<(), String> {
    let len = secret.chars().count();
    if !(16..=512).contains(&len) {
        return Err(format!(
            "is {len} characters long; use 16 to 512 (a random string such as `openssl rand -hex 32`)"
        ));
    }
    if secret.trim() != secret || secret.chars().any(char::is_control) {
        return Err("must not start or end with spaces or contain control characters".into());
    }
    Ok(())
}

/// True when a presented secret equals the configured one, compared in
/// constant time: both are MACed under a fixed key and the tags compared
/// with `hmac`'s constant-time check, so neither the length nor the first
/// differing byte shows in the time taken (the scrape token of
/// `GET /metrics`, the Alertmanager receiver's token and password).
pub fn secrets_match(presented: &str, configured: &str) -> bool {
    use hmac::{Hmac, KeyInit, Mac};
    const KEY: &[u8] = b"tandem configured secret comparison";
    let tag = |s: &str| {
        let mut mac = Hmac::<Sha256>::new_from_slice(KEY).expect("HMAC takes keys of any length");
        mac.update(s.as_bytes());
        mac
    };
    let expected = tag(configured).finalize().into_bytes();
    tag(presented).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_webhook_secrets_have_the_accepted_shape_and_differ() {
        let a = new_webhook_secret().unwrap();
        let b = new_webhook_secret().unwrap();
        assert_eq!(a.len(), 64);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(check_webhook_secret(&a), Ok(()));
        assert_ne!(a, b);
    }

    #[test]
    fn configured_secrets_match_only_themselves() {
        assert!(secrets_match("s3cret-token", "s3cret-token"));
        assert!(!secrets_match("s3cret-toke", "s3cret-token"));
        assert!(!secrets_match("s3cret-tokenx", "s3cret-token"));
        assert!(!secrets_match("", "s3cret-token"));
    }
}
