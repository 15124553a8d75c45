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
//! - `dns`: one query of the record type (`A` by default) through
//!   `hickory-resolver`, to the check's name server or the system's, with
//!   no cache (each run asks); `[RECORDS]` is the answers' data, sorted.
//!   No answer is a failure.
//! - `tls`: a TLS handshake (rustls; the webpki roots plus `[monitor]
//!   ca_path`), `[CERTIFICATE_EXPIRATION]` from the peer's leaf
//!   certificate (default condition: not expired). An untrusted or expired
//!   certificate fails the handshake, and the message says why.
//! - `http` over TLS also observes `[CERTIFICATE_EXPIRATION]` (the client
//!   keeps the peer certificate of each response; the `ca_path` roots are
//!   added to the system's).
//! - `log`: lines matching `pattern` in the files under a path (recursive,
//!   at most [`MAX_LOG_FILES`]; compressed rotations `.gz`, `.bz2`, `.xz`,
//!   `.zst` skipped) or in the objects under an `s3://` prefix, read from
//!   where the last run stopped (the domain's `LogState` rules: baseline on
//!   the first run, rotation by inode, truncation), at most
//!   `[monitor] log_read_max_bytes` a run; `[MATCHES]` is the count over
//!   the window. The new place is kept only when the run finishes in time.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use chrono::{DateTime, TimeZone, Utc};
use regex::Regex;
use sqlx::{Connection, Row};
use tandem_domain::check::{
    CheckKind, CheckSpec, LogRead, LogSource, LogState, Observation, parse_nameserver, records_text,
};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls;

use crate::error::{AppError, AppResult};
use crate::settings::{MonitorSettings, S3Settings};

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

/// The most files a `log` check reads under its path.
pub const MAX_LOG_FILES: usize = 10_000;

/// What the probes of one replica share: the HTTP client (connection
/// reuse, the peer certificate kept), the TLS configuration of `tls`
/// checks, and the S3 connection of `log` checks.
#[derive(Debug, Clone)]
pub struct Probes {
    pub client: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
    s3: Option<S3Settings>,
    log_read_max_bytes: u64,
}

impl Probes {
    pub fn new(monitor: &MonitorSettings) -> AppResult<Probes> {
        let extra = match &monitor.ca_path {
            Some(path) => {
                std::fs::read(path).map_err(|e| anyhow!("monitor.ca_path {path}: {e}"))?
            }
            None => Vec::new(),
        };
        let mut builder = reqwest::Client::builder()
            .user_agent("tandem-checks")
            .redirect(reqwest::redirect::Policy::limited(5))
            .pool_idle_timeout(Duration::from_secs(90))
            .tls_info(true);
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        if !extra.is_empty() {
            let certs = reqwest::Certificate::from_pem_bundle(&extra)
                .map_err(|e| AppError::invalid("monitor.ca_path", format!("not PEM: {e}")))?;
            builder = builder.tls_certs_merge(certs);
            use rustls::pki_types::pem::PemObject;
            for cert in rustls::pki_types::CertificateDer::pem_slice_iter(&extra) {
                let cert = cert
                    .map_err(|e| AppError::invalid("monitor.ca_path", format!("not PEM: {e}")))?;
                roots
                    .add(cert)
                    .map_err(|e| AppError::invalid("monitor.ca_path", e.to_string()))?;
            }
        }
        let client = builder
            .build()
            .map_err(|e| AppError::Unexpected(e.into()))?;
        let tls = rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Probes {
            client,
            tls: Arc::new(tls),
            s3: monitor.s3.clone(),
            log_read_max_bytes: monitor.log_read_max_bytes.max(1),
        })
    }
}

