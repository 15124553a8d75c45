//! Debian's Prometheus binaries for the tests: `promtool`, `prometheus`
//! and `prometheus-alertmanager`, run as child processes on free ports with
//! temporary configurations (killed when dropped).
//!
//! A missing binary skips the test with a message, except under CI (`CI`
//! set), where it fails: scripts/test.sh installs them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;
use tokio::process::{Child, Command};

/// The binary, or `None` (the test returns early) when it is not installed
/// and this is not CI.
pub fn tool(name: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(name);
    if path.exists() {
        return Some(path);
    }
    if std::env::var_os("CI").is_some() {
        panic!(
            "{} is required in CI (scripts/test.sh installs it)",
            path.display()
        );
    }
    eprintln!(
        "skipping: {} is not installed (apt-get install prometheus prometheus-alertmanager)",
        path.display()
    );
    None
}

/// A free port on 127.0.0.1 (bound, then released for the child).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind a port")
        .local_addr()
        .expect("local address")
        .port()
}

/// A running child with its base URL and working directory.
#[derive(Debug)]
pub struct Running {
    pub base: String,
    _child: Child,
    _dir: tempfile::TempDir,
}

/// Starts `prometheus` with `config` (YAML) and waits until it is ready.
pub async fn prometheus(bin: &Path, config: &str) -> Running {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("prometheus.yml");
    std::fs::write(&file, config).expect("write the configuration");
    let port = free_port();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-lifecycle")
        .stdout(std::fs::File::create(dir.path().join("out.log")).expect("log file"))
        .stderr(std::fs::File::create(dir.path().join("err.log")).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("start prometheus");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/-/ready"), dir.path()).await;
    Running {
        base,
        _child: child,
        _dir: dir,
    }
}

/// Starts `prometheus-alertmanager` with `config` (YAML) and waits until it
/// is ready.
pub async fn alertmanager(bin: &Path, config: &str) -> Running {
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("alertmanager.yml");
    std::fs::write(&file, config).expect("write the configuration");
    let port = free_port();
    let cluster = free_port();
    let child = Command::new(bin)
        .arg(format!("--config.file={}", file.display()))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--cluster.listen-address=127.0.0.1:{cluster}"))
        .stdout(std::fs::File::create(dir.path().join("out.log")).expect("log file"))
        .stderr(std::fs::File::create(dir.path().join("err.log")).expect("log file"))
        .kill_on_drop(true)
        .spawn()
        .expect("start alertmanager");
    let base = format!("http://127.0.0.1:{port}");
    wait_ready(&format!("{base}/-/ready"), dir.path()).await;
    Running {
        base,
        _child: child,
        _dir: dir,
    }
}

async fn wait_ready(url: &str, dir: &Path) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    for _ in 0..600 {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let log = std::fs::read_to_string(dir.join("err.log")).unwrap_or_default();
    panic!("{url} was not ready within a minute; its log:\n{log}");
}

/// Polls `until` every 200 ms for up to two minutes (a loaded machine),
/// returning its first `Some`; panics with `what` otherwise.
pub async fn eventually<T, F, Fut>(what: &str, mut until: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..600 {
        if let Some(v) = until().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("gave up waiting: {what}");
}

/// A Prometheus instant query's result vector.
pub async fn query(base: &str, promql: &str) -> Vec<Value> {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client");
    let body: Value = client
        .get(
            reqwest::Url::parse_with_params(&format!("{base}/api/v1/query"), [("query", promql)])
                .expect("a query URL"),
        )
        .send()
        .await
        .expect("query prometheus")
        .json()
        .await
        .expect("a JSON answer");
    assert_eq!(body["status"], "success", "{body:#}");
    body["data"]["result"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
