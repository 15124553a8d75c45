//! The probes: one run of a check against its target, bounded by the
//! check's timeout, turned into a domain `Observation` and judged by its
//! conditions. A probe never panics and never outlives its timeout (the
//! whole probe runs under `tokio::time::timeout`), so a hanging target only
//! costs its own slot.
//!
//! - `http`: one shared client (connection reuse across checks); the
//!   method, headers and body of the definition; status, latency, body (at
//!   most [`MAX_BODY`] bytes) and headers observed.
//! - `tcp`: a connect.
//! - `postgres`: a fresh connection, the query in a `READ ONLY`
//!   transaction that is rolled back; the first column of the first row is
//!   `[VALUE]` (cast NUMERIC to `float8` or text).
//! - `redis`: RESP over TCP: `AUTH` (when the URL has a password),
//!   `PING`, `INFO memory` (`[MEMORY]`: `used_memory`), `DBSIZE` (`[KEYS]`).
//! - `heartbeat`: passes while the last ping is no older than the interval
//!   plus the grace (counted from the check's creation before the first).

use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use regex::Regex;
use sqlx::{Connection, Row};
use tandem_domain::check::{CheckKind, CheckSpec, Observation};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// The most body bytes an HTTP check reads.
pub const MAX_BODY: usize = 256 * 1024;

/// One run's verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Verdict {
    pub ok: bool,
    pub latency_ms: i64,
    /// `ok`, or what failed (the probe's error or the conditions that did
    /// not hold).
    pub message: String,
}

/// What a heartbeat probe needs besides the definition.
#[derive(Debug, Clone, Copy)]
pub struct Pings {
    pub last_ping_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Runs the check once and judges it.
pub async fn run(
    client: &reqwest::Client,
    spec: &CheckSpec,
    pings: Pings,
    now: DateTime<Utc>,
) -> Verdict {
    let timeout = Duration::from_secs(u64::from(spec.timeout_seconds));
    let started = Instant::now();
    let observed = tokio::time::timeout(timeout, observe(client, spec, pings, now)).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let obs = match observed {
        Err(_) => {
            return Verdict {
                ok: false,
                latency_ms,
                message: format!("timed out after {} s", spec.timeout_seconds),
            };
        }
        Ok(Err(e)) => {
            return Verdict {
                ok: false,
                latency_ms,
                message: e,
            };
        }
        Ok(Ok(mut obs)) => {
            obs.response_ms = u64::try_from(latency_ms).unwrap_or(0);
            obs
        }
    };
    let matches = |re: &str, text: &str| Regex::new(re).is_ok_and(|r| r.is_match(text));
    let failed: Vec<String> = spec
        .parsed_conditions()
        .iter()
        .filter_map(|c| c.holds(&obs, now, &matches).err())
        .collect();
    Verdict {
        ok: failed.is_empty(),
        latency_ms,
        message: if failed.is_empty() {
            "ok".to_owned()
        } else {
            failed.join("; ")
        },
    }
}

async fn observe(
    client: &reqwest::Client,
    spec: &CheckSpec,
    pings: Pings,
    now: DateTime<Utc>,
) -> Result<Observation, String> {
    match spec.kind {
        CheckKind::Http => http(client, spec).await,
        CheckKind::Tcp => TcpStream::connect(spec.target.trim())
            .await
            .map(|_| Observation::default())
            .map_err(|e| format!("connect to {}: {e}", spec.target)),
        CheckKind::Postgres => postgres(spec).await,
        CheckKind::Redis => redis(spec).await,
        CheckKind::Heartbeat => {
            let since = pings.last_ping_at.unwrap_or(pings.created_at);
            let allowed = chrono::TimeDelta::seconds(
                i64::from(spec.interval_seconds) + i64::from(spec.grace_seconds),
            );
            if now - since <= allowed {
                Ok(Observation::default())
            } else {
                Err(match pings.last_ping_at {
                    Some(at) => format!("no ping since {}", at.to_rfc3339()),
                    None => "no ping yet".to_owned(),
                })
            }
        }
    }
}

async fn http(client: &reqwest::Client, spec: &CheckSpec) -> Result<Observation, String> {
    let method = spec.method.as_deref().unwrap_or("GET").to_ascii_uppercase();
    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = client.request(method, spec.target.trim());
    for (k, v) in &spec.headers {
        req = req.header(k, v);
    }
    if let Some(b) = &spec.body {
        req = req.body(b.clone());
    }
    let mut resp = req
        .send()
        .await
        .map_err(|e| format!("request failed: {}", e.without_url()))?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| format!("reading the body: {}", e.without_url()))?
    {
        let room = MAX_BODY.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_BODY {
            break;
        }
    }
    Ok(Observation {
        status: Some(status),
        body: Some(String::from_utf8_lossy(&body).into_owned()),
        headers,
        ..Observation::default()
    })
}

