//! `tandem import …`: history from a local git repository, backfill from
//! the GitHub and GitLab REST APIs.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tandem_domain::project::Project;
use tandem_importers::git::{GitImport, GitImportSummary, NoProgress, Progress};
use tandem_importers::github::{GithubImport, GithubImportSummary};
use tandem_importers::gitlab::{GitlabImport, GitlabImportSummary};
use tandem_server::settings::Settings;
use tandem_store::Store;
use uuid::Uuid;

use crate::commands::print_json;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a branch's history from a local git repository: commits,
    /// parents, changed files with line counts, merges and tags. A re-run
    /// imports only new commits.
    Git {
        /// The repository (working tree or .git directory).
        path: PathBuf,
        /// The project (key or id) the repository belongs to.
        #[arg(long)]
        project: String,
        /// The branch to import (default: the branch HEAD points at).
        #[arg(long)]
        branch: Option<String>,
        /// The name to store the repository under, one of the project's
        /// repositories (default: the project's only repository, or the one
        /// whose name ends with the directory's name).
        #[arg(long, value_name = "NAME")]
        repo: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Backfill from the GitHub REST API: pull requests with their reviews
    /// and commits, deployments with their statuses, and issues labelled as
    /// incidents or bugs. A re-run fetches only what changed since.
    Github {
        /// The project (key or id) the repository belongs to.
        #[arg(long)]
        project: String,
        /// The repository, OWNER/NAME, one of the project's repositories.
        #[arg(long, value_name = "OWNER/NAME")]
        repo: String,
        /// Ignore what was last updated before this date (YYYY-MM-DD or
        /// RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// The API root (GitHub Enterprise: https://HOST/api/v3).
        #[arg(long, value_name = "URL", default_value = tandem_importers::github::DEFAULT_API_URL)]
        api_url: String,
        /// A file holding the token (default: the GITHUB_TOKEN environment
        /// variable; none for public repositories).
        #[arg(long, value_name = "PATH")]
        token_file: Option<PathBuf>,
        /// The longest wait for a rate limit before retrying, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 900)]
        max_rate_limit_wait: u64,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Backfill from the GitLab REST API v4: merge requests with their
    /// commits, review comments and approvals, deployments, pipelines (with
    /// coverage), and issues that are incidents or labelled as incidents or
    /// bugs. A re-run fetches only what changed since.
    Gitlab {
        /// The project (key or id) the repository belongs to.
        #[arg(long)]
        project: String,
        /// The GitLab project's full path (GROUP/NAME or
        /// GROUP/SUBGROUP/…/NAME), one of the project's repositories.
        #[arg(long, value_name = "PATH")]
        repo: String,
        /// Ignore what was last updated before this date (YYYY-MM-DD or
        /// RFC 3339).
        #[arg(long, value_name = "DATE")]
        since: Option<String>,
        /// The API root (self-managed: https://HOST/api/v4).
        #[arg(long, value_name = "URL", default_value = tandem_importers::gitlab::DEFAULT_API_URL)]
        api_url: String,
        /// A file holding the token, sent as PRIVATE-TOKEN (default: the
        /// GITLAB_TOKEN environment variable; none for public projects).
        #[arg(long, value_name = "PATH")]
        token_file: Option<PathBuf>,
        /// The longest wait for a rate limit before retrying, in seconds.
        #[arg(long, value_name = "SECONDS", default_value_t = 900)]
        max_rate_limit_wait: u64,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// `tandem import …`.
pub async fn import(
    store: &Store,
    settings: &Settings,
    command: ImportCommand,
) -> anyhow::Result<()> {
    match command {
        ImportCommand::Git {
            path,
            project,
            branch,
            repo,
            format,
        } => git(store, &path, &project, branch, repo, format.format).await,
        ImportCommand::Github {
            project,
            repo,
            since,
            api_url,
            token_file,
            max_rate_limit_wait,
            format,
        } => {
            let project = find_project(store, &project).await?;
            if !project.repositories.iter().any(|r| r == &repo) {
                bail!(
                    "--repo: project {} does not list the repository {repo:?}; add it to the project's repositories first",
                    project.key
                );
            }
            let token = match token_file {
                Some(path) => {
                    let text = std::fs::read_to_string(&path)
                        .with_context(|| format!("--token-file: cannot read {}", path.display()))?;
                    let token = text.trim().to_owned();
                    if token.is_empty() {
                        bail!("--token-file: {} is empty", path.display());
                    }
                    Some(token)
                }
                None => std::env::var("GITHUB_TOKEN")
                    .ok()
                    .map(|t| t.trim().to_owned())
                    .filter(|t| !t.is_empty()),
            };
            let what = GithubImport {
                repo,
                api_url,
                token,
                since: since.as_deref().map(parse_since).transpose()?,
                max_wait: Duration::from_secs(max_rate_limit_wait),
                labels: settings.webhooks.labels(),
                release_environment: settings.webhooks.release_environment.clone(),
            };
            let summary =
                tandem_importers::github::import(store, &project, &what, Utc::now()).await?;
            match format.format {
                Format::Json => print_json(&summary)?,
                Format::Table => print_github(&summary),
            }
            Ok(())
        }
        ImportCommand::Gitlab {
            project,
            repo,
            since,
            api_url,
            token_file,
            max_rate_limit_wait,
            format,
        } => {
            tandem_importers::gitlab::project_id(&repo)?;
            let project = find_project(store, &project).await?;
            if !project.repositories.iter().any(|r| r == &repo) {
                bail!(
                    "--repo: project {} does not list the repository {repo:?}; add it to the project's repositories first",
                    project.key
                );
            }
            let what = GitlabImport {
                repo,
                api_url,
                token: token(token_file, "GITLAB_TOKEN")?,
                since: since.as_deref().map(parse_since).transpose()?,
                max_wait: Duration::from_secs(max_rate_limit_wait),
                labels: settings.webhooks.labels(),
                release_environment: settings.webhooks.release_environment.clone(),
            };
            let summary =
                tandem_importers::gitlab::import(store, &project, &what, Utc::now()).await?;
            match format.format {
                Format::Json => print_json(&summary)?,
                Format::Table => print_gitlab(&summary),
            }
            Ok(())
        }
    }
}

fn parse_since(text: &str) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => Ok(day.and_time(chrono::NaiveTime::MIN).and_utc()),
        Err(_) => bail!("--since: {text:?} is not a date (YYYY-MM-DD or RFC 3339)"),
    }
}

fn print_github(s: &GithubImportSummary) {
    println!(
        "imported {} from GitHub: {} pull requests ({} reviews, {} commits), {} deployments, \
         {} incidents, {} bugs; {} requests ({} rate-limit waits) in {:.1} s",
        s.repo,
        s.pull_requests,
        s.reviews,
        s.pr_commits,
        s.deployments,
        s.incidents,
        s.bugs,
        s.requests,
        s.rate_limit_waits,
        s.seconds
    );
}

/// The token: from `--token-file` (trimmed, not empty), else the
/// environment variable `env`, else none.
fn token(token_file: Option<PathBuf>, env: &str) -> anyhow::Result<Option<String>> {
    match token_file {
        Some(path) => {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("--token-file: cannot read {}", path.display()))?;
            let token = text.trim().to_owned();
            if token.is_empty() {
                bail!("--token-file: {} is empty", path.display());
            }
            Ok(Some(token))
        }
        None => Ok(std::env::var(env)
            .ok()
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())),
    }
}

