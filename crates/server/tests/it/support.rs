//! A real server on port 0 over a fresh database, with one API token per
//! role, and a small client to talk to it.

use std::path::Path;
use std::time::Duration;

use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tandem_app::bootstrap;
use tandem_app::settings::Settings;
use tandem_domain::user::Role;
use tandem_server::AppState;
use tandem_store::EngineKind;
use tandem_testkit::TestDb;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The first admin's password (username `admin`).
pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A running server. Tokens are named after their role, so a principal shows
/// up as e.g. `token:manager`.
#[derive(Debug)]
pub struct TestApp {
    /// `http://127.0.0.1:<port>`, also the configured public URL.
    pub base: String,
    pub admin: String,
    pub manager: String,
    pub member: String,
    pub stakeholder: String,
    client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    server: Option<JoinHandle<anyhow::Result<()>>>,
    _db: TestDb,
}

/// A response: status, headers, and the body as JSON (a JSON string when the
/// body is not JSON, `null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl TestApp {
    pub async fn start(engine: EngineKind) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        Self::serve(db, store, &[]).await
    }

    /// A server with extra `TANDEM_*` settings.
    #[allow(dead_code)] // each test binary uses a different subset
    pub async fn start_with(engine: EngineKind, env: &[(&str, &str)]) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        Self::serve(db, store, env).await
    }

    /// A server over the demo organisation (without its engineering
    /// history), dated today.
    pub async fn start_demo(engine: EngineKind) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        tandem_app::demo::load_organisation(&store, chrono::Utc::now().date_naive())
            .await
            .expect("load the demo organisation");
        Self::serve(db, store, &[]).await
    }

    /// A server over the whole demo: the organisation and its engineering
    /// history (deployments, incidents, commits), as `serve --demo` loads it.
    #[allow(dead_code)] // each test binary uses a different subset
    pub async fn start_full_demo(engine: EngineKind) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        tandem_app::demo::load(&store, chrono::Utc::now().date_naive())
            .await
            .expect("load the demo organisation with its engineering history");
        Self::serve(db, store, &[]).await
    }

    /// [`Self::start_full_demo`] with extra `TANDEM_*` settings.
    #[allow(dead_code)] // each test binary uses a different subset
    pub async fn start_full_demo_with(engine: EngineKind, env: &[(&str, &str)]) -> TestApp {
        let db = TestDb::new(engine).await;
        let store = db.store().await;
        tandem_app::demo::load(&store, chrono::Utc::now().date_naive())
            .await
            .expect("load the demo organisation with its engineering history");
        Self::serve(db, store, env).await
    }

    async fn serve(db: TestDb, store: tandem_store::Store, extra: &[(&str, &str)]) -> TestApp {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let env: Vec<(String, String)> = [
            ("TANDEM_DATABASE__URL", db.url.as_str()),
            ("TANDEM_SERVER__PUBLIC_URL", base.as_str()),
            ("TANDEM_AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD),
            // Tests run the risk checks explicitly (POST /api/v1/risks/check).
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            // Tests drive the report schedule explicitly (schedule::tick).
            ("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS", "0"),
            // Metric reads attribute what is pending; no background pass
            // unless a test asks for one.
            ("TANDEM_MAINTENANCE__ATTRIBUTE_INTERVAL_SECONDS", "0"),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let example = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tandem.example.toml"));
        let settings = Settings::load_from(Some(example), &env).expect("load settings");
        bootstrap::ensure_admin(&store, &settings)
            .await
            .expect("create the first admin");
        let mut secrets = Vec::new();
        for role in [Role::Admin, Role::Manager, Role::Member, Role::Stakeholder] {
            let (_, secret) =
                tandem_app::credentials::issue_token(&store, role.as_str(), role, None)
                    .await
                    .expect("issue a token");
            secrets.push(secret);
        }
        let [admin, manager, member, stakeholder] =
            <[String; 4]>::try_from(secrets).expect("four tokens");
        let (tx, rx) = oneshot::channel::<()>();
        let state = AppState::new(store, settings).expect("application state");
        let server = tokio::spawn(tandem_server::launch(state, listener, async {
            let _ = rx.await;
        }));
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("HTTP client");
        TestApp {
            base,
            admin,
            manager,
            member,
            stakeholder,
            client,
            shutdown: Some(tx),
            server: Some(server),
            _db: db,
        }
    }

    /// The database URL the server runs on.
    #[allow(dead_code)] // each test binary uses a different subset
    pub fn db_url(&self) -> &str {
        &self._db.url
    }

    /// A second server (another replica) over the same database; answers
    /// its base URL. It stops when the returned sender is dropped.
    #[allow(dead_code)] // each test binary uses a different subset
    pub async fn replica(&self) -> (String, oneshot::Sender<()>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a port");
        let base = format!("http://{}", listener.local_addr().expect("local address"));
        let env: Vec<(String, String)> = [
            ("TANDEM_DATABASE__URL", self._db.url.as_str()),
            ("TANDEM_SERVER__PUBLIC_URL", base.as_str()),
            ("TANDEM_AUTH__ADMIN_PASSWORD", ADMIN_PASSWORD),
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            ("TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS", "0"),
            ("TANDEM_MAINTENANCE__ATTRIBUTE_INTERVAL_SECONDS", "0"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let example = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tandem.example.toml"));
        let settings = Settings::load_from(Some(example), &env).expect("load settings");
        let state = AppState::new(self._db.store().await, settings).expect("application state");
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(tandem_server::launch(state, listener, async {
            let _ = rx.await;
        }));
        (base, tx)
    }

    /// A second handle on the server's database, to check what was stored.
    pub async fn store(&self) -> tandem_store::Store {
        self._db.store().await
    }

    /// A request to `path` (e.g. `/api/v1/teams`) without credentials.
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base))
    }

    /// Sends a request and reads the whole reply.
    pub async fn send(&self, request: RequestBuilder) -> Reply {
        let response = request.send().await.expect("send the request");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("read the response body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn call(
        &self,
        method: Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self.request(method, path).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        self.send(request).await
    }

    pub async fn get(&self, token: &str, path: &str) -> Reply {
        self.call(Method::GET, token, path, None).await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::POST, token, path, Some(body)).await
    }

    pub async fn patch(&self, token: &str, path: &str, body: Value) -> Reply {
        self.call(Method::PATCH, token, path, Some(body)).await
    }

    pub async fn delete(&self, token: &str, path: &str) -> Reply {
        self.call(Method::DELETE, token, path, None).await
    }

    /// POSTs as the manager and returns the created entity (201 expected).
    pub async fn create(&self, path: &str, body: Value) -> Value {
        self.post(&self.manager, path, body).await.ok(201).body
    }

    pub async fn team(&self, key: &str) -> Value {
        self.create(
            "/api/v1/teams",
            json!({"key": key, "name": key.to_uppercase()}),
        )
        .await
    }

    /// A draft goal of `team` (an id) with a business goal but nothing else.
    pub async fn goal(&self, team: &Value, title: &str) -> Value {
        self.create(
            "/api/v1/goals",
            json!({"team_id": team["id"], "title": title, "business_goal": "More sign-ups"}),
        )
        .await
    }

    /// Signs in and returns the reply (the cookie is in `Set-Cookie`).
    pub async fn sign_in(&self, username: &str, password: &str) -> Reply {
        self.send(
            self.request(Method::POST, "/api/v1/session")
                .json(&json!({"username": username, "password": password})),
        )
        .await
    }

    /// A request carrying the session cookie instead of a token.
    pub fn with_cookie(&self, method: Method, path: &str, cookie: &str) -> RequestBuilder {
        self.request(method, path).header("cookie", cookie)
    }

    /// Signals shutdown and waits for the server to finish cleanly.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(server) = self.server.take() {
            tokio::time::timeout(Duration::from_secs(10), server)
                .await
                .expect("the server stops within 10 s")
                .expect("the server task did not panic")
                .expect("the server stopped without error");
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

impl Reply {
    /// Asserts the status, showing the body when it differs.
    #[track_caller]
    pub fn ok(self, status: u16) -> Reply {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {:#}",
            self.body
        );
        self
    }

    /// Asserts an error reply: status and `error.code`. Returns `error`.
    #[track_caller]
    pub fn err(&self, status: u16, code: &str) -> &Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {:#}",
            self.body
        );
        let error = &self.body["error"];
        assert_eq!(
            error["code"], code,
            "unexpected error code; body: {:#}",
            self.body
        );
        assert!(
            error["message"].is_string(),
            "an error has a message: {:#}",
            self.body
        );
        error
    }

    /// Asserts an error reply naming `field`.
    #[track_caller]
    pub fn err_field(&self, status: u16, code: &str, field: &str) -> &Value {
        let error = self.err(status, code);
        assert_eq!(
            error["field"], field,
            "unexpected field; body: {:#}",
            self.body
        );
        error
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `items` of a page.
    pub fn items(&self) -> &Vec<Value> {
        self.body["items"].as_array().expect("a page has items")
    }
}

/// A documented path with its parameters filled in: `{transition}`,
/// `{week}` and `{provider}` with real values, every other `{…}` with a
/// fresh id (so an authorised call would find nothing).
pub fn concrete_path(path: &str) -> String {
    path.replace("{transition}", "agree")
        .replace("{week}", "2026-W10")
        .replace("{provider}", "github")
        .split('/')
        .map(|s| {
            if s.starts_with('{') {
                uuid::Uuid::now_v7().to_string()
            } else {
                s.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// Gives every team a policy that lets any notification through at any
/// hour (working hours all day, every day, no focus block), for tests of a
/// channel rather than of its timing (`notify.rs` tests the timing).
#[allow(dead_code)] // each test binary uses a different subset
pub async fn always_open(store: &tandem_store::Store) {
    use tandem_domain::policy::{ClockTime, Day, TeamPolicy};
    let every_day = vec![
        Day::Mon,
        Day::Tue,
        Day::Wed,
        Day::Thu,
        Day::Fri,
        Day::Sat,
        Day::Sun,
    ];
    let open = TeamPolicy {
        work_start: ClockTime::MIDNIGHT,
        work_end: ClockTime::END_OF_DAY,
        evening_cutoff: ClockTime::END_OF_DAY,
        work_days: every_day,
        focus_days: vec![],
        ..TeamPolicy::default()
    };
    let teams = store
        .list_teams(&tandem_store::ListQuery {
            limit: 500,
            ..Default::default()
        })
        .await
        .expect("list the teams");
    for t in teams.items {
        tandem_app::focus::set_policy(store, &t.key, open.clone(), chrono::Utc::now())
            .await
            .expect("an always-open policy");
    }
}
