//! The Slack app's receivers (ADR 0022): `POST /slack/commands` (the
//! `/tandem` slash command) and `POST /slack/interactions` (modal
//! submissions, shortcuts, later any other interactive payload).
//!
//! - Every request is verified with Slack's v0 signature before its body
//!   is parsed: `X-Slack-Signature: v0=<hex>` must be the HMAC-SHA256 under
//!   `[slack] signing_secret` of `v0:{X-Slack-Request-Timestamp}:{raw body}`
//!   (compared in constant time by the hmac crate's `verify_slice`), and
//!   the timestamp within `slack.replay_window_seconds` (300) of now.
//!   Otherwise 401 and nothing is stored or called; with no signing secret
//!   configured everything is 401.
//! - Slack wants an answer within three seconds: the handlers answer at
//!   once and do what may take longer (`views.open`, `users.info`, storing
//!   the request, confirming) in a spawned task through
//!   `tandem_app::intake::slack`. Only a modal's validation (one read of
//!   the teams) happens before the answer, because Slack shows its errors
//!   in the still open modal only from the answer.
//! - `/slack/interactions` dispatches on the payload's `callback_id` (a
//!   view's for `view_submission`/`view_closed`, the shortcut's for
//!   `shortcut`/`message_action`, the first action's `block_id` for a
//!   button's `block_actions`: the pulse's, ADR 0028) through [`HANDLERS`]: another feature adds
//!   its modal or shortcut there. An unknown one is acknowledged (200) and
//!   logged; a payload that is not Slack's shape is 400.

use std::future::Future;
use std::pin::Pin;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use chrono::Utc;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Sha256;
use tandem_app::intake::slack::{self as intake, ModalOrigin};
use tandem_domain::intake::{self as forms, SlashCommand};
use tandem_domain::pulse;

use crate::AppState;
use crate::http::error::ApiError;

/// The Slack routes, nested under `/slack`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/commands", post(commands))
        .route("/interactions", post(interactions))
}

// ---- verification --------------------------------------------------------

/// `v0=<hex>`: Slack's `X-Slack-Signature` of `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> String {
    let mut mac = mac(secret, timestamp);
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac(secret: &str, timestamp: &str) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac
}

/// Checks a request's timestamp and signature; 401 otherwise.
fn verify(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let settings = &state.settings.slack;
    let Some(secret) = &settings.signing_secret else {
        return Err(ApiError::Unauthorized(
            "Slack is not configured on this server ([slack] signing_secret)",
        ));
    };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let timestamp = header("x-slack-request-timestamp")
        .ok_or(ApiError::Unauthorized("no X-Slack-Request-Timestamp"))?;
    let sent: i64 = timestamp
        .trim()
        .parse()
        .map_err(|_| ApiError::Unauthorized("X-Slack-Request-Timestamp is not a number"))?;
    let window = i64::try_from(settings.replay_window_seconds).unwrap_or(i64::MAX);
    if (Utc::now().timestamp() - sent).abs() > window {
        return Err(ApiError::Unauthorized(
            "X-Slack-Request-Timestamp is outside the replay window",
        ));
    }
    let digest = header("x-slack-signature")
        .and_then(|s| s.trim().strip_prefix("v0="))
        .and_then(|h| hex::decode(h).ok())
        .filter(|d| d.len() == 32)
        .ok_or(ApiError::Unauthorized(
            "no or a malformed X-Slack-Signature",
        ))?;
    let mut mac = mac(secret.expose_secret(), timestamp);
    mac.update(body);
    mac.verify_slice(&digest)
        .map_err(|_| ApiError::Unauthorized("X-Slack-Signature does not match"))
}

/// Runs `work` after the answer; a failure is logged (Slack has its answer).
fn after_answer<F>(what: &'static str, work: F)
where
    F: Future<Output = tandem_app::AppResult<()>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = work.await {
            tracing::warn!(error = %e, what, "Slack work after the answer failed");
        }
    });
}

// ---- /slack/commands -----------------------------------------------------

/// A slash command as Slack posts it (form-encoded); fields Tandem does
/// not use are ignored.
#[derive(Debug, Deserialize)]
struct Command {
    command: String,
    #[serde(default)]
    text: String,
    user_id: String,
    #[serde(default)]
    channel_id: Option<String>,
    trigger_id: String,
    #[serde(default)]
    response_url: Option<String>,
}

async fn commands(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = verify(&state, &headers, &body) {
        return e.into_response();
    }
    let cmd: Command = match serde_urlencoded::from_bytes(&body) {
        Ok(c) => c,
        Err(e) => {
            return ApiError::bad_request(format!("not a Slack slash command: {e}"))
                .into_response();
        }
    };
    match SlashCommand::parse(&cmd.text) {
        SlashCommand::Help => Json(json!({
            "response_type": "ephemeral",
            "text": forms::SLASH_HELP,
        }))
        .into_response(),
        SlashCommand::Ask { title } => {
            tracing::info!(command = %cmd.command, user = %cmd.user_id, "Slack: opening the request modal");
            let origin = ModalOrigin {
                channel: cmd.channel_id,
                response_url: cmd.response_url,
                thread_ts: None,
            };
            after_answer("views.open", async move {
                intake::open_request_modal(
                    &state.store,
                    &state.settings,
                    &cmd.trigger_id,
                    &title,
                    "",
                    &origin,
                )
                .await
            });
            StatusCode::OK.into_response()
        }
    }
}

// ---- /slack/interactions -------------------------------------------------

