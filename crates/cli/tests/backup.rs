//! `tandem backup` and `tandem restore` end to end: a backup from one
//! engine restored into a fresh database of the other gives an identical
//! `tandem export`, from a directory and from S3 (moto); a non-empty
//! database, a corrupt, truncated or foreign file are refused with nothing
//! written; `backup prune` and the scheduled backups delete exactly the
//! expired backups; a backup killed mid-way leaves `latest` on the previous
//! good one, which `tandem restore` still restores.

use std::process::Output;
use std::sync::Arc;
use std::time::Duration;

use tandem_store::EngineKind;
use tandem_testkit::{TestDb, per_engine};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

per_engine!(
    round_trip_to_the_other_engine_and_refusals,
    s3_round_trip_to_the_other_engine,
    a_backup_killed_mid_way_leaves_latest_on_the_previous_one,
    scheduled_backups_keep_exactly_what_retention_keeps,
);

async fn tandem(db: &str, args: &[&str]) -> Output {
    tandem_with(db, args, &[]).await
}

fn command(db: &str, args: &[&str], env: &[(&str, &str)]) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem"));
    cmd.arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL");
    for var in [
        "AWS_ENDPOINT",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_ALLOW_HTTP",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
    ] {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

async fn tandem_with(db: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    command(db, args, env).output().await.expect("run tandem")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "tandem failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn refused(out: &Output, code: i32) -> String {
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(code), "{err}");
    err
}

fn gzip(text: &str) -> Vec<u8> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    gz.finish().unwrap()
}

fn write_backup(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    use sha2::Digest;
    std::fs::write(dir.join(name), bytes).unwrap();
    let sum = hex::encode(sha2::Sha256::digest(bytes));
    std::fs::write(
        dir.join(format!("{name}.sha256")),
        format!("{sum}  {name}\n"),
    )
    .unwrap();
}

