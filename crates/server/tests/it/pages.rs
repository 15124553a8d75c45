//! The web pages over plain HTTP (no browser): sign-in and redirects, CSRF
//! refusal, roles, the pages' content on the demo organisation, the admin
//! forms and the spreadsheet feed. The browser tests are in `tests/browser.rs`.

use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::redirect::Policy;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;
use tandem_store::EngineKind;

use crate::support::{ADMIN_PASSWORD, TestApp};

tandem_testkit::per_engine!(
    pages_send_strangers_to_sign_in,
    sign_in_form_errors_keep_the_username,
    forms_without_the_csrf_token_are_refused,
    the_overview_shows_kpis_goals_and_reports,
    goal_and_work_item_pages_show_forecast_and_context,
    stakeholders_see_business_pages_only,
    admins_manage_users_and_tokens_in_forms,
    spreadsheet_feeds_take_a_revocable_token,
    managers_edit_approve_and_send_report_drafts,
    the_team_page_shows_dora_levels_from_deployments,
);

const DEMO_PASSWORD: &str = tandem_app::demo::DEMO_PASSWORD;

/// The demo has no admin user (the first admin is only made in an empty
/// database): make one, `root`, with [`ADMIN_PASSWORD`].
pub async fn make_admin(app: &TestApp) {
    app.post(
        &app.admin,
        "/api/v1/users",
        serde_json::json!({"username": "root", "role": "admin", "password": ADMIN_PASSWORD}),
    )
    .await
    .ok(201);
}

/// A browser-like client: keeps no cookies by itself, follows no redirects.
pub struct Browser {
    client: Client,
    base: String,
    /// `name=value; …` sent with every request.
    pub cookies: Vec<(String, String)>,
}

