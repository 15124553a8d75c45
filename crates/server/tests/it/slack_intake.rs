//! Requests through Slack (ADR 0022), against a local stand-in for Slack's
//! Web API: Tandem gets slash commands and interactive payloads in Slack's
//! real format (form-encoded, v0-signed), opens the modal with `views.open`,
//! looks the person up with `users.info`, and tells them through the
//! `response_url` and `chat.postMessage`. From `/tandem ask` to the
//! decision, and the refusals of bad or stale signatures.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::routing::{any, post};
use chrono::Utc;
use serde_json::{Value, json};
use tandem_app::requests::{self, QueueFilter};
use tandem_domain::request::{DecisionInput, RequestSource};
use tandem_store::EngineKind;

use crate::support::TestApp;

tandem_testkit::per_engine!(
    a_slash_command_becomes_a_request_decided_and_told_in_slack,
    bad_or_stale_signatures_are_refused_and_nothing_happens,
    a_message_shortcut_opens_the_modal_with_the_message
);

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_TOKEN: &str = "xoxb-test-token";

/// What the stand-in Slack received: (method or path, Authorization, body).
type Calls = Arc<Mutex<Vec<(String, Option<String>, Value)>>>;

async fn api(
    State(calls): State<Calls>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> axum::Json<Value> {
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
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&form).unwrap();
        Value::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    };
    calls
        .lock()
        .unwrap()
        .push((method.clone(), auth.clone(), parsed.clone()));
    if auth.as_deref() != Some(&format!("Bearer {BOT_TOKEN}")) {
        return axum::Json(json!({"ok": false, "error": "not_authed"}));
    }
    axum::Json(match method.as_str() {
        "views.open" => json!({"ok": true, "view": {"id": "V0TANDEM1"}}),
        "users.info" => json!({"ok": true, "user": {
            "id": parsed["user"], "team_id": "T0001", "name": "ana",
            "real_name": "Ana Lima",
            "profile": {"real_name": "Ana Lima", "email": "ana@example.com"}
        }}),
        "chat.postMessage" => {
            json!({"ok": true, "channel": parsed["channel"], "ts": "1700000000.000200"})
        }
        _ => json!({"ok": false, "error": "unknown_method"}),
    })
}

async fn response_url(
    State(calls): State<Calls>,
    Path(id): Path<String>,
    body: Bytes,
) -> &'static str {
    calls.lock().unwrap().push((
        format!("response_url/{id}"),
        None,
        serde_json::from_slice(&body).unwrap(),
    ));
    "ok"
}

/// The stand-in: `{base}/api/{method}` and `{base}/respond/{id}`.
async fn stand_in() -> (String, Calls) {
    let calls: Calls = Arc::default();
    let app = Router::new()
        .route("/api/{method}", any(api))
        .route("/respond/{id}", post(response_url))
        .with_state(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, calls)
}

async fn start(engine: EngineKind, slack: &str) -> TestApp {
    let api = format!("{slack}/api");
    let app = TestApp::start_with(
        engine,
        &[
            ("TANDEM_SLACK__SIGNING_SECRET", SIGNING_SECRET),
            ("TANDEM_SLACK__BOT_TOKEN", BOT_TOKEN),
            ("TANDEM_SLACK__API_URL", &api),
            // The test delivers the outbox itself.
            ("TANDEM_REQUESTS__DELIVER_INTERVAL_SECONDS", "0"),
        ],
    )
    .await;
    // The demo organisation: its `payments` team has goals in flight and a
    // history to forecast from, so the cost of yes is on real forecasts.
    tandem_app::demo::load_organisation(&app.store().await, chrono::Utc::now().date_naive())
        .await
        .expect("load the demo organisation");
    app
}

/// Posts `body` as Slack does: form-encoded, signed at `timestamp`.
async fn post_signed(
    app: &TestApp,
    path: &str,
    body: &str,
    timestamp: i64,
    secret: &str,
) -> crate::support::Reply {
    let ts = timestamp.to_string();
    let sig = tandem_server::slack::signature(secret, &ts, body.as_bytes());
    app.send(
        app.request(reqwest::Method::POST, path)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig)
            .body(body.to_owned()),
    )
    .await
}

