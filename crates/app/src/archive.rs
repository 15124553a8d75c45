//! The archive (`[archive]`, ADR 0036): raw webhook deliveries and raw check
//! results past their retention, and sent reports, as gzip-compressed JSON
//! lines in S3-compatible storage (or a directory), by month; and
//! [`search`], which reads them back.
//!
//! Layout: `<prefix>/<kind>/<YYYY-MM>/part-<first time>-<digest>.jsonl.gz`,
//! one object per month per pass batch (a month is written in many
//! passes), the month of each record's own time (`received_at`, `at`,
//! `sent_at`, UTC).
//!
//! Rules:
//! - **Written before deleted.** A batch is read from the database in
//!   order, uploaded as one object (one PUT: whole or not at all), and only
//!   then deleted (deliveries by id, check results up to the last one
//!   written). A failed upload deletes nothing: the rows stay and the next
//!   pass tries again. Reports stay in the database; a row in
//!   `report_archive_lines` notes which send of each is archived.
//! - **Repeats add no results.** A part's name is its first record's time
//!   and a digest of its records' keys, so a pass repeated after an upload
//!   whose deletion failed writes the same object again; a batch that
//!   differs (more rows became old meanwhile, two replicas at once) makes
//!   another part holding some of the same records, and [`search`] keeps
//!   one line per key: a delivery's id, a check result's check and time, a
//!   report's id and send time.
//! - **Search reads only the months that overlap the range**, one object
//!   at a time, and stops at `limit` matches.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::sync::Arc;

use anyhow::{Context, anyhow};
use base64::Engine as _;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use futures_util::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::ExposeSecret;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use tandem_domain::engineering::RawDelivery;
use tandem_store::{ArchivedReport, Store};

use crate::error::{AppError, AppResult};
use crate::settings::{S3Connection, Settings};

/// Deliveries read per batch (and at most 32 MiB of bodies).
const DELIVERY_BATCH: i64 = 1_000;
/// Raw check results read per batch.
const CHECK_BATCH: i64 = 50_000;
/// Sent reports read per batch.
const REPORT_BATCH: i64 = 200;
/// Retries of one request inside the S3 client, within 20 s: an S3 that
/// is down fails the pass (retried at the next) rather than holding it.
const IN_REQUEST_RETRIES: usize = 3;

/// What the archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Raw webhook deliveries (`RawDelivery`'s JSON, plus `body_base64`
    /// when the body is not UTF-8).
    Deliveries,
    /// Sent weekly reports with their rendered forms and team key.
    Reports,
    /// Raw check results with their check's name.
    Checks,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Deliveries, Kind::Reports, Kind::Checks];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Deliveries => "deliveries",
            Kind::Reports => "reports",
            Kind::Checks => "checks",
        }
    }

    /// The field holding a record's time.
    fn time_field(self) -> &'static str {
        match self {
            Kind::Deliveries => "received_at",
            Kind::Reports => "sent_at",
            Kind::Checks => "at",
        }
    }

    /// A record's identity: one line per key survives [`search`].
    fn key(self, record: &Value) -> String {
        let s = |f: &str| record.get(f).and_then(Value::as_str).unwrap_or_default();
        match self {
            Kind::Deliveries => s("id").to_owned(),
            Kind::Reports => format!("{} {}", s("id"), s("sent_at")),
            Kind::Checks => format!("{} {}", s("check_id"), s("at")),
        }
    }

    /// Whether `id` names the record: a delivery's id or the sender's
    /// delivery id, a report's id, a check result's check id or name.
    fn named_by(self, record: &Value, id: &str) -> bool {
        let fields: &[&str] = match self {
            Kind::Deliveries => &["id", "delivery_id"],
            Kind::Reports => &["id"],
            Kind::Checks => &["check_id", "check"],
        };
        fields.iter().any(|f| {
            record
                .get(*f)
                .and_then(Value::as_str)
                .is_some_and(|v| v.eq_ignore_ascii_case(id))
        })
    }
}