fn print_gitlab(s: &GitlabImportSummary) {
    println!(
        "imported {} from GitLab: {} merge requests ({} review comments, {} approvals, {} commits), \
         {} deployments, {} pipelines, {} incidents, {} bugs; {} requests ({} rate-limit waits) in {:.1} s",
        s.repo,
        s.merge_requests,
        s.review_comments,
        s.approvals,
        s.mr_commits,
        s.deployments,
        s.pipelines,
        s.incidents,
        s.bugs,
        s.requests,
        s.rate_limit_waits,
        s.seconds
    );
    if s.approvals_without_time > 0 {
        eprintln!(
            "warning: {} approvals have no time (no approved_at and no \"approved this merge request\" note) and were not stored",
            s.approvals_without_time
        );
    }
}

async fn git(
    store: &Store,
    path: &Path,
    project: &str,
    branch: Option<String>,
    repo: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let project = find_project(store, project).await?;
    let repo = repository_name(&project, path, repo.as_deref())?;
    let what = GitImport {
        path: path.to_owned(),
        repo,
        branch,
    };
    let progress: Arc<dyn Progress + Send> = if std::io::stderr().is_terminal() {
        Arc::new(Bar::new())
    } else {
        Arc::new(NoProgress)
    };
    let summary = tandem_importers::git::import(store, &what, progress.clone(), Utc::now()).await;
    drop(progress);
    let summary = summary?;
    if summary.shallow {
        eprintln!(
            "warning: {} is a shallow clone: its history is incomplete, so lead times of commits \
             beyond the shallow boundary are unknown (fetch the full history with `git fetch --unshallow`)",
            path.display()
        );
    }
    match format {
        Format::Json => print_json(&summary)?,
        Format::Table => print_summary(&summary),
    }
    Ok(())
}

