//! The check kinds beyond HTTP/TCP/PostgreSQL/Redis/heartbeat (issue 16),
//! each against a real local server: DNS against Debian's `dnsmasq`
//! started here on a free port with a private configuration; TLS expiry
//! alone and the HTTP check's `[CERTIFICATE_EXPIRATION]` against a local
//! TLS server whose certificate `rcgen` made with a known not-after, signed
//! by a test CA given to Tandem as `[monitor] ca_path`; log checks over
//! files (rotation by rename, truncation) and over S3 objects (moto).
//! Runs go through `POST /api/v1/checks/{name}/run`; the scheduler is off.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::{Value, json};
use tandem_store::EngineKind;
use tandem_testkit::per_engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::TestApp;

per_engine!(
    dns_checks_compare_the_expected_records,
    tls_expiry_alone_and_the_http_certificate_condition,
    log_checks_count_matches_across_rotation_and_truncation,
    log_checks_read_s3_objects_under_a_prefix,
    bad_definitions_of_the_new_kinds_name_the_field,
);

const NO_SCHEDULER: (&str, &str) = ("TANDEM_MONITOR__SCHEDULER_INTERVAL_MS", "0");

async fn setup(app: &TestApp) {
    let team = app.team("pay").await;
    app.create(
        "/api/v1/projects",
        json!({"team_id": team["id"], "key": "payments", "name": "Payments",
               "services": ["payments"]}),
    )
    .await;
}

async fn define(app: &TestApp, body: Value) -> Value {
    let mut b = json!({"team": "pay", "service": "payments", "interval_seconds": 3600,
                       "timeout_seconds": 5});
    for (k, v) in body.as_object().unwrap() {
        b[k] = v.clone();
    }
    app.post(&app.manager, "/api/v1/checks", b)
        .await
        .ok(201)
        .body
}

/// Runs a check now; its verdict.
async fn run(app: &TestApp, name: &str) -> Value {
    app.post(
        &app.manager,
        &format!("/api/v1/checks/{name}/run"),
        json!({}),
    )
    .await
    .ok(200)
    .body["verdict"]
        .clone()
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

// ---- DNS -------------------------------------------------------------------

/// Debian's dnsmasq on a free port, answering for `tandem.test` only (from
/// its private configuration; no upstream, no /etc/hosts); killed on drop.
struct Dnsmasq {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dnsmasq() -> Dnsmasq {
    let bin = "/usr/sbin/dnsmasq";
    assert!(
        std::path::Path::new(bin).exists(),
        "the DNS check test needs Debian's dnsmasq: run scripts/test.sh (it installs \
         dnsmasq-base) or apt-get install dnsmasq-base"
    );
    let dir = tempfile::tempdir().unwrap();
    // UDP and TCP on the same port: take one free for both.
    let port = loop {
        let p = free_port();
        if std::net::UdpSocket::bind(("127.0.0.1", p)).is_ok() {
            break p;
        }
    };
    let conf = dir.path().join("dnsmasq.conf");
    std::fs::write(
        &conf,
        format!(
            "port={port}\nlisten-address=127.0.0.1\nbind-interfaces\nno-resolv\nno-hosts\n\
             no-poll\nlocal=/tandem.test/\n\
             host-record=api.tandem.test,10.1.2.3\nhost-record=api.tandem.test,10.1.2.4\n\
             mx-host=tandem.test,mail.tandem.test,10\n\
             txt-record=tandem.test,v=spf1 -all\n\
             cname=www.tandem.test,api.tandem.test\n"
        ),
    )
    .unwrap();
    #[allow(clippy::zombie_processes)] // `Dnsmasq`'s Drop kills and waits for it
    let child = std::process::Command::new(bin)
        .arg(format!("--conf-file={}", conf.display()))
        .arg("--keep-in-foreground")
        .arg(format!("--pid-file={}", dir.path().join("pid").display()))
        .arg("--user=root")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start dnsmasq");
    // Ready when it accepts TCP on its port.
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Dnsmasq {
                child,
                port,
                _dir: dir,
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("dnsmasq did not come up on port {port}");
}

async fn dns_checks_compare_the_expected_records(engine: EngineKind) {
    let dns = dnsmasq();
    let app = TestApp::start_with(engine, &[NO_SCHEDULER]).await;
    setup(&app).await;
    let ns = format!("127.0.0.1:{}", dns.port);
    define(
        &app,
        json!({"name": "api-a", "kind": "dns", "target": "api.tandem.test", "nameserver": ns,
               "conditions": ["[RECORDS] == 10.1.2.4, 10.1.2.3", "[RESPONSE_TIME] < 5000"]}),
    )
    .await;
    let v = run(&app, "api-a").await;
    assert_eq!(v["ok"], true, "{v:#}");

    define(
        &app,
        json!({"name": "mail-mx", "kind": "dns", "target": "tandem.test", "nameserver": ns,
               "record_type": "MX", "conditions": ["[RECORDS] == 10 mail.tandem.test"]}),
    )
    .await;
    let v = run(&app, "mail-mx").await;
    assert_eq!(v["ok"], true, "{v:#}");

    define(
        &app,
        json!({"name": "spf", "kind": "dns", "target": "tandem.test", "nameserver": ns,
               "record_type": "TXT", "conditions": ["[RECORDS] =~ spf1"]}),
    )
    .await;
    let v = run(&app, "spf").await;
    assert_eq!(v["ok"], true, "{v:#}");

    // A record that moved: failing, and the message shows what was found.
    define(
        &app,
        json!({"name": "moved", "kind": "dns", "target": "api.tandem.test", "nameserver": ns,
               "conditions": ["[RECORDS] == 10.9.9.9"]}),
    )
    .await;
    let v = run(&app, "moved").await;
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("was 10.1.2.3,10.1.2.4"),
        "{v:#}"
    );

    // A name that does not resolve fails, naming it.
    define(
        &app,
        json!({"name": "gone", "kind": "dns", "target": "nothing.tandem.test",
               "nameserver": ns}),
    )
    .await;
    let v = run(&app, "gone").await;
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("nothing.tandem.test"),
        "{v:#}"
    );
    let checks = app.get(&app.member, "/api/v1/checks").await.ok(200).body;
    let gone = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "gone")
        .unwrap();
    assert_eq!(gone["last_ok"], false);
}

