//! `tandem-bench-pages`: server time per web page on the demo organisation
//! at 50 concurrent clients, p50 and p99.
//!
//! The real server (`tandem_server::launch`, release build) runs in this
//! process on its own Tokio runtime over a fresh SQLite database (or a
//! fresh PostgreSQL database with `--postgres`) loaded with the demo. A
//! manager's and an admin's sessions are made through the sign-in API; then,
//! page by page, `--clients` concurrent clients on a second runtime send
//! `--requests` GETs in total with the session cookie, over keep-alive
//! connections on loopback, after `--warmup` untimed ones; the very first
//! request of each page is timed alone ("cold": nothing of it cached). Each request's
//! time is from sending it to reading the last byte of the body; every
//! answer must be 200. Nothing is asserted about durations.
//!
//! Client and server share the machine, so the figures include the
//! clients' own CPU use; they are an upper bound on the server's time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use chrono::{Datelike, Utc};
use clap::Parser;
use serde_json::{Value, json};
use tandem_bench::stats::{ms, percentile};

#[derive(Parser)]
struct Args {
    /// Concurrent clients.
    #[arg(long, default_value_t = 50)]
    clients: usize,
    /// Timed requests per page (spread over the clients).
    #[arg(long, default_value_t = 2000)]
    requests: usize,
    /// Untimed requests per page first.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// Server worker threads.
    #[arg(long, default_value_t = 2)]
    server_threads: usize,
    /// Use PostgreSQL (TANDEM_TEST_PG_URL or the local default) instead of SQLite.
    #[arg(long)]
    postgres: bool,
    /// Only pages whose path contains this.
    #[arg(long)]
    only: Option<String>,
}

struct Server {
    base: String,
    admin_token: String,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<anyhow::Result<()>>>,
    _db: tandem_testkit::TestDb,
}

impl Server {
    /// Starts the server on its own runtime and thread.
    fn start(args: &Args) -> anyhow::Result<Server> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(args.server_threads)
            .enable_all()
            .build()?;
        let engine = if args.postgres {
            tandem_store::EngineKind::Postgres
        } else {
            tandem_store::EngineKind::Sqlite
        };
        let (db, store, listener) = rt.block_on(async {
            let db = tandem_testkit::TestDb::new(engine).await;
            let store = db.store().await;
            tandem_app::demo::load(&store, Utc::now().date_naive()).await?;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            anyhow::Ok((db, store, listener))
        })?;
        let base = format!("http://{}", listener.local_addr()?);
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/../server/tandem.example.toml");
        let env: Vec<(String, String)> = [
            ("TANDEM_DATABASE__URL", db.url.as_str()),
            ("TANDEM_SERVER__PUBLIC_URL", base.as_str()),
            ("TANDEM_FORECAST__CHECK_INTERVAL_MINUTES", "0"),
            ("TANDEM_LOG__LEVEL", "warn"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let settings = tandem_app::Settings::load_from(Some(std::path::Path::new(example)), &env)?;
        let (_, admin_token) = rt
            .block_on(tandem_app::credentials::issue_token(
                &store,
                "bench",
                tandem_domain::user::Role::Admin,
                None,
            ))
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let state = tandem_server::AppState::new(store, settings)?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            rt.block_on(tandem_server::launch(state, listener, async {
                let _ = rx.await;
            }))
        });
        Ok(Server {
            base,
            admin_token,
            shutdown: Some(tx),
            thread: Some(thread),
            _db: db,
        })
    }

    fn stop(mut self) -> anyhow::Result<()> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join()
                .map_err(|_| anyhow::anyhow!("the server thread panicked"))??;
        }
        Ok(())
    }
}

/// Signs in and returns the `tandem_session=…` cookie.
async fn session(
    client: &reqwest::Client,
    base: &str,
    user: &str,
    password: &str,
) -> anyhow::Result<String> {
    let r = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await?;
    ensure!(r.status().is_success(), "sign-in as {user}: {}", r.status());
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .context("no session cookie")?;
    Ok(cookie.to_owned())
}