impl std::str::FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!("{s:?} is not a kind of the archive: deliveries, reports or checks")
            })
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An archive: an object store and the prefix under which it lives.
#[derive(Debug)]
pub struct Archive {
    objects: Arc<dyn ObjectStore>,
    prefix: Option<Path>,
    /// As configured, for messages.
    pub display: String,
}

impl Archive {
    /// The configured archive (`archive.to`), or `None` when there is none.
    pub fn configured(settings: &Settings) -> AppResult<Option<Archive>> {
        match &settings.archive.to {
            None => Ok(None),
            Some(to) => Archive::open(
                to,
                "archive.to",
                settings
                    .archive
                    .connection(&settings.backup, &settings.report)
                    .as_ref(),
            )
            .map(Some),
        }
    }

    /// `s3://BUCKET/PREFIX` (reached through `s3`, else the `AWS_*`
    /// environment) or a directory (created when missing); `field` names
    /// the setting or argument in errors.
    pub fn open(target: &str, field: &str, s3: Option<&S3Connection>) -> AppResult<Archive> {
        if let Some(rest) = target.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(AppError::bad_field(
                    field,
                    "s3:// needs a bucket: s3://BUCKET/PREFIX",
                ));
            }
            let mut b = AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_retry(object_store::RetryConfig {
                    backoff: object_store::BackoffConfig::default(),
                    max_retries: IN_REQUEST_RETRIES,
                    retry_timeout: std::time::Duration::from_secs(20),
                });
            let mut options = object_store::ClientOptions::new()
                .with_connect_timeout(std::time::Duration::from_secs(5))
                .with_timeout(std::time::Duration::from_secs(120));
            if let Some(s3) = s3 {
                b = b
                    .with_region(&s3.region)
                    .with_access_key_id(&s3.access_key_id)
                    .with_secret_access_key(s3.secret_access_key.expose_secret());
                if let Some(e) = &s3.endpoint {
                    b = b.with_endpoint(e);
                }
                options = options.with_allow_http(s3.allow_http);
            }
            let objects = b
                .with_client_options(options)
                .build()
                .map_err(|e| AppError::bad_field(field, format!("S3 bucket {bucket}: {e}")))?;
            let prefix = prefix.trim_matches('/');
            return Ok(Archive {
                objects: Arc::new(objects),
                prefix: (!prefix.is_empty())
                    .then(|| Path::parse(prefix))
                    .transpose()
                    .map_err(|e| AppError::bad_field(field, format!("{target}: {e}")))?,
                display: target.to_owned(),
            });
        }
        if target.trim().is_empty() {
            return Err(AppError::bad_field(
                field,
                "name a directory or s3://BUCKET/PREFIX",
            ));
        }
        std::fs::create_dir_all(target)
            .with_context(|| format!("cannot create the archive directory {target}"))?;
        let objects = LocalFileSystem::new_with_prefix(target)
            .map_err(|e| anyhow!("archive directory {target}: {e}"))?;
        Ok(Archive {
            objects: Arc::new(objects),
            prefix: None,
            display: target.to_owned(),
        })
    }

    fn path(&self, parts: &[&str]) -> Path {
        let mut p = self.prefix.clone().unwrap_or_default();
        for part in parts {
            p = p.join(*part);
        }
        p
    }

    /// Writes one part of `kind`'s `month`; returns its key.
    async fn put_part(
        &self,
        kind: Kind,
        month: &str,
        name: &str,
        gz: Vec<u8>,
    ) -> anyhow::Result<String> {
        let path = self.path(&[kind.as_str(), month, name]);
        self.objects
            .put(&path, PutPayload::from(gz))
            .await
            .map_err(|e| anyhow!("writing {path} to the archive {}: {e}", self.display))?;
        Ok(path.to_string())
    }

    /// The months of `kind` that hold parts, oldest first.
    async fn months(&self, kind: Kind) -> anyhow::Result<Vec<NaiveDate>> {
        let listed = self
            .objects
            .list_with_delimiter(Some(&self.path(&[kind.as_str()])))
            .await
            .map_err(|e| anyhow!("cannot list the archive {}: {e}", self.display))?;
        let mut months: Vec<NaiveDate> = listed
            .common_prefixes
            .iter()
            .filter_map(|p| p.filename().and_then(parse_month))
            .collect();
        months.sort();
        Ok(months)
    }

    /// The parts of `kind`'s `month`, by name.
    async fn parts(&self, kind: Kind, month: NaiveDate) -> anyhow::Result<Vec<Path>> {
        let prefix = self.path(&[kind.as_str(), &month_label(month)]);
        let mut parts: Vec<Path> = self
            .objects
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .try_collect()
            .await
            .map_err(|e| anyhow!("cannot list {prefix} in the archive {}: {e}", self.display))?;
        parts.retain(|p| p.filename().is_some_and(|n| n.ends_with(".jsonl.gz")));
        parts.sort();
        Ok(parts)
    }

    async fn read(&self, path: &Path) -> anyhow::Result<Vec<u8>> {
        let got = self
            .objects
            .get(path)
            .await
            .map_err(|e| anyhow!("reading {path} from the archive {}: {e}", self.display))?;
        Ok(got
            .bytes()
            .await
            .map_err(|e| anyhow!("reading {path} from the archive {}: {e}", self.display))?
            .to_vec())
    }
}

