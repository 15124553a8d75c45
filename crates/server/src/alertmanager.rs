//! `POST /webhooks/alertmanager`: Alertmanager's webhook receiver (payload
//! version 4). The rules are `tandem_app::alertmanager`'s (firing alerts
//! open incidents grouped by fingerprint, resolved ones resolve them); this
//! module checks the credentials and reads the body.
//!
//! Credentials, checked in constant time before the body is read:
//! `Authorization: Bearer <alertmanager.bearer_token>` or
//! `Authorization: Basic` with `alertmanager.username`/`password`, as
//! configured. With neither configured every delivery is refused (401):
//! an open receiver would let anyone open incidents.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use chrono::Utc;
use tandem_app::alertmanager::{self, Notification};
use tandem_app::credentials::secrets_match;

use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::parse_json;

/// Receives one notification; answers what it stored.
pub async fn receive(
    State(app): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<Response> {
    verify(&app, &headers)?;
    let n: Notification = parse_json(&body)?;
    let received =
        alertmanager::receive(&app.store, &app.settings.alertmanager, n, Utc::now()).await?;
    Ok(axum::Json(received).into_response())
}

fn verify(app: &AppState, headers: &HeaderMap) -> ApiResult<()> {
    let cfg = &app.settings.alertmanager;
    let token = cfg.bearer_token();
    let basic = cfg.basic_auth();
    if token.is_none() && basic.is_none() {
        return Err(ApiError::Unauthorized(
            "the Alertmanager receiver is not configured: set [alertmanager] bearer_token \
             or username and password",
        ));
    }
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or(ApiError::Unauthorized(
            "send the configured credentials (Authorization: Bearer or Basic)",
        ))?;
    let ok = if let Some(given) = presented
        .strip_prefix("Bearer ")
        .or_else(|| presented.strip_prefix("bearer "))
    {
        token.is_some_and(|t| secrets_match(given.trim(), &t))
    } else if let Some(encoded) = presented
        .strip_prefix("Basic ")
        .or_else(|| presented.strip_prefix("basic "))
    {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(encoded.trim())
            .ok()
            .and_then(|d| String::from_utf8(d).ok());
        match (decoded, basic) {
            (Some(pair), Some((user, password))) => {
                let (u, p) = pair.split_once(':').unwrap_or((pair.as_str(), ""));
                // Both compared, always, so the time does not tell which
                // one was wrong.
                let user_ok = secrets_match(u, &user);
                let password_ok = secrets_match(p, &password);
                user_ok & password_ok
            }
            _ => false,
        }
    } else {
        false
    };
    if ok {
        Ok(())
    } else {
        Err(ApiError::Unauthorized(
            "the Alertmanager credentials do not match the configured ones",
        ))
    }
}
