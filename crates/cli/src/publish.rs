//! `tandem publish status|run|git` (see `tandem_app::publish`, ADR 0033).

use anyhow::Context;
use clap::Subcommand;
use tandem_app::Settings;
use tandem_app::publish as app;
use tandem_app::settings::PublishGitSettings;
use tandem_store::Store;

use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum PublishCommand {
    /// Each publisher: configured or not, failing (with the provider's
    /// message) or not, and its publications by state.
    #[command(after_help = "Example:\n  tandem publish status")]
    Status {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Enqueue new goal versions, decisions and sent reports, then deliver
    /// what is due to every configured publisher (as `serve` does each
    /// publish.interval_seconds).
    #[command(after_help = "Example:\n  tandem publish run --retry-failed")]
    Run {
        /// Put publications given up after publish.max_attempts back in the
        /// queue first.
        #[arg(long)]
        retry_failed: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Commit every goal's agreement document and every decision record not
    /// yet in a git repository (one commit per version, authored by its
    /// editor) and push; a run with nothing new makes no commit.
    #[command(
        after_help = "Examples:\n  tandem publish git --repo /srv/git/agreements.git\n  tandem publish git --repo git@git.example.com:org/agreements.git --branch main"
    )]
    Git {
        /// A path or URL git can clone and push to (default: publish.git.repo).
        #[arg(long, value_name = "PATH|URL")]
        repo: Option<String>,
        /// The branch (default: publish.git.branch, else main).
        #[arg(long)]
        branch: Option<String>,
        /// The working clone (default: one in the temporary directory).
        #[arg(long, value_name = "DIR")]
        work_dir: Option<std::path::PathBuf>,
        #[command(flatten)]
        format: FormatArg,
    },
}

pub async fn publish(store: &Store, settings: &Settings, c: PublishCommand) -> anyhow::Result<()> {
    match c {
        PublishCommand::Status { format } => {
            let s = app::status(store, settings).await?;
            match format.format {
                Format::Json => crate::output::print_json(&s)?,
                Format::Table => {
                    if s.is_empty() {
                        println!(
                            "no publisher is configured ([publish.git|notion|confluence|jira])"
                        );
                        return Ok(());
                    }
                    let mut t = crate::output::table(&[
                        "publisher",
                        "configured",
                        "state",
                        "pending",
                        "published",
                        "failed",
                        "last error",
                    ]);
                    for p in &s {
                        let failing = p.state.as_ref().is_some_and(|s| s.failing);
                        t.add_row(vec![
                            p.target.to_string(),
                            if p.configured { "yes" } else { "no" }.to_owned(),
                            if failing { "failing" } else { "ok" }.to_owned(),
                            p.pending.to_string(),
                            p.published.to_string(),
                            p.failed.to_string(),
                            p.state
                                .as_ref()
                                .and_then(|s| s.last_error.clone())
                                .filter(|_| failing)
                                .unwrap_or_default(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        PublishCommand::Run {
            retry_failed,
            format,
        } => {
            if app::configured(&settings.publish).is_empty() {
                anyhow::bail!(
                    "no publisher is configured: add [publish.git], [publish.notion], [publish.confluence] or [publish.jira] to tandem.toml"
                );
            }
            if retry_failed {
                store
                    .retry_failed_publications(None, chrono::Utc::now())
                    .await?;
            }
            let owner = format!("cli-{}", std::process::id());
            let passes = app::run(store, settings, &owner).await?;
            match format.format {
                Format::Json => crate::output::print_json(&passes)?,
                Format::Table => {
                    for p in &passes {
                        if !p.ran {
                            println!("{}: another process is publishing; skipped", p.target);
                            continue;
                        }
                        println!(
                            "{}: {} published, {} failed{}",
                            p.target,
                            p.published,
                            p.failed,
                            p.error
                                .as_ref()
                                .map(|e| format!(" (last error: {e})"))
                                .unwrap_or_default()
                        );
                    }
                }
            }
            if passes.iter().any(|p| p.failed > 0) {
                anyhow::bail!(
                    "some publications failed; they are retried later (see tandem publish status)"
                );
            }
        }
        PublishCommand::Git {
            repo,
            branch,
            work_dir,
            format,
        } => {
            let configured = settings.publish.git.clone();
            let repo = repo
                .or_else(|| configured.as_ref().map(|g| g.repo.clone()))
                .context("--repo: name a repository path or URL (or set publish.git.repo)")?;
            let same = configured.as_ref().is_some_and(|g| g.repo == repo);
            let g = PublishGitSettings {
                branch: branch
                    .or_else(|| configured.as_ref().map(|g| g.branch.clone()))
                    .unwrap_or_else(|| "main".to_owned()),
                work_dir: work_dir.or_else(|| {
                    configured
                        .as_ref()
                        .filter(|_| same)
                        .and_then(|g| g.work_dir.clone())
                }),
                email_domain: configured
                    .as_ref()
                    .map(|g| g.email_domain.clone())
                    .unwrap_or_else(|| "users.tandem.invalid".to_owned()),
                repo,
            };
            let r = app::git_sync(store, settings, &g).await?;
            match format.format {
                Format::Json => crate::output::print_json(&r)?,
                Format::Table => {
                    for c in &r.commits {
                        println!("committed {c}");
                    }
                    println!(
                        "{}: {} new commits, {} revisions already there, {} unchanged",
                        g.repo,
                        r.commits.len(),
                        r.already,
                        r.unchanged
                    );
                }
            }
        }
    }
    Ok(())
}