// ---- TLS -------------------------------------------------------------------

struct Pki {
    ca_pem: String,
    issuer: rcgen::CertifiedIssuer<'static, rcgen::KeyPair>,
}

fn pki() -> Pki {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Tandem test CA");
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::DigitalSignature,
    ];
    let issuer =
        rcgen::CertifiedIssuer::self_signed(params, rcgen::KeyPair::generate().unwrap()).unwrap();
    Pki {
        ca_pem: issuer.pem(),
        issuer,
    }
}

/// A TLS server for `localhost` with a leaf certificate valid from
/// `not_before` to `not_after` (y, m, d), answering every connection with
/// one HTTP/1.1 200 "ok".
async fn tls_server(pki: &Pki, not_before: (i32, u8, u8), not_after: (i32, u8, u8)) -> SocketAddr {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(not_before.0, not_before.1, not_before.2);
    params.not_after = rcgen::date_time_ymd(not_after.0, not_after.1, not_after.2);
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = tls
                    .write_all(
                        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
                    )
                    .await;
                let _ = tls.shutdown().await;
            });
        }
    });
    addr
}

async fn tls_expiry_alone_and_the_http_certificate_condition(engine: EngineKind) {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let ca_path = dir.path().join("ca.pem");
    std::fs::write(&ca_path, &pki.ca_pem).unwrap();
    let ca_path = ca_path.display().to_string();
    let app = TestApp::start_with(
        engine,
        &[NO_SCHEDULER, ("TANDEM_MONITOR__CA_PATH", ca_path.as_str())],
    )
    .await;
    setup(&app).await;
    let good = tls_server(&pki, (2026, 1, 1), (2099, 1, 1)).await;
    let expired = tls_server(&pki, (2019, 1, 1), (2020, 1, 1)).await;
    // The seconds left on the good certificate, as of now: the checks
    // below compare with it a minute either side.
    let left = (Utc.with_ymd_and_hms(2099, 1, 1, 0, 0, 0).unwrap() - Utc::now()).num_seconds();
    let (below, above) = (left - 60, left + 60);

    for (name, kind, target) in [
        ("cert-tls", "tls", format!("localhost:{}", good.port())),
        (
            "cert-http",
            "http",
            format!("https://localhost:{}/", good.port()),
        ),
    ] {
        define(
            &app,
            json!({"name": name, "kind": kind, "target": target,
                   "conditions": [format!("[CERTIFICATE_EXPIRATION] > {below}")]}),
        )
        .await;
        let v = run(&app, name).await;
        assert_eq!(v["ok"], true, "{name}: {v:#}");
        let late = format!("{name}-late");
        define(
            &app,
            json!({"name": late, "kind": kind, "target": target,
                   "conditions": [format!("[CERTIFICATE_EXPIRATION] > {above}")]}),
        )
        .await;
        let v = run(&app, &late).await;
        assert_eq!(v["ok"], false, "{name}: {v:#}");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("[CERTIFICATE_EXPIRATION]"),
            "{v:#}"
        );
    }
    // The default condition of a TLS check: the certificate is valid now.
    define(
        &app,
        json!({"name": "cert-default", "kind": "tls",
               "target": format!("localhost:{}", good.port())}),
    )
    .await;
    assert_eq!(run(&app, "cert-default").await["ok"], true);
    // An expired certificate fails the handshake, and says so.
    define(
        &app,
        json!({"name": "cert-expired", "kind": "tls",
               "target": format!("localhost:{}", expired.port())}),
    )
    .await;
    let v = run(&app, "cert-expired").await;
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("expired"),
        "{v:#}"
    );
}

