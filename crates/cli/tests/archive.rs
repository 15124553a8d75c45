//! The archive (ADR 0036) end to end against a local S3 stand-in (moto):
//! raw deliveries past retention are written to S3 as gzip JSON lines by
//! month and only then deleted; an upload that fails (no such bucket, S3
//! unreachable) deletes nothing; `tandem archive search` finds them by id,
//! range and text, and sent reports too; a pass repeated after a deletion
//! that failed gives no duplicate results. On SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::io::Read;
use std::process::Output;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use serde_json::Value;
use tandem_domain::engineering::{Outcome, Provider, RawDelivery};
use tandem_store::{ArchivedReport, RawDeliveryFilter, Store};
use tandem_testkit::{EngineKindReexport as EngineKind, TestDb, per_engine};
use uuid::Uuid;

per_engine!(deliveries_past_retention_are_archived_found_and_never_lost);

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

use tandem_testkit::s3::S3Server;

/// A bucket of this test's own (object_store cannot create one: a plain
/// HTTP PUT does).
async fn bucket(s3: &S3Server) -> String {
    let bucket = format!("archive-{}", Uuid::now_v7().simple());
    let r = reqwest::Client::new()
        .put(format!("{}/{bucket}", s3.url))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "create the bucket: {}", r.status());
    bucket
}

/// A configuration file archiving to `to` through `endpoint`.
fn config(dir: &std::path::Path, name: &str, to: &str, endpoint: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(
        &path,
        format!(
            "[maintenance]\ndelivery_retention_days = 30\n\n[archive]\nto = \"{to}\"\n\n\
             [archive.s3]\nendpoint = \"{endpoint}\"\naccess_key_id = \"test\"\n\
             secret_access_key = \"test\"\nallow_http = true\n"
        ),
    )
    .unwrap();
    path
}

async fn tandem(db: &str, config: &std::path::Path, args: &[&str]) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_tandem"))
        .arg("--database")
        .arg(db)
        .arg("--config")
        .arg(config)
        .args(args)
        .env_remove("TANDEM_DATABASE__URL")
        .env("AWS_EC2_METADATA_DISABLED", "true")
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

fn json(out: &Output) -> Value {
    serde_json::from_str(&ok(out)).expect("JSON")
}

fn delivery(n: u32, received_at: DateTime<Utc>, body: &str) -> RawDelivery {
    RawDelivery {
        id: Uuid::now_v7(),
        provider: Provider::Github,
        delivery_id: format!("gh-delivery-{n}"),
        event: "push".into(),
        project_id: None,
        received_at,
        headers: BTreeMap::from([("x-github-event".to_owned(), "push".to_owned())]),
        body: body.as_bytes().to_vec(),
        outcome: Outcome::Applied,
        detail: format!("delivery {n}"),
    }
}

async fn stored_ids(store: &Store) -> Vec<String> {
    let mut ids: Vec<String> = store
        .list_deliveries(&RawDeliveryFilter {
            limit: 500,
            ..RawDeliveryFilter::default()
        })
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|d| d.delivery_id)
        .collect();
    ids.sort();
    ids
}

