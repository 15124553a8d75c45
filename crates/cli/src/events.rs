//! `tandem webhook-secret set` and `tandem reprocess`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::{Args, Subcommand, ValueEnum};
use tandem_app::Settings;
use tandem_app::credentials::check_webhook_secret;
use tandem_app::ingest;
use tandem_domain::engineering::Provider;
use tandem_store::{RawDeliveryFilter, Store};
use uuid::Uuid;

use crate::Format;
use crate::commands::print_json;

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ProviderArg {
    Github,
    Gitlab,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Provider {
        match p {
            ProviderArg::Github => Provider::Github,
            ProviderArg::Gitlab => Provider::Gitlab,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum WebhookSecretCommand {
    /// Set (or replace) a project's webhook secret: the GitHub webhook's
    /// secret or the GitLab webhook's secret token. Read from standard
    /// input, or from --from-file, so it stays out of the shell history.
    Set {
        /// Project key or id.
        #[arg(long)]
        project: String,
        #[arg(long, value_enum)]
        provider: ProviderArg,
        /// A file holding the secret (default: standard input).
        #[arg(long, value_name = "FILE")]
        from_file: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct ReprocessArgs {
    /// Only deliveries from this provider.
    #[arg(long, value_enum)]
    provider: Option<ProviderArg>,
    /// Only deliveries received on or after this date (YYYY-MM-DD, UTC) or
    /// instant (RFC 3339).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    since: Option<DateTime<Utc>>,
    /// Only the delivery with this id (the provider's delivery id, or
    /// Tandem's id of the stored delivery).
    #[arg(long, value_name = "ID")]
    delivery: Option<String>,
    #[command(flatten)]
    format: crate::FormatArg,
}

pub(crate) fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc())
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))
}

/// `tandem webhook-secret …`.
pub async fn webhook_secret(
    store: &Store,
    settings: &Settings,
    c: WebhookSecretCommand,
) -> anyhow::Result<()> {
    match c {
        WebhookSecretCommand::Set {
            project,
            provider,
            from_file,
        } => {
            let raw = match &from_file {
                Some(path) => std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the secret from {}", path.display()))?,
                None => {
                    let mut s = String::new();
                    std::io::stdin()
                        .read_to_string(&mut s)
                        .context("cannot read the secret from standard input")?;
                    s
                }
            };
            let secret = raw.trim_end_matches(['\n', '\r']);
            if let Err(e) = check_webhook_secret(secret) {
                bail!("the secret {e}");
            }
            let provider = Provider::from(provider);
            let p = tandem_app::org::set_webhook_secret(store, &project, provider, secret)
                .await
                .context("--project")?;
            crate::commands::cli_audit(
                store,
                tandem_domain::audit::AuditAction::WebhookSecretSet,
                &format!("{} {provider}", p.key),
                "",
            )
            .await?;
            eprintln!(
                "{provider} webhook secret set for project {}; point the webhook at {}/webhooks/{provider}",
                p.key,
                settings.server.public_url()
            );
            Ok(())
        }
    }
}

/// `tandem reprocess`.
pub async fn reprocess(store: &Store, settings: &Settings, a: ReprocessArgs) -> anyhow::Result<()> {
    let mut filter = RawDeliveryFilter {
        provider: a.provider.map(Provider::from),
        since: a.since,
        ..RawDeliveryFilter::default()
    };
    if let Some(id) = a.delivery {
        match Uuid::try_parse(&id) {
            Ok(uuid) if store.get_delivery(uuid).await.is_ok() => {
                // Tandem's own id: start just before it and stop after one.
                let d = store.get_delivery(uuid).await?;
                filter.delivery_id = Some(d.delivery_id);
                filter.provider = Some(d.provider);
            }
            _ => filter.delivery_id = Some(id),
        }
    }
    let report = ingest::reprocess(store, &settings.webhooks, filter).await?;
    match a.format.format {
        Format::Json => print_json(&report)?,
        Format::Table => {
            println!(
                "{} deliveries examined: {} applied, {} ignored, {} invalid{}",
                report.examined,
                report.applied,
                report.ignored,
                report.invalid,
                if report.skipped > 0 {
                    format!(", {} skipped (no verified project)", report.skipped)
                } else {
                    String::new()
                }
            );
        }
    }
    if report.examined == 0 {
        eprintln!("no stored delivery matched");
    }
    Ok(())
}