/// What a heartbeat probe needs besides the definition.
#[derive(Debug, Clone, Copy)]
pub struct Pings {
    pub last_ping_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Runs the check once and judges it. `log`: the place kept by the last
/// run goes in, the new one comes out (`None`: keep the old one).
pub async fn run(
    probes: &Probes,
    spec: &CheckSpec,
    pings: Pings,
    log: Option<LogState>,
    now: DateTime<Utc>,
) -> (Verdict, Option<LogState>) {
    let timeout = Duration::from_secs(u64::from(spec.timeout_seconds));
    let started = Instant::now();
    let observed = tokio::time::timeout(timeout, observe(probes, spec, pings, log, now)).await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (obs, log) = match observed {
        Err(_) => {
            let verdict = Verdict {
                ok: false,
                latency_ms,
                message: format!("timed out after {} s", spec.timeout_seconds),
            };
            return (verdict, None);
        }
        Ok(Err(e)) => {
            let verdict = Verdict {
                ok: false,
                latency_ms,
                message: e,
            };
            return (verdict, None);
        }
        Ok(Ok((mut obs, log))) => {
            obs.response_ms = u64::try_from(latency_ms).unwrap_or(0);
            (obs, log)
        }
    };
    let matches = |re: &str, text: &str| Regex::new(re).is_ok_and(|r| r.is_match(text));
    let failed: Vec<String> = spec
        .parsed_conditions()
        .iter()
        .filter_map(|c| c.holds(&obs, now, &matches).err())
        .collect();
    let verdict = Verdict {
        ok: failed.is_empty(),
        latency_ms,
        message: if failed.is_empty() {
            "ok".to_owned()
        } else {
            failed.join("; ")
        },
    };
    (verdict, log)
}

async fn observe(
    probes: &Probes,
    spec: &CheckSpec,
    pings: Pings,
    log: Option<LogState>,
    now: DateTime<Utc>,
) -> Result<(Observation, Option<LogState>), String> {
    let obs = match spec.kind {
        CheckKind::Log => {
            let (obs, state) = log_probe(probes, spec, log.unwrap_or_default(), now).await?;
            return Ok((obs, Some(state)));
        }
        CheckKind::Http => http(&probes.client, spec).await,
        CheckKind::Dns => dns(spec).await,
        CheckKind::Tls => tls(probes, spec).await,
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
    };
    obs.map(|o| (o, None))
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
    let cert_expires_at = resp
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|i| i.peer_certificate())
        .map(not_after)
        .transpose()?;
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
        cert_expires_at,
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

/// The end of a DER certificate's validity.
fn not_after(der: &[u8]) -> Result<DateTime<Utc>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("the peer certificate does not parse: {e}"))?;
    Utc.timestamp_opt(cert.validity().not_after.timestamp(), 0)
        .single()
        .ok_or_else(|| "the peer certificate's expiry is out of range".to_owned())
}

async fn tls(probes: &Probes, spec: &CheckSpec) -> Result<Observation, String> {
    let target = spec.target.trim();
    let (host, _) = target
        .rsplit_once(':')
        .ok_or_else(|| format!("{target:?} is not host:port"))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|e| format!("{host:?}: {e}"))?;
    let tcp = TcpStream::connect(target)
        .await
        .map_err(|e| format!("connect to {target}: {e}"))?;
    let stream = tokio_rustls::TlsConnector::from(Arc::clone(&probes.tls))
        .connect(name, tcp)
        .await
        .map_err(|e| format!("TLS handshake with {target}: {e}"))?;
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
        .ok_or("the server sent no certificate")?;
    Ok(Observation {
        cert_expires_at: Some(not_after(leaf)?),
        ..Observation::default()
    })
}