/// The delivery ids a search printed (as JSON).
fn found(v: &Value) -> Vec<String> {
    let mut ids: Vec<String> = v["found"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            f["record"]["delivery_id"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids
}

/// Every object under `prefix` in the bucket, by key (moto's ListObjectsV2).
async fn objects(s3: &S3Server, bucket: &str, prefix: &str) -> Vec<String> {
    let xml = reqwest::get(format!("{}/{bucket}?list-type=2&prefix={prefix}", s3.url))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut keys: Vec<String> = xml
        .split("<Key>")
        .skip(1)
        .filter_map(|s| s.split("</Key>").next())
        .map(str::to_owned)
        .collect();
    keys.sort();
    keys
}

/// An object's bytes, read with a signed request.
async fn get_object(s3: &S3Server, bucket: &str, key: &str) -> Vec<u8> {
    use object_store::ObjectStoreExt;
    let client = object_store::aws::AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_region("us-east-1")
        .with_access_key_id("test")
        .with_secret_access_key("test")
        .with_endpoint(&s3.url)
        .with_allow_http(true)
        .build()
        .unwrap();
    client
        .get(&object_store::path::Path::from(key))
        .await
        .unwrap_or_else(|e| panic!("GET {bucket}/{key}: {e}"))
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

async fn deliveries_past_retention_are_archived_found_and_never_lost(engine: EngineKind) {
    let db = TestDb::new(engine).await;
    let store = db.store().await;
    let s3 = S3Server::start().await;
    let bucket = bucket(&s3).await;
    let dir = tempfile::tempdir().unwrap();
    let good = config(
        dir.path(),
        "good.toml",
        &format!("s3://{bucket}/tandem"),
        &s3.url,
    );

    // Two in January, one in February (all past the 30 days), one recent.
    let jan = |d, h| Utc.with_ymd_and_hms(2026, 1, d, h, 0, 0).unwrap();
    let old = [
        delivery(
            1,
            jan(15, 9),
            r#"{"ref":"refs/heads/main","note":"Fix the login page"}"#,
        ),
        delivery(
            2,
            jan(31, 23),
            r#"{"ref":"refs/heads/main","note":"Faster checkout"}"#,
        ),
        delivery(
            3,
            Utc.with_ymd_and_hms(2026, 2, 10, 12, 0, 0).unwrap(),
            r#"{"ref":"refs/heads/release","note":"Rollback"}"#,
        ),
    ];
    let recent = delivery(
        4,
        tandem_domain::time::micros(Utc::now() - TimeDelta::days(1)),
        r#"{"note":"Fresh"}"#,
    );
    for d in old.iter().chain([&recent]) {
        assert!(store.record_delivery(d).await.unwrap());
    }
    let all = [
        "gh-delivery-1",
        "gh-delivery-2",
        "gh-delivery-3",
        "gh-delivery-4",
    ];
    assert_eq!(stored_ids(&store).await, all);

    // A bucket that does not exist: the upload fails, nothing is deleted,
    // neither by `tandem archive run` nor by serve's retention job.
    let missing = config(
        dir.path(),
        "missing.toml",
        &format!("s3://no-such-bucket-{}/tandem", Uuid::now_v7().simple()),
        &s3.url,
    );
    let err = refused(&tandem(&db.url, &missing, &["archive", "run"]).await, 1);
    assert!(
        err.contains("writing tandem/deliveries/2026-01/part-"),
        "{err}"
    );
    assert_eq!(stored_ids(&store).await, all);
    let settings = tandem_app::Settings::load_from(Some(&missing), &[]).unwrap();
    let pruned = tandem_app::jobs::prune(&store, &settings, Utc::now()).await;
    assert!(pruned.is_err(), "{pruned:?}");
    assert_eq!(stored_ids(&store).await, all);
    // S3 down (nothing listens on the port): the same, and search says so.
    let down = config(
        dir.path(),
        "down.toml",
        &format!("s3://{bucket}/tandem"),
        &format!("http://127.0.0.1:{}", free_port()),
    );
    refused(&tandem(&db.url, &down, &["archive", "run"]).await, 1);
    assert_eq!(stored_ids(&store).await, all);
    let err = refused(
        &tandem(&db.url, &down, &["archive", "search", "login"]).await,
        1,
    );
    assert!(err.contains("cannot list the archive s3://"), "{err}");

    // Reachable: written by month, then deleted; the recent one stays.
    let run = json(&tandem(&db.url, &good, &["archive", "run", "--format", "json"]).await);
    assert_eq!(run["deliveries"]["archived"], 3, "{run}");
    assert_eq!(run["deliveries"]["deleted"], 3, "{run}");
    assert_eq!(stored_ids(&store).await, ["gh-delivery-4"]);
    let keys = objects(&s3, &bucket, "tandem/deliveries/").await;
    assert_eq!(keys.len(), 2, "{keys:?}");
    assert!(
        keys[0].starts_with("tandem/deliveries/2026-01/part-20260115T090000"),
        "{keys:?}"
    );
    assert!(
        keys[1].starts_with("tandem/deliveries/2026-02/part-"),
        "{keys:?}"
    );
    // Each object is gzip JSON lines, the body as received.
    // Read as any S3 client reads it: signed (moto refuses anonymous GETs).
    let gz = get_object(&s3, &bucket, &keys[0]).await;
    assert!(
        gz.starts_with(&[0x1f, 0x8b]),
        "not gzip: {} bytes {:?}",
        gz.len(),
        &gz[..gz.len().min(16)]
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut text)
        .unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], old[0].id.to_string());
    assert_eq!(
        lines[0]["body"],
        r#"{"ref":"refs/heads/main","note":"Fix the login page"}"#
    );
    assert_eq!(lines[1]["received_at"], "2026-01-31T23:00:00Z");

    // Found by id (Tandem's or the sender's), range and text.
    let search = |args: &'static [&'static str]| {
        let (url, good) = (db.url.clone(), good.clone());
        async move {
            let mut all = vec!["archive", "search", "--format", "json"];
            all.extend_from_slice(args);
            json(&tandem(&url, &good, &all).await)
        }
    };
    let id = old[1].id.to_string();
    let by_id = json(
        &tandem(
            &db.url,
            &good,
            &[
                "archive",
                "search",
                "--kind",
                "deliveries",
                "--id",
                &id,
                "--format",
                "json",
            ],
        )
        .await,
    );
    assert_eq!(found(&by_id), ["gh-delivery-2"]);
    assert_eq!(
        found(&search(&["--kind", "deliveries", "--id", "gh-delivery-3"]).await),
        ["gh-delivery-3"]
    );
    assert_eq!(
        found(&search(&["--from", "2026-01-01", "--to", "2026-02-01"]).await),
        ["gh-delivery-1", "gh-delivery-2"]
    );
    assert_eq!(
        found(&search(&["--from", "2026-01-31T22:00:00Z", "--to", "2026-02-11"]).await),
        ["gh-delivery-2", "gh-delivery-3"]
    );
    assert_eq!(found(&search(&["login PAGE"]).await), ["gh-delivery-1"]);
    assert_eq!(
        found(
            &search(&[
                "--kind",
                "deliveries",
                "--from",
                "2026-02-01",
                "refs/heads/main"
            ])
            .await
        ),
        Vec::<String>::new()
    );
    let table = ok(&tandem(&db.url, &good, &["archive", "search", "--wide", "checkout"]).await);
    assert!(
        table.contains(&id) && table.contains("gh-delivery-2"),
        "{table}"
    );

    // The deletion after an upload failed (the rows came back as they were
    // read): the next pass writes the same object again, and one of them
    // again with another (a different batch makes another part). Search
    // still shows each delivery once.
    for d in &old {
        assert!(store.record_delivery(d).await.unwrap());
    }
    let run = json(&tandem(&db.url, &good, &["archive", "run", "--format", "json"]).await);
    assert_eq!(run["deliveries"]["archived"], 3, "{run}");
    assert_eq!(objects(&s3, &bucket, "tandem/deliveries/").await, keys);
    assert!(store.record_delivery(&old[0]).await.unwrap());
    ok(&tandem(&db.url, &good, &["archive", "run"]).await);
    assert_eq!(objects(&s3, &bucket, "tandem/deliveries/").await.len(), 3);
    assert_eq!(stored_ids(&store).await, ["gh-delivery-4"]);
    assert_eq!(
        found(&search(&["--kind", "deliveries"]).await),
        ["gh-delivery-1", "gh-delivery-2", "gh-delivery-3"]
    );

    // A sent report: written once (it stays in the database), found by
    // its team and by id.
    let team = tandem_domain::team::Team {
        id: Uuid::now_v7(),
        key: "payments".into(),
        name: "Payments".into(),
        timezone: "Europe/Berlin".into(),
        created_at: tandem_domain::time::micros(Utc::now()),
        updated_at: tandem_domain::time::micros(Utc::now()),
    };
    store.create_team(&team).await.unwrap();
    let report = ArchivedReport {
        id: Uuid::now_v7(),
        team_id: team.id,
        week: "2026-W10".into(),
        title: "Payments, week 10".into(),
        sent_at: Utc.with_ymd_and_hms(2026, 3, 6, 16, 0, 0).unwrap(),
        report: serde_json::json!({"summary": "Checkout is on track"}),
        markdown: "# Payments\nCheckout is on track".into(),
        html: "<h1>Payments</h1>".into(),
        text: "Payments".into(),
        slack: serde_json::json!({"blocks": []}),
        object_prefix: None,
    };
    store.archive_report(&report).await.unwrap();
    let run = json(&tandem(&db.url, &good, &["archive", "run", "--format", "json"]).await);
    assert_eq!(run["reports"]["archived"], 1, "{run}");
    let run = json(&tandem(&db.url, &good, &["archive", "run", "--format", "json"]).await);
    assert_eq!(run["reports"]["archived"], 0, "{run}");
    let hits = search(&["--kind", "reports", "on track"]).await;
    let hits = hits["found"].as_array().unwrap().clone();
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["record"]["id"], report.id.to_string());
    assert_eq!(hits[0]["record"]["team"], "payments");
    let rid = report.id.to_string();
    let by_id = json(
        &tandem(
            &db.url,
            &good,
            &[
                "archive", "search", "--kind", "reports", "--id", &rid, "--format", "json",
            ],
        )
        .await,
    );
    assert_eq!(by_id["found"].as_array().unwrap().len(), 1);
    assert!(store.archived_report(team.id, "2026-W10").await.is_ok());

    // Bad input: an empty range, an unknown kind, an unparsable time.
    let err = refused(
        &tandem(
            &db.url,
            &good,
            &[
                "archive",
                "search",
                "--from",
                "2026-02-01",
                "--to",
                "2026-01-01",
            ],
        )
        .await,
        2,
    );
    assert!(err.contains("must be after --from"), "{err}");
    let err = refused(
        &tandem(&db.url, &good, &["archive", "search", "--kind", "logs"]).await,
        2,
    );
    assert!(err.contains("not a kind of the archive"), "{err}");
    let err = refused(
        &tandem(
            &db.url,
            &good,
            &["archive", "search", "--from", "yesterday"],
        )
        .await,
        2,
    );
    assert!(err.contains("is not a date"), "{err}");
}