async fn round_trip_to_the_other_engine_and_refusals(engine: EngineKind) {
    let other = match engine {
        EngineKind::Sqlite => EngineKind::Postgres,
        EngineKind::Postgres => EngineKind::Sqlite,
    };
    let src = TestDb::new(engine).await;
    drop(src.store().await);
    ok(&tandem(&src.url, &["demo"]).await);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().to_str().unwrap();
    let report: serde_json::Value = serde_json::from_str(&ok(&tandem(
        &src.url,
        &["backup", "--to", to, "--format", "json"],
    )
    .await))
    .unwrap();
    let name = report["name"].as_str().unwrap().to_owned();
    assert!(report["records"].as_u64().unwrap() > 100, "{report}");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("latest"))
            .unwrap()
            .trim(),
        name
    );
    assert!(dir.path().join(format!("{name}.sha256")).exists());

    // Into a fresh database of the other engine: the same export.
    let dst = TestDb::new(other).await;
    drop(dst.store().await);
    ok(&tandem(&dst.url, &["restore", "--from", to]).await);
    let source_export = ok(&tandem(&src.url, &["export"]).await);
    assert_eq!(ok(&tandem(&dst.url, &["export"]).await), source_export);

    // A database that holds data: refused, exit 3, unchanged.
    let err = refused(&tandem(&dst.url, &["restore", "--from", to]).await, 3);
    assert!(err.contains("not empty"), "{err}");
    assert_eq!(ok(&tandem(&dst.url, &["export"]).await), source_export);

    // Corrupt, foreign and future-version files into an empty database:
    // refused before anything is written.
    let empty = TestDb::new(other).await;
    drop(empty.store().await);
    let empty_export = ok(&tandem(&empty.url, &["export"]).await);
    let bad = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(dir.path().join(&name)).unwrap();
    let sum = std::fs::read(dir.path().join(format!("{name}.sha256"))).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(bad.path().join(&name), &bytes).unwrap();
    std::fs::write(bad.path().join(format!("{name}.sha256")), sum).unwrap();
    let path = bad.path().join(&name);
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("corrupt"), "{err}");

    write_backup(
        bad.path(),
        "tandem-20260101T000000Z.jsonl.gz",
        &gzip("hello, world\n"),
    );
    let path = bad.path().join("tandem-20260101T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("not a tandem-dump header"), "{err}");

    write_backup(
        bad.path(),
        "tandem-20260102T000000Z.jsonl.gz",
        &gzip("{\"format\":\"tandem-dump\",\"version\":99}\n"),
    );
    let path = bad.path().join("tandem-20260102T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("version 99 is not supported"), "{err}");

    write_backup(
        bad.path(),
        "tandem-20260103T000000Z.jsonl.gz",
        b"plain text",
    );
    let path = bad.path().join("tandem-20260103T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("not gzip"), "{err}");

    // A truncated backup whose checksum matches (copied half-way, then
    // summed): the gzip stream ends early.
    let whole = std::fs::read(dir.path().join(&name)).unwrap();
    write_backup(
        bad.path(),
        "tandem-20260104T000000Z.jsonl.gz",
        &whole[..whole.len() * 2 / 3],
    );
    let path = bad.path().join("tandem-20260104T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(
        err.contains("was not restored, the database is unchanged"),
        "{err}"
    );

    // JSON lines of another format, and another tool's JSON lines.
    write_backup(
        bad.path(),
        "tandem-20260105T000000Z.jsonl.gz",
        &gzip("{\"format\":\"pg_dump\",\"version\":1}\n{\"type\":\"team\"}\n"),
    );
    let path = bad.path().join("tandem-20260105T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(
        err.contains("format \"pg_dump\" version 1 is not supported"),
        "{err}"
    );
    write_backup(
        bad.path(),
        "tandem-20260106T000000Z.jsonl.gz",
        &gzip("{\"id\":1,\"name\":\"payments\"}\n"),
    );
    let path = bad.path().join("tandem-20260106T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("not a tandem-dump header"), "{err}");

    // A good dump whose records stop half-way through a line (a torn
    // write): refused at that line, nothing written.
    let text = String::from_utf8(
        tandem_app::backup::gunzip(&std::fs::read(dir.path().join(&name)).unwrap()).unwrap(),
    )
    .unwrap();
    // Ten bytes into a line (every line is longer).
    let torn = &text[..text[..text.len() / 2].rfind('\n').unwrap() + 11];
    write_backup(bad.path(), "tandem-20260107T000000Z.jsonl.gz", &gzip(torn));
    let path = bad.path().join("tandem-20260107T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("line"), "{err}");

    // Random bytes, and a backup without its checksum file.
    let noise: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    write_backup(bad.path(), "tandem-20260108T000000Z.jsonl.gz", &noise);
    let path = bad.path().join("tandem-20260108T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("not a Tandem backup"), "{err}");
    std::fs::write(bad.path().join("tandem-20260109T000000Z.jsonl.gz"), &whole).unwrap();
    let path = bad.path().join("tandem-20260109T000000Z.jsonl.gz");
    let err = refused(
        &tandem(&empty.url, &["restore", "--from", path.to_str().unwrap()]).await,
        2,
    );
    assert!(err.contains("no checksum file"), "{err}");

    // After every refusal: still empty.
    assert_eq!(ok(&tandem(&empty.url, &["export"]).await), empty_export);
    let store = empty.store().await;
    assert_eq!(store.first_table_with_rows().await.unwrap(), None);
    store.close().await;

    // Prune: one backup a day for 40 days; exactly the expired ones go.
    let many = tempfile::tempdir().unwrap();
    let start = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 1, 2, 0, 0).unwrap();
    let taken: Vec<_> = (0..40).map(|d| start + chrono::Duration::days(d)).collect();
    for t in &taken {
        write_backup(many.path(), &tandem_domain::backup::backup_name(*t), b"x");
    }
    let policy = tandem_domain::backup::Retention {
        daily: 7,
        weekly: 4,
        monthly: 12,
    };
    let expected: Vec<String> = tandem_domain::backup::expired(&taken, &policy)
        .into_iter()
        .map(tandem_domain::backup::backup_name)
        .collect();
    let out: serde_json::Value = serde_json::from_str(&ok(&tandem(
        &src.url,
        &[
            "backup",
            "prune",
            "--to",
            many.path().to_str().unwrap(),
            "--format",
            "json",
        ],
    )
    .await))
    .unwrap();
    let deleted: Vec<String> = serde_json::from_value(out["deleted"].clone()).unwrap();
    assert_eq!(deleted, expected);
    let mut left: Vec<String> = std::fs::read_dir(many.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| !n.ends_with(".sha256"))
        .collect();
    left.sort();
    let mut kept: Vec<String> = tandem_domain::backup::kept(&taken, &policy)
        .into_iter()
        .map(tandem_domain::backup::backup_name)
        .collect();
    kept.sort();
    assert_eq!(left, kept);
    assert_eq!(kept.len() + deleted.len(), 40);
}

use tandem_testkit::s3::S3Server;

/// The S3 stand-in (`tandem_testkit::s3`).
async fn moto() -> S3Server {
    S3Server::start().await
}

/// What the tests do with the S3 stand-in, beside starting it.
trait Moto {
    async fn bucket(&self) -> String;
    fn client(&self, bucket: &str) -> object_store::aws::AmazonS3;
    async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>>;
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String>;
}

impl Moto for S3Server {
    /// A new bucket (object_store cannot create one: a plain PUT does).
    async fn bucket(&self) -> String {
        let bucket = format!("tandem-{}", uuid::Uuid::now_v7().simple());
        let r = reqwest::Client::new()
            .put(format!("{}/{bucket}", self.url))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "create the bucket: {}", r.status());
        bucket
    }

    /// A signed client of `bucket`, as any S3 client would read it.
    fn client(&self, bucket: &str) -> object_store::aws::AmazonS3 {
        object_store::aws::AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region("us-east-1")
            .with_access_key_id("test")
            .with_secret_access_key("test")
            .with_endpoint(&self.url)
            .with_allow_http(true)
            .build()
            .unwrap()
    }

    /// An object's bytes, `None` when it does not exist.
    async fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        use object_store::ObjectStoreExt;
        match self
            .client(bucket)
            .get(&object_store::path::Path::from(key))
            .await
        {
            Ok(r) => Some(r.bytes().await.unwrap().to_vec()),
            Err(object_store::Error::NotFound { .. }) => None,
            Err(e) => panic!("GET {bucket}/{key}: {e}"),
        }
    }

    /// The keys under `prefix/`.
    async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        use object_store::ObjectStore;
        let listed = self
            .client(bucket)
            .list_with_delimiter(Some(&object_store::path::Path::from(prefix)))
            .await
            .unwrap();
        let mut keys: Vec<String> = listed
            .objects
            .iter()
            .map(|o| o.location.to_string())
            .collect();
        keys.sort();
        keys
    }
}

/// The `AWS_*` variables pointing `object_store` at `endpoint`.
fn aws(endpoint: &str) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT", endpoint.to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".into()),
        ("AWS_SECRET_ACCESS_KEY", "test".into()),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