/// A page: status, headers and body text.
pub struct Got {
    pub status: StatusCode,
    pub location: Option<String>,
    pub content_type: String,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser {
            client: Client::builder()
                .no_proxy()
                .redirect(Policy::none())
                .build()
                .expect("HTTP client"),
            base: app.base.clone(),
            cookies: Vec::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn remember(&mut self, set_cookies: &[String]) {
        for set in set_cookies {
            let pair = set.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').expect("a cookie pair");
            self.cookies.retain(|(n, _)| n != name);
            let expired = set.contains("Max-Age=0");
            if !expired && !value.is_empty() {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> Got {
        let request = request
            .header("accept", "text/html")
            .header("cookie", self.cookie_header());
        let response = request.send().await.expect("send the request");
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(LOCATION);
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let body = response.text().await.expect("read the body");
        self.remember(&set_cookies);
        Got {
            status,
            location,
            content_type,
            set_cookies,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Got {
        let request = self.client.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    /// Posts a form as a same-origin browser would (with an Origin header).
    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Got {
        let request = self
            .client
            .request(Method::POST, format!("{}{path}", self.base))
            .header("origin", &self.base)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(form).expect("encode the form"));
        self.send(request).await
    }

    /// Signs in through the form; panics unless it works.
    pub async fn sign_in(&mut self, username: &str, password: &str) {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, 200, "{}", form.body);
        let csrf = csrf_of(&form.body);
        let done = self
            .post(
                "/sign-in",
                &[
                    ("csrf", &csrf),
                    ("next", "/"),
                    ("username", username),
                    ("password", password),
                ],
            )
            .await;
        assert_eq!(done.status, 303, "{}", done.body);
        assert!(self.cookies.iter().any(|(n, _)| n == "tandem_session"));
    }
}

/// The value of the first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("the page has a csrf field");
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    rest[..rest.find('"').expect("end of the value")].to_owned()
}

/// The value of an input named `name`.
pub fn input_value(html: &str, name: &str) -> String {
    let needle = format!("name=\"{name}\"");
    let at = html.find(&needle).expect("the input");
    let tag_end = at + html[at..].find('>').expect("end of the tag");
    let tag = &html[at..tag_end];
    tag.find("value=\"")
        .map(|v| {
            let rest = &tag[v + 7..];
            rest[..rest.find('"').unwrap_or(rest.len())].to_owned()
        })
        .unwrap_or_default()
}

async fn pages_send_strangers_to_sign_in(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let mut b = Browser::new(&app);
    for (path, next) in [
        ("/", "%2F"),
        (
            "/goals/0190c0de-0000-7000-8000-000000000000",
            "%2Fgoals%2F0190c0de-0000-7000-8000-000000000000",
        ),
        ("/reports?x=1", "%2Freports%3Fx%3D1"),
        ("/admin/users", "%2Fadmin%2Fusers"),
    ] {
        let got = b.get(path).await;
        assert_eq!(got.status, 303, "{path}");
        assert_eq!(
            got.location.as_deref(),
            Some(format!("/sign-in?next={next}").as_str())
        );
    }
    // An expired or unknown session goes the same way.
    b.cookies
        .push(("tandem_session".into(), "tdm_not-a-live-session".into()));
    let got = b.get("/teams/payments").await;
    assert_eq!(got.status, 303);
    assert_eq!(
        got.location.as_deref(),
        Some("/sign-in?next=%2Fteams%2Fpayments")
    );
    // Bearer tokens are for the API, not for pages.
    let bearer = b
        .client
        .get(format!("{}/", b.base))
        .bearer_auth(&app.admin)
        .send()
        .await
        .expect("send");
    assert_eq!(bearer.status(), 303);

    // Signing in goes back to where the browser was going (local paths only).
    let form = b.get("/sign-in?next=%2Freports").await;
    assert!(form.content_type.starts_with("text/html"));
    assert!(
        form.body
            .contains("<label for=\"username\">Username</label>")
    );
    assert_eq!(input_value(&form.body, "next"), "/reports");
    let csrf = csrf_of(&form.body);
    let done = b
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("next", "/reports"),
                ("username", "maria"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location.as_deref(), Some("/reports"));
    assert!(
        done.set_cookies
            .iter()
            .any(|c| c.starts_with("tandem_session=tdm_") && c.contains("HttpOnly"))
    );
    // Signed in, /sign-in goes straight on; other sites are never a target.
    let again = b.get("/sign-in?next=https%3A%2F%2Fevil.example%2F").await;
    assert_eq!(again.status, 303);
    assert_eq!(again.location.as_deref(), Some("/"));

    // Unknown pages: HTML for browsers, JSON for API clients; the API's own
    // 404s stay JSON.
    let missing = b.get("/no-such-page").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing.content_type.starts_with("text/html"),
        "{}",
        missing.content_type
    );
    let api = b.get("/api/v1/no-such-route").await;
    assert_eq!(api.status, 404);
    assert!(api.content_type.starts_with("application/json"));
    let css = b.get("/static/tandem.css").await;
    assert_eq!(css.status, 200);
    assert!(css.content_type.starts_with("text/css"));
    assert_eq!(b.get("/static/nope.css").await.status, 404);
}

async fn sign_in_form_errors_keep_the_username(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let mut b = Browser::new(&app);
    let form = b.get("/sign-in").await;
    let csrf = csrf_of(&form.body);
    let wrong = b
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("next", "/"),
                ("username", "maria"),
                ("password", "not-her-password"),
            ],
        )
        .await;
    assert_eq!(wrong.status, 401);
    assert!(
        wrong.body.contains("Wrong username or password."),
        "{}",
        wrong.body
    );
    assert_eq!(input_value(&wrong.body, "username"), "maria");
    assert_eq!(
        input_value(&wrong.body, "password"),
        "",
        "a password is never sent back"
    );
    assert!(!b.cookies.iter().any(|(n, _)| n == "tandem_session"));

    let empty = b
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("next", "/"),
                ("username", "ana"),
                ("password", ""),
            ],
        )
        .await;
    assert_eq!(empty.status, 422);
    assert!(
        empty.body.contains("id=\"password-error\""),
        "{}",
        empty.body
    );
    assert!(empty.body.contains("Enter your password."));
    assert_eq!(input_value(&empty.body, "username"), "ana");

    // A disabled user cannot sign in either, with the same message.
    app.patch(
        &app.admin,
        "/api/v1/users/tom",
        serde_json::json!({"disabled": true}),
    )
    .await
    .ok(200);
    let disabled = b
        .post(
            "/sign-in",
            &[
                ("csrf", &csrf),
                ("next", "/"),
                ("username", "tom"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(disabled.status, 401);
    assert!(disabled.body.contains("Wrong username or password."));
}

async fn forms_without_the_csrf_token_are_refused(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    // Sign-in: without the pre-session cookie, or with a forged token.
    let mut stranger = Browser::new(&app);
    let refused = stranger
        .post(
            "/sign-in",
            &[
                ("csrf", "00"),
                ("next", "/"),
                ("username", "maria"),
                ("password", DEMO_PASSWORD),
            ],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert!(
        refused
            .body
            .contains("expired or did not come from this site")
    );
    assert_eq!(input_value(&refused.body, "username"), "maria");
    assert!(!stranger.cookies.iter().any(|(n, _)| n == "tandem_session"));

    make_admin(&app).await;
    let mut b = Browser::new(&app);
    b.sign_in("root", ADMIN_PASSWORD).await;
    let page = b.get("/admin/users").await;
    let csrf = csrf_of(&page.body);
    let user = [
        ("username", "newbie"),
        ("display_name", "New Bie"),
        ("email", ""),
        ("role", "member"),
        ("password", "a-long-enough-password"),
    ];
    // No token, a wrong token, another session's token: refused, nothing written.
    let mut other = Browser::new(&app);
    other.sign_in("root", ADMIN_PASSWORD).await;
    let other_csrf = csrf_of(&other.get("/admin/users").await.body);
    for token in ["", "deadbeef", other_csrf.as_str()] {
        let mut form = user.to_vec();
        form.push(("csrf", token));
        let got = b.post("/admin/users", &form).await;
        assert_eq!(got.status, 403, "token {token:?}: {}", got.body);
        assert!(got.body.contains("security token"));
    }
    // A cross-origin post is refused even with the right token.
    let mut form = user.to_vec();
    form.push(("csrf", &csrf));
    let cross = b
        .send(
            b.client
                .post(format!("{}/admin/users", b.base))
                .header("origin", "https://evil.example")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(serde_urlencoded::to_string(&form).expect("encode the form")),
        )
        .await;
    assert_eq!(cross.status, 403);
    let users = app.get(&app.admin, "/api/v1/users").await.ok(200).body;
    assert!(
        !users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "newbie")
    );
    // With the token it works.
    let ok = b.post("/admin/users", &form).await;
    assert_eq!(ok.status, 303, "{}", ok.body);
    let users = app.get(&app.admin, "/api/v1/users").await.ok(200).body;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "newbie")
    );

    // Sign-out needs the token too; afterwards the session is gone.
    assert_eq!(b.post("/sign-out", &[("csrf", "nope")]).await.status, 403);
    assert_eq!(b.get("/").await.status, 200);
    let out = b.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location.as_deref(), Some("/sign-in"));
    assert_eq!(b.get("/").await.status, 303);
}

