//! `tandem backup` and `tandem restore` end to end: a backup from one
//! engine restored into a fresh database of the other gives an identical
//! `tandem export`; a non-empty database, a corrupt backup and a foreign
//! file are refused with nothing written; `backup prune` deletes exactly
//! the expired backups.

use std::process::Output;

use tandem_store::EngineKind;
use tandem_testkit::{TestDb, per_engine};

per_engine!(round_trip_to_the_other_engine_and_refusals);

async fn tandem(db: &str, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--database")
        .arg(db)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .output()
        .await
        .expect("run tandem")
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
    assert_eq!(ok(&tandem(&empty.url, &["export"]).await), empty_export);

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