async fn dns(spec: &CheckSpec) -> Result<Observation, String> {
    use hickory_resolver::config::{NameServerConfig, ResolverConfig};
    use hickory_resolver::net::runtime::TokioRuntimeProvider;
    use hickory_resolver::proto::rr::RecordType;

    let kind = spec
        .record_type
        .as_deref()
        .unwrap_or("A")
        .to_ascii_uppercase();
    let record_type: RecordType = kind
        .parse()
        .map_err(|_| format!("{kind:?} is not a record type"))?;
    let mut builder = match spec.nameserver.as_deref().map(parse_nameserver) {
        Some(Some(addr)) => {
            let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
            for c in &mut ns.connections {
                c.port = addr.port();
            }
            hickory_resolver::Resolver::builder_with_config(
                ResolverConfig::from_name_servers(vec![ns]),
                TokioRuntimeProvider::default(),
            )
        }
        Some(None) => return Err("the name server is not IP or IP:port".into()),
        None => hickory_resolver::Resolver::builder_tokio()
            .map_err(|e| format!("the system's resolver configuration: {e}"))?,
    };
    let opts = builder.options_mut();
    opts.cache_size = 0;
    opts.attempts = 1;
    opts.timeout = Duration::from_secs(u64::from(spec.timeout_seconds));
    let resolver = builder.build().map_err(|e| format!("the resolver: {e}"))?;
    // A trailing dot: the name is absolute (no search domains).
    let name = format!("{}.", spec.target.trim().trim_end_matches('.'));
    let answer = resolver
        .lookup(name.as_str(), record_type)
        .await
        .map_err(|e| format!("{kind} {}: {e}", spec.target.trim()))?;
    let data: Vec<String> = answer
        .answers()
        .iter()
        .filter(|r| r.record_type() == record_type)
        .map(|r| r.data.to_string())
        .collect();
    if data.is_empty() {
        return Err(format!("{kind} {}: no records", spec.target.trim()));
    }
    Ok(Observation {
        records: Some(records_text(data.iter().map(String::as_str))),
        ..Observation::default()
    })
}

