//! The team pulse (issue 15, ADR 0028) on both engines:
//! - the anonymity threshold with 2 and then 3 answers, in the API, the
//!   team page and the weekly report (one app function behind all three);
//! - bad input (a rating outside 1–5 names its field, an unknown team is
//!   404, an API token or a non-member cannot answer, a threshold below 3
//!   is refused) and a second answer in the week replacing the first;
//! - the `/pulse` form;
//! - the answer rows hold no user id (read straight from the database),
//!   and closing the week deletes its salt and clears the keys;
//! - the Slack flow against a stand-in speaking Slack's formats: the DM
//!   with buttons, v0-signed `block_actions` clicks, the message replaced
//!   through `response_url`, the note modal, and a forged signature refused.

use std::time::Duration;

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};
use tandem_store::EngineKind;
use tandem_testkit::slack::{SlackStandIn, SlackUser};

use crate::pages::{Browser, csrf_of};
use crate::support::TestApp;

tandem_testkit::per_engine!(
    the_threshold_holds_in_the_api_the_page_and_the_report,
    answers_hold_no_user_id_and_closing_unlinks_them,
    the_slack_buttons_answer_the_pulse,
    the_demo_has_a_pulse_trend_and_no_answer_is_linked
);

const PASSWORD: &str = "a long enough password";

/// Makes `names` members of `team` (with e-mails `<name>@example.com`
/// unless listed in `no_mail`).
async fn members(app: &TestApp, team: &str, names: &[&str], no_mail: &[&str]) {
    for name in names {
        let mut user = json!({"username": name, "role": "member", "password": PASSWORD});
        if !no_mail.contains(name) {
            user["email"] = json!(format!("{name}@example.com"));
        }
        app.post(&app.admin, "/api/v1/users", user).await.ok(201);
        app.call(
            Method::PUT,
            &app.admin,
            &format!("/api/v1/teams/{team}/members/{name}"),
            None,
        )
        .await
        .ok(200);
    }
}

/// The session cookie of `name`.
async fn session(app: &TestApp, name: &str) -> String {
    let reply = app.sign_in(name, PASSWORD).await;
    assert_eq!(reply.status, 200, "{:?}", reply.body);
    let set = reply.header("set-cookie").expect("a session cookie");
    set.split(';').next().unwrap().to_owned()
}

/// Answers as the person behind `cookie`.
async fn answer(app: &TestApp, cookie: &str, team: &str, body: Value) -> crate::support::Reply {
    app.send(
        app.with_cookie(
            Method::POST,
            &format!("/api/v1/teams/{team}/pulse/answers"),
            cookie,
        )
        .header("origin", &app.base)
        .json(&body),
    )
    .await
}