// ---- logs ------------------------------------------------------------------

fn append(path: &std::path::Path, lines: &[&str]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

/// The count a failing `[MATCHES] < 3` run reports (`… (was N)`), or
/// `None` for a passing run.
fn matches_seen(v: &Value) -> Option<u64> {
    if v["ok"] == true {
        return None;
    }
    let m = v["message"].as_str().unwrap();
    let n = m.rsplit_once("(was ").expect(m).1.trim_end_matches(')');
    Some(n.parse().expect(m))
}

async fn log_checks_count_matches_across_rotation_and_truncation(engine: EngineKind) {
    let app = TestApp::start_with(engine, &[NO_SCHEDULER]).await;
    setup(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("app.log");
    let sub = dir.path().join("worker");
    std::fs::create_dir(&sub).unwrap();
    // Old errors are there before the check: the baseline skips them.
    append(
        &log,
        &["12:00 ERROR old", "12:00 ERROR old", "12:00 ERROR old"],
    );
    define(
        &app,
        json!({"name": "app-errors", "kind": "log", "target": dir.path().display().to_string(),
               "pattern": "\\bERROR\\b", "window_minutes": 60,
               "conditions": ["[MATCHES] < 3"]}),
    )
    .await;
    assert_eq!(matches_seen(&run(&app, "app-errors").await), None);

    // Two new errors (one in a subdirectory's file) and an info line; a
    // partial line waits for its end.
    append(&log, &["12:01 ERROR a", "12:01 INFO fine"]);
    append(&sub.join("w.log"), &["12:01 ERROR b"]);
    std::fs::OpenOptions::new()
        .append(true)
        .open(&log)
        .unwrap()
        .write_all(b"12:02 ERR")
        .unwrap();
    assert_eq!(matches_seen(&run(&app, "app-errors").await), None);

    // Rotation: app.log renamed to app.log.1 (its partial line completed
    // there), a new app.log, and a compressed old rotation (skipped).
    std::fs::rename(&log, dir.path().join("app.log.1")).unwrap();
    {
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.path().join("app.log.1"))
            .unwrap();
        f.write_all(b"OR c\n").unwrap();
    }
    append(&log, &["12:03 ERROR d"]);
    std::fs::write(dir.path().join("app.log.2.gz"), b"ERROR\nERROR\nERROR\n").unwrap();
    // 2 before, `ERROR c` completed and `ERROR d`: 4 in the window.
    assert_eq!(matches_seen(&run(&app, "app-errors").await), Some(4));

    // Truncation (copytruncate): the new content is read from the start.
    std::fs::write(&log, b"ERROR e\n").unwrap();
    assert_eq!(matches_seen(&run(&app, "app-errors").await), Some(5));
    // Nothing new: the window still holds 5.
    assert_eq!(matches_seen(&run(&app, "app-errors").await), Some(5));
    // Its results are recorded as any check's.
    let results = app
        .get(&app.member, "/api/v1/checks/app-errors/results")
        .await
        .ok(200)
        .body;
    assert_eq!(results.as_array().unwrap().len(), 5, "{results:#}");

    // A path that does not exist fails, naming it.
    define(
        &app,
        json!({"name": "missing-log", "kind": "log", "target": "/nonexistent/tandem-logs",
               "pattern": "ERROR"}),
    )
    .await;
    let v = run(&app, "missing-log").await;
    assert_eq!(v["ok"], false);
    assert!(
        v["message"]
            .as_str()
            .unwrap()
            .contains("/nonexistent/tandem-logs"),
        "{v:#}"
    );
}

async fn log_checks_read_s3_objects_under_a_prefix(engine: EngineKind) {
    let s3 = crate::report_delivery::s3_server().await;
    let bucket = format!("logs-{}", uuid::Uuid::now_v7().simple());
    let http = reqwest::Client::new();
    let r = http
        .put(format!("{}/{bucket}", s3.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create the bucket: {}", r.status());
    // Objects written with signed requests, as any S3 client would.
    let objects = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(&bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_endpoint(&s3.url)
        .with_allow_http(true)
        .build()
        .unwrap();
    let put = |key: String, body: &'static str| {
        let objects = &objects;
        async move {
            use object_store::ObjectStoreExt;
            objects
                .put(&object_store::path::Path::from(key.as_str()), body.into())
                .await
                .unwrap_or_else(|e| panic!("PUT {key}: {e}"));
        }
    };
    put("app/2026-12-07/00.log".into(), "ERROR old\nINFO ok\n").await;
    put("other/x.log".into(), "ERROR elsewhere\n").await;

    let s3_settings = format!(
        "{{bucket = \"{bucket}\", endpoint = \"{}\", region = \"us-east-1\", \
         access_key_id = \"test\", secret_access_key = \"test\", allow_http = true}}",
        s3.url
    );
    let app = TestApp::start_with(
        engine,
        &[NO_SCHEDULER, ("TANDEM_MONITOR__S3", s3_settings.as_str())],
    )
    .await;
    setup(&app).await;
    define(
        &app,
        json!({"name": "s3-errors", "kind": "log", "target": format!("s3://{bucket}/app/"),
               "pattern": "^ERROR", "conditions": ["[MATCHES] < 3"]}),
    )
    .await;
    // Baseline.
    assert_eq!(matches_seen(&run(&app, "s3-errors").await), None);
    // New objects under the prefix are read whole; others are not.
    put("app/2026-12-07/01.log".into(), "ERROR a\nERROR b\nINFO c\n").await;
    put("other/y.log".into(), "ERROR elsewhere\n").await;
    assert_eq!(matches_seen(&run(&app, "s3-errors").await), None);
    // An object rewritten longer (a shipper appending): only the new lines.
    put(
        "app/2026-12-07/01.log".into(),
        "ERROR a\nERROR b\nINFO c\nERROR d\n",
    )
    .await;
    assert_eq!(matches_seen(&run(&app, "s3-errors").await), Some(3));
}

// ---- bad input ---------------------------------------------------------------

async fn bad_definitions_of_the_new_kinds_name_the_field(engine: EngineKind) {
    let app = TestApp::start_with(engine, &[NO_SCHEDULER]).await;
    setup(&app).await;
    for (body, field) in [
        (
            json!({"kind": "dns", "target": "api.example.com", "record_type": "BOGUS"}),
            "record_type",
        ),
        (
            json!({"kind": "dns", "target": "api.example.com", "nameserver": "ns.example.com"}),
            "nameserver",
        ),
        (json!({"kind": "dns", "target": "not a name"}), "target"),
        (
            json!({"kind": "tls", "target": "https://example.com/"}),
            "target",
        ),
        (
            json!({"kind": "tls", "target": "example.com:443",
                   "conditions": ["[STATUS] == 200"]}),
            "conditions[0]",
        ),
        (json!({"kind": "log", "target": "/var/log/app"}), "pattern"),
        (
            json!({"kind": "log", "target": "/var/log/app", "pattern": "(unclosed"}),
            "pattern",
        ),
        (
            json!({"kind": "log", "target": "logs/app", "pattern": "ERROR"}),
            "target",
        ),
        (
            json!({"kind": "log", "target": "/var/log/app", "pattern": "ERROR",
                   "window_minutes": 5000}),
            "window_minutes",
        ),
        (
            json!({"kind": "http", "target": "https://example.com/", "pattern": "ERROR"}),
            "pattern",
        ),
        (
            json!({"kind": "log", "target": "/var/log/app", "pattern": "ERROR",
                   "conditions": ["[MATCHES] =~ 3"]}),
            "conditions[0]",
        ),
    ] {
        let mut b = json!({"name": "bad", "team": "pay", "service": "payments"});
        for (k, v) in body.as_object().unwrap() {
            b[k] = v.clone();
        }
        app.post(&app.manager, "/api/v1/checks", b)
            .await
            .err_field(422, "invalid", field);
    }
    assert_eq!(
        app.get(&app.member, "/api/v1/checks").await.ok(200).body,
        json!([])
    );
}
