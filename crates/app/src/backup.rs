//! `tandem backup`, `tandem backup prune` and `tandem restore`: whole-database
//! backups as compressed dumps in a directory or S3-compatible storage.
//!
//! A backup is the output of [`Store::export`] (one read snapshot, so it is
//! consistent while the server writes), gzip-compressed, stored as
//! `tandem-<UTC time>.jsonl.gz` with its SHA-256 beside it in
//! `<name>.sha256` (`sha256sum` format) and a `latest` object naming the
//! newest verified backup. Every object is written whole or not at all
//! (a directory: a staged file renamed into place; S3: one PUT), and in the
//! order backup, checksum, verification, `latest`: an interrupted backup
//! never leaves a half object visible, nor a `latest` naming an unverified
//! one. A backup is verified by restoring it into a temporary SQLite
//! database and comparing the record counts with the export's; a mismatch
//! deletes it and fails. See ADR 0026.

use std::io::{BufReader, Read};
use std::sync::Arc;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::ExposeSecret;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tandem_domain::backup::{Retention, backup_name, expired, parse_backup_name};
use tandem_store::{ConnectOptions, DumpSummary, Store};

use crate::error::{AppError, AppResult};
use crate::settings::{BackupSettings, Settings};

/// The object naming the newest verified backup.
pub const LATEST: &str = "latest";

/// Where backups are kept: a directory or an S3 bucket and prefix.
#[derive(Debug)]
pub struct Location {
    objects: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    /// As the user wrote it, for messages.
    pub display: String,
}

impl Location {
    /// `s3://BUCKET/PREFIX` or a directory (created when missing).
    pub fn parse(target: &str, settings: &Settings) -> AppResult<Location> {
        if let Some(rest) = target.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(AppError::bad_field(
                    "to",
                    "s3:// needs a bucket: s3://BUCKET/PREFIX",
                ));
            }
            let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
            if let Some(s3) = settings.backup.s3.as_ref().or(settings.report.s3.as_ref()) {
                b = b
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(s3.secret_access_key.expose_secret())
                    .with_allow_http(s3.allow_http);
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e);
                }
            }
            let objects = b.build().map_err(|e| anyhow!("S3 bucket {bucket}: {e}"))?;
            let prefix = prefix.trim_matches('/');
            return Ok(Location {
                objects: Arc::new(objects),
                prefix: (!prefix.is_empty())
                    .then(|| Path::parse(prefix))
                    .transpose()
                    .map_err(|e| AppError::bad_field("to", format!("{target}: {e}")))?,
                display: target.to_owned(),
            });
        }
        if target.is_empty() {
            return Err(AppError::bad_field(
                "to",
                "name a directory or s3://BUCKET/PREFIX",
            ));
        }
        std::fs::create_dir_all(target)
            .with_context(|| format!("cannot create the backup directory {target}"))?;
        let objects = LocalFileSystem::new_with_prefix(target)
            .map_err(|e| anyhow!("backup directory {target}: {e}"))?;
        Ok(Location {
            objects: Arc::new(objects),
            prefix: None,
            display: target.to_owned(),
        })
    }

    fn path(&self, name: &str) -> Path {
        match &self.prefix {
            Some(p) => p.clone().join(name),
            None => Path::from(name),
        }
    }

    async fn put(&self, name: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        self.objects
            .put(&self.path(name), PutPayload::from(bytes))
            .await
            .with_context(|| format!("writing {name} to {}", self.display))?;
        Ok(())
    }

    async fn get(&self, name: &str) -> anyhow::Result<Option<Vec<u8>>> {
        match self.objects.get(&self.path(name)).await {
            Ok(r) => Ok(Some(r.bytes().await?.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(anyhow!("reading {name} from {}: {e}", self.display)),
        }
    }

    async fn delete(&self, name: &str) -> anyhow::Result<()> {
        match self.objects.delete(&self.path(name)).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(anyhow!("deleting {name} from {}: {e}", self.display)),
        }
    }

    /// The backups stored here, by the time in their names, oldest first.
    pub async fn backups(&self) -> anyhow::Result<Vec<DateTime<Utc>>> {
        let listed: Vec<_> = self
            .objects
            .list_with_delimiter(self.prefix.as_ref())
            .await
            .map(|l| l.objects)
            .map_err(|e| anyhow!("listing {}: {e}", self.display))?;
        let mut times: Vec<_> = listed
            .iter()
            .filter_map(|o| o.location.filename().and_then(parse_backup_name))
            .collect();
        times.sort();
        Ok(times)
    }
}

/// What a backup wrote.
#[derive(Debug, Clone, Serialize)]
pub struct BackupReport {
    pub location: String,
    pub name: String,
    pub taken_at: DateTime<Utc>,
    /// Compressed size.
    pub bytes: u64,
    pub sha256: String,
    /// Records in the dump, all verified by a restore.
    pub records: u64,
    pub counts: DumpSummary,
}