async fn the_overview_shows_kpis_goals_and_reports(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let mut b = Browser::new(&app);
    b.sign_in("lee", DEMO_PASSWORD).await;
    let page = b.get("/").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = &page.body;
    assert!(html.contains("<h1>Business overview</h1>"));
    // Every business metric of the demo, with a trend chart each.
    let metrics = app
        .get(&app.stakeholder, "/api/v1/metrics?audience=business")
        .await
        .ok(200);
    let business: Vec<&Value> = metrics.items().iter().collect();
    assert!(!business.is_empty());
    for m in business.iter().take(8) {
        let key = m["key"].as_str().unwrap();
        assert!(html.contains(&format!("id=\"kpi-{key}\"")), "KPI {key}");
    }
    assert_eq!(html.matches("<svg").count(), business.len().min(8));
    // Goals in flight, each linked, with a coloured forecast.
    let goals = app
        .get(&app.stakeholder, "/api/v1/goals?status=in_progress")
        .await
        .ok(200);
    for g in goals.items() {
        let id = g["id"].as_str().unwrap();
        assert!(html.contains(&format!("href=\"/goals/{id}\"")), "goal {id}");
    }
    assert!(html.contains("class=\"pill "));
    assert!(html.contains("85 % likely by "));
    assert!(html.contains("/reports/payments/"));
    // Stakeholders do not get links to team or admin pages.
    assert!(!html.contains("href=\"/admin/users\""));
    assert!(!html.contains("href=\"/teams\""));
    // Nothing per person on the page: no demo user's name appears.
    for person in ["Sam", "Ana", "Tom", "Yuki", "Omar"] {
        assert!(
            !html.contains(&format!(">{person}")),
            "{person} on the overview"
        );
    }
}

