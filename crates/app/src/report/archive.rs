//! Uploading a sent report's rendered forms to S3-compatible object storage
//! (`[report.s3]`), next to the archive row in the database. The database
//! copy is the archive; the upload is an extra copy for other tools, so a
//! failed upload is logged and leaves the archive row without an
//! `object_prefix` rather than failing the send.
//!
//! Layout: `<prefix>/<team key>/<week>/report.md|report.html|report.txt|
//! report.json|slack.json|chart<N>.png`.

use std::sync::Arc;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use secrecy::ExposeSecret;

use crate::report::Rendered;
pub use crate::settings::S3Settings;

impl S3Settings {
    fn store(&self) -> anyhow::Result<Arc<dyn ObjectStore>> {
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(self.secret_access_key.expose_secret())
            .with_allow_http(self.allow_http);
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