fn checksum_name(name: &str) -> String {
    format!("{name}.sha256")
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Takes a backup of `store` to `location` at `now`, verifies it and points
/// `latest` at it.
pub async fn backup(
    store: &Store,
    location: &Location,
    now: DateTime<Utc>,
) -> AppResult<BackupReport> {
    let name = backup_name(now);
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    let counts = store
        .export(&mut gz)
        .await
        .context("exporting the database")?;
    let compressed = gz.finish().context("compressing the backup")?;
    let sha256 = sha256_hex(&compressed);
    let bytes = compressed.len() as u64;

    location.put(&name, compressed).await?;
    location
        .put(
            &checksum_name(&name),
            format!("{sha256}  {name}\n").into_bytes(),
        )
        .await?;
    if let Err(e) = verify(location, &name, &counts).await {
        location.delete(&name).await?;
        location.delete(&checksum_name(&name)).await?;
        return Err(anyhow!("backup {name} failed verification and was deleted: {e:#}").into());
    }
    location
        .put(LATEST, format!("{name}\n").into_bytes())
        .await?;
    Ok(BackupReport {
        location: location.display.clone(),
        records: counts.total(),
        name,
        taken_at: now,
        bytes,
        sha256,
        counts,
    })
}

/// Reads `name` back from `location`, checks it, restores it into a
/// temporary SQLite database and compares its counts with `expected`.
async fn verify(location: &Location, name: &str, expected: &DumpSummary) -> anyhow::Result<()> {
    let dump = fetch_checked(location, name).await?;
    let dir = tempfile::tempdir().context("a temporary directory for the verification")?;
    let url = format!("sqlite://{}", dir.path().join("verify.db").display());
    let scratch = Store::connect(
        &url,
        &ConnectOptions {
            create_if_missing: true,
            ..ConnectOptions::default()
        },
    )
    .await?;
    scratch.migrate().await?;
    let restored = import(&scratch, &dump).await;
    scratch.close().await;
    let restored = restored.context("restoring into a temporary database")?;
    if &restored != expected {
        bail!(
            "the restored counts differ from the exported ones: exported {expected:?}, restored {restored:?}"
        );
    }
    Ok(())
}

/// A backup's bytes, after checking its checksum and that it is gzip.
async fn fetch_checked(location: &Location, name: &str) -> AppResult<Vec<u8>> {
    let bytes = location
        .get(name)
        .await?
        .ok_or_else(|| AppError::NotFound(format!("no backup {name} in {}", location.display)))?;
    let sum_name = checksum_name(name);
    let sum = location.get(&sum_name).await?.ok_or_else(|| {
        refused(format!(
            "{name} has no checksum file {sum_name} beside it; a backup is restored only when its SHA-256 can be checked"
        ))
    })?;
    let sum = String::from_utf8_lossy(&sum);
    let recorded = sum.split_whitespace().next().unwrap_or("");
    let actual = sha256_hex(&bytes);
    if !recorded.eq_ignore_ascii_case(&actual) {
        return Err(refused(format!(
            "{name} is corrupt: its SHA-256 is {actual}, {sum_name} records {recorded:?}"
        )));
    }
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Err(refused(format!(
            "{name} is not a Tandem backup (not gzip-compressed)"
        )));
    }
    Ok(bytes)
}

fn refused(message: String) -> AppError {
    AppError::bad_field("from", message)
}

/// Imports a compressed dump. The importer reads and checks every line
/// before it writes, so a truncated or foreign file writes nothing.
async fn import(store: &Store, compressed: &[u8]) -> anyhow::Result<DumpSummary> {
    let mut reader = BufReader::new(GzDecoder::new(compressed));
    Ok(store.import_dump(&mut reader).await?)
}

/// What a restore loaded.
#[derive(Debug, Clone, Serialize)]
pub struct RestoreReport {
    pub from: String,
    pub name: String,
    pub records: u64,
    pub counts: DumpSummary,
}