async fn goal_and_work_item_pages_show_forecast_and_context(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let goals = app
        .get(&app.member, "/api/v1/goals?status=in_progress")
        .await
        .ok(200);
    let goal = goals.items()[0].clone();
    let id = goal["id"].as_str().unwrap();
    let mut b = Browser::new(&app);
    b.sign_in("sam", DEMO_PASSWORD).await;
    let page = b.get(&format!("/goals/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let html = &page.body;
    for part in [
        "1. Business goal",
        "2. Technical tasks",
        "3. Success metrics",
        "4. Timeline and risks",
        "5. Responsible parties",
    ] {
        assert!(html.contains(part), "{part}");
    }
    assert!(html.contains("id=\"goal-forecast\""));
    assert!(html.contains("<svg"), "the burn-up chart");
    assert!(html.contains("Version history"));
    // Members see the work items with their context, linked.
    let items = app
        .get(&app.member, &format!("/api/v1/work-items?goal={id}"))
        .await
        .ok(200);
    let item = items.items()[0].clone();
    let item_id = item["id"].as_str().unwrap();
    assert!(html.contains(&format!("href=\"/work-items/{item_id}\"")));
    let page = b.get(&format!("/work-items/{item_id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let context = app
        .get(
            &app.member,
            &format!("/api/v1/work-items/{item_id}/context"),
        )
        .await
        .ok(200)
        .body;
    assert!(page.body.contains("<dt>Why</dt>"));
    assert!(page.body.contains("id=\"current-value\""));
    let why = context["why"].as_str().unwrap();
    assert!(
        page.body
            .contains(&why.replace('\'', "&#39;").replace('"', "&quot;"))
            || why.is_empty()
    );
    // Unknown ids are 404 pages.
    let missing = b.get("/goals/not-an-id").await;
    assert_eq!(missing.status, 404);
    assert!(missing.content_type.starts_with("text/html"));
    assert_eq!(
        b.get(&format!("/goals/{}", uuid::Uuid::now_v7()))
            .await
            .status,
        404
    );
    assert_eq!(b.get("/work-items/NOPE-1").await.status, 404);
}

async fn stakeholders_see_business_pages_only(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let goals = app
        .get(&app.stakeholder, "/api/v1/goals?status=in_progress")
        .await
        .ok(200);
    let id = goals.items()[0]["id"].as_str().unwrap().to_owned();
    let mut b = Browser::new(&app);
    b.sign_in("nora", DEMO_PASSWORD).await;
    assert_eq!(b.get("/").await.status, 200);
    assert_eq!(b.get("/reports").await.status, 200);
    let goal = b.get(&format!("/goals/{id}")).await;
    assert_eq!(goal.status, 200);
    assert!(
        !goal.body.contains("href=\"/work-items/"),
        "no work items for stakeholders"
    );
    for path in ["/admin/users", "/admin/tokens", "/teams", "/teams/payments"] {
        let got = b.get(path).await;
        assert_eq!(got.status, 403, "{path}");
        assert!(got.content_type.starts_with("text/html"));
        assert!(
            got.body.contains("stakeholder role"),
            "{path}: {}",
            got.body
        );
    }
    let items = app
        .get(&app.member, "/api/v1/work-items?limit=1")
        .await
        .ok(200);
    let item = items.items()[0]["id"].as_str().unwrap().to_owned();
    assert_eq!(b.get(&format!("/work-items/{item}")).await.status, 403);
    // Members see team pages but not administration.
    let mut m = Browser::new(&app);
    m.sign_in("ana", DEMO_PASSWORD).await;
    let team = m.get("/teams/payments").await;
    assert_eq!(team.status, 200, "{}", team.body);
    assert!(
        team.body.contains("id=\"dora\""),
        "the DORA panel: {}",
        team.body
    );
    for key in [
        "Deployment frequency",
        "Lead time for changes",
        "Change failure rate",
        "Time to restore",
    ] {
        assert!(team.body.contains(key), "{key}");
    }
    assert!(team.body.contains("Tech-debt share"));
    assert!(team.body.contains("Code review"));
    assert_eq!(m.get("/admin/users").await.status, 403);
}

async fn admins_manage_users_and_tokens_in_forms(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    make_admin(&app).await;
    let mut b = Browser::new(&app);
    b.sign_in("root", ADMIN_PASSWORD).await;
    let page = b.get("/admin/users").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("maria"));
    let csrf = csrf_of(&page.body);

    // Field errors keep what was typed (but not the password).
    let bad = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "Bad Name!"),
                ("display_name", "Someone"),
                ("email", "someone@example.com"),
                ("role", "member"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"username-error\""), "{}", bad.body);
    assert!(bad.body.contains("id=\"password-error\""));
    assert_eq!(input_value(&bad.body, "username"), "Bad Name!");
    assert_eq!(input_value(&bad.body, "email"), "someone@example.com");
    assert_eq!(input_value(&bad.body, "password"), "");
    let taken = b
        .post(
            "/admin/users",
            &[
                ("csrf", &csrf),
                ("username", "maria"),
                ("display_name", ""),
                ("email", ""),
                ("role", "member"),
                ("password", "a-long-enough-password"),
            ],
        )
        .await;
    assert_eq!(taken.status, 409, "{}", taken.body);
    assert!(taken.body.contains("id=\"username-error\""));

    // Disable and enable a user.
    let off = b.post("/admin/users/sam/disable", &[("csrf", &csrf)]).await;
    assert_eq!(off.status, 303, "{}", off.body);
    let users = app.get(&app.admin, "/api/v1/users").await.ok(200).body;
    let sam = users
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "sam")
        .unwrap();
    assert_eq!(sam["disabled"], true);
    assert_eq!(
        b.post("/admin/users/sam/enable", &[("csrf", &csrf)])
            .await
            .status,
        303
    );
    let me = b
        .post("/admin/users/root/disable", &[("csrf", &csrf)])
        .await;
    assert_eq!(me.status, 409);
    assert!(me.body.contains("cannot disable yourself"));

    // Tokens: the secret is shown once; revoking stops it.
    let tokens = b.get("/admin/tokens").await;
    assert_eq!(tokens.status, 200);
    let no_name = b
        .post(
            "/admin/tokens",
            &[("csrf", &csrf), ("name", "  "), ("role", "stakeholder")],
        )
        .await;
    assert_eq!(no_name.status, 422);
    assert!(no_name.body.contains("id=\"name-error\""));
    let made = b
        .post(
            "/admin/tokens",
            &[("csrf", &csrf), ("name", "sheet"), ("role", "stakeholder")],
        )
        .await;
    // Post/redirect/get: the secret is shown once by the page the form
    // redirects to; a reload shows the list.
    assert_eq!(made.status, 303, "{}", made.body);
    let shown = b.get(made.location.as_deref().unwrap()).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.contains("The token is created."));
    let at = shown
        .body
        .find("id=\"new-secret\">")
        .expect("the secret is shown")
        + "id=\"new-secret\">".len();
    let secret: String = shown.body[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    app.get(&secret, "/api/v1/teams").await.ok(200);
    let list = app.get(&app.admin, "/api/v1/tokens").await.ok(200).body;
    let id = list
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "sheet")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        !b.get("/admin/tokens").await.body.contains(&secret),
        "shown only once"
    );
    // A second active token of the same name is refused, in words.
    let again = b
        .post(
            "/admin/tokens",
            &[("csrf", &csrf), ("name", "sheet"), ("role", "stakeholder")],
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
    assert!(
        again.body.contains("already named “sheet”"),
        "{}",
        again.body
    );
    let revoked = b
        .post(&format!("/admin/tokens/{id}/revoke"), &[("csrf", &csrf)])
        .await;
    assert_eq!(revoked.status, 303);
    app.get(&secret, "/api/v1/teams")
        .await
        .err(401, "unauthorized");
}

