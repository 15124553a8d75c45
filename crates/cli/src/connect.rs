//! `tandem connect github|gitlab`: list an organisation's or group's
//! repositories, map them to projects (flags, or a prompt in a terminal),
//! create what is missing, store the webhook secrets, set the webhooks (or
//! print what to paste), and backfill each repository with a progress bar.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;
use serde_json::{Value, json};
use tandem_app::Settings;
use tandem_app::connect::{self, Connect, Mapping, Outcome, Plan};
use tandem_domain::engineering::Provider;
use tandem_importers::hosting::{Remote, RemoteRepository};
use tandem_store::Store;

use crate::Format;
use crate::commands::print_json;
use crate::imports::{backfill, token};

#[derive(Debug, Subcommand)]
pub enum ConnectCommand {
    /// Connect a GitHub organisation: its repositories to projects, webhook
    /// secrets, the webhook (organisation, else per repository, else
    /// instructions to paste) and a backfill of each repository.
    ///
    /// Example: tandem connect github --org acme --team payments
    ///   --map acme/payments-api=payments-api --all-to-project platform
    Github {
        /// The organisation's login.
        #[arg(long, value_name = "ORG")]
        org: String,
        #[command(flatten)]
        args: ConnectArgs,
    },
    /// Connect a GitLab group and its subgroups likewise (the group hook is
    /// a Premium feature; without it, one hook per project).
    ///
    /// Example: tandem connect gitlab --group acme/platform --team platform
    ///   --all-to-project platform --api-url https://gitlab.example.com/api/v4
    Gitlab {
        /// The group's full path.
        #[arg(long, value_name = "PATH")]
        group: String,
        #[command(flatten)]
        args: ConnectArgs,
    },
}

#[derive(Debug, Args)]
pub struct ConnectArgs {
    /// The team (key) of the projects to create; created when missing.
    #[arg(long)]
    team: Option<String>,
    /// Put a repository (full name, or its last segment) in a project (key;
    /// created when missing). Repeatable.
    #[arg(long, value_name = "REPO=PROJECT", value_parser = repo_project)]
    map: Vec<(String, String)>,
    /// Put every repository not named by --map in this project.
    #[arg(long, value_name = "PROJECT")]
    all_to_project: Option<String>,
    /// Include archived repositories in --all-to-project.
    #[arg(long)]
    include_archived: bool,
    /// The API root (default: [github] or [gitlab] api_url).
    #[arg(long, value_name = "URL")]
    api_url: Option<String>,
    /// A file holding the token (default: GITHUB_TOKEN or GITLAB_TOKEN, else
    /// the [github] or [gitlab] token). Setting hooks needs admin rights:
    /// GitHub admin:org_hook (or repository admin), GitLab Maintainer/Owner.
    #[arg(long, value_name = "PATH")]
    token_file: Option<PathBuf>,
    /// Tandem's address as the provider reaches it (default: server.public_url).
    #[arg(long, value_name = "URL")]
    public_url: Option<String>,
    /// Set no webhooks: print what to paste instead.
    #[arg(long)]
    no_hooks: bool,
    /// Do not backfill the repositories.
    #[arg(long)]
    no_backfill: bool,
    /// Backfill only what was updated after this date (YYYY-MM-DD or RFC 3339).
    #[arg(long, value_name = "DATE")]
    since: Option<String>,
    /// The longest wait for a rate limit before retrying, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 900)]
    max_rate_limit_wait: u64,
    #[command(flatten)]
    format: crate::FormatArg,
}

fn repo_project(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((repo, project)) if !repo.trim().is_empty() && !project.trim().is_empty() => {
            Ok((repo.trim().to_owned(), project.trim().to_owned()))
        }
        _ => Err(format!("{s:?} is not REPO=PROJECT")),
    }
}