/// `YYYY-MM`.
fn month_label(month: NaiveDate) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

/// The first day of the month a `YYYY-MM` names.
fn parse_month(s: &str) -> Option<NaiveDate> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

/// The first day of the month of `t` (UTC).
fn month_of(t: DateTime<Utc>) -> NaiveDate {
    NaiveDate::from_ymd_opt(t.year(), t.month(), 1).expect("a month's first day")
}

/// `[start, end)` of a month, as instants.
fn month_span(month: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(NaiveDate::MAX);
    (
        Utc.from_utc_datetime(&month.and_time(chrono::NaiveTime::MIN)),
        Utc.from_utc_datetime(&next.and_time(chrono::NaiveTime::MIN)),
    )
}

/// Splits records in time order into runs of one month each.
fn by_month<T>(records: Vec<T>, time: impl Fn(&T) -> DateTime<Utc>) -> Vec<(NaiveDate, Vec<T>)> {
    let mut runs: Vec<(NaiveDate, Vec<T>)> = Vec::new();
    for r in records {
        let m = month_of(time(&r));
        match runs.last_mut() {
            Some((last, run)) if *last == m => run.push(r),
            _ => runs.push((m, vec![r])),
        }
    }
    runs
}

/// A batch as one gzip object: its lines and its name, which depends only
/// on the records (the first one's time and a digest of every key).
fn encode_part(
    kind: Kind,
    first: DateTime<Utc>,
    lines: &[Value],
) -> anyhow::Result<(String, Vec<u8>)> {
    let mut digest = Sha256::new();
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    for line in lines {
        digest.update(kind.key(line).as_bytes());
        digest.update(b"\n");
        serde_json::to_writer(&mut gz, line)?;
        gz.write_all(b"\n")?;
    }
    let name = format!(
        "part-{}-{}.jsonl.gz",
        first.format("%Y%m%dT%H%M%S%6fZ"),
        &hex::encode(digest.finalize())[..12]
    );
    Ok((name, gz.finish()?))
}

/// A delivery as an archive line: the delivery's JSON, whose `body` is the
/// text of a UTF-8 body; any other body is in `body_base64` byte for byte.
fn delivery_line(d: &RawDelivery) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(d)?;
    if std::str::from_utf8(&d.body).is_err()
        && let Some(o) = v.as_object_mut()
    {
        o.insert(
            "body_base64".into(),
            Value::String(base64::engine::general_purpose::STANDARD.encode(&d.body)),
        );
    }
    Ok(v)
}

/// A sent report as an archive line: its archive row and its team's key.
fn report_line(r: &ArchivedReport, team: &str) -> anyhow::Result<Value> {
    let mut v = serde_json::to_value(r)?;
    if let Some(o) = v.as_object_mut() {
        o.insert("team".into(), Value::String(team.to_owned()));
    }
    Ok(v)
}