/// `total` GETs of `path` by `clients` concurrent clients; the sorted times.
async fn load(
    client: &reqwest::Client,
    url: &str,
    cookie: &str,
    clients: usize,
    total: usize,
) -> anyhow::Result<Vec<Duration>> {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (client, url, cookie, next) = (
            client.clone(),
            url.to_owned(),
            cookie.to_owned(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut times = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) < total {
                let t0 = Instant::now();
                let r = client.get(&url).header("cookie", &cookie).send().await?;
                let status = r.status();
                let body = r.bytes().await?;
                times.push(t0.elapsed());
                if status != 200 {
                    bail!("{url}: {status}: {}", String::from_utf8_lossy(&body));
                }
            }
            anyhow::Ok(times)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for t in tasks {
        all.extend(t.await??);
    }
    all.sort();
    Ok(all)
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = Server::start(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    let result = rt.block_on(run(&args, &server));
    server.stop()?;
    result
}

async fn run(args: &Args, server: &Server) -> anyhow::Result<()> {
    let base = server.base.as_str();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(args.clients)
        .build()?;
    let api = |path: String| {
        let client = client.clone();
        let token = server.admin_token.clone();
        async move {
            let v: Value = client
                .get(format!("{base}{path}"))
                .bearer_auth(token)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            anyhow::Ok(v)
        }
    };
    // An admin user for the admin pages (the demo has none).
    let password = "bench-admin-password";
    let r = client
        .post(format!("{base}/api/v1/users"))
        .bearer_auth(&server.admin_token)
        .json(&json!({"username": "bench-admin", "role": "admin", "password": password}))
        .send()
        .await?;
    ensure!(r.status() == 201, "create the admin: {}", r.status());
    let demo = tandem_app::demo::DEMO_PASSWORD;
    let manager = session(&client, base, "maria", demo).await?;
    let admin = session(&client, base, "bench-admin", password).await?;
    let goal = api("/api/v1/goals?status=in_progress&limit=1".into()).await?["items"][0]["id"]
        .as_str()
        .context("a goal in progress")?
        .to_owned();
    let item = api("/api/v1/work-items?team=payments&limit=1".into()).await?["items"][0]["id"]
        .as_str()
        .context("a work item")?
        .to_owned();
    let w = (Utc::now().date_naive() - chrono::Duration::days(7)).iso_week();
    let week = format!("{}-W{:02}", w.year(), w.week());
    let (m, a, none) = (manager.as_str(), admin.as_str(), "");
    let pages: Vec<(String, &str)> = vec![
        ("/".into(), m),
        (format!("/goals/{goal}"), m),
        (format!("/work-items/{item}"), m),
        ("/teams/payments".into(), m),
        ("/reports".into(), m),
        (format!("/reports/payments/{week}"), m),
        (format!("/reports/payments/{week}/email"), m),
        ("/agenda".into(), m),
        ("/decisions".into(), m),
        ("/decisions.md".into(), m),
        ("/teams/payments/explain/deployment-frequency".into(), m),
        ("/admin/users".into(), a),
        ("/admin/tokens".into(), a),
        ("/sign-in".into(), none),
        ("/static/tandem.css".into(), none),
        ("/api/v1/kpis.csv".into(), m),
        ("/api/v1/teams/payments/metrics.csv".into(), m),
    ];
    println!(
        "engine {}, {} clients, {} requests per page after {} warm-up, server threads {}",
        if args.postgres { "postgres" } else { "sqlite" },
        args.clients,
        args.requests,
        args.warmup,
        args.server_threads
    );
    println!(
        "{:<40} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "page", "cold ms", "p50 ms", "p99 ms", "max ms", "req/s", "bytes"
    );
    for (path, cookie) in pages {
        if args.only.as_deref().is_some_and(|o| !path.contains(o)) {
            continue;
        }
        let url = format!("{base}{path}");
        // Cold: the first request, alone, before anything of it is cached.
        let t0 = Instant::now();
        let first = client.get(&url).header("cookie", cookie).send().await?;
        ensure!(first.status() == 200, "{path}: {}", first.status());
        let bytes = first.bytes().await?.len();
        let cold = t0.elapsed();
        load(&client, &url, cookie, args.clients, args.warmup).await?;
        let t0 = Instant::now();
        let times = load(&client, &url, cookie, args.clients, args.requests).await?;
        let wall = t0.elapsed();
        let label = if path.starts_with("/goals/") {
            "/goals/{id}".to_owned()
        } else if path.starts_with("/work-items/") {
            "/work-items/{id}".to_owned()
        } else if path.starts_with("/reports/payments/") && path.ends_with("/email") {
            "/reports/payments/{last week}/email".to_owned()
        } else if path.starts_with("/reports/payments/") {
            "/reports/payments/{last week}".to_owned()
        } else {
            path.clone()
        };
        println!(
            "{:<40} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>10.0} {:>9}",
            label,
            ms(cold),
            ms(percentile(&times, 50.0)),
            ms(percentile(&times, 99.0)),
            ms(*times.last().unwrap_or(&Duration::ZERO)),
            times.len() as f64 / wall.as_secs_f64(),
            bytes
        );
    }
    Ok(())
}