fn print_summary(s: &GitImportSummary) {
    println!(
        "imported {} ({} at {}): {} commits read, {} new, {} merges, {} file changes, {} tags in {:.1} s",
        s.repo,
        s.branch,
        &s.head[..s.head.len().min(12)],
        s.commits_seen,
        s.commits_new,
        s.merges,
        s.files,
        s.tags,
        s.seconds
    );
}

async fn find_project(store: &Store, key_or_id: &str) -> anyhow::Result<Project> {
    let found = match Uuid::try_parse(key_or_id) {
        Ok(id) => store.get_project(id).await,
        Err(_) => store.get_project_by_key(key_or_id).await,
    };
    found.map_err(|_| anyhow!("--project: no project has the key or id {key_or_id:?}"))
}

/// The name to store the repository under: `--repo` (which the project must
/// list), else the project's only repository, else the one the directory's
/// name matches.
fn repository_name(project: &Project, path: &Path, repo: Option<&str>) -> anyhow::Result<String> {
    let listed = &project.repositories;
    let names = || {
        if listed.is_empty() {
            "none".to_owned()
        } else {
            listed.join(", ")
        }
    };
    if let Some(repo) = repo {
        if listed.iter().any(|r| r == repo) {
            return Ok(repo.to_owned());
        }
        bail!(
            "--repo: project {} does not list the repository {repo:?} (it lists: {}); add it to the project's repositories first",
            project.key,
            names()
        );
    }
    match listed.as_slice() {
        [] => bail!(
            "project {} lists no repositories; add the repository (e.g. \"acme/payments\") to the project's repositories first",
            project.key
        ),
        [only] => return Ok(only.clone()),
        _ => {}
    }
    let dir = directory_name(path)?;
    let matching: Vec<&String> = listed
        .iter()
        .filter(|r| {
            let short = r.trim_end_matches('/').trim_end_matches(".git");
            short == dir || short.rsplit('/').next() == Some(dir.as_str())
        })
        .collect();
    match matching.as_slice() {
        [one] => Ok((*one).clone()),
        _ => bail!(
            "project {} lists several repositories ({}) and the directory name {dir:?} does not pick one; name it with --repo",
            project.key,
            names()
        ),
    }
}

/// The repository's directory name (of the working tree, not `.git`).
fn directory_name(path: &Path) -> anyhow::Result<String> {
    let absolute = std::path::absolute(path)
        .with_context(|| format!("cannot resolve the path {}", path.display()))?;
    let mut dir = absolute.as_path();
    while dir.file_name().is_some_and(|n| n == ".git" || n == ".") {
        dir = dir.parent().unwrap_or(dir);
    }
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".git").to_owned())
        .unwrap_or_default();
    Ok(name)
}

/// A progress bar on standard error: commits read and commits per second.
struct Bar(ProgressBar);

impl Bar {
    fn new() -> Self {
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message("walking the history");
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(bar)
    }
}

impl Progress for Bar {
    fn start(&self, total: u64) {
        self.0.set_length(total);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} commits, {per_sec}, {eta} left")
        {
            self.0.set_style(style);
        }
    }

    fn advance(&self, n: u64) {
        self.0.inc(n);
    }

    fn storing(&self) {
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg}") {
            self.0.set_style(style);
        }
        self.0.set_message("storing");
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