async fn spreadsheet_feeds_take_a_revocable_token(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let made = app
        .post(
            &app.admin,
            "/api/v1/tokens",
            serde_json::json!({"name": "sheet", "role": "stakeholder"}),
        )
        .await
        .ok(201)
        .body;
    let token = made["secret"].as_str().unwrap().to_owned();
    let get = |path: String| {
        let app = &app;
        async move { app.send(app.request(Method::GET, &path)).await }
    };

    let kpis = get(format!("/api/v1/kpis.csv?token={token}")).await.ok(200);
    assert!(kpis.header("content-type").unwrap().starts_with("text/csv"));
    let text = kpis.body.as_str().expect("CSV text").to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        headers,
        [
            "key",
            "name",
            "unit",
            "direction",
            "value",
            "measured_at",
            "target",
            "target_deadline",
            "value_12_weeks_ago",
            "change_12_weeks"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    let business = app
        .get(&app.stakeholder, "/api/v1/metrics?audience=business")
        .await
        .ok(200);
    assert_eq!(rows.len(), business.items().len());
    for row in &rows {
        let key = &row[0];
        assert!(business.items().iter().any(|m| m["key"] == key), "{key}");
        assert!(
            row[4].parse::<f64>().is_ok(),
            "a plain number: {:?}",
            &row[4]
        );
    }
    assert!(
        rows.iter().any(|r| !r[6].is_empty()),
        "some KPI has a target"
    );

    let team = get(format!("/api/v1/teams/payments/metrics.csv?token={token}"))
        .await
        .ok(200);
    let text = team.body.as_str().expect("CSV text").to_owned();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        ["week_start", "measure", "name", "unit", "value"]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.iter().filter(|r| &r[1] == "throughput").count(), 12);
    assert!(rows.iter().any(|r| &r[1] == "payments-deploys-per-week"));

    // A bearer header works as well; both at once is refused.
    app.get(&app.member, "/api/v1/kpis.csv").await.ok(200);
    app.get(&app.member, &format!("/api/v1/kpis.csv?token={token}"))
        .await
        .err_field(400, "bad_request", "token");
    // Without a token, with a wrong one, or on another route: refused.
    get("/api/v1/kpis.csv".into())
        .await
        .err(401, "unauthorized");
    get("/api/v1/kpis.csv?token=tdm_nope".into())
        .await
        .err(401, "unauthorized");
    get("/api/v1/kpis.csv?tok=x".into())
        .await
        .err(400, "bad_request");
    // Elsewhere a token in the query authenticates nothing.
    get(format!("/api/v1/teams?token={token}"))
        .await
        .err(401, "unauthorized");
    get(format!(
        "/api/v1/teams/payments/reports/weekly?token={token}"
    ))
    .await
    .err(401, "unauthorized");
    get(format!("/api/v1/teams/nope/metrics.csv?token={token}"))
        .await
        .err(404, "not_found");
    // Revoked: refused from then on.
    let id = made["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&app.admin, &format!("/api/v1/tokens/{id}"))
            .await
            .status
            .as_u16(),
        204
    );
    get(format!("/api/v1/kpis.csv?token={token}"))
        .await
        .err(401, "unauthorized");
}