/// An interaction handler: the application state and the whole payload,
/// answering Slack.
pub type Handler = fn(AppState, Value) -> Pin<Box<dyn Future<Output = Response> + Send>>;

/// The handlers by `callback_id`. Another feature adds its own here.
pub const HANDLERS: &[(&str, Handler)] = &[
    (forms::REQUEST_MODAL, |s, p| Box::pin(request_modal(s, p))),
    (forms::MESSAGE_SHORTCUT, |s, p| {
        Box::pin(request_from_message(s, p))
    }),
    (pulse::SLACK_BLOCK, |s, p| Box::pin(pulse_click(s, p))),
    (pulse::SLACK_NOTE_MODAL, |s, p| Box::pin(pulse_note(s, p))),
];

#[derive(Deserialize)]
struct Interaction {
    payload: String,
}

async fn interactions(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(e) = verify(&state, &headers, &body) {
        return e.into_response();
    }
    let payload: Value = match serde_urlencoded::from_bytes::<Interaction>(&body)
        .map_err(|e| e.to_string())
        .and_then(|i| serde_json::from_str(&i.payload).map_err(|e| e.to_string()))
    {
        Ok(p) => p,
        Err(e) => {
            return ApiError::bad_field("payload", format!("not a Slack interaction: {e}"))
                .into_response();
        }
    };
    let kind = payload["type"].as_str().unwrap_or_default();
    let callback = match kind {
        "view_submission" | "view_closed" => payload["view"]["callback_id"].as_str(),
        // A button in a message: its block's id.
        "block_actions" => payload["actions"][0]["block_id"].as_str(),
        _ => payload["callback_id"].as_str(),
    };
    let Some(callback) = callback.map(str::to_owned) else {
        return ApiError::bad_field(
            "payload",
            format!("a {kind:?} interaction without a callback_id"),
        )
        .into_response();
    };
    match HANDLERS.iter().find(|(id, _)| *id == callback) {
        Some((_, handler)) => handler(state, payload).await,
        None => {
            tracing::warn!(
                kind,
                callback,
                "Slack: an interaction nobody handles; acknowledged"
            );
            StatusCode::OK.into_response()
        }
    }
}

/// The request modal: checked now (errors shown in the modal), stored
/// after the answer (which closes it).
async fn request_modal(state: AppState, payload: Value) -> Response {
    if payload["type"] != "view_submission" {
        return StatusCode::OK.into_response();
    }
    let Some(user) = payload["user"]["id"].as_str().map(str::to_owned) else {
        return ApiError::bad_field("payload.user.id", "a submission names its user")
            .into_response();
    };
    let view = &payload["view"];
    let form = match intake::check_submission(&state.store, view).await {
        Ok(Ok(form)) => form,
        Ok(Err(errors)) => return Json(errors.response()).into_response(),
        Err(e) => return ApiError::from(e).into_response(),
    };
    let origin = ModalOrigin::decode(view["private_metadata"].as_str().unwrap_or(""));
    let external = view["id"].as_str().map(str::to_owned);
    after_answer("storing a Slack request", async move {
        intake::submit(
            &state.store,
            &state.settings,
            &user,
            form,
            &origin,
            external,
        )
        .await
        .map(|_| ())
    });
    StatusCode::OK.into_response()
}

/// "Turn this message into a request": the modal, pre-filled with the
/// message.
async fn request_from_message(state: AppState, payload: Value) -> Response {
    let (Some(trigger), Some(text)) = (
        payload["trigger_id"].as_str().map(str::to_owned),
        payload["message"]["text"].as_str().map(str::to_owned),
    ) else {
        return ApiError::bad_field(
            "payload",
            "a message shortcut names its trigger_id and message",
        )
        .into_response();
    };
    let origin = ModalOrigin {
        channel: payload["channel"]["id"].as_str().map(str::to_owned),
        response_url: payload["response_url"].as_str().map(str::to_owned),
        thread_ts: payload["message"]["ts"].as_str().map(str::to_owned),
    };
    after_answer("views.open", async move {
        intake::open_request_modal(
            &state.store,
            &state.settings,
            &trigger,
            &forms::title_from(&text),
            &text,
            &origin,
        )
        .await
    });
    StatusCode::OK.into_response()
}

/// A click on a pulse button (ADR 0028): answered at once, then the
/// answer is stored and the message replaced through its `response_url`.
async fn pulse_click(state: AppState, payload: Value) -> Response {
    if let Err(e) = pulse::parse_click(&payload) {
        return ApiError::bad_field("payload.actions", e).into_response();
    }
    after_answer("the pulse click", async move {
        tandem_app::pulse::slack_click(&state.store, &state.settings, &payload).await
    });
    StatusCode::OK.into_response()
}

/// The pulse's "what got in your way" modal: checked now (errors shown in
/// the modal), stored after the answer.
async fn pulse_note(state: AppState, payload: Value) -> Response {
    if payload["type"] != "view_submission" {
        return StatusCode::OK.into_response();
    }
    let Some(user) = payload["user"]["id"].as_str().map(str::to_owned) else {
        return ApiError::bad_field("payload.user.id", "a submission names its user")
            .into_response();
    };
    let (value, note) = match tandem_app::pulse::check_slack_note(&payload["view"]) {
        Ok(v) => v,
        Err((block, message)) => {
            return Json(forms::FormErrors(vec![(block, message)]).response()).into_response();
        }
    };
    after_answer("the pulse note", async move {
        tandem_app::pulse::slack_note(
            &state.store,
            &state.settings,
            &user,
            &value,
            note.as_deref(),
        )
        .await
    });
    StatusCode::OK.into_response()
}