async fn postgres(spec: &CheckSpec) -> Result<Observation, String> {
    let query = spec.query.as_deref().unwrap_or_default();
    // The definition was refused unless read-only; the transaction is the
    // second guard.
    tandem_domain::check::read_only_sql(query).map_err(|e| format!("query {e}"))?;
    let mut conn = sqlx::PgConnection::connect(spec.target.trim())
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut tx = conn
        .begin_with("BEGIN READ ONLY")
        .await
        .map_err(|e| format!("begin: {e}"))?;
    let row = sqlx::query(sqlx::AssertSqlSafe(query.to_owned()))
        .fetch_optional(&mut *tx)
        .await
        .map_err(|e| format!("query: {e}"))?;
    let value = row.map(|r| {
        if r.columns().is_empty() {
            return String::new();
        }
        r.try_get::<Option<i64>, _>(0)
            .map(|v| v.map(|v| v.to_string()))
            .or_else(|_| {
                r.try_get::<Option<i32>, _>(0)
                    .map(|v| v.map(|v| v.to_string()))
            })
            .or_else(|_| {
                r.try_get::<Option<f64>, _>(0)
                    .map(|v| v.map(|v| v.to_string()))
            })
            .or_else(|_| {
                r.try_get::<Option<bool>, _>(0)
                    .map(|v| v.map(|v| v.to_string()))
            })
            .or_else(|_| r.try_get::<Option<String>, _>(0))
            .ok()
            .flatten()
            .unwrap_or_default()
    });
    let _ = tx.rollback().await;
    let _ = conn.close().await;
    Ok(Observation {
        value,
        ..Observation::default()
    })
}

/// `redis://[:password@]host:port[/db]` → (address, password).
fn redis_address(url: &str) -> Result<(String, Option<String>), String> {
    let u = reqwest::Url::parse(url).map_err(|e| format!("bad redis URL: {e}"))?;
    let host = u.host_str().ok_or("the redis URL has no host")?;
    let port = u.port().unwrap_or(6379);
    let password = u.password().map(str::to_owned);
    Ok((format!("{host}:{port}"), password))
}

async fn redis(spec: &CheckSpec) -> Result<Observation, String> {
    let (addr, password) = redis_address(spec.target.trim())?;
    let stream = TcpStream::connect(&addr)
        .await
        .map_err(|e| format!("connect to {addr}: {e}"))?;
    let mut conn = BufReader::new(stream);
    if let Some(pw) = password {
        let reply = command(&mut conn, &["AUTH", &pw]).await?;
        if reply != "OK" {
            return Err(format!("AUTH: {reply}"));
        }
    }
    let pong = command(&mut conn, &["PING"]).await?;
    if pong != "PONG" {
        return Err(format!("PING answered {pong:?}"));
    }
    let info = command(&mut conn, &["INFO", "memory"]).await?;
    let memory = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok());
    let keys = command(&mut conn, &["DBSIZE"]).await?.parse().ok();
    Ok(Observation {
        memory,
        keys,
        ..Observation::default()
    })
}

/// Sends one command; the reply as text (simple string, integer or bulk);
/// an error reply is an `Err`.
async fn command(conn: &mut BufReader<TcpStream>, args: &[&str]) -> Result<String, String> {
    let mut out = format!("*{}\r\n", args.len());
    for a in args {
        out.push_str(&format!("${}\r\n{a}\r\n", a.len()));
    }
    conn.get_mut()
        .write_all(out.as_bytes())
        .await
        .map_err(|e| format!("redis write: {e}"))?;
    let mut line = String::new();
    conn.read_line(&mut line)
        .await
        .map_err(|e| format!("redis read: {e}"))?;
    let line = line.trim_end_matches(['\r', '\n']);
    match line.split_at_checked(1) {
        Some(("+" | ":", rest)) => Ok(rest.to_owned()),
        Some(("-", rest)) => Err(format!("redis {}: {rest}", args[0])),
        Some(("$", n)) => {
            let n: usize = n.parse().map_err(|_| "redis: bad bulk length".to_owned())?;
            if n > 1 << 20 {
                return Err("redis: reply too large".into());
            }
            let mut buf = vec![0; n + 2];
            conn.read_exact(&mut buf)
                .await
                .map_err(|e| format!("redis read: {e}"))?;
            buf.truncate(n);
            Ok(String::from_utf8_lossy(&buf).into_owned())
        }
        _ => Err(format!("redis: unexpected reply {line:?}")),
    }
}