/// What one pass of one kind did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PassReport {
    /// Records written to the archive.
    pub archived: u64,
    /// Rows deleted from the database after they were written.
    pub deleted: u64,
    /// The objects written.
    pub objects: Vec<String>,
}

/// Writes the deliveries received before `before` to the archive, deleting
/// each batch once it is written. An error leaves the unwritten batch (and
/// everything after it) in the database.
pub async fn archive_deliveries(
    store: &Store,
    archive: &Archive,
    before: DateTime<Utc>,
) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    loop {
        let batch = store.deliveries_to_archive(before, DELIVERY_BATCH).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for (month, run) in by_month(batch, |d| d.received_at) {
            let lines = run
                .iter()
                .map(delivery_line)
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (name, gz) = encode_part(Kind::Deliveries, run[0].received_at, &lines)?;
            let key = archive
                .put_part(Kind::Deliveries, &month_label(month), &name, gz)
                .await?;
            let ids: Vec<_> = run.iter().map(|d| d.id).collect();
            report.deleted += store.delete_deliveries(&ids).await?;
            report.archived += run.len() as u64;
            report.objects.push(key);
        }
    }
}

/// Writes the raw check results from before `before` to the archive,
/// deleting each batch once it is written.
pub async fn archive_check_results(
    store: &Store,
    archive: &Archive,
    before: DateTime<Utc>,
) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    loop {
        let batch = store.check_results_to_archive(before, CHECK_BATCH).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for (month, run) in by_month(batch, |r| r.at) {
            let lines = run
                .iter()
                .map(serde_json::to_value)
                .collect::<Result<Vec<_>, _>>()?;
            let (name, gz) = encode_part(Kind::Checks, run[0].at, &lines)?;
            let key = archive
                .put_part(Kind::Checks, &month_label(month), &name, gz)
                .await?;
            let last = run.last().expect("a run is never empty");
            report.deleted += store
                .delete_check_results_through(before, (last.at, last.check_id))
                .await?;
            report.archived += run.len() as u64;
            report.objects.push(key);
        }
    }
}

/// Writes the sent reports not yet archived (or sent again since) to the
/// archive; they stay in the database.
pub async fn archive_reports(store: &Store, archive: &Archive) -> anyhow::Result<PassReport> {
    let mut report = PassReport::default();
    loop {
        let batch = store.reports_to_archive(REPORT_BATCH).await?;
        if batch.is_empty() {
            return Ok(report);
        }
        for (month, run) in by_month(batch, |(r, _)| r.sent_at) {
            let lines = run
                .iter()
                .map(|(r, team)| report_line(r, team))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let (name, gz) = encode_part(Kind::Reports, run[0].0.sent_at, &lines)?;
            let key = archive
                .put_part(Kind::Reports, &month_label(month), &name, gz)
                .await?;
            let sends: Vec<_> = run.iter().map(|(r, _)| (r.id, r.sent_at)).collect();
            store.reports_archived(&sends, &key).await?;
            report.archived += run.len() as u64;
            report.objects.push(key);
        }
    }
}

/// The instant before which raw deliveries are past retention (`None`:
/// kept forever).
pub fn delivery_cutoff(settings: &Settings, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let days = settings.maintenance.delivery_retention_days;
    (days > 0).then(|| now - chrono::TimeDelta::days(i64::from(days)))
}

/// The instant before which raw check results are past retention.
pub fn check_results_cutoff(settings: &Settings, now: DateTime<Utc>) -> DateTime<Utc> {
    now - chrono::TimeDelta::hours(i64::from(settings.monitor.raw_retention_hours))
}

/// What `tandem archive run` did, per kind (absent: not archived, by
/// `[archive]` or because that retention keeps everything).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub archive: String,
    pub deliveries: Option<PassReport>,
    pub checks: Option<PassReport>,
    pub reports: Option<PassReport>,
}