fn env_refs<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// `tandem backup --to s3://…` to moto, then `tandem restore --from
/// s3://…` into a fresh database of the other engine: the same export.
/// From SQLite the S3 connection comes from the `AWS_*` environment, from
/// PostgreSQL from `[backup.s3]` in the configuration file.
async fn s3_round_trip_to_the_other_engine(engine: EngineKind) {
    let other = match engine {
        EngineKind::Sqlite => EngineKind::Postgres,
        EngineKind::Postgres => EngineKind::Sqlite,
    };
    let s3 = moto().await;
    let bucket = s3.bucket().await;
    let to = format!("s3://{bucket}/backups/tandem");
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("tandem.toml");
    std::fs::write(
        &config,
        format!(
            "[backup]\nto = \"{to}\"\n[backup.s3]\nbucket = \"{bucket}\"\nendpoint = \"{}\"\n\
             access_key_id = \"test\"\nsecret_access_key = \"test\"\nallow_http = true\n",
            s3.url
        ),
    )
    .unwrap();
    let (env, config_args): (Vec<(&'static str, String)>, Vec<&str>) = match engine {
        EngineKind::Sqlite => (aws(&s3.url), vec![]),
        EngineKind::Postgres => (vec![], vec!["--config", config.to_str().unwrap()]),
    };
    let env = env_refs(&env);
    let with = |args: &[&str]| -> Vec<String> {
        config_args
            .iter()
            .chain(args)
            .map(|a| (*a).to_owned())
            .collect()
    };

    let src = TestDb::new(engine).await;
    drop(src.store().await);
    ok(&tandem(&src.url, &["demo"]).await);
    let args = with(&["backup", "--to", &to, "--format", "json"]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let report: serde_json::Value =
        serde_json::from_str(&ok(&tandem_with(&src.url, &args, &env).await)).unwrap();
    let name = report["name"].as_str().unwrap().to_owned();
    assert!(report["records"].as_u64().unwrap() > 100, "{report}");
    assert_eq!(
        s3.keys(&bucket, "backups/tandem").await,
        [
            "backups/tandem/latest".to_owned(),
            format!("backups/tandem/{name}"),
            format!("backups/tandem/{name}.sha256"),
        ]
    );
    assert_eq!(
        String::from_utf8(s3.get(&bucket, "backups/tandem/latest").await.unwrap())
            .unwrap()
            .trim(),
        name
    );
    let stored = s3
        .get(&bucket, &format!("backups/tandem/{name}"))
        .await
        .unwrap();
    assert_eq!(stored.len() as u64, report["bytes"].as_u64().unwrap());

    // `latest` by default, and the file named explicitly: both restore
    // the same data as the source's export.
    let source_export = ok(&tandem(&src.url, &["export"]).await);
    for from in [to.clone(), format!("{to}/{name}")] {
        let dst = TestDb::new(other).await;
        drop(dst.store().await);
        let args = with(&["restore", "--from", &from]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = ok(&tandem_with(&dst.url, &args, &env).await);
        assert!(out.contains(&name), "{out}");
        assert_eq!(ok(&tandem(&dst.url, &["export"]).await), source_export);
        // The stored export reads back to the very same lines.
        assert_eq!(
            String::from_utf8(tandem_app::backup::gunzip(&stored).unwrap()).unwrap(),
            source_export
        );
    }

    // A prefix with no backup: refused with a message, nothing written.
    let dst = TestDb::new(other).await;
    drop(dst.store().await);
    let from = format!("s3://{bucket}/elsewhere");
    let args = with(&["restore", "--from", &from]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = tandem_with(&dst.url, &args, &env).await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no `latest` backup"), "{err}");
    let store = dst.store().await;
    assert_eq!(store.first_table_with_rows().await.unwrap(), None);
    store.close().await;
}

/// A TCP relay in front of moto that holds the first request whose
/// request line starts with `hold` (e.g. `PUT /bucket/prefix/latest`): it
/// passes its headers and half its body on, then nothing more, and tells
/// the test, which kills the `tandem` process in the middle of that upload.
/// Every other byte goes through unchanged, both ways.
async fn relay(upstream: String, hold: String) -> (String, Arc<tokio::sync::Notify>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = Arc::new(tokio::sync::Notify::new());
    let notify = held.clone();
    let upstream = upstream.trim_start_matches("http://").to_owned();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else {
                return;
            };
            let upstream = upstream.clone();
            let hold = hold.clone();
            let notify = notify.clone();
            tokio::spawn(async move {
                let server = tokio::net::TcpStream::connect(&upstream).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut sr, &mut cw).await;
                });
                let mut pending: Vec<u8> = Vec::new();
                let mut buf = vec![0u8; 64 * 1024];
                let marker = hold.as_bytes();
                loop {
                    // A tail that may start the marker waits for more
                    // bytes, but never for long: a body may just end so.
                    let read = if pending.is_empty() {
                        Ok(cr.read(&mut buf).await)
                    } else {
                        tokio::time::timeout(Duration::from_millis(200), cr.read(&mut buf)).await
                    };
                    let n = match read {
                        Ok(Ok(0)) | Ok(Err(_)) => return,
                        Ok(Ok(n)) => n,
                        Err(_) => {
                            if sw.write_all(&pending).await.is_err() {
                                return;
                            }
                            pending.clear();
                            continue;
                        }
                    };
                    pending.extend_from_slice(&buf[..n]);
                    if let Some(at) = find(&pending, marker) {
                        // Wait for the headers, then pass half the body.
                        let Some(end) = find(&pending[at..], b"\r\n\r\n") else {
                            if sw.write_all(&pending[..at]).await.is_err() {
                                return;
                            }
                            pending.drain(..at);
                            continue;
                        };
                        let head = String::from_utf8_lossy(&pending[at..at + end]).to_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .map(|v| v.trim().parse().unwrap())
                            .unwrap_or(0);
                        let upto = (at + end + 4 + length / 2).min(pending.len());
                        let _ = sw.write_all(&pending[..upto]).await;
                        let _ = sw.flush().await;
                        notify.notify_one();
                        // Hold the rest until the client goes away.
                        while let Ok(n) = cr.read(&mut buf).await {
                            if n == 0 {
                                break;
                            }
                        }
                        return;
                    }
                    // Keep the longest tail that is a start of the marker.
                    let keep = (1..=marker.len().min(pending.len()))
                        .rev()
                        .find(|&k| marker.starts_with(&pending[pending.len() - k..]))
                        .unwrap_or(0);
                    let send = pending.len() - keep;
                    if sw.write_all(&pending[..send]).await.is_err() {
                        return;
                    }
                    pending.drain(..send);
                }
            });
        }
    });
    (url, held)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// An interrupted backup leaves no half object visible and `latest` on the
