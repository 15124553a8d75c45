//! Authentication and authorisation.
//!
//! - Passwords, API tokens and session ids are made and checked by
//!   `tandem_app::credentials` (re-exported here).
//! - A request is authenticated by `Authorization: Bearer <token>` or by the
//!   `tandem_session` cookie. Cookie-authenticated writes must come from the
//!   same origin (CSRF defence on top of `SameSite=Lax`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use chrono::Utc;
use tandem_domain::user::{Role, User};
use uuid::Uuid;

use crate::AppState;
use crate::error::ApiError;

pub const SESSION_COOKIE: &str = "tandem_session";

pub use tandem_app::credentials::{
    hash_password, new_password, new_secret, secret_hash, secret_prefix, verify_password,
};

/// How the caller proved who they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Token(Uuid),
    Session,
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub role: Role,
    /// Username, or `token:<name>` for API tokens.
    pub name: String,
    pub user_id: Option<Uuid>,
    pub credential: Credential,
}

impl Principal {
    pub fn from_user(user: &User) -> Self {
        Self {
            role: user.role,
            name: user.username.clone(),
            user_id: Some(user.id),
            credential: Credential::Session,
        }
    }

    /// Refuses the request unless the caller's role includes `needed`.
    pub fn require(&self, needed: Role) -> Result<(), ApiError> {
        if self.role.allows(needed) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!(
                "this needs the {needed} role; {} has the {} role",
                self.name, self.role
            )))
        }
    }
}

impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(value) = parts.headers.get(header::AUTHORIZATION) {
            let value = value
                .to_str()
                .map_err(|_| ApiError::Unauthorized("the Authorization header is not text"))?;
            let token = value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .ok_or(ApiError::Unauthorized("use Authorization: Bearer <token>"))?
                .trim();
            let found = state.store.find_token(&secret_hash(token)).await?;
            let token = found.ok_or(ApiError::Unauthorized("the token is unknown or revoked"))?;
            // Record use at most once a minute: a write per request would
            // contend for SQLite's write lock and cost PostgreSQL a round trip.
            let now = Utc::now();
            if token
                .last_used_at
                .is_none_or(|at| now - at >= chrono::Duration::minutes(1))
            {
                state.store.touch_token(token.id, now).await?;
            }
            return Ok(Principal {
                role: token.role,
                name: format!("token:{}", token.name),
                user_id: token.created_by,
                credential: Credential::Token(token.id),
            });
        }
        let session = session_cookie(parts).ok_or(ApiError::Unauthorized(
            "send an API token (Authorization: Bearer …) or sign in",
        ))?;
        let user = state
            .store
            .find_session_user(&secret_hash(&session), Utc::now())
            .await?
            .ok_or(ApiError::Unauthorized(
                "the session has expired; sign in again",
            ))?;
        if !is_safe(&parts.method) && !same_origin(parts) {
            return Err(ApiError::Forbidden(
                "cross-origin request refused: the Origin header does not match this server".into(),
            ));
        }
        Ok(Principal::from_user(&user))
    }
}

/// The value of the session cookie, if the request carries one.
pub fn session_cookie(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_owned())
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// True when there is no Origin header (not a browser cross-site request) or
/// the Origin's host matches the Host header.
pub fn same_origin(parts: &Parts) -> bool {
    let Some(origin) = parts
        .headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    else {
        return true;
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest.trim_end_matches('/'));
    matches!((origin_host, host), (Some(o), Some(h)) if o.eq_ignore_ascii_case(h))
}

/// The `Set-Cookie` value for a new session.
pub fn session_set_cookie(secret: &str, max_age_secs: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age_secs}{secure}"
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn session_clear_cookie(secure: bool) -> String {
    session_set_cookie("", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_hash_is_argon2id() {
        let phc = hash_password("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &phc));
        assert!(!verify_password("wrong horse battery", &phc));
        assert!(!verify_password("x", "not a phc string"));
    }

    #[test]
    fn secrets_are_random_and_hashed() {
        let a = new_secret().unwrap();
        let b = new_secret().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("tdm_") && a.len() == 4 + 43);
        assert_eq!(secret_hash(&a).len(), 64);
        assert_ne!(secret_hash(&a), secret_hash(&b));
        assert_eq!(secret_prefix(&a).len(), 10);
    }
}