/// Whether a log file is a compressed rotation (skipped).
fn compressed(path: &str) -> bool {
    [".gz", ".bz2", ".xz", ".zst", ".zip"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

/// Counts the whole lines of `bytes` matching `re`: (bytes consumed, matches).
/// A trailing partial line is left unless `take_partial` (the read was cut
/// by the budget and the line would otherwise never fit).
fn count_lines(bytes: &[u8], re: &regex::bytes::Regex, take_partial: bool) -> (u64, u64) {
    let mut consumed = 0usize;
    let mut matched = 0u64;
    for line in bytes.split_inclusive(|b| *b == b'\n') {
        if line.last() != Some(&b'\n') && !(take_partial && consumed == 0) {
            break;
        }
        consumed += line.len();
        if re.is_match(line) {
            matched += 1;
        }
    }
    (consumed as u64, matched)
}

async fn log_probe(
    probes: &Probes,
    spec: &CheckSpec,
    state: LogState,
    now: DateTime<Utc>,
) -> Result<(Observation, LogState), String> {
    let pattern = spec.pattern.as_deref().unwrap_or_default();
    let re = regex::bytes::Regex::new(pattern).map_err(|e| format!("pattern: {e}"))?;
    let target = spec.target.trim().to_owned();
    let max = probes.log_read_max_bytes;
    let (listed, done, matched) = match target.strip_prefix("s3://") {
        Some(rest) => s3_log(probes.s3.as_ref(), rest, &state, &re, max).await?,
        None => {
            let state = state.clone();
            tokio::task::spawn_blocking(move || file_log(&target, &state, &re, max))
                .await
                .map_err(|e| format!("reading the logs: {e}"))??
        }
    };
    let (next, total) = state.after(&listed, &done, matched, now, spec.log_window());
    Ok((
        Observation {
            matches: Some(total),
            ..Observation::default()
        },
        next,
    ))
}

type LogPass = (Vec<LogSource>, Vec<(LogRead, u64)>, u64);

fn file_log(
    target: &str,
    state: &LogState,
    re: &regex::bytes::Regex,
    max: u64,
) -> Result<LogPass, String> {
    use std::io::{Read, Seek, SeekFrom};

    let mut listed = Vec::new();
    let mut dirs = vec![std::path::PathBuf::from(target)];
    while let Some(path) = dirs.pop() {
        let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.is_dir() {
            let entries =
                std::fs::read_dir(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            for entry in entries.flatten() {
                dirs.push(entry.path());
            }
            continue;
        }
        let shown = path.display().to_string();
        if !meta.is_file() || compressed(&shown) {
            continue;
        }
        if listed.len() >= MAX_LOG_FILES {
            return Err(format!(
                "more than {MAX_LOG_FILES} files under {target}; point the check at fewer"
            ));
        }
        listed.push(LogSource {
            identity: file_identity(&meta, &shown),
            path: shown,
            size: meta.len(),
            tag: String::new(),
        });
    }
    listed.sort_by(|a, b| a.path.cmp(&b.path));
    let mut done = Vec::new();
    let mut matched = 0;
    for read in state.plan(&listed, max) {
        if read.to <= read.from {
            done.push((read, 0));
            continue;
        }
        let mut f = std::fs::File::open(&read.path).map_err(|e| format!("{}: {e}", read.path))?;
        f.seek(SeekFrom::Start(read.from))
            .map_err(|e| format!("{}: {e}", read.path))?;
        let mut bytes = Vec::new();
        f.take(read.to - read.from)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("{}: {e}", read.path))?;
        let cut = listed
            .iter()
            .find(|s| s.identity == read.identity)
            .is_some_and(|s| read.to < s.size);
        let (consumed, n) = count_lines(&bytes, re, cut);
        matched += n;
        done.push((read, consumed));
    }
    Ok((listed, done, matched))
}

#[cfg(unix)]
fn file_identity(meta: &std::fs::Metadata, _path: &str) -> String {
    use std::os::unix::fs::MetadataExt;
    format!("{}:{}", meta.dev(), meta.ino())
}

#[cfg(not(unix))]
fn file_identity(_meta: &std::fs::Metadata, path: &str) -> String {
    path.to_owned()
}

async fn s3_log(
    s3: Option<&S3Settings>,
    rest: &str,
    state: &LogState,
    re: &regex::bytes::Regex,
    max: u64,
) -> Result<LogPass, String> {
    use futures_util::TryStreamExt;
    use object_store::path::Path;
    use object_store::{ObjectStore, ObjectStoreExt};
    use secrecy::ExposeSecret;

    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
    if let Some(s3) = s3 {
        b = b
            .with_region(&s3.region)
            .with_access_key_id(&s3.access_key_id)
            .with_secret_access_key(s3.secret_access_key.expose_secret())
            .with_allow_http(s3.allow_http);
        if let Some(e) = &s3.endpoint {
            b = b.with_endpoint(e);
        }
    }
    let objects = b.build().map_err(|e| format!("S3 bucket {bucket}: {e}"))?;
    let prefix = prefix.trim_matches('/');
    let prefix = (!prefix.is_empty()).then(|| Path::from(prefix));
    let mut metas: Vec<object_store::ObjectMeta> = objects
        .list(prefix.as_ref())
        .try_collect()
        .await
        .map_err(|e| format!("listing s3://{rest}: {e}"))?;
    if metas.len() > MAX_LOG_FILES {
        return Err(format!(
            "more than {MAX_LOG_FILES} objects under s3://{rest}; point the check at fewer"
        ));
    }
    metas.sort_by(|a, b| a.location.cmp(&b.location));
    let listed: Vec<LogSource> = metas
        .iter()
        .filter(|m| !compressed(m.location.as_ref()))
        .map(|m| LogSource {
            identity: m.location.to_string(),
            path: m.location.to_string(),
            size: m.size,
            tag: m.e_tag.clone().unwrap_or_default(),
        })
        .collect();
    let mut done = Vec::new();
    let mut matched = 0;
    for read in state.plan(&listed, max) {
        if read.to <= read.from {
            done.push((read, 0));
            continue;
        }
        let bytes = objects
            .get_range(&Path::from(read.path.as_str()), read.from..read.to)
            .await
            .map_err(|e| format!("reading s3://{bucket}/{}: {e}", read.path))?;
        let cut = listed
            .iter()
            .find(|s| s.identity == read.identity)
            .is_some_and(|s| read.to < s.size);
        let (consumed, n) = count_lines(&bytes, re, cut);
        matched += n;
        done.push((read, consumed));
    }
    Ok((listed, done, matched))
}
