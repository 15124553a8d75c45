//! A local stand-in for Slack's Web API, speaking its real format, shared by
//! the tests that talk to Slack (requests intake, the pulse, the front
//! line, the managers' cost of yes).
//!
//! - `{base}/api/{method}`: JSON bodies, forms, or (GET) query arguments,
//!   as Slack takes them; the bot token is checked as a bearer header
//!   (`{"ok": false, "error": "not_authed"}` otherwise). Methods:
//!   `chat.postMessage`, `views.open`, `users.info`, `users.lookupByEmail`
//!   (the directory given at start; `users_not_found` / `user_not_found`
//!   otherwise); anything else is `unknown_method`.
//! - `{base}/respond/{id}`: a `response_url`, answering a plain `ok`.
//! - [`SlackStandIn::set_down`]: while down, every route answers 503 with
//!   a plain-text body (what Slack's edge answers during an outage), and
//!   the call is recorded with `down: true`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde_json::{Value, json};

/// A Slack user the stand-in knows.
#[derive(Debug, Clone)]
pub struct SlackUser {
    pub id: String,
    pub email: String,
    pub real_name: String,
}

impl SlackUser {
    pub fn new(id: &str, email: &str, real_name: &str) -> SlackUser {
        SlackUser {
            id: id.to_owned(),
            email: email.to_owned(),
            real_name: real_name.to_owned(),
        }
    }
}

/// One call the stand-in got.
#[derive(Debug, Clone)]
pub struct Call {
    /// The Web API method (`chat.postMessage`), or `respond/{id}`.
    pub method: String,
    /// The `Authorization` header.
    pub auth: Option<String>,
    /// The arguments, whatever way they came.
    pub body: Value,
    /// Answered 503 because the stand-in was down.
    pub down: bool,
}

#[derive(Clone, Debug)]
struct Shared {
    token: String,
    users: Arc<Vec<SlackUser>>,
    calls: Arc<Mutex<Vec<Call>>>,
    down: Arc<AtomicBool>,
}

/// The running stand-in; it serves until the test's runtime ends.
#[derive(Clone, Debug)]
pub struct SlackStandIn {
    /// `http://127.0.0.1:port`.
    pub base: String,
    shared: Shared,
}

impl SlackStandIn {
    /// Starts a stand-in accepting `token` and knowing `users`.
    pub async fn start(token: &str, users: Vec<SlackUser>) -> SlackStandIn {
        let shared = Shared {
            token: token.to_owned(),
            users: Arc::new(users),
            calls: Arc::default(),
            down: Arc::default(),
        };
        let app = Router::new()
            .route("/api/{method}", any(api))
            .route("/respond/{id}", post(respond))
            .with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind the Slack stand-in");
        let base = format!("http://{}", listener.local_addr().expect("its address"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        SlackStandIn { base, shared }
    }

    /// The Web API root to configure (`slack.api_url`).
    pub fn api_url(&self) -> String {
        format!("{}/api", self.base)
    }

    /// A `response_url` of this stand-in.
    pub fn response_url(&self, id: &str) -> String {
        format!("{}/respond/{id}", self.base)
    }

    /// Takes the stand-in down (503 to everything) or back up.
    pub fn set_down(&self, down: bool) {
        self.shared.down.store(down, Ordering::SeqCst);
    }

    /// Every call so far, oldest first.
    pub fn calls(&self) -> Vec<Call> {
        self.shared.calls.lock().unwrap().clone()
    }

    /// The calls to `method` answered while up, oldest first.
    pub fn calls_to(&self, method: &str) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|c| c.method == method && !c.down)
            .collect()
    }

    /// Waits (up to ten seconds) until `method` was called `at_least`
    /// times while up; those calls. Panics with every call otherwise.
    pub async fn wait_for(&self, method: &str, at_least: usize) -> Vec<Call> {
        for _ in 0..200 {
            let got = self.calls_to(method);
            if got.len() >= at_least {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the Slack stand-in got no {at_least} {method} call(s): {:?}",
            self.calls()
        );
    }
}

fn record(s: &Shared, method: String, auth: Option<String>, body: Value) -> bool {
    let down = s.down.load(Ordering::SeqCst);
    s.calls.lock().unwrap().push(Call {
        method,
        auth,
        body,
        down,
    });
    down
}

fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error").into_response()
}

async fn api(
    State(s): State<Shared>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let auth = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let is_form = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"));
    // Slack takes JSON bodies, forms, or (GET) query arguments.
    let parsed: Value = if is_form || body.is_empty() {
        let form = if body.is_empty() {
            query.unwrap_or_default().into_bytes()
        } else {
            body.to_vec()
        };
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&form).unwrap_or_default();
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    if record(&s, method.clone(), auth.clone(), parsed.clone()) {
        return unavailable();
    }
    if auth.as_deref() != Some(&format!("Bearer {}", s.token)) {
        return axum::Json(json!({"ok": false, "error": "not_authed"})).into_response();
    }
    let user = |u: &SlackUser| {
        json!({"id": u.id, "team_id": "T0001", "name": u.email.split('@').next(),
               "real_name": u.real_name,
               "profile": {"real_name": u.real_name, "email": u.email}})
    };
    let answer = match method.as_str() {
        "users.lookupByEmail" => match s.users.iter().find(|u| parsed["email"] == *u.email) {
            Some(u) => json!({"ok": true, "user": user(u)}),
            None => json!({"ok": false, "error": "users_not_found"}),
        },
        "users.info" => match s.users.iter().find(|u| parsed["user"] == *u.id) {
            Some(u) => json!({"ok": true, "user": user(u)}),
            None => json!({"ok": false, "error": "user_not_found"}),
        },
        "chat.postMessage" => json!({
            "ok": true, "channel": parsed["channel"], "ts": "1700000000.000200",
            "message": {"type": "message", "text": parsed["text"], "blocks": parsed["blocks"]}
        }),
        "views.open" => json!({"ok": true, "view": {"id": "V0TANDEM1"}}),
        _ => json!({"ok": false, "error": "unknown_method"}),
    };
    axum::Json(answer).into_response()
}

async fn respond(State(s): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let parsed = serde_json::from_slice(&body).unwrap_or(Value::Null);
    if record(&s, format!("respond/{id}"), None, parsed) {
        return unavailable();
    }
    "ok".into_response()
}