/// One pass of every kind `[archive]` takes, now (as `serve`'s jobs do:
/// deliveries daily, check results hourly, reports daily). The first
/// failure ends the pass: what was not written stays in the database.
pub async fn run(store: &Store, settings: &Settings, now: DateTime<Utc>) -> AppResult<RunReport> {
    let archive = Archive::configured(settings)?.ok_or_else(|| {
        AppError::bad_field("archive.to", "no archive is configured: set archive.to")
    })?;
    let a = &settings.archive;
    let mut report = RunReport {
        archive: archive.display.clone(),
        ..RunReport::default()
    };
    if a.deliveries
        && let Some(before) = delivery_cutoff(settings, now)
    {
        report.deliveries = Some(archive_deliveries(store, &archive, before).await?);
    }
    if a.checks {
        let before = check_results_cutoff(settings, now);
        report.checks = Some(archive_check_results(store, &archive, before).await?);
    }
    if a.reports {
        report.reports = Some(archive_reports(store, &archive).await?);
    }
    Ok(report)
}

/// What to look for in the archive.
#[derive(Debug, Clone, Default)]
pub struct Query {
    /// Every kind when empty.
    pub kinds: Vec<Kind>,
    /// A delivery's id or delivery id, a report's id, a check's id or name.
    pub id: Option<String>,
    /// Records at or after this instant…
    pub from: Option<DateTime<Utc>>,
    /// …and before this one.
    pub to: Option<DateTime<Utc>>,
    /// Text found (case-insensitively) in any of a record's text values.
    pub text: Option<String>,
    /// Stop after this many matches.
    pub limit: usize,
}

/// A record found in the archive.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub kind: Kind,
    /// The part it was read from.
    pub object: String,
    pub record: Value,
}

impl Found {
    /// The record's time, as archived.
    pub fn time(&self) -> &str {
        self.record
            .get(self.kind.time_field())
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// What [`search`] found, and whether it stopped at the limit.
#[derive(Debug, Clone, Serialize)]
pub struct Matches {
    pub found: Vec<Found>,
    pub truncated: bool,
}

/// Whether some text value of `v` contains `needle` (lower case).
fn contains_text(v: &Value, needle: &str) -> bool {
    match v {
        Value::String(s) => s.to_lowercase().contains(needle),
        Value::Array(items) => items.iter().any(|i| contains_text(i, needle)),
        Value::Object(o) => o.values().any(|i| contains_text(i, needle)),
        Value::Number(n) => n.to_string().contains(needle),
        Value::Bool(_) | Value::Null => false,
    }
}

/// Checks a query's range: `from` before `to`.
pub fn check_range(from: Option<DateTime<Utc>>, to: Option<DateTime<Utc>>) -> AppResult<()> {
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        return Err(AppError::bad_field(
            "to",
            format!("the range is empty: --to ({t}) must be after --from ({f})"),
        ));
    }
    Ok(())
}

/// Reads the parts of the months that overlap the query's range, kind by
/// kind and oldest first, and returns the records that match (one per
/// key), up to `limit`.
pub async fn search(archive: &Archive, q: &Query) -> AppResult<Matches> {
    check_range(q.from, q.to)?;
    let kinds = if q.kinds.is_empty() {
        Kind::ALL.to_vec()
    } else {
        q.kinds.clone()
    };
    let needle = q.text.as_ref().map(|t| t.to_lowercase());
    let mut out = Matches {
        found: Vec::new(),
        truncated: false,
    };
    for kind in kinds {
        let mut seen = HashSet::new();
        for month in archive.months(kind).await? {
            let (start, end) = month_span(month);
            if q.from.is_some_and(|f| end <= f) || q.to.is_some_and(|t| start >= t) {
                continue;
            }
            for part in archive.parts(kind, month).await? {
                let gz = archive.read(&part).await?;
                let matched = tokio::task::spawn_blocking({
                    let part = part.clone();
                    let q = q.clone();
                    let needle = needle.clone();
                    move || read_part(kind, &part, &gz, &q, needle.as_deref())
                })
                .await
                .map_err(|e| anyhow!("reading {part}: {e}"))??;
                for record in matched {
                    if !seen.insert(kind.key(&record)) {
                        continue;
                    }
                    if out.found.len() == q.limit {
                        out.truncated = true;
                        return Ok(out);
                    }
                    out.found.push(Found {
                        kind,
                        object: part.to_string(),
                        record,
                    });
                }
            }
        }
    }
    Ok(out)
}

/// The records of one part that match the query.
fn read_part(
    kind: Kind,
    part: &Path,
    gz: &[u8],
    q: &Query,
    needle: Option<&str>,
) -> anyhow::Result<Vec<Value>> {
    let mut matched = Vec::new();
    for (n, line) in BufReader::new(GzDecoder::new(gz)).lines().enumerate() {
        let line = line.with_context(|| format!("{part} is not gzip JSON lines"))?;
        if line.trim().is_empty() {
            continue;
        }
        let record: Value = serde_json::from_str(&line)
            .with_context(|| format!("{part}, line {}: not JSON", n + 1))?;
        if let Some(id) = &q.id
            && !kind.named_by(&record, id)
        {
            continue;
        }
        if q.from.is_some() || q.to.is_some() {
            let Some(at) = record
                .get(kind.time_field())
                .and_then(Value::as_str)
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.with_timezone(&Utc))
            else {
                continue;
            };
            if q.from.is_some_and(|f| at < f) || q.to.is_some_and(|t| at >= t) {
                continue;
            }
        }
        if let Some(needle) = needle
            && !contains_text(&record, needle)
        {
            continue;
        }
        matched.push(record);
    }
    Ok(matched)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn months_split_runs_and_spans() {
        let times = [
            "2026-10-31T23:59:59Z",
            "2026-11-01T00:00:00Z",
            "2026-11-30T12:00:00Z",
            "2026-12-01T00:00:00Z",
        ];
        let runs = by_month(times.iter().map(|t| at(t)).collect(), |t| *t);
        let labels: Vec<_> = runs
            .iter()
            .map(|(m, r)| (month_label(*m), r.len()))
            .collect();
        assert_eq!(
            labels,
            [
                ("2026-10".to_owned(), 1),
                ("2026-11".to_owned(), 2),
                ("2026-12".to_owned(), 1)
            ]
        );
        let (start, end) = month_span(parse_month("2026-12").unwrap());
        assert_eq!(start, at("2026-12-01T00:00:00Z"));
        assert_eq!(end, at("2027-01-01T00:00:00Z"));
        assert_eq!(parse_month("2026-1"), None);
        assert_eq!(parse_month("part-x"), None);
    }