/// All `name="…" value="…"` pairs of inputs named `name`.
fn input_values(html: &str, name: &str) -> Vec<String> {
    let needle = format!("name=\"{name}\" value=\"");
    html.match_indices(&needle)
        .map(|(at, _)| {
            let rest = &html[at + needle.len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect()
}

async fn managers_edit_approve_and_send_report_drafts(engine: EngineKind) {
    use chrono::Datelike;
    let app = TestApp::start_demo(engine).await;
    let w = (chrono::Utc::now().date_naive() - chrono::Duration::days(7)).iso_week();
    let path = format!("/reports/payments/{}-W{:02}", w.year(), w.week());
    let mut b = Browser::new(&app);
    b.sign_in("maria", DEMO_PASSWORD).await;
    let page = b.get(&path).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"editor\""));
    assert!(page.body.contains("Status: draft."));
    let csrf = csrf_of(&page.body);
    let lines = input_values(&page.body, "line");
    let done_lines: Vec<&String> = lines.iter().filter(|l| l.starts_with("done")).collect();
    assert!(!lines.is_empty());
    let hidden = lines[0].clone();

    // Without the token: refused, nothing stored.
    let refused = b.post(&path, &[("note.done", "sneaky")]).await;
    assert_eq!(refused.status, 403);

    // A note, a hidden line, and (when there are two top-level done lines) a swap.
    let mut form: Vec<(String, String)> = vec![
        ("csrf".into(), csrf.clone()),
        ("note.done".into(), "Checkout shipped on time.".into()),
    ];
    for l in &lines {
        form.push(("line".into(), l.clone()));
        if *l != hidden {
            form.push(("shown".into(), l.clone()));
        }
    }
    let tops: Vec<String> = page
        .body
        .match_indices("name=\"pos.done.")
        .map(|(at, _)| {
            let rest = &page.body[at + "name=\"pos.done.".len()..];
            rest[..rest.find('"').unwrap()].to_owned()
        })
        .collect();
    for (i, id) in tops.iter().enumerate() {
        // Reverse the order of the done section.
        form.push((format!("pos.done.{id}"), (tops.len() - i).to_string()));
    }
    let form_ref: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let saved = b.post(&path, &form_ref).await;
    assert_eq!(saved.status, 303, "{}", saved.body);
    let page = b.get(saved.location.as_deref().unwrap()).await;
    assert!(page.body.contains("Your edits are saved."));
    // Edited in place: the note sits under its heading in the editor, and
    // the Slack preview beside it quotes it.
    assert!(page.body.contains(">Checkout shipped on time.</textarea>"));
    let slack = &page.body[page
        .body
        .find("id=\"slack-preview\"")
        .expect("the Slack preview")..];
    assert!(slack.contains("Checkout shipped on time."), "{slack}");
    let draft = app
        .get(
            &app.manager,
            &format!(
                "/api/v1/teams/payments/reports{}/draft",
                &path["/reports/payments".len()..]
            ),
        )
        .await
        .ok(200)
        .body;
    assert_eq!(
        draft["draft"]["edits"]["notes"]["done"],
        "Checkout shipped on time."
    );
    assert!(
        draft["draft"]["edits"]["hidden"]
            .as_array()
            .unwrap()
            .iter()
            .any(|h| h == hidden.as_str())
    );
    if tops.len() > 1 && done_lines.len() > 1 {
        let order: Vec<&str> = draft["draft"]["edits"]["order"]["done"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let reversed: Vec<&str> = tops.iter().rev().map(String::as_str).collect();
        assert_eq!(order, reversed);
    }

    // An over-long note: the field error, and what was typed stays.
    let long = "x".repeat(tandem_domain::report::MAX_NOTE_CHARS + 1);
    let bad = b
        .post(&path, &[("csrf", &csrf), ("note.risks", &long)])
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    assert!(bad.body.contains("id=\"note-risks-error\""));
    assert!(bad.body.contains(&long));

    // Sending needs approval first; approve; with no channel configured the
    // send is refused with the reason.
    let early = b.post(&format!("{path}/send"), &[("csrf", &csrf)]).await;
    assert_eq!(early.status, 409);
    assert!(early.body.contains("Approve the report"));
    let approved = b.post(&format!("{path}/approve"), &[("csrf", &csrf)]).await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    let page = b.get(&path).await;
    assert!(page.body.contains("Status: approved."), "{}", page.body);
    assert!(page.body.contains("Approved by maria"));
    // No channel: no Send button, the reason instead; a send posted anyway
    // is refused with it.
    assert!(
        page.body.contains(
            "<button type=\"button\" id=\"send\" disabled aria-describedby=\"send-note\">"
        ),
        "Send is there but disabled"
    );
    assert!(page.body.contains("Set up report delivery"));
    let send = b.post(&format!("{path}/send"), &[("csrf", &csrf)]).await;
    assert_eq!(send.status, 409, "{}", send.body);
    assert!(
        send.body
            .contains("no e-mail, Slack or webhook delivery is set up")
    );

    // Stakeholders read the edited report but cannot edit it.
    let mut s = Browser::new(&app);
    s.sign_in("lee", DEMO_PASSWORD).await;
    let read = s.get(&path).await;
    assert_eq!(read.status, 200);
    assert!(read.body.contains("<em>Checkout shipped on time.</em>"));
    assert!(!read.body.contains("id=\"editor\""));
    let csrf = csrf_of(&read.body);
    assert_eq!(
        s.post(&path, &[("csrf", &csrf), ("note.done", "x")])
            .await
            .status,
        403
    );
    assert_eq!(
        s.post(&format!("{path}/approve"), &[("csrf", &csrf)])
            .await
            .status,
        403
    );
}

async fn the_team_page_shows_dora_levels_from_deployments(engine: EngineKind) {
    let app = TestApp::start_demo(engine).await;
    let project = app
        .get(&app.member, "/api/v1/projects/payments-api")
        .await
        .ok(200)
        .body;
    let service = project["services"][0]
        .as_str()
        .expect("a service")
        .to_owned();
    let now = chrono::Utc::now();
    // A deployment to production every day for the last four weeks: over the
    // page's twelve weeks that is 2.4 a week, the "high" level.
    for d in 1..=28 {
        let at = now - chrono::Duration::days(d);
        app.post(
            &app.manager,
            "/api/v1/events/deployments",
            serde_json::json!({
                "id": format!("deploy-{d}"), "service": service, "environment": "production",
                "project": "payments-api",
                "started_at": at.to_rfc3339(),
                "finished_at": (at + chrono::Duration::minutes(5)).to_rfc3339(),
                "status": "success"
            }),
        )
        .await;
    }
    let mut b = Browser::new(&app);
    b.sign_in("ana", DEMO_PASSWORD).await;
    let page = b.get("/teams/payments").await;
    assert_eq!(page.status, 200, "{}", page.body);
    let dora = &page.body[page.body.find("id=\"dora\"").expect("the DORA panel")..];
    let first = &dora[..dora.find("</li>").unwrap()];
    assert!(first.contains("Deployment frequency"), "{first}");
    assert!(first.contains("class=\"pill good\">high</span>"), "{first}");
    assert!(first.contains("28 deployments"), "{first}");
}