/// previous good backup, which `tandem restore` (the default: `latest`)
/// still restores, whole, into the other engine. Twice: killed while the
/// backup itself is uploaded, and killed while `latest` is written (the
/// backup and its checksum already stored and verified).
async fn a_backup_killed_mid_way_leaves_latest_on_the_previous_one(engine: EngineKind) {
    let other = match engine {
        EngineKind::Sqlite => EngineKind::Postgres,
        EngineKind::Postgres => EngineKind::Sqlite,
    };
    let s3 = moto().await;
    let bucket = s3.bucket().await;
    let prefix = "nightly";
    let to = format!("s3://{bucket}/{prefix}");
    let src = TestDb::new(engine).await;
    drop(src.store().await);
    ok(&tandem(&src.url, &["demo"]).await);
    let direct = aws(&s3.url);
    let report: serde_json::Value = serde_json::from_str(&ok(&tandem_with(
        &src.url,
        &["backup", "--to", &to, "--format", "json"],
        &env_refs(&direct),
    )
    .await))
    .unwrap();
    let good = report["name"].as_str().unwrap().to_owned();
    let good_export = ok(&tandem(&src.url, &["export"]).await);

    // The data changes after the good backup.
    ok(&tandem(
        &src.url,
        &["team", "create", "--key", "later", "--name", "Later"],
    )
    .await);
    assert_ne!(ok(&tandem(&src.url, &["export"]).await), good_export);

    for (i, hold) in [
        format!("PUT /{bucket}/{prefix}/tandem-"),
        format!("PUT /{bucket}/{prefix}/latest "),
    ]
    .into_iter()
    .enumerate()
    {
        // Backup names are whole seconds: a new second for a new name.
        tokio::time::sleep(Duration::from_millis(1100)).await;
        let (endpoint, held) = relay(s3.url.clone(), hold.clone()).await;
        let env = aws(&endpoint);
        let mut child = command(&src.url, &["backup", "--to", &to], &env_refs(&env))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // Generous: a loaded machine runs the debug binary slowly.
        tokio::time::timeout(Duration::from_secs(600), async {
            tokio::select! {
                _ = held.notified() => {}
                status = child.wait() => panic!("the backup ended before sending {hold:?}: {status:?}"),
            }
        })
        .await
        .unwrap_or_else(|_| panic!("the backup never sent {hold:?}"));
        child.kill().await.unwrap();

        let latest = s3
            .get(&bucket, &format!("{prefix}/latest"))
            .await
            .expect("latest is still there");
        assert_eq!(String::from_utf8(latest).unwrap().trim(), good, "case {i}");
        let keys = s3.keys(&bucket, prefix).await;
        let backups: Vec<&String> = keys.iter().filter(|k| k.ends_with(".jsonl.gz")).collect();
        if i == 0 {
            // Killed while the backup was uploaded: no trace of it.
            assert_eq!(
                keys,
                [
                    format!("{prefix}/latest"),
                    format!("{prefix}/{good}"),
                    format!("{prefix}/{good}.sha256"),
                ],
                "case {i}"
            );
        } else {
            // Killed while `latest` was written: the new backup is whole
            // (its checksum matches), but not the one `latest` names.
            assert_eq!(backups.len(), 2, "{keys:?}");
            let newer = backups.iter().find(|k| !k.ends_with(&good)).unwrap();
            let bytes = s3.get(&bucket, newer).await.unwrap();
            let sum = s3.get(&bucket, &format!("{newer}.sha256")).await.unwrap();
            use sha2::Digest;
            assert!(
                String::from_utf8(sum)
                    .unwrap()
                    .starts_with(&hex::encode(sha2::Sha256::digest(&bytes)))
            );
        }

        // `tandem restore` (latest) restores the previous good backup.
        let dst = TestDb::new(other).await;
        drop(dst.store().await);
        let out = ok(&tandem_with(&dst.url, &["restore", "--from", &to], &env_refs(&direct)).await);
        assert!(out.contains(&good), "{out}");
        assert_eq!(ok(&tandem(&dst.url, &["export"]).await), good_export);
    }
}

