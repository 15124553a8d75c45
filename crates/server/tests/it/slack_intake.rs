//! Requests through Slack (ADR 0022), against a local stand-in for Slack's
//! Web API: Tandem gets slash commands and interactive payloads in Slack's
//! real format (form-encoded, v0-signed), opens the modal with `views.open`,
//! looks the person up with `users.info`, and tells them through the
//! `response_url` and `chat.postMessage`. From `/tandem ask` to the
//! decision, and the refusals of bad or stale signatures.

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tandem_app::requests::{self, QueueFilter};
use tandem_domain::request::{DecisionInput, RequestSource};
use tandem_store::EngineKind;
use tandem_testkit::slack::{SlackStandIn, SlackUser};

use crate::support::TestApp;

tandem_testkit::per_engine!(
    a_slash_command_becomes_a_request_decided_and_told_in_slack,
    bad_or_stale_signatures_are_refused_and_nothing_happens,
    a_message_shortcut_opens_the_modal_with_the_message,
    the_teams_manager_is_told_the_cost_of_yes_once
);

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_TOKEN: &str = "xoxb-test-token";

/// The shared Slack stand-in (`tandem_testkit::slack`), knowing the
/// requester and the demo's manager of `payments` (Maria): its base URL and
/// itself.
async fn stand_in() -> (String, SlackStandIn) {
    let slack = SlackStandIn::start(
        BOT_TOKEN,
        vec![
            SlackUser::new("U2147483697", "ana@example.com", "Ana Lima"),
            SlackUser::new("U0MARIA", "maria@acme.example", "Maria"),
        ],
    )
    .await;
    (slack.base.clone(), slack)
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

/// Waits until the stand-in got `at_least` calls to `method`; the calls
/// to it as (Authorization, body).
async fn calls_to(
    calls: &SlackStandIn,
    method: &str,
    at_least: usize,
) -> Vec<(Option<String>, Value)> {
    calls
        .wait_for(method, at_least)
        .await
        .into_iter()
        .map(|c| (c.auth, c.body))
        .collect()
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
    // This tests the channel, not when it may speak (notify.rs does).
    crate::support::always_open(&app.store().await).await;
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

    // Received: told through the slash command's response_url, once; and
    // Maria, who manages payments, gets its cost of yes in her DM.
    let told = tandem_app::intake::deliver_pending(&store, &settings)
        .await
        .unwrap();
    assert_eq!((told.sent, told.failed), (2, 0));
    let to_maria = calls_to(&calls, "chat.postMessage", 1).await;
    assert_eq!(to_maria.len(), 1);
    assert_eq!(to_maria[0].1["channel"], "U0MARIA");
    assert!(
        to_maria[0].1["blocks"]
            .to_string()
            .contains("A CSV export of invoices")
    );
    let responses = calls_to(&calls, "respond/1", 1).await;
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
    let posted = calls_to(&calls, "chat.postMessage", 2).await;
    assert_eq!(posted.len(), 2);
    let (auth, msg) = &posted[1];
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
    assert!(calls.calls().is_empty(), "nothing reached Slack");
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

/// A user of `role` with `email`, member of the team `team`.
async fn member_of(
    store: &tandem_store::Store,
    team: &str,
    username: &str,
    email: &str,
    role: tandem_domain::user::Role,
) {
    let u = tandem_domain::user::NewUser {
        username: username.to_owned(),
        display_name: None,
        email: Some(email.to_owned()),
        role,
    }
    .into_user(uuid::Uuid::now_v7(), Utc::now())
    .unwrap();
    store.create_user(&u, "not-a-password-hash").await.unwrap();
    let team = store.get_team_by_key(team).await.unwrap();
    store.add_member(team.id, u.id).await.unwrap();
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(
        || "no deadline".to_owned(),
        |p| format!("{:.0} %", p * 100.0),
    )
}

fn day(d: Option<chrono::NaiveDate>) -> String {
    d.map_or_else(|| "beyond the horizon".to_owned(), |d| d.to_string())
}

/// Issue 14, item 4: a request that arrives (here through the API) tells
/// the managers of its team, in Slack, its criticality and its cost of yes
/// on the team's real forecasts; once, however often the outbox runs.
async fn the_teams_manager_is_told_the_cost_of_yes_once(engine: EngineKind) {
    use tandem_domain::cost_of_yes::CostOutcome;
    use tandem_domain::user::Role;
    let (slack, calls) = stand_in().await;
    let app = start(engine, &slack).await;
    let store = app.store().await;
    crate::support::always_open(&store).await;
    let settings = app_settings(&app, &slack);
    // The demo's Maria manages payments and is in Slack; Nils manages it
    // too but Slack has no account with his address (and no SMTP is set);
    // Sam and Ana are members, Lee a stakeholder: none of them is told.
    member_of(
        &store,
        "payments",
        "nils",
        "nils@example.com",
        Role::Manager,
    )
    .await;

    let team = app
        .get(&app.member, "/api/v1/teams/payments")
        .await
        .ok(200)
        .body;
    let made = app
        .post(
            &app.stakeholder,
            "/api/v1/requests",
            json!({"team_id": team["id"], "title": "Refunds in the customer portal",
                   "answers": {"business_goal": "Fewer support tickets"},
                   "impact": "high", "complexity": "medium"}),
        )
        .await
        .ok(201);
    let id: uuid::Uuid = made.body["id"].as_str().unwrap().parse().unwrap();
    let page = app
        .get(&app.manager, &format!("/api/v1/requests/{id}"))
        .await
        .ok(200);
    let to = page.body["to_managers"].as_array().unwrap();
    assert_eq!(
        to.len(),
        2,
        "one message a manager, none to members: {to:?}"
    );
    assert!(
        to.iter()
            .all(|n| n["delivered_at"].is_null() && n["kind"] == "triage")
    );
    assert_eq!(
        page.body["notifications"].as_array().unwrap().len(),
        1,
        "the requester's own message stays apart"
    );

    let told = tandem_app::intake::deliver_pending(&store, &settings)
        .await
        .unwrap();
    assert_eq!(
        (told.sent, told.failed),
        (1, 1),
        "Maria told; Nils unreachable"
    );
    let posted = calls_to(&calls, "chat.postMessage", 1).await;
    assert_eq!(posted.len(), 1);
    let (auth, msg) = &posted[0];
    assert_eq!(auth.as_deref(), Some("Bearer xoxb-test-token"));
    assert_eq!(msg["channel"], "U0MARIA", "a direct message to Maria");
    let lookups: Vec<Value> = calls
        .calls_to("users.lookupByEmail")
        .into_iter()
        .map(|c| c.body["email"].clone())
        .collect();
    assert!(
        lookups.contains(&json!("maria@acme.example")),
        "{lookups:?}"
    );
    let blocks = msg["blocks"].to_string();
    assert!(
        msg["text"]
            .as_str()
            .unwrap()
            .contains("Refunds in the customer portal")
    );
    let r = store.get_request(id).await.unwrap();
    let c = r.criticality(&settings.planning.matrix);
    for needed in [
        "Refunds in the customer portal".to_owned(),
        "token:stakeholder".to_owned(),
        c.priority.to_string(),
        c.rule.clone(),
        format!("/requests/{id}"),
        "Could be postponed to make room".to_owned(),
    ] {
        assert!(blocks.contains(&needed), "{needed:?} missing from {blocks}");
    }
    // The figures are the cost of yes's own, goal by goal.
    let cost = requests::cost_of_yes(
        &store,
        &settings,
        id,
        requests::PlacementInput::default(),
        Utc::now().date_naive(),
    )
    .await
    .unwrap();
    let CostOutcome::Ready { goals, .. } = &cost.cost else {
        panic!(
            "the demo team has history to forecast from: {:?}",
            cost.cost
        )
    };
    assert!(!goals.is_empty());
    for g in goals {
        let line = format!(
            "{}: on time {} → {}, P85 {} → {}",
            g.title,
            percent(g.before.on_time_probability),
            percent(g.after.on_time_probability),
            day(g.before.p85),
            day(g.after.p85),
        );
        assert!(blocks.contains(&line), "{line:?} missing from {blocks}");
    }

    // The outbox runs again, now and after Nils's lease: Maria is not told
    // twice; Nils's message fails again, its error on the request.
    let again = tandem_app::intake::deliver_pending(&store, &settings)
        .await
        .unwrap();
    assert_eq!((again.sent, again.failed), (0, 0));
    let later = tandem_app::intake::deliver_pending_at(
        &store,
        &settings,
        Utc::now() + chrono::Duration::minutes(3),
    )
    .await
    .unwrap();
    assert_eq!((later.sent, later.failed), (0, 1));
    assert_eq!(calls.calls_to("chat.postMessage").len(), 1, "sent once");
    let page = app
        .get(&app.manager, &format!("/api/v1/requests/{id}"))
        .await
        .ok(200);
    let to = page.body["to_managers"].as_array().unwrap();
    let maria = to
        .iter()
        .find(|n| n["reply"]["email_address"] == "maria@acme.example")
        .unwrap();
    assert!(maria["delivered_at"].is_string());
    let nils = to
        .iter()
        .find(|n| n["reply"]["email_address"] == "nils@example.com")
        .unwrap();
    assert!(nils["delivered_at"].is_null());
    assert_eq!(nils["attempts"], 2);
    assert!(
        nils["last_error"]
            .as_str()
            .unwrap()
            .contains("no account with the e-mail address nils@example.com"),
        "{nils}"
    );
    app.stop().await;
}
