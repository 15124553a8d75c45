//! Sign-in throttling and the audit log (issue 18, defect 5): failures are
//! counted per account and per client address in the database, so two
//! replicas refuse alike; growing delays answered 429 with Retry-After on
//! the API and the web form; the right password works once the lock-out
//! has passed; sign-ins and admin actions are in the audit log, which only
//! admins read.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tandem_store::EngineKind;
use tandem_testkit::per_engine;

use crate::support::TestApp;

per_engine!(
    wrong_passwords_lock_the_account_with_growing_delays_on_every_replica,
    the_web_form_is_throttled_too,
    admin_actions_and_sign_ins_are_in_the_audit_log,
    behind_a_trusted_proxy_each_client_has_its_own_address_budget,
);

const PASSWORD: &str = "correct horse battery staple";

async fn sign_in(
    client: &reqwest::Client,
    base: &str,
    username: &str,
    password: &str,
) -> (u16, Option<u64>, Value) {
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let retry = r
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let body = r.json().await.unwrap_or(Value::Null);
    (status, retry, body)
}

async fn sign_in_via(base: &str, forwarded_for: &str, username: &str) -> u16 {
    client()
        .post(format!("{base}/api/v1/session"))
        .header("x-forwarded-for", forwarded_for)
        .json(&json!({"username": username, "password": "wrong"}))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn add_user(app: &TestApp, username: &str) {
    app.post(
        &app.admin,
        "/api/v1/users",
        json!({"username": username, "role": "member", "password": PASSWORD}),
    )
    .await
    .ok(201);
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

async fn wrong_passwords_lock_the_account_with_growing_delays_on_every_replica(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    add_user(&app, "grace").await;
    let (replica, _stop) = app.replica().await;
    let c = client();
    // Five free tries, spread over both replicas.
    for i in 0..5 {
        let base = if i % 2 == 0 { &app.base } else { &replica };
        let (status, _, _) = sign_in(&c, base, "grace", "wrong").await;
        assert_eq!(status, 401, "try {i}");
    }
    // Locked on both replicas, even with the right password, which is not
    // checked.
    for base in [&app.base, &replica] {
        let (status, retry, body) = sign_in(&c, base, "grace", PASSWORD).await;
        assert_eq!(status, 429, "{body}");
        assert_eq!(body["error"]["code"], "too_many_requests");
        assert!(retry.is_some_and(|r| r >= 1), "{retry:?}");
    }
    // Once the lock-out has passed, another failure locks for longer.
    let (_, first, _) = sign_in(&c, &app.base, "grace", "wrong").await;
    let first = first.unwrap();
    tokio::time::sleep(Duration::from_secs(first + 1)).await;
    let (status, _, _) = sign_in(&c, &replica, "grace", "wrong").await;
    assert_eq!(status, 401);
    let (status, second, _) = sign_in(&c, &app.base, "grace", PASSWORD).await;
    assert_eq!(status, 429);
    assert!(second.unwrap() > first, "{second:?} after {first}");
    // Unknown usernames are throttled the same way (nothing says whether an
    // account exists).
    for _ in 0..5 {
        assert_eq!(sign_in(&c, &app.base, "nobody", "x").await.0, 401);
    }
    assert_eq!(sign_in(&c, &app.base, "nobody", "x").await.0, 429);
    // After the lock-out the right password works, and clears the count.
    tokio::time::sleep(Duration::from_secs(second.unwrap() + 1)).await;
    let (status, _, body) = sign_in(&c, &replica, "grace", PASSWORD).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["username"], "grace");
    assert_eq!(sign_in(&c, &app.base, "grace", "wrong").await.0, 401);
    assert_eq!(sign_in(&c, &app.base, "grace", PASSWORD).await.0, 200);
    // Another account from the same address is not locked by grace's.
    add_user(&app, "ada").await;
    assert_eq!(sign_in(&c, &app.base, "ada", PASSWORD).await.0, 200);
    app.stop().await;
}

async fn the_web_form_is_throttled_too(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    add_user(&app, "grace").await;
    let c = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |password: &'static str| {
        let c = c.clone();
        let base = app.base.clone();
        async move {
            let form = c.get(format!("{base}/sign-in")).send().await.unwrap();
            let cookies: Vec<String> = form
                .headers()
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .filter_map(|v| v.split(';').next())
                .map(str::to_owned)
                .collect();
            let html = form.text().await.unwrap();
            let csrf = html
                .split("name=\"csrf\" value=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("the form has a csrf field")
                .to_owned();
            c.post(format!("{base}/sign-in"))
                .header("origin", &base)
                .header("cookie", cookies.join("; "))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    serde_urlencoded::to_string([
                        ("csrf", csrf.as_str()),
                        ("next", "/"),
                        ("username", "grace"),
                        ("password", password),
                    ])
                    .unwrap(),
                )
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..5 {
        assert_eq!(post("wrong").await.status().as_u16(), 401);
    }
    let locked = post(PASSWORD).await;
    assert_eq!(locked.status().as_u16(), 429);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        locked
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins")
    );
    // The API shares the count.
    assert_eq!(
        sign_in(&client(), &app.base, "grace", PASSWORD).await.0,
        429
    );
    tokio::time::sleep(Duration::from_secs(retry + 1)).await;
    assert_eq!(post(PASSWORD).await.status().as_u16(), 303);
    app.stop().await;
}

async fn admin_actions_and_sign_ins_are_in_the_audit_log(engine: EngineKind) {
    let app = TestApp::start(engine).await;
    add_user(&app, "grace").await;
    let c = client();
    assert_eq!(sign_in(&c, &app.base, "grace", "wrong").await.0, 401);
    assert_eq!(sign_in(&c, &app.base, "grace", PASSWORD).await.0, 200);
    app.patch(&app.admin, "/api/v1/users/grace", json!({"disabled": true}))
        .await
        .ok(200);
    let token = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            json!({"name": "ci", "role": "member"}),
        )
        .await
        .ok(201);
    app.delete(
        &app.admin,
        &format!("/api/v1/tokens/{}", token.body["id"].as_str().unwrap()),
    )
    .await
    .ok(204);
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments", "repositories": ["acme/payments"]}),
    )
    .await;
    app.call(
        Method::PUT,
        &app.admin,
        "/api/v1/projects/payments/webhook-secrets/github",
        Some(json!({"secret": "gh-secret-0123456789abcdef"})),
    )
    .await
    .ok(204);

    // Newest first, two to a page.
    let mut actions = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/audit?limit=2&cursor={c}"),
            None => "/api/v1/audit?limit=2".to_owned(),
        };
        let page = app.get(&app.admin, &path).await.ok(200);
        for e in page.body["items"].as_array().unwrap() {
            actions.push((
                e["action"].as_str().unwrap().to_owned(),
                e["actor"].as_str().unwrap().to_owned(),
                e["subject"].as_str().unwrap().to_owned(),
            ));
            if e["action"] == "sign_in_failed" {
                assert_eq!(e["client"], "127.0.0.1");
            }
        }
        match page.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let names: Vec<&str> = actions.iter().map(|(a, _, _)| a.as_str()).collect();
    assert_eq!(
        names,
        [
            "webhook_secret_set",
            "token_revoked",
            "token_created",
            "user_disabled",
            "sign_in_succeeded",
            "sign_in_failed",
            "user_created",
        ]
    );
    assert_eq!(actions[0].1, "token:admin");
    assert_eq!(actions[0].2, "payments github");
    assert_eq!(actions[3].2, "grace");
    // Admins only; bad paging refused.
    app.get(&app.manager, "/api/v1/audit")
        .await
        .err(403, "forbidden");
    app.get(&app.admin, "/api/v1/audit?limit=0")
        .await
        .err_field(400, "bad_request", "limit");
    app.get(&app.admin, "/api/v1/audit?team=x")
        .await
        .err(400, "bad_request");
    app.stop().await;
}