/// Restores a backup into `store`, which must hold no data. `from` is a
/// backup file (`…/tandem-<time>.jsonl.gz`, local or `s3://`) or a
/// directory / `s3://BUCKET/PREFIX` (its `latest` backup). Refuses, before
/// writing anything, a backup whose checksum is missing or wrong, a file
/// that is not a Tandem dump or is of an unknown format version, and a
/// database that holds data.
pub async fn restore(store: &Store, settings: &Settings, from: &str) -> AppResult<RestoreReport> {
    let trimmed = from.trim_end_matches('/');
    let (location, name) = match trimmed.rsplit_once('/') {
        Some((dir, file)) if file.ends_with(".jsonl.gz") || file.ends_with(".gz") => {
            let dir = if dir.is_empty() { "/" } else { dir };
            (Location::parse(dir, settings)?, file.to_owned())
        }
        _ if trimmed.ends_with(".gz") => (Location::parse(".", settings)?, trimmed.to_owned()),
        _ => {
            let location = Location::parse(trimmed, settings)?;
            let latest = location.get(LATEST).await?.ok_or_else(|| {
                AppError::NotFound(format!(
                    "{from} holds no `latest` backup; name a backup file instead"
                ))
            })?;
            let name = String::from_utf8_lossy(&latest).trim().to_owned();
            (location, name)
        }
    };
    let bytes = fetch_checked(&location, &name).await?;
    if let Some(table) = store.first_table_with_rows().await? {
        return Err(AppError::Conflict {
            message: format!(
                "the database is not empty (table {table} has rows); restore only into an empty database. Nothing was written"
            ),
            field: Some("database".into()),
        });
    }
    let counts = import(store, &bytes).await.map_err(|e| {
        refused(format!(
            "{name} was not restored, the database is unchanged: {e:#}"
        ))
    })?;
    Ok(RestoreReport {
        from: from.to_owned(),
        name,
        records: counts.total(),
        counts,
    })
}

/// What a prune deleted.
#[derive(Debug, Clone, Serialize)]
pub struct PruneReport {
    pub location: String,
    pub kept: Vec<String>,
    pub deleted: Vec<String>,
}

/// The retention rule of `[backup]`.
pub fn retention(settings: &BackupSettings) -> Retention {
    Retention {
        daily: settings.keep_daily,
        weekly: settings.keep_weekly,
        monthly: settings.keep_monthly,
    }
}

/// Deletes the backups (and their checksums) in `location` that the
/// retention rule does not keep ([`tandem_domain::backup::expired`]).
pub async fn prune(location: &Location, retention: &Retention) -> AppResult<PruneReport> {
    let taken = location.backups().await?;
    let gone = expired(&taken, retention);
    let mut deleted = Vec::new();
    for t in &gone {
        let name = backup_name(*t);
        location.delete(&name).await?;
        location.delete(&checksum_name(&name)).await?;
        deleted.push(name);
    }
    let kept = taken
        .iter()
        .filter(|t| !gone.contains(t))
        .map(|t| backup_name(*t))
        .collect();
    Ok(PruneReport {
        location: location.display.clone(),
        kept,
        deleted,
    })
}

/// How long a replica holds a claimed scheduled backup before another may
/// take it over (a backup of a large database takes minutes).
pub const RUN_LEASE_MINUTES: i64 = 60;

/// What one scheduled backup did.
#[derive(Debug)]
pub struct ScheduledRun {
    /// The due time of `backup.schedule` this run took.
    pub due_at: DateTime<Utc>,
    /// The backup and the prune that followed it, or why it failed (the
    /// run is then retried once its lease runs out).
    pub outcome: Result<(BackupReport, PruneReport), String>,
}

/// The latest due time of a 5-field UTC cron expression at or before `now`.
pub fn due_at(schedule: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, String> {
    let cron = crate::cron::parse_cron(schedule)?;
    Ok(cron.find_previous_occurrence(&now, true).ok())
}

/// Takes the scheduled backup due at or before `now`, as replica `owner`,
/// when nobody took it yet (or the replica that claimed it stopped and its
/// lease ran out), then prunes with `keep_daily/weekly/monthly`. `None`
/// when there is no schedule, nothing is due, or another replica has it.
/// Tests drive it with any `now`; `serve` calls it with the clock
/// (`jobs::backups`). The backup is named by `now`.
pub async fn scheduled(
    store: &Store,
    settings: &Settings,
    owner: &str,
    now: DateTime<Utc>,
) -> AppResult<Option<ScheduledRun>> {
    let (Some(schedule), Some(to)) = (&settings.backup.schedule, &settings.backup.to) else {
        return Ok(None);
    };
    let Some(due) = due_at(schedule, now).map_err(|e| AppError::invalid("backup.schedule", e))?
    else {
        return Ok(None);
    };
    let lease = now + chrono::Duration::minutes(RUN_LEASE_MINUTES);
    if !store.claim_backup_run(due, owner, now, lease).await? {
        return Ok(None);
    }
    let outcome = async {
        let location = Location::parse(to, settings)?;
        let taken = backup(store, &location, now).await?;
        let pruned = prune(&location, &retention(&settings.backup)).await?;
        AppResult::Ok((taken, pruned))
    }
    .await
    .map_err(|e| e.to_string());
    match &outcome {
        Ok((taken, _)) => {
            store
                .finish_backup_run(due, owner, Ok(&taken.name), Utc::now())
                .await?
        }
        Err(e) => {
            store
                .finish_backup_run(due, owner, Err(e), Utc::now())
                .await?
        }
    }
    Ok(Some(ScheduledRun {
        due_at: due,
        outcome,
    }))
}

/// Reads a whole reader (a helper for tests of stored backups).
pub fn gunzip(compressed: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(compressed).read_to_end(&mut out)?;
    Ok(out)
}
