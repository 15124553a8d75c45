//! Uploading a sent report's rendered forms to S3-compatible object storage
//! (`[report.s3]`), next to the archive row in the database. The database
//! copy is the archive; the upload is an extra copy for other tools, so a
//! failed upload is logged and leaves the archive row without an
//! `object_prefix` rather than failing the send, and is retried:
//! [`retry_due`] (the `archive_uploads` job, every [`RETRY_EVERY`]) uploads
//! it again from the archive row (the charts rendered again from the
//! archived report) after 1, 2, 4, … minutes, at most [`MAX_DELAY`] apart,
//! until it succeeds. A retry is claimed for [`LEASE`] so that replicas do
//! not upload it at the same time (an upload twice would only write the
//! same objects again).
//!
//! Layout: `<prefix>/<team key>/<week>/report.md|report.html|report.txt|
//! report.json|slack.json|chart<N>.png`.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::ExposeSecret;

use chrono::{DateTime, TimeDelta, Utc};
use tandem_domain::report::Trend;
use tandem_store::{ArchivedReport, Store};

use crate::report::Rendered;
pub use crate::settings::S3Settings;

/// How often the job looks for due retries.
pub const RETRY_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// The delay before the first retry; each further one doubles it.
pub const FIRST_DELAY: TimeDelta = TimeDelta::minutes(1);
/// The longest delay between two attempts.
pub const MAX_DELAY: TimeDelta = TimeDelta::hours(6);
/// How long a replica holds a claimed retry.
pub const LEASE: TimeDelta = TimeDelta::minutes(5);
/// Retries of one request inside the S3 client, within 20 s.
const IN_REQUEST_RETRIES: usize = 3;
/// Retries claimed per run.
const RETRY_BATCH: i64 = 20;

/// The delay after the `attempts`-th failed attempt (1, 2, 4, … minutes,
/// at most [`MAX_DELAY`]).
pub fn retry_delay(attempts: u32) -> TimeDelta {
    let doublings = attempts.saturating_sub(1).min(16);
    (FIRST_DELAY * (1i32 << doublings)).min(MAX_DELAY)
}

impl S3Settings {
    fn store(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(self.secret_access_key.expose_secret())
            .with_allow_http(self.allow_http)
            // A blip is ridden out inside the request (a few quick retries);
            // a longer outage is [`retry_due`]'s, so a send never waits
            // minutes for an S3 that is down.
            .with_retry(object_store::RetryConfig {
                backoff: object_store::BackoffConfig::default(),
                max_retries: IN_REQUEST_RETRIES,
                retry_timeout: std::time::Duration::from_secs(20),
            })
            // All client options at once: this replaces the builder's, so
            // `allow_http` is set here again.
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_allow_http(self.allow_http)
                    .with_connect_timeout(std::time::Duration::from_secs(5))
                    .with_timeout(std::time::Duration::from_secs(60)),
            );
        if let Some(e) = &self.endpoint {
            b = b.with_endpoint(e);
        }
        Ok(Arc::new(b.build()?))
    }
}

/// Uploads every rendered form of a team's week; returns the prefix they
/// are under.
pub async fn upload(
    s3: &S3Settings,
    team_key: &str,
    week: &str,
    rendered: &Rendered,
) -> anyhow::Result<String> {
    let store = s3.store()?;
    let prefix = format!("{}/{team_key}/{week}", s3.prefix.trim_matches('/'));
    let mut files: Vec<(String, Vec<u8>)> = vec![
        ("report.md".into(), rendered.markdown.clone().into_bytes()),
        ("report.html".into(), rendered.html.clone().into_bytes()),
        ("report.txt".into(), rendered.text.clone().into_bytes()),
        (
            "report.json".into(),
            serde_json::to_vec_pretty(&rendered.json)?,
        ),
        (
            "slack.json".into(),
            serde_json::to_vec_pretty(&rendered.slack)?,
        ),
    ];
    for (i, c) in rendered.charts.iter().enumerate() {
        files.push((format!("chart{i}.png"), c.png.clone()));
    }
    for (name, bytes) in files {
        let path = Path::parse(format!("{prefix}/{name}"))?;
        store
            .put(&path, PutPayload::from(bytes))
            .await
            .map_err(|e| anyhow::anyhow!("uploading {path} to bucket {}: {e}", s3.bucket))?;
    }
    Ok(prefix)
}

/// What a run of [`retry_due`] did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RetryReport {
    pub uploaded: usize,
    pub failed: usize,
}

/// Uploads the archived reports whose S3 copy failed and is due at `now`
/// (nothing without `[report.s3]`); a failure is due again after
/// [`retry_delay`].
pub async fn retry_due(
    store: &Store,
    settings: &crate::Settings,
    now: DateTime<Utc>,
) -> anyhow::Result<RetryReport> {
    let mut report = RetryReport::default();
    // Stored times are microseconds: due times computed from `now` are too.
    let now = tandem_domain::time::micros(now);
    let Some(s3) = &settings.report.s3 else {
        return Ok(report);
    };
    let claimed = store
        .claim_archive_uploads(now, now + LEASE, RETRY_BATCH)
        .await?;
    for (archived, attempts) in claimed {
        let team = store.get_team(archived.team_id).await?;
        let result = match rendered_again(archived.clone(), team.key.clone()).await {
            Ok(rendered) => upload(s3, &team.key, &archived.week, &rendered).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(prefix) => {
                store.archive_uploaded(archived.id, &prefix).await?;
                tracing::info!(team = %team.key, week = %archived.week, attempts = attempts + 1,
                    "the archive upload succeeded on a retry");
                report.uploaded += 1;
            }
            Err(e) => {
                let attempts = u32::try_from(attempts).unwrap_or(0) + 1;
                let due = now + retry_delay(attempts);
                let error = format!("{e:#}");
                tracing::warn!(team = %team.key, week = %archived.week, attempts, %due,
                    error = %error, "the archive upload failed again; retrying later");
                store.archive_upload_retry(archived.id, &error, due).await?;
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

/// The archived forms as they were sent, with the charts (not stored in the
/// database) drawn again from the archived report's trends.
async fn rendered_again(a: ArchivedReport, team_key: String) -> anyhow::Result<Rendered> {
    let trends: Vec<Trend> = match a.report.get("trends") {
        Some(t) => serde_json::from_value(t.clone())?,
        None => Vec::new(),
    };
    let week = a.week.clone();
    let charts =
        tokio::task::spawn_blocking(move || super::trend_charts(&trends, &team_key, &week))
            .await??;
    Ok(Rendered {
        title: a.title,
        markdown: a.markdown,
        html: a.html,
        text: a.text,
        slack: a.slack,
        json: a.report,
        charts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap() {
        assert_eq!(retry_delay(1), TimeDelta::minutes(1));
        assert_eq!(retry_delay(2), TimeDelta::minutes(2));
        assert_eq!(retry_delay(5), TimeDelta::minutes(16));
        assert_eq!(retry_delay(9), TimeDelta::hours(4) + TimeDelta::minutes(16));
        assert_eq!(retry_delay(10), MAX_DELAY);
        assert_eq!(retry_delay(u32::MAX), MAX_DELAY);
    }
}