/// `server.trusted_proxies`: behind a proxy every connection comes from the
/// proxy's address; the client it names in `X-Forwarded-For` is the one
/// the per-address throttle counts and the audit log records. The header
/// from a peer that is not a trusted proxy changes nothing.
async fn behind_a_trusted_proxy_each_client_has_its_own_address_budget(engine: EngineKind) {
    let app = TestApp::start_with(
        engine,
        &[("TANDEM_SERVER__TRUSTED_PROXIES", "[\"127.0.0.0/8\"]")],
    )
    .await;
    // Twenty failures from one client, one per username (so no account is
    // locked): that client's address is locked; another client behind the
    // same proxy is not.
    for i in 0..20 {
        let status = sign_in_via(&app.base, "198.51.100.1, 203.0.113.7", &format!("u{i}")).await;
        assert_eq!(status, 401, "try {i}");
    }
    assert_eq!(sign_in_via(&app.base, "203.0.113.7", "someone").await, 429);
    assert_eq!(sign_in_via(&app.base, "203.0.113.8", "someone").await, 401);
    let audit = app.get(&app.admin, "/api/v1/audit?limit=1").await.ok(200);
    assert_eq!(audit.body["items"][0]["client"], "203.0.113.8");
    app.stop().await;

    // Without the setting the header is anyone's to send: ignored.
    let app = TestApp::start(engine).await;
    for i in 0..20 {
        let status = sign_in_via(&app.base, &format!("203.0.113.{i}"), &format!("u{i}")).await;
        assert_eq!(status, 401, "try {i}");
    }
    assert_eq!(sign_in_via(&app.base, "203.0.113.99", "someone").await, 429);
    let audit = app.get(&app.admin, "/api/v1/audit?limit=1").await.ok(200);
    assert_eq!(audit.body["items"][0]["client"], "127.0.0.1");
    app.stop().await;
}
