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
use tandem_app::settings::Settings;
use tandem_domain::project::Project;
use tandem_importers::backfill::Backfill;
use tandem_importers::git::{GitImport, GitImportSummary, NoProgress, Progress};
use tandem_importers::github::GithubImportSummary;
use tandem_importers::gitlab::GitlabImportSummary;
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
    /// Work items from Jira Cloud (REST): the issues a JQL search finds,
    /// with their changelogs (started and done dates); epics become parents.
    /// A re-run fetches only what changed since.
    Jira(JiraArgs),
    /// Work items from Jira's CSV export. Without a changelog, started and
    /// done dates are approximate (see docs/metrics.md).
    JiraCsv(JiraCsvArgs),
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
            let project = project_listing(store, &project, &repo).await?;
            let token = token(token_file, "GITHUB_TOKEN")?;
            let what = backfill(settings, repo, api_url, token, since, max_rate_limit_wait)?;
            let summary =
                tandem_importers::github::import(store, &project, &what, Utc::now()).await?;
            show(format.format, &summary, print_github)
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
            let project = project_listing(store, &project, &repo).await?;
            let token = token(token_file, "GITLAB_TOKEN")?;
            let what = backfill(settings, repo, api_url, token, since, max_rate_limit_wait)?;
            let summary =
                tandem_importers::gitlab::import(store, &project, &what, Utc::now()).await?;
            show(format.format, &summary, print_gitlab)
        }
        ImportCommand::Jira(a) => jira(store, a).await,
        ImportCommand::JiraCsv(a) => jira_csv(store, a).await,
    }
}

/// What `import github` and `import gitlab` ask the importer for: the
/// options given, and the webhook settings for labels and releases.
pub(crate) fn backfill(
    settings: &Settings,
    repo: String,
    api_url: String,
    token: Option<String>,
    since: Option<String>,
    max_rate_limit_wait: u64,
) -> anyhow::Result<Backfill> {
    Ok(Backfill {
        repo,
        api_url,
        token,
        since: since.as_deref().map(parse_since).transpose()?,
        max_wait: Duration::from_secs(max_rate_limit_wait),
        labels: settings.webhooks.labels(),
        release_environment: settings.webhooks.release_environment.clone(),
    })
}

