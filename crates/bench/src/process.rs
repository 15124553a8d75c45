//! The release `tandem` binary as the benchmarks drive it: one-shot CLI
//! commands, and `tandem serve` started on a free port, awaited on
//! `/readyz` and stopped with SIGTERM.
//!
//! Rules: the server's standard error goes to a log file that every error
//! names or quotes; a server is killed when its `Child` is dropped, so a
//! failed benchmark leaves no process behind. Readiness is polled every
//! 5 ms for at most 60 s; a stop waits at most 20 s after SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tandem_store::EngineKind;
use tokio::process::{Child, Command};

pub const READY_POLL: Duration = Duration::from_millis(5);
pub const READY_DEADLINE: Duration = Duration::from_secs(60);
pub const STOP_DEADLINE: Duration = Duration::from_secs(20);

/// `--tandem PATH`: the binary a benchmark drives.
#[derive(Debug, clap::Args)]
pub struct Binary {
    /// The tandem binary to measure (build it with --release).
    #[arg(long, value_name = "PATH", default_value = "target/release/tandem")]
    pub tandem: PathBuf,
}

impl Binary {
    /// Fails, saying how to build it, when `--tandem` names no file.
    pub fn require(&self) -> anyhow::Result<()> {
        ensure!(
            self.tandem.is_file(),
            "{} does not exist; build it first: cargo build --release -p tandem -p tandem-bench",
            self.tandem.display()
        );
        Ok(())
    }
}

/// An empty log file for the servers `bench` starts on `engine`, in the
/// temporary directory, named after this process.
pub fn server_log(bench: &str, engine: EngineKind) -> anyhow::Result<PathBuf> {
    let log = std::env::temp_dir().join(format!(
        "{bench}-{}-{}.log",
        engine.as_str(),
        std::process::id()
    ));
    std::fs::write(&log, b"").with_context(|| format!("cannot create {}", log.display()))?;
    Ok(log)
}

/// `tandem token create --name bench --role ROLE`: the new token's secret.
pub async fn create_token(tandem: &Path, url: &str, role: &str) -> anyhow::Result<String> {
    let out = tandem_cli(
        tandem,
        url,
        &[
            "token", "create", "--name", "bench", "--role", role, "--format", "json",
        ],
        None,
    )
    .await?;
    let token: serde_json::Value =
        serde_json::from_str(&out).context("token create --format json printed no JSON")?;
    Ok(token["secret"]
        .as_str()
        .context("token create printed no secret")?
        .to_owned())
}

/// Runs a one-shot `tandem --database URL ARGS…` (with `stdin` written to
/// its standard input, when given) and returns its standard output.
pub async fn tandem_cli(
    tandem: &Path,
    url: &str,
    args: &[&str],
    stdin: Option<&str>,
) -> anyhow::Result<String> {
    let mut child = Command::new(tandem)
        .arg("--database")
        .arg(url)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {}", tandem.display()))?;
    if let Some(text) = stdin {
        use tokio::io::AsyncWriteExt;
        let mut input = child.stdin.take().context("stdin")?;
        input.write_all(text.as_bytes()).await?;
        drop(input);
    }
    let out = child.wait_with_output().await?;
    ensure!(
        out.status.success(),
        "tandem {} failed ({}): {}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// A port that was free a moment ago (bind to 0, read it, let go).
pub fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// Starts `tandem serve` on `127.0.0.1:port` with `env` set, its standard
/// error appended to `log`.
pub fn spawn_server(
    tandem: &Path,
    url: &str,
    port: u16,
    log: &Path,
    env: &[(&str, &str)],
) -> anyhow::Result<Child> {
    let stderr = std::fs::OpenOptions::new().append(true).open(log)?;
    Command::new(tandem)
        .arg("--database")
        .arg(url)
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", tandem.display()))
}

/// Polls `/readyz` every [`READY_POLL`] until it answers 200; fails when
/// the server exits first or [`READY_DEADLINE`] has passed since `started`.
pub async fn wait_ready(
    probe: &reqwest::Client,
    port: u16,
    child: &mut Child,
    log: &Path,
    started: Instant,
) -> anyhow::Result<()> {
    let url = format!("http://127.0.0.1:{port}/readyz");
    loop {
        if let Ok(resp) = probe.get(&url).send().await
            && resp.status() == reqwest::StatusCode::OK
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "the server exited ({status}) before it was ready; its log:\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        }
        if started.elapsed() > READY_DEADLINE {
            bail!(
                "the server was not ready after {READY_DEADLINE:?}; its log is {}",
                log.display()
            );
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// Sends SIGTERM and waits for the process to exit; returns how long that took.
pub async fn terminate(child: &mut Child) -> anyhow::Result<Duration> {
    let pid = child.id().context("the server already exited")?;
    let sent = Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .await
        .context("cannot run kill")?;
    ensure!(status.success(), "kill -TERM {pid} failed");
    match tokio::time::timeout(STOP_DEADLINE, child.wait()).await {
        Ok(status) => {
            let status = status?;
            ensure!(
                status.success(),
                "the server exited with {status} after SIGTERM"
            );
            Ok(sent.elapsed())
        }
        Err(_) => {
            child.kill().await?;
            bail!("the server did not stop within {STOP_DEADLINE:?} of SIGTERM")
        }
    }
}