/// The scheduled backups (`backup.schedule`, daily at 02:00 UTC here) on a
/// controlled clock: every due time is taken by exactly one of two
/// replicas, and after each backup the directory holds exactly what
/// `keep_daily/weekly/monthly` keep of every backup taken so far. A run
/// that fails is retried by another replica once its lease runs out.
async fn scheduled_backups_keep_exactly_what_retention_keeps(engine: EngineKind) {
    use chrono::TimeZone;
    use tandem_domain::backup::{Retention, backup_name, kept};
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    ok(&tandem(
        &db.url,
        &["team", "create", "--key", "ops", "--name", "Ops"],
    )
    .await);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("scheduled");
    let settings = |to: &str| {
        tandem_app::Settings::load_from(
            None,
            &[
                ("TANDEM_DATABASE__URL".to_owned(), db.url.clone()),
                ("TANDEM_BACKUP__TO".to_owned(), to.to_owned()),
                ("TANDEM_BACKUP__SCHEDULE".to_owned(), "0 2 * * *".to_owned()),
                ("TANDEM_BACKUP__KEEP_DAILY".to_owned(), "3".to_owned()),
                ("TANDEM_BACKUP__KEEP_WEEKLY".to_owned(), "2".to_owned()),
                ("TANDEM_BACKUP__KEEP_MONTHLY".to_owned(), "2".to_owned()),
            ],
        )
        .unwrap()
    };
    let good = settings(to.to_str().unwrap());
    let policy = Retention {
        daily: 3,
        weekly: 2,
        monthly: 2,
    };
    let listing = || {
        let mut names: Vec<String> = std::fs::read_dir(&to)
            .map(|d| {
                d.map(|e| e.unwrap().file_name().into_string().unwrap())
                    .filter(|n| n.ends_with(".jsonl.gz"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    };

    let start = chrono::Utc.with_ymd_and_hms(2026, 1, 20, 1, 0, 0).unwrap();
    let mut taken = Vec::new();
    for day in 0..45 {
        let due = start + chrono::Duration::days(day) + chrono::Duration::hours(1);
        // 01:00: the previous day's 02:00 is long done.
        let early = due - chrono::Duration::hours(1);
        if day > 0 {
            for owner in ["a", "b"] {
                assert!(
                    tandem_app::backup::scheduled(&store, &good, owner, early)
                        .await
                        .unwrap()
                        .is_none(),
                    "day {day}: nothing due at 01:00"
                );
            }
        }
        // 02:00:30 on both replicas: one takes it, the other finds it taken.
        let now = due + chrono::Duration::seconds(30);
        let (first, second) = if day % 2 == 0 { ("a", "b") } else { ("b", "a") };
        let run = tandem_app::backup::scheduled(&store, &good, first, now)
            .await
            .unwrap()
            .expect("the due backup is taken");
        assert_eq!(run.due_at, due);
        let (backup, pruned) = run.outcome.unwrap();
        assert_eq!(backup.name, backup_name(now));
        taken.push(now);
        assert!(
            tandem_app::backup::scheduled(
                &store,
                &good,
                second,
                now + chrono::Duration::seconds(5)
            )
            .await
            .unwrap()
            .is_none(),
            "day {day}: taken twice"
        );
        let mut expected: Vec<String> =
            kept(&taken, &policy).into_iter().map(backup_name).collect();
        expected.sort();
        assert_eq!(listing(), expected, "day {day}");
        let mut reported = pruned.kept.clone();
        reported.sort();
        assert_eq!(reported, expected, "day {day}");
    }
    // 45 days with 3 daily, 2 weekly, 2 monthly: far fewer than 45 left.
    assert!(listing().len() <= 7, "{:?}", listing());
    let runs = store.backup_runs(100).await.unwrap();
    assert_eq!(runs.len(), 45);
    assert!(runs.iter().all(|r| r.outcome.as_deref() == Some("done")));

    // A run that fails (the destination cannot be created) stays
    // unfinished with its error; the other replica retries it only once
    // the lease has run out.
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, b"not a directory").unwrap();
    let broken = settings(blocked.join("sub").to_str().unwrap());
    let now = start + chrono::Duration::days(45) + chrono::Duration::hours(1);
    let run = tandem_app::backup::scheduled(&store, &broken, "a", now)
        .await
        .unwrap()
        .expect("due");
    assert!(run.outcome.is_err());
    let failed = &store.backup_runs(1).await.unwrap()[0];
    assert_eq!(failed.outcome.as_deref(), Some("failed"));
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("backup directory"),
        "{failed:?}"
    );
    assert_eq!(failed.finished_at, None);
    let soon = now + chrono::Duration::minutes(5);
    assert!(
        tandem_app::backup::scheduled(&store, &good, "b", soon)
            .await
            .unwrap()
            .is_none()
    );
    let later = now + chrono::Duration::minutes(tandem_app::backup::RUN_LEASE_MINUTES + 1);
    let run = tandem_app::backup::scheduled(&store, &good, "b", later)
        .await
        .unwrap()
        .expect("taken over after the lease");
    assert_eq!(run.due_at, failed.due_at);
    assert!(run.outcome.is_ok());
    let done = &store.backup_runs(1).await.unwrap()[0];
    assert_eq!(done.claimed_by, "b");
    assert_eq!(done.outcome.as_deref(), Some("done"));
    assert_eq!(done.error, None);
    store.close().await;
}