    #[test]
    fn a_part_is_named_by_its_records() {
        let a = serde_json::json!({"id": "a", "received_at": "2026-11-02T10:00:00Z"});
        let b = serde_json::json!({"id": "b", "received_at": "2026-11-02T11:00:00Z"});
        let first = at("2026-11-02T10:00:00Z");
        let (one, gz) = encode_part(Kind::Deliveries, first, &[a.clone(), b.clone()]).unwrap();
        let (again, _) = encode_part(Kind::Deliveries, first, &[a.clone(), b]).unwrap();
        let (other, _) = encode_part(Kind::Deliveries, first, &[a]).unwrap();
        assert_eq!(one, again);
        assert_ne!(one, other);
        assert!(one.starts_with("part-20261102T100000000000Z-"), "{one}");
        let q = Query {
            text: Some("x".into()),
            limit: 10,
            ..Query::default()
        };
        let read = read_part(
            Kind::Deliveries,
            &Path::from(one),
            &gz,
            &q,
            Some("2026-11-02t11"),
        )
        .unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(read[0]["id"], "b");
    }

    #[test]
    fn an_empty_range_is_refused() {
        let t = at("2026-11-01T00:00:00Z");
        assert!(check_range(Some(t), Some(t)).is_err());
        assert!(check_range(Some(t), None).is_ok());
        assert!(check_range(Some(t), Some(t + chrono::TimeDelta::seconds(1))).is_ok());
    }

    #[test]
    fn text_is_found_in_nested_values() {
        let v = serde_json::json!({"a": {"b": ["Deploy FAILED"]}, "n": 42});
        assert!(contains_text(&v, "failed"));
        assert!(contains_text(&v, "42"));
        assert!(!contains_text(&v, "nothing"));
    }
}