/// One repository's backfill.
#[derive(Debug, Serialize)]
struct BackfillResult {
    repo: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    summary: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// `tandem connect …`.
pub async fn connect(store: &Store, settings: &Settings, c: ConnectCommand) -> anyhow::Result<()> {
    let (provider, owner, a) = match c {
        ConnectCommand::Github { org, args } => (Provider::Github, org, args),
        ConnectCommand::Gitlab { group, args } => (Provider::Gitlab, group, args),
    };
    let hosting = match provider {
        Provider::Gitlab => &settings.gitlab,
        _ => &settings.github,
    };
    let env = match provider {
        Provider::Gitlab => "GITLAB_TOKEN",
        _ => "GITHUB_TOKEN",
    };
    let token = token(a.token_file.clone(), env)?.or_else(|| hosting.token());
    let api_url = a.api_url.clone().unwrap_or_else(|| hosting.api_url.clone());
    let public_url = a
        .public_url
        .clone()
        .unwrap_or_else(|| settings.server.public_url());
    let parsed = reqwest_url(&public_url)?;
    if parsed
        .host_str()
        .is_some_and(|h| h == "127.0.0.1" || h == "localhost")
        && !a.no_hooks
    {
        eprintln!(
            "warning: the webhook address {public_url} is local; {provider} cannot reach it \
             (set server.public_url or pass --public-url)"
        );
    }
    let max_wait = Duration::from_secs(a.max_rate_limit_wait);
    let mut remote = Remote::new(provider, &api_url, token.clone(), max_wait)?;
    let repos = connect::repositories(&mut remote, &owner).await?;
    if repos.is_empty() {
        bail!("{owner}: the API lists no repositories (is the token allowed to see them?)");
    }
    let mut mapping = Mapping {
        explicit: a.map.clone(),
        all_to: a.all_to_project.clone(),
        include_archived: a.include_archived,
    };
    if mapping.explicit.is_empty() && mapping.all_to.is_none() {
        if std::io::stdin().is_terminal() {
            mapping.explicit = prompt(&repos)?;
        } else {
            bail!(
                "--map or --all-to-project: say which project each repository goes to (the {} \
                 repositories of {owner} are: {})",
                repos.len(),
                names(&repos)
            );
        }
    }
    let plan = connect::plan(&repos, &mapping)?;
    if plan.assignments.is_empty() {
        bail!("no repository is mapped to a project; nothing to do");
    }
    let what = Connect {
        provider,
        owner: owner.clone(),
        team: a.team.clone(),
        public_url,
        no_hooks: a.no_hooks,
    };
    let outcome = connect::apply(store, &mut remote, &what, &plan).await?;
    let backfills = if a.no_backfill {
        Vec::new()
    } else {
        run_backfills(store, settings, provider, &plan, &a, api_url, token).await?
    };
    let failed = backfills.iter().filter(|b| b.error.is_some()).count();
    match a.format.format {
        Format::Json => print_json(&json!({
            "provider": provider,
            "owner": owner,
            "repositories": repos.len(),
            "plan": plan,
            "outcome": outcome,
            "backfills": backfills,
        }))?,
        Format::Table => print_table(provider, &plan, &outcome, &backfills),
    }
    if failed > 0 {
        bail!(
            "{failed} of {} backfills failed (see above); run `tandem import {provider}` for them again",
            backfills.len()
        );
    }
    Ok(())
}

fn reqwest_url(url: &str) -> anyhow::Result<tandem_importers::hosting::Url> {
    tandem_importers::hosting::Url::parse(url)
        .with_context(|| format!("--public-url: {url:?} is not a URL"))
}

fn names(repos: &[RemoteRepository]) -> String {
    repos
        .iter()
        .map(|r| r.full_name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Asks for each repository's project on the terminal.
fn prompt(repos: &[RemoteRepository]) -> anyhow::Result<Vec<(String, String)>> {
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    let mut out = Vec::new();
    let mut last = String::new();
    eprintln!(
        "Which project does each repository go to? (a project key; Enter for the last one given, - to skip)"
    );
    for r in repos {
        let archived = if r.archived { " (archived)" } else { "" };
        if last.is_empty() {
            eprint!("{}{archived}: ", r.full_name);
        } else {
            eprint!("{}{archived} [{last}]: ", r.full_name);
        }
        std::io::stderr().flush().ok();
        let Some(line) = lines.next() else { break };
        let answer = line.context("cannot read the answer")?.trim().to_owned();
        let project = match answer.as_str() {
            "-" => continue,
            "" if last.is_empty() => continue,
            "" => last.clone(),
            other => other.to_owned(),
        };
        last = project.clone();
        out.push((r.full_name.clone(), project));
    }
    Ok(out)
}

async fn run_backfills(
    store: &Store,
    settings: &Settings,
    provider: Provider,
    plan: &Plan,
    a: &ConnectArgs,
    api_url: String,
    token: Option<String>,
) -> anyhow::Result<Vec<BackfillResult>> {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(plan.assignments.len() as u64), target);
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} repositories {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    let mut out = Vec::new();
    for assignment in &plan.assignments {
        bar.set_message(format!("backfilling {}", assignment.repo));
        let project = tandem_app::lookup::project(store, &assignment.project).await?;
        let what = backfill(
            settings,
            assignment.repo.clone(),
            api_url.clone(),
            token.clone(),
            a.since.clone(),
            a.max_rate_limit_wait,
        )?;
        let result = match provider {
            Provider::Gitlab => {
                tandem_importers::gitlab::import(store, &project, &what, Utc::now())
                    .await
                    .map(|s| serde_json::to_value(s).unwrap_or(Value::Null))
            }
            _ => tandem_importers::github::import(store, &project, &what, Utc::now())
                .await
                .map(|s| serde_json::to_value(s).unwrap_or(Value::Null)),
        };
        out.push(match result {
            Ok(summary) => BackfillResult {
                repo: assignment.repo.clone(),
                summary: Some(summary),
                error: None,
            },
            Err(e) => BackfillResult {
                repo: assignment.repo.clone(),
                summary: None,
                error: Some(e.to_string()),
            },
        });
        bar.inc(1);
    }
    bar.finish_and_clear();
    Ok(out)
}

fn print_table(provider: Provider, plan: &Plan, o: &Outcome, backfills: &[BackfillResult]) {
    if o.team_created {
        println!("created the team");
    }
    for p in &o.projects {
        println!(
            "project {}{}: {} repositories added{}",
            p.project,
            if p.created { " (created)" } else { "" },
            p.repositories_added.len(),
            if p.repositories_added.is_empty() {
                String::new()
            } else {
                format!(" ({})", p.repositories_added.join(", "))
            }
        );
    }
    if !plan.unmapped.is_empty() {
        println!("left out (not mapped): {}", plan.unmapped.join(", "));
    }
    if !o.secrets_set.is_empty() {
        println!(
            "{provider} webhook secret stored for: {}",
            o.secrets_set.join(", ")
        );
    }
    for h in &o.hooks {
        match &h.reason {
            Some(reason) => println!(
                "webhook on {} {}: {} ({reason})",
                h.scope, h.target, h.status
            ),
            None => println!("webhook on {} {}: {}", h.scope, h.target, h.status),
        }
    }
    for i in &o.instructions {
        println!();
        match &i.owner {
            Some(owner) => println!(
                "Add this webhook to {owner} (or to each of: {}):",
                i.repositories.join(", ")
            ),
            None => println!("Add this webhook to each of: {}", i.repositories.join(", ")),
        }
        println!("  URL:          {}", i.url);
        println!("  Content type: {}", i.content_type);
        println!("  Secret:       {}", i.secret);
        println!("  Events:       {}", i.events.join(", "));
    }
    for b in backfills {
        match (&b.summary, &b.error) {
            (_, Some(e)) => println!("backfill of {} failed: {e}", b.repo),
            (Some(s), None) => println!("backfilled {}: {s}", b.repo),
            _ => {}
        }
    }
}
