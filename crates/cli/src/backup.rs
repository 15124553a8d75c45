//! `tandem backup [prune]` and `tandem restore` (see `tandem_app::backup`).

use anyhow::Context;
use clap::{Args, Subcommand};
use tandem_app::Settings;
use tandem_app::backup::{self as app, Location};
use tandem_store::Store;

use crate::{Format, FormatArg};

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(subcommand)]
    command: Option<BackupCommand>,
    /// A directory or s3://BUCKET/PREFIX (default: backup.to).
    #[arg(long, value_name = "DIR|s3://…")]
    to: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Subcommand)]
pub enum BackupCommand {
    /// Delete the backups that backup.keep_daily/keep_weekly/keep_monthly
    /// do not keep (the newest is always kept).
    #[command(after_help = "Example:\n  tandem backup prune --to /var/backups/tandem")]
    Prune {
        /// A directory or s3://BUCKET/PREFIX (default: backup.to).
        #[arg(long, value_name = "DIR|s3://…")]
        to: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
}

fn target(to: Option<String>, settings: &Settings) -> anyhow::Result<String> {
    to.or_else(|| settings.backup.to.clone())
        .context("--to: name a directory or s3://BUCKET/PREFIX (or set backup.to)")
}

pub async fn backup(store: &Store, settings: &Settings, args: BackupArgs) -> anyhow::Result<()> {
    if let Some(BackupCommand::Prune { to, format }) = args.command {
        let location = Location::parse(&target(to, settings)?, settings).context("--to")?;
        let r = app::prune(&location, &app::retention(&settings.backup)).await?;
        match format.format {
            Format::Json => crate::output::print_json(&r)?,
            Format::Table => {
                for name in &r.deleted {
                    println!("deleted {name}");
                }
                println!(
                    "{}: kept {}, deleted {}",
                    r.location,
                    r.kept.len(),
                    r.deleted.len()
                );
            }
        }
        return Ok(());
    }
    let location = Location::parse(&target(args.to, settings)?, settings).context("--to")?;
    let r = app::backup(store, &location, chrono::Utc::now()).await?;
    match args.format.format {
        Format::Json => crate::output::print_json(&r)?,
        Format::Table => println!(
            "backed up {} records to {}/{} ({} bytes, sha256 {}), verified by a restore",
            r.records, r.location, r.name, r.bytes, r.sha256
        ),
    }
    Ok(())
}

pub async fn restore(
    store: &Store,
    settings: &Settings,
    from: &str,
    format: Format,
) -> anyhow::Result<()> {
    let r = app::restore(store, settings, from).await?;
    match format {
        Format::Json => crate::output::print_json(&r)?,
        Format::Table => println!("restored {} records from {}", r.records, r.name),
    }
    Ok(())
}