/// Prints `summary` as JSON, or as `table` prints it.
fn show<T: serde::Serialize>(format: Format, summary: &T, table: fn(&T)) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(summary)?,
        Format::Table => table(summary),
    }
    Ok(())
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
pub(crate) fn token(token_file: Option<PathBuf>, env: &str) -> anyhow::Result<Option<String>> {
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
    show(format, &summary, print_summary)
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

/// The project `--project` names, which must list `--repo`.
async fn project_listing(store: &Store, key_or_id: &str, repo: &str) -> anyhow::Result<Project> {
    let project = find_project(store, key_or_id).await?;
    if !project.repositories.iter().any(|r| r == repo) {
        bail!(
            "--repo: project {} does not list the repository {repo:?} (it lists {}); add it to the project's repositories first",
            project.key,
            if project.repositories.is_empty() {
                "none".to_owned()
            } else {
                project.repositories.join(", ")
            }
        );
    }
    Ok(project)
}

async fn find_project(store: &Store, key_or_id: &str) -> anyhow::Result<Project> {
    tandem_app::lookup::find_project(store, key_or_id)
        .await
        .context("--project")
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

// ---- Jira ----------------------------------------------------------------------

/// `tandem import jira`.
#[derive(Debug, clap::Args)]
pub struct JiraArgs {
    /// The Tandem project (key or id) the work items belong to.
    #[arg(long)]
    project: String,
    /// The Jira Cloud site, https://SITE.atlassian.net.
    #[arg(long, value_name = "URL")]
    url: String,
    /// The Atlassian account's e-mail (basic authentication with the token).
    #[arg(long, env = "JIRA_EMAIL")]
    email: String,
    /// A file holding the API token (default: the JIRA_API_TOKEN environment
    /// variable).
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// The Jira project key (default: the Tandem project's key in capitals);
    /// the default JQL is `project = "KEY"`.
    #[arg(long, value_name = "KEY")]
    jira_project: Option<String>,
    /// The issues to import, instead of the whole Jira project.
    #[arg(long)]
    jql: Option<String>,
    #[command(flatten)]
    mapping: JiraMappingArgs,
    /// The id of the old "Epic Link" custom field, when the site still uses
    /// one (e.g. customfield_10014); `parent` is always read.
    #[arg(long, value_name = "FIELD")]
    epic_link_field: Option<String>,
    /// The longest wait for a rate limit before retrying, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    max_rate_limit_wait: u64,
    #[command(flatten)]
    format: FormatArg,
}

/// `tandem import jira-csv`.
#[derive(Debug, clap::Args)]
pub struct JiraCsvArgs {
    /// The CSV file Jira exported ("Export issues → CSV (all fields)").
    file: PathBuf,
    /// The Tandem project (key or id) the work items belong to.
    #[arg(long)]
    project: String,
    /// The export's date format, in chrono's notation (Jira's default
    /// `dd/MMM/yy h:mm a` is the default).
    #[arg(long, value_name = "FORMAT", default_value = tandem_importers::jira_csv::DEFAULT_DATE_FORMAT)]
    date_format: String,
    /// The time zone of the export's dates (the exporting user's zone), an
    /// IANA name such as Europe/Berlin.
    #[arg(long, value_name = "ZONE", default_value = "UTC")]
    timezone: String,
    #[command(flatten)]
    mapping: JiraMappingArgs,
    #[command(flatten)]
    format: FormatArg,
}

/// What both Jira importers take for the mapping.
#[derive(Debug, clap::Args)]
pub struct JiraMappingArgs {
    /// Issue types counted as tech debt, comma-separated (the labels
    /// tech-debt and debt count too).
    #[arg(long, value_name = "TYPES", default_value = tandem_importers::jira::DEFAULT_DEBT_TYPES)]
    debt_types: String,
    /// Link the children of an epic (and their sub-tasks) to a Tandem goal:
    /// EPIC-KEY=GOAL-ID. Repeatable.
    #[arg(long, value_name = "EPIC-KEY=GOAL-ID", value_parser = tandem_importers::jira::epic_goal)]
    epic_goal: Vec<(String, Uuid)>,
}

async fn jira(store: &Store, a: JiraArgs) -> anyhow::Result<()> {
    let project = find_project(store, &a.project).await?;
    let token = match &a.token_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("--token-file: cannot read {}", path.display()))?;
            text.trim().to_owned()
        }
        None => std::env::var("JIRA_API_TOKEN")
            .map(|t| t.trim().to_owned())
            .unwrap_or_default(),
    };
    if token.is_empty() {
        bail!(
            "no Jira API token: pass --token-file or set JIRA_API_TOKEN (create one at \
             https://id.atlassian.com/manage-profile/security/api-tokens)"
        );
    }
    if a.email.trim().is_empty() {
        bail!("--email: is empty");
    }
    let jql = match (a.jql, a.jira_project) {
        (Some(_), Some(_)) => bail!("--jql and --jira-project: give one, not both"),
        (Some(jql), None) if jql.trim().is_empty() => bail!("--jql: is empty"),
        (Some(jql), None) => jql.trim().to_owned(),
        (None, key) => {
            let key = key.unwrap_or_else(|| project.key.to_ascii_uppercase());
            if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                bail!("--jira-project: {key:?} is not a Jira project key");
            }
            format!("project = \"{key}\"")
        }
    };
    let what = tandem_importers::jira::JiraImport {
        url: a.url,
        email: a.email.trim().to_owned(),
        token,
        jql,
        debt_types: tandem_importers::jira::debt_types(&a.mapping.debt_types),
        epic_link_field: a.epic_link_field,
        epic_goals: a.mapping.epic_goal,
        max_wait: Duration::from_secs(a.max_rate_limit_wait),
    };
    let s = tandem_importers::jira::import(store, &project, &what, Utc::now()).await?;
    match a.format.format {
        Format::Json => print_json(&s)?,
        Format::Table => println!(
            "imported {} issues from Jira ({} epics kept as parents): {} work items stored, \
             {} parent links, {} linked to goals; {} changelogs paged; {} requests \
             ({} rate-limit waits) in {:.1} s",
            s.issues,
            s.epics,
            s.stored,
            s.parent_links,
            s.goal_links,
            s.changelogs_paged,
            s.requests,
            s.rate_limit_waits,
            s.seconds
        ),
    }
    Ok(())
}

async fn jira_csv(store: &Store, a: JiraCsvArgs) -> anyhow::Result<()> {
    let project = find_project(store, &a.project).await?;
    let timezone = tandem_importers::jira_csv::timezone(&a.timezone).map_err(|e| anyhow!(e))?;
    let data =
        std::fs::read(&a.file).with_context(|| format!("cannot read {}", a.file.display()))?;
    let what = tandem_importers::jira_csv::JiraCsvImport {
        date_format: a.date_format,
        timezone,
        debt_types: tandem_importers::jira::debt_types(&a.mapping.debt_types),
        epic_goals: a.mapping.epic_goal,
    };
    let s = tandem_importers::jira_csv::import(store, &project, &data, &what)
        .await
        .with_context(|| format!("{}", a.file.display()))?;
    match a.format.format {
        Format::Json => print_json(&s)?,
        Format::Table => println!(
            "imported {} rows of {} ({} epics kept as parents): {} work items stored, \
             {} parent links ({} parents not in the file), {} linked to goals in {:.1} s",
            s.rows,
            a.file.display(),
            s.epics,
            s.stored,
            s.parent_links,
            s.unresolved_parents,
            s.goal_links,
            s.seconds
        ),
    }
    Ok(())
}