/// A slash command with the fields Slack sends.
fn slash_command(text: &str, response_url: &str) -> String {
    serde_urlencoded::to_string([
        ("token", "gIkuvaNzQIHg97ATvDxqgjtO"),
        ("team_id", "T0001"),
        ("team_domain", "example"),
        ("enterprise_id", "E0001"),
        ("enterprise_name", "Globular Construct Inc"),
        ("channel_id", "C2147483705"),
        ("channel_name", "test"),
        ("user_id", "U2147483697"),
        ("user_name", "ana"),
        ("command", "/tandem"),
        ("text", text),
        ("response_url", response_url),
        ("trigger_id", "13345224609.738474920.8088930838d88f008e0"),
        ("api_app_id", "A123456"),
    ])
    .unwrap()
}

/// An interactive payload as Slack posts it: `payload=<json>`.
fn interaction(payload: &Value) -> String {
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

/// Waits until the stand-in got a call to `method`; returns the calls to it.
async fn calls_to(calls: &Calls, method: &str, at_least: usize) -> Vec<(Option<String>, Value)> {
    for _ in 0..200 {
        let got: Vec<_> = calls
            .lock()
            .unwrap()
            .iter()
            .filter(|(m, _, _)| m == method)
            .map(|(_, a, b)| (a.clone(), b.clone()))
            .collect();
        if got.len() >= at_least {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the stand-in Slack got no {method} call: {:?}",
        calls.lock().unwrap()
    );
}

/// A `view_submission` of the opened `view` with these values, in the
/// shape of Slack's documentation.
fn submission(view: &Value, team: &str, title: &str, goal: &str) -> Value {
    let input = |v: &str| json!({"value": {"type": "plain_text_input", "value": v}});
    json!({
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U2147483697", "username": "ana", "name": "ana", "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "12466734323.1395872398.ac7f4f4b0b1dd0e3ae0c5b0bc7a5a51d",
        "view": {
            "id": "V0TANDEM1",
            "team_id": "T0001",
            "type": "modal",
            "blocks": view["blocks"],
            "private_metadata": view["private_metadata"],
            "callback_id": view["callback_id"],
            "state": {"values": {
                "team": {"value": {"type": "static_select", "selected_option": {
                    "text": {"type": "plain_text", "text": "Payments"}, "value": team}}},
                "title": input(title),
                "details": {"value": {"type": "plain_text_input", "value": null}},
                "business_goal": input(goal),
                "success_measure": {"value": {"type": "plain_text_input", "value": null}},
                "deadline": input("End of quarter: the auditors come"),
                "if_not_done": {"value": {"type": "plain_text_input", "value": null}},
            }},
            "hash": "156772938.1827394",
            "title": view["title"],
            "app_id": "A123456",
            "bot_id": "B0001",
        },
        "response_urls": [],
        "is_enterprise_install": false,
        "enterprise": null,
    })
}

async fn a_slash_command_becomes_a_request_decided_and_told_in_slack(engine: EngineKind) {
    let (slack, calls) = stand_in().await;
    let app = start(engine, &slack).await;
    let now = Utc::now().timestamp();

    // `/tandem` alone: the help, only to them.
    let help = post_signed(
        &app,
        "/slack/commands",
        &slash_command("", "x"),
        now,
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    assert_eq!(help.body["response_type"], "ephemeral");
    assert!(help.body["text"].as_str().unwrap().contains("/tandem ask"));

    // `/tandem ask …`: acknowledged at once; the modal opens with the title.
    let respond = format!("{slack}/respond/1");
    let reply = post_signed(
        &app,
        "/slack/commands",
        &slash_command("ask A CSV export of invoices", &respond),
        now,
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    assert_eq!(reply.body, Value::Null, "an empty acknowledgement");
    let opened = calls_to(&calls, "views.open", 1).await;
    let (auth, body) = &opened[0];
    assert_eq!(auth.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(
        body["trigger_id"],
        "13345224609.738474920.8088930838d88f008e0"
    );
    let view = &body["view"];
    assert_eq!(view["callback_id"], "tandem_request");
    assert_eq!(
        view["blocks"][1]["element"]["initial_value"],
        "A CSV export of invoices"
    );
    let options = view["blocks"][0]["element"]["options"].as_array().unwrap();
    assert!(options.iter().any(|o| o["value"] == "payments"));

    // A submission without a title stays open with the error under it.
    let bad = post_signed(
        &app,
        "/slack/interactions",
        &interaction(&submission(view, "payments", "", "x")),
        now,
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    assert_eq!(bad.body["response_action"], "errors");
    assert!(bad.body["errors"]["title"].is_string());

    // The submission closes the modal; the request is stored after.
    let ok = post_signed(
        &app,
        "/slack/interactions",
        &interaction(&submission(
            view,
            "payments",
            "A CSV export of invoices",
            "Close the books faster",
        )),
        now,
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    assert_eq!(ok.body, Value::Null);
    let store = app.store().await;
    // This tests the channel, not when it may speak (notify.rs does).
    crate::support::always_open(&store).await;
    let settings = app_settings(&app, &slack);
    let mut queue = Vec::new();
    for _ in 0..200 {
        queue = requests::queue(&store, &settings, &QueueFilter::default())
            .await
            .unwrap()
            .entries;
        if !queue.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(queue.len(), 1, "the request reaches the triage queue");
    let entry = &queue[0];
    assert_eq!(entry.source, RequestSource::Slack);
    assert_eq!(entry.title, "A CSV export of invoices");
    assert_eq!(entry.requester, "Ana Lima", "named by users.info");
    let r = store.get_request(entry.id).await.unwrap();
    assert_eq!(r.reply.slack_user.as_deref(), Some("U2147483697"));
    assert_eq!(r.reply.slack_channel.as_deref(), Some("C2147483705"));
    assert_eq!(
        r.answers.business_goal.as_deref(),
        Some("Close the books faster")
    );
    assert_eq!(r.answers.success_measure, None);
    let info = calls_to(&calls, "users.info", 1).await;
    assert_eq!(info[0].1["user"], "U2147483697");

    // The same submission again (Slack retries): still one request.
    post_signed(
        &app,
        "/slack/interactions",
        &interaction(&submission(
            view,
            "payments",
            "A CSV export of invoices",
            "x",
        )),
        now,
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        requests::queue(&store, &settings, &QueueFilter::default())
            .await
            .unwrap()
            .entries
            .len(),
        1
    );

    // Received: told through the slash command's response_url, once.
    let told = tandem_app::intake::deliver_pending(&store, &settings)
        .await
        .unwrap();
    assert_eq!((told.sent, told.failed), (1, 0));
    let responses = calls_to(&calls, "response_url/1", 1).await;
    assert!(
        responses[0].1["text"]
            .as_str()
            .unwrap()
            .contains("A CSV export of invoices")
    );
    assert_eq!(responses[0].1["response_type"], "ephemeral");

    // Decided: told in the app's direct message with them, once.
    let input: DecisionInput = serde_json::from_value(json!({
        "kind": "decline", "reason": "The month-end close already exports this"
    }))
    .unwrap();
    requests::decide(&store, &settings, entry.id, input, "manager")
        .await
        .unwrap();
    crate::requests::decided_everywhere(&store, &settings, entry.id, "declined").await;
    let told = tandem_app::intake::deliver_pending(&store, &settings)
        .await
        .unwrap();
    assert_eq!((told.sent, told.failed), (1, 0));
    let again = tandem_app::intake::deliver_pending(&store, &settings)
        .await
        .unwrap();
    assert_eq!(again.sent, 0, "nothing is told twice");
    let posted = calls_to(&calls, "chat.postMessage", 1).await;
    assert_eq!(posted.len(), 1);
    let (auth, msg) = &posted[0];
    assert_eq!(auth.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(msg["channel"], "U2147483697");
    let text = msg["text"].as_str().unwrap();
    assert!(
        text.contains("declined") && text.contains("month-end close"),
        "{text}"
    );
    app.stop().await;
}

/// The settings the test server runs with, for calling the app directly.
fn app_settings(app: &TestApp, slack: &str) -> tandem_app::Settings {
    let api = format!("{slack}/api");
    let env: Vec<(String, String)> = [
        ("TANDEM_DATABASE__URL", app.db_url()),
        ("TANDEM_SLACK__SIGNING_SECRET", SIGNING_SECRET),
        ("TANDEM_SLACK__BOT_TOKEN", BOT_TOKEN),
        ("TANDEM_SLACK__API_URL", api.as_str()),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let example = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tandem.example.toml"));
    tandem_app::Settings::load_from(Some(example), &env).unwrap()
}

async fn bad_or_stale_signatures_are_refused_and_nothing_happens(engine: EngineKind) {
    let (slack, calls) = stand_in().await;
    let app = start(engine, &slack).await;
    let body = slash_command("ask Something", &format!("{slack}/respond/1"));
    let now = Utc::now().timestamp();
    // Stale (six minutes old), correctly signed.
    post_signed(&app, "/slack/commands", &body, now - 360, SIGNING_SECRET)
        .await
        .err(401, "unauthorized");
    // From the future, beyond the window.
    post_signed(&app, "/slack/commands", &body, now + 360, SIGNING_SECRET)
        .await
        .err(401, "unauthorized");
    // Signed with another secret.
    post_signed(&app, "/slack/commands", &body, now, "another-secret")
        .await
        .err(401, "unauthorized");
    // A body changed after signing.
    let ts = now.to_string();
    let sig = tandem_server::slack::signature(SIGNING_SECRET, &ts, body.as_bytes());
    app.send(
        app.request(reqwest::Method::POST, "/slack/interactions")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", &ts)
            .header("x-slack-signature", sig)
            .body(format!("{body}&x=1")),
    )
    .await
    .err(401, "unauthorized");
    // No signature at all.
    app.send(
        app.request(reqwest::Method::POST, "/slack/commands")
            .header("x-slack-request-timestamp", &ts)
            .body(body.clone()),
    )
    .await
    .err(401, "unauthorized");
    // A signed payload that is not Slack's shape: 400 naming it.
    post_signed(
        &app,
        "/slack/interactions",
        "payload=%7Bnot-json",
        now,
        SIGNING_SECRET,
    )
    .await
    .err_field(400, "bad_request", "payload");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(calls.lock().unwrap().is_empty(), "nothing reached Slack");
    let store = app.store().await;
    let settings = app_settings(&app, &slack);
    assert!(
        requests::queue(&store, &settings, &QueueFilter::default())
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    app.stop().await;
}

async fn a_message_shortcut_opens_the_modal_with_the_message(engine: EngineKind) {
    let (slack, calls) = stand_in().await;
    let app = start(engine, &slack).await;
    let payload = json!({
        "type": "message_action",
        "callback_id": "tandem_request_from_message",
        "trigger_id": "13345224609.8534564800.6f8ab1f53e13d0cd15f96106292d5536",
        "response_url": format!("{slack}/respond/2"),
        "team": {"id": "T0001", "domain": "example"},
        "channel": {"id": "C065W1189", "name": "sales"},
        "user": {"id": "U045VRZFT", "name": "ben"},
        "message": {
            "type": "message",
            "user": "U0G9QF9C6",
            "ts": "1516229207.000133",
            "text": "We urgently need SSO for Acme\nThey sign on Friday otherwise not at all",
        },
        "message_ts": "1516229207.000133",
        "action_ts": "1516229210.224577",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
    });
    post_signed(
        &app,
        "/slack/interactions",
        &interaction(&payload),
        Utc::now().timestamp(),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    let opened = calls_to(&calls, "views.open", 1).await;
    let view = &opened[0].1["view"];
    assert_eq!(
        view["blocks"][1]["element"]["initial_value"],
        "We urgently need SSO for Acme"
    );
    assert!(
        view["blocks"][2]["element"]["initial_value"]
            .as_str()
            .unwrap()
            .contains("sign on Friday")
    );
    let origin: Value = serde_json::from_str(view["private_metadata"].as_str().unwrap()).unwrap();
    assert_eq!(origin["thread_ts"], "1516229207.000133");
    assert_eq!(origin["channel"], "C065W1189");

    // An interaction nobody handles is acknowledged, nothing more.
    let other = json!({"type": "shortcut", "callback_id": "team_pulse", "trigger_id": "1"});
    post_signed(
        &app,
        "/slack/interactions",
        &interaction(&other),
        Utc::now().timestamp(),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    // The app manifest names the same routes and callback id.
    let manifest = include_str!("../../../../deploy/slack/manifest.yml");
    assert!(manifest.contains("/slack/commands") && manifest.contains("/slack/interactions"));
    assert!(manifest.contains(&format!(
        "callback_id: {}",
        tandem_domain::intake::MESSAGE_SHORTCUT
    )));
    assert!(manifest.contains("command: /tandem"));
    app.stop().await;
}