/// The Numbers section's pulse line of the week's report.
async fn report_line(app: &TestApp, week: &str) -> String {
    let r = app
        .get(
            &app.manager,
            &format!("/api/v1/teams/payments/reports/weekly?week={week}"),
        )
        .await
        .ok(200)
        .body;
    let numbers = r["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "numbers")
        .unwrap();
    numbers["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "pulse")
        .unwrap_or_else(|| panic!("no pulse line in {numbers}"))["text"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn the_threshold_holds_in_the_api_the_page_and_the_report(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.team("payments").await;
    app.team("search").await;
    members(&app, "payments", &["ana", "ben", "cleo", "dan", "eva"], &[]).await;
    members(&app, "search", &["zed"], &[]).await;
    let ana = session(&app, "ana").await;
    let ben = session(&app, "ben").await;

    // Bad input: each rating names its field; an unknown team is 404;
    // a token has no person; a non-member may not answer.
    answer(&app, &ana, "payments", json!({"workload": 7, "focus": 3}))
        .await
        .err_field(422, "invalid", "workload");
    answer(&app, &ana, "payments", json!({"workload": 3, "focus": 0}))
        .await
        .err_field(422, "invalid", "focus");
    answer(&app, &ana, "nowhere", json!({"workload": 3, "focus": 3}))
        .await
        .err(404, "not_found");
    app.post(
        &app.member,
        "/api/v1/teams/payments/pulse/answers",
        json!({"workload": 3, "focus": 3}),
    )
    .await
    .err(403, "forbidden");
    let zed = session(&app, "zed").await;
    answer(&app, &zed, "payments", json!({"workload": 3, "focus": 3}))
        .await
        .err(403, "forbidden");
    app.get(&app.member, "/api/v1/teams/nowhere/pulse")
        .await
        .err(404, "not_found");
    app.get(&app.member, "/api/v1/teams/payments/pulse?week=W49")
        .await
        .err_field(400, "bad_request", "week");

    // Ana answers twice: the second replaces the first.
    let first = answer(
        &app,
        &ana,
        "payments",
        json!({"workload": 4, "focus": 2, "note": "the on-call week"}),
    )
    .await
    .ok(200)
    .body;
    assert_eq!(first["replaced"], false);
    let week = first["week"].as_str().unwrap().to_owned();
    let second = answer(
        &app,
        &ana,
        "payments",
        json!({"workload": 5, "focus": 1, "note": "two incidents"}),
    )
    .await
    .ok(200)
    .body;
    assert_eq!(second["replaced"], true);
    answer(&app, &ben, "payments", json!({"workload": 2, "focus": 4}))
        .await
        .ok(200);

    // Two answers: counts only, in the API, the page and the report.
    let w = app
        .get(&app.member, "/api/v1/teams/payments/pulse")
        .await
        .ok(200)
        .body;
    assert_eq!(w["answers"], 2, "{w}");
    assert_eq!(w["members"], 5);
    assert_eq!(w["shown"], false);
    assert_eq!(w["workload"], Value::Null);
    assert_eq!(w["focus"], Value::Null);
    assert_eq!(w["notes"], json!([]));
    let trend = app
        .get(&app.member, "/api/v1/teams/payments/pulse/trend")
        .await
        .ok(200)
        .body;
    assert_eq!(trend.as_array().unwrap().len(), 12);
    assert_eq!(trend[11]["answers"], 2);
    assert_eq!(trend[11]["workload_mean"], Value::Null);
    let mut browser = Browser::new(&app);
    browser.sign_in("cleo", PASSWORD).await;
    let team_page = browser.get("/teams/payments").await;
    assert_eq!(team_page.status, 200);
    assert!(
        team_page.body.contains("Too few answers to show (2 of 5)"),
        "{}",
        team_page.body
    );
    assert!(!team_page.body.contains("two incidents"));
    assert_eq!(
        report_line(&app, &week).await,
        "Pulse: too few answers to show (2 of 5)"
    );

    // Cleo answers through the page: a bad rating is refused naming it,
    // then her answer makes three.
    let form = browser.get("/pulse").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("PAYMENTS"), "{}", form.body);
    let csrf = csrf_of(&form.body);
    let bad = browser
        .post(
            "/pulse",
            &[
                ("csrf", &csrf),
                ("team", "payments"),
                ("workload", "9"),
                ("focus", "3"),
                ("note", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(
        bad.body.contains("pulse-payments-workload-error"),
        "{}",
        bad.body
    );
    let done = browser
        .post(
            "/pulse",
            &[
                ("csrf", &csrf),
                ("team", "payments"),
                ("workload", "3"),
                ("focus", "3"),
                ("note", "quarterly planning"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let thanked = browser.get("/pulse?answered=payments").await;
    assert!(thanked.body.contains("Thank you"), "{}", thanked.body);

    // Three answers: the figures, in all three places.
    let w = app
        .get(
            &app.member,
            &format!("/api/v1/teams/payments/pulse?week={week}"),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(w["answers"], 3, "{w}");
    assert_eq!(w["shown"], true);
    let mean = |v: &Value| (v.as_f64().unwrap() * 1000.0).round() / 1000.0;
    assert_eq!(mean(&w["workload"]["mean"]), 3.333); // (5 + 2 + 3) / 3
    assert_eq!(w["workload"]["counts"], json!([0, 1, 1, 0, 1]));
    assert_eq!(mean(&w["focus"]["mean"]), 2.667); // (1 + 4 + 3) / 3
    assert_eq!(w["notes"], json!(["quarterly planning", "two incidents"]));
    let team_page = browser.get("/teams/payments").await;
    assert!(
        team_page.body.contains("3 of 5 members answered"),
        "{}",
        team_page.body
    );
    assert!(team_page.body.contains("two incidents"));
    assert!(
        !team_page.body.contains("the on-call week"),
        "a replaced note stays gone"
    );
    assert_eq!(
        report_line(&app, &week).await,
        "Pulse: workload 3.3/5, focus 2.7/5 from 3 answers"
    );

    // The threshold goes up, never below 3.
    app.call(
        Method::PUT,
        &app.manager,
        "/api/v1/teams/payments/pulse/config",
        Some(json!({"min_answers": 2})),
    )
    .await
    .err_field(422, "invalid", "min_answers");
    app.call(
        Method::PUT,
        &app.member,
        "/api/v1/teams/payments/pulse/config",
        Some(json!({"min_answers": 4})),
    )
    .await
    .err(403, "forbidden");
    app.call(
        Method::PUT,
        &app.manager,
        "/api/v1/teams/payments/pulse/config",
        Some(json!({"min_answers": 4})),
    )
    .await
    .ok(200);
    let w = app
        .get(&app.member, "/api/v1/teams/payments/pulse")
        .await
        .ok(200)
        .body;
    assert_eq!(
        (w["shown"].clone(), w["min_answers"].clone()),
        (json!(false), json!(4))
    );
    assert_eq!(
        report_line(&app, &week).await,
        "Pulse: too few answers to show (3 of 5)"
    );
    let team_page = browser.get("/teams/payments").await;
    assert!(!team_page.body.contains("two incidents"));
}

/// Every value of every `pulse_answers` row as text, and the table's columns.
/// `serve --demo`'s pulse: eight past weeks answered through the app's own
/// path, shown where at least three answered, telling each team's story
/// (Payments' focus falls), and every week closed (no answer key left).
async fn the_demo_has_a_pulse_trend_and_no_answer_is_linked(engine: EngineKind) {
    let app = TestApp::start_full_demo(engine).await;
    let trend = app
        .get(&app.member, "/api/v1/teams/payments/pulse/trend")
        .await
        .ok(200)
        .body;
    let weeks = trend.as_array().unwrap();
    assert_eq!(weeks.len(), 12);
    assert_eq!(weeks[11]["answers"], 0, "the current week is not answered");
    let past = &weeks[3..11];
    assert!(
        past.iter().all(|w| w["answers"].as_u64().unwrap() > 0),
        "{trend}"
    );
    let shown: Vec<f64> = past
        .iter()
        .filter_map(|w| w["focus_mean"].as_f64())
        .collect();
    assert!(shown.len() >= 6, "most weeks reach three answers: {trend}");
    assert!(
        shown[0] > shown[shown.len() - 1],
        "Payments' focus falls: {trend}"
    );
    let (_, rows) = raw_answers(app.db_url(), engine).await;
    assert!(rows.len() > 50, "{} answers", rows.len());
    assert!(
        rows.iter().all(|r| r[3].is_none()),
        "every demo week is closed: no answer key is left"
    );
}

async fn raw_answers(url: &str, engine: EngineKind) -> (Vec<String>, Vec<Vec<Option<String>>>) {
    let select = match engine {
        EngineKind::Sqlite => {
            "SELECT lower(hex(id)), lower(hex(team_id)), week, answer_key, \
             CAST(workload AS TEXT), CAST(focus AS TEXT), note FROM pulse_answers"
        }
        EngineKind::Postgres => {
            "SELECT replace(id::text, '-', ''), replace(team_id::text, '-', ''), week, answer_key, \
             workload::text, focus::text, note FROM pulse_answers"
        }
    };
    type Row = (
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
        Option<String>,
    );
    let flat = |rows: Vec<Row>| -> Vec<Vec<Option<String>>> {
        rows.into_iter()
            .map(|r| vec![r.0, r.1, r.2, r.3, r.4, r.5, r.6])
            .collect()
    };
    match engine {
        EngineKind::Sqlite => {
            let pool = sqlx::SqlitePool::connect(url).await.unwrap();
            let cols: Vec<(String,)> =
                sqlx::query_as("SELECT name FROM pragma_table_info('pulse_answers')")
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let rows: Vec<Row> = sqlx::query_as(select).fetch_all(&pool).await.unwrap();
            (cols.into_iter().map(|c| c.0).collect(), flat(rows))
        }
        EngineKind::Postgres => {
            let pool = sqlx::PgPool::connect(url).await.unwrap();
            let cols: Vec<(String,)> = sqlx::query_as(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_name = 'pulse_answers'",
            )
            .fetch_all(&pool)
            .await
            .unwrap();
            let rows: Vec<Row> = sqlx::query_as(select).fetch_all(&pool).await.unwrap();
            (cols.into_iter().map(|c| c.0).collect(), flat(rows))
        }
    }
}

async fn answers_hold_no_user_id_and_closing_unlinks_them(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    app.team("payments").await;
    members(&app, "payments", &["ana", "ben", "cleo"], &[]).await;
    for name in ["ana", "ben", "cleo"] {
        let c = session(&app, name).await;
        answer(
            &app,
            &c,
            "payments",
            json!({"workload": 3, "focus": 4, "note": format!("a note from {name}")}),
        )
        .await
        .ok(200);
    }
    let store = app.store().await;
    let users = store.list_users().await.unwrap();
    let ids: Vec<String> = users.iter().map(|u| u.id.simple().to_string()).collect();
    let (cols, rows) = raw_answers(app.db_url(), engine).await;
    let mut sorted = cols.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "answer_key",
            "focus",
            "id",
            "note",
            "team_id",
            "week",
            "workload"
        ],
        "no column names a person"
    );
    assert_eq!(rows.len(), 3);
    for row in &rows {
        for value in row.iter().flatten() {
            for id in &ids {
                assert!(!value.contains(id.as_str()), "{value} holds a user id");
            }
            for u in &users {
                assert!(
                    !value.contains(&u.id.to_string()),
                    "{value} holds a user id"
                );
            }
        }
        assert!(row[3].is_some(), "an open week's answers carry their key");
    }

    // Closing the week (here: reading it from the next week) deletes the
    // salt and the keys; a new answer then goes to the new week.
    let team = store.get_team_by_key("payments").await.unwrap();
    let next_week = Utc::now() + chrono::Duration::days(7);
    let closed = tandem_app::pulse::close_ended(&store, &team, next_week)
        .await
        .unwrap();
    assert_eq!(closed, 1);
    let (_, rows) = raw_answers(app.db_url(), engine).await;
    assert!(rows.iter().all(|r| r[3].is_none()), "{rows:?}");
    let this_week = rows[0][2].clone().unwrap();
    assert_eq!(
        store
            .pulse_salt(team.id, &this_week, b"a fresh salt that must not be used")
            .await
            .unwrap(),
        None,
        "a closed week's salt is gone for good"
    );
    let ana = users.iter().find(|u| u.username == "ana").unwrap();
    let later = tandem_app::pulse::answer(
        &store,
        "payments",
        ana,
        &tandem_domain::pulse::AnswerInput {
            workload: 1,
            focus: 1,
            note: None,
        },
        next_week,
    )
    .await
    .unwrap();
    assert_ne!(later.week, this_week);
    assert!(!later.replaced);
    // The closed week keeps its figures.
    let monday = tandem_app::pulse::parse_week_text(&this_week).unwrap();
    let w = tandem_app::pulse::week(&store, "payments", Some(monday), Utc::now())
        .await
        .unwrap();
    assert_eq!((w.answers, w.shown), (3, true));
}

// ---------------------------------------------------------------------------
// Slack
// ---------------------------------------------------------------------------

const SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const BOT_TOKEN: &str = "xoxb-test-token";

/// The shared Slack stand-in (`tandem_testkit::slack`), knowing Ana and Ben.
async fn stand_in() -> (String, SlackStandIn) {
    let slack = SlackStandIn::start(
        BOT_TOKEN,
        vec![
            SlackUser::new("U0ANA", "ana@example.com", "ana@example.com"),
            SlackUser::new("U0BEN", "ben@example.com", "ben@example.com"),
        ],
    )
    .await;
    (slack.base.clone(), slack)
}

/// Waits for the stand-in's `at_least`-th call to `method`; all of them.
async fn calls_to(calls: &SlackStandIn, method: &str, at_least: usize) -> Vec<Value> {
    calls
        .wait_for(method, at_least)
        .await
        .into_iter()
        .map(|c| c.body)
        .collect()
}

async fn post_signed(app: &TestApp, body: &str, secret: &str) -> crate::support::Reply {
    let ts = Utc::now().timestamp().to_string();
    let sig = tandem_server::slack::signature(secret, &ts, body.as_bytes());
    app.send(
        app.request(Method::POST, "/slack/interactions")
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", ts)
            .header("x-slack-signature", sig)
            .body(body.to_owned()),
    )
    .await
}

/// A click on `button` of a message with `blocks`, as Slack posts it.
fn click(user: &str, blocks: &Value, button: &Value, response_url: &str) -> String {
    let payload = json!({
        "type": "block_actions",
        "user": {"id": user, "username": "ana", "name": "ana", "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {"type": "message", "message_ts": "1700000000.000200",
                      "channel_id": "D0DM", "is_ephemeral": false},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": "T0001", "domain": "example"},
        "enterprise": null,
        "is_enterprise_install": false,
        "channel": {"id": "D0DM", "name": "directmessage"},
        "message": {"type": "message", "user": "B0001", "ts": "1700000000.000200",
                    "bot_id": "B0001", "text": "Weekly pulse", "blocks": blocks},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [{
            "action_id": button["action_id"],
            "block_id": "tandem_pulse",
            "text": button["text"],
            "value": button["value"],
            "type": "button",
            "action_ts": "1700000001.000300",
        }],
    });
    serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap()
}

/// The button `action_id` in `blocks`.
fn button<'a>(blocks: &'a Value, action_id: &str) -> &'a Value {
    blocks
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|b| b["elements"].as_array().into_iter().flatten())
        .find(|e| e["action_id"] == action_id)
        .unwrap_or_else(|| panic!("no button {action_id} in {blocks}"))
}

async fn the_slack_buttons_answer_the_pulse(engine: EngineKind) {
    let (slack, calls) = stand_in().await;
    let api_url = format!("{slack}/api");
    let app = TestApp::start_with(
        engine,
        &[
            ("TANDEM_SLACK__SIGNING_SECRET", SIGNING_SECRET),
            ("TANDEM_SLACK__BOT_TOKEN", BOT_TOKEN),
            ("TANDEM_SLACK__API_URL", &api_url),
            ("TANDEM_PULSE__INTERVAL_SECONDS", "0"),
        ],
    )
    .await;
    app.team("payments").await;
    members(&app, "payments", &["ana", "ben", "cleo"], &["cleo"]).await;

    // Ask now: a DM to each member Slack knows by e-mail.
    app.post(&app.member, "/api/v1/teams/payments/pulse/ask", json!(null))
        .await
        .err(403, "forbidden");
    let asked = app
        .post(
            &app.manager,
            "/api/v1/teams/payments/pulse/ask",
            json!(null),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(asked["asked"], 2, "{asked}");
    assert_eq!(asked["not_in_slack"], json!(["cleo"]));
    let posts = calls_to(&calls, "chat.postMessage", 2).await;
    let mut channels: Vec<&str> = posts
        .iter()
        .map(|p| p["channel"].as_str().unwrap())
        .collect();
    channels.sort();
    assert_eq!(channels, ["U0ANA", "U0BEN"]);
    let dm = posts[0]["blocks"].clone();

    // Ana clicks workload 4: answered at once, then the message becomes the
    // focus question (carrying her workload).
    let r = post_signed(
        &app,
        &click(
            "U0ANA",
            &dm,
            button(&dm, "workload_4"),
            &format!("{slack}/respond/1"),
        ),
        SIGNING_SECRET,
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.body);
    let replaced = calls_to(&calls, "respond/1", 1).await;
    assert_eq!(replaced[0]["replace_original"], true);
    let focus_blocks = replaced[0]["blocks"].clone();
    let store = app.store().await;
    let team = store.get_team_by_key("payments").await.unwrap();
    let week = tandem_app::pulse::week(&store, "payments", None, Utc::now())
        .await
        .unwrap()
        .week;
    assert!(
        store
            .pulse_answers(team.id, &week)
            .await
            .unwrap()
            .is_empty(),
        "nothing stored before both ratings"
    );

    // A forged signature is refused and stores nothing.
    let forged = click(
        "U0ANA",
        &focus_blocks,
        button(&focus_blocks, "focus_2"),
        &format!("{slack}/respond/x"),
    );
    post_signed(&app, &forged, "not the signing secret")
        .await
        .err(401, "unauthorized");

    // Focus 2 stores the answer; the message says thanks and offers the note.
    post_signed(
        &app,
        &click(
            "U0ANA",
            &focus_blocks,
            button(&focus_blocks, "focus_2"),
            &format!("{slack}/respond/2"),
        ),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    let thanks = calls_to(&calls, "respond/2", 1).await;
    assert!(
        thanks[0]["text"].as_str().unwrap().starts_with("Thank you"),
        "{}",
        thanks[0]
    );
    let answers = store.pulse_answers(team.id, &week).await.unwrap();
    assert_eq!(answers.len(), 1);
    assert_eq!((answers[0].workload, answers[0].focus), (4, 2));

    // The note: the modal opens, its submission is stored with the answer.
    let thanks_blocks = thanks[0]["blocks"].clone();
    post_signed(
        &app,
        &click(
            "U0ANA",
            &thanks_blocks,
            button(&thanks_blocks, "note"),
            &format!("{slack}/respond/3"),
        ),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    let opened = calls_to(&calls, "views.open", 1).await;
    let view = &opened[0]["view"];
    assert_eq!(view["callback_id"], "tandem_pulse_note");
    let submission = json!({
        "type": "view_submission",
        "team": {"id": "T0001", "domain": "example"},
        "user": {"id": "U0ANA", "username": "ana", "name": "ana", "team_id": "T0001"},
        "api_app_id": "A123456",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": "12466734323.1395872398.ac7f4f4b0b1dd0e3ae0c5b0bc7a5a51d",
        "view": {
            "id": "V0PULSE1", "team_id": "T0001", "type": "modal",
            "blocks": view["blocks"], "private_metadata": view["private_metadata"],
            "callback_id": view["callback_id"],
            "state": {"values": {"note": {"value": {"type": "plain_text_input", "value": "the release freeze"}}}},
            "hash": "156772938.1827394", "title": view["title"], "app_id": "A123456", "bot_id": "B0001",
        },
        "response_urls": [],
        "is_enterprise_install": false,
        "enterprise": null,
    });
    let body = serde_urlencoded::to_string([("payload", submission.to_string())]).unwrap();
    post_signed(&app, &body, SIGNING_SECRET).await.ok(200);
    let mut noted = None;
    for _ in 0..200 {
        let a = store.pulse_answers(team.id, &week).await.unwrap();
        if a[0].note.is_some() {
            noted = Some(a);
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let noted = noted.expect("the note was stored");
    assert_eq!(noted[0].note.as_deref(), Some("the release freeze"));

    // Ana answers again from the same DM: it replaces the first answer.
    post_signed(
        &app,
        &click(
            "U0ANA",
            &dm,
            button(&dm, "workload_5"),
            &format!("{slack}/respond/4"),
        ),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    let again = calls_to(&calls, "respond/4", 1).await[0]["blocks"].clone();
    post_signed(
        &app,
        &click(
            "U0ANA",
            &again,
            button(&again, "focus_5"),
            &format!("{slack}/respond/5"),
        ),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    calls_to(&calls, "respond/5", 1).await;
    let answers = store.pulse_answers(team.id, &week).await.unwrap();
    assert_eq!(answers.len(), 1, "replaced, not added");
    assert_eq!((answers[0].workload, answers[0].focus), (5, 5));

    // A Slack user Tandem does not know is told so; nothing is stored.
    post_signed(
        &app,
        &click(
            "U0NOBODY",
            &again,
            button(&again, "focus_3"),
            &format!("{slack}/respond/6"),
        ),
        SIGNING_SECRET,
    )
    .await
    .ok(200);
    let told = calls_to(&calls, "respond/6", 1).await;
    assert!(
        told[0]["text"].as_str().unwrap().contains("not a member"),
        "{}",
        told[0]
    );
    assert_eq!(store.pulse_answers(team.id, &week).await.unwrap().len(), 1);

    // The figures stay hidden: one answer.
    let w = app
        .get(&app.member, "/api/v1/teams/payments/pulse")
        .await
        .ok(200)
        .body;
    assert_eq!(
        (w["answers"].clone(), w["shown"].clone()),
        (json!(1), json!(false))
    );
}
