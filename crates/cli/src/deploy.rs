//! `tandem deploy record` and `tandem incident open|resolve`: a pipeline's
//! last step or a pager's hook reports a deployment or an incident, to the
//! local database or, with `--server URL --token TOKEN`, to a running
//! Tandem's events API (so a CI runner needs no database access).
//!
//! Rules:
//! - Both modes store through `tandem_app::events` (locally directly, over
//!   HTTP through `POST /api/v1/events/…`), so they refuse and store alike.
//! - Idempotent by id: a time left out is the stored one when the id was
//!   recorded before (else now), so running a step again changes nothing;
//!   `deploy record` without `--id` uses `SERVICE-ENV-SHA`.
//! - Errors name the flag (`--repo: project pay does not list …`) and exit
//!   non-zero; nothing is stored on a refusal.

use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tandem_app::AppError;
use tandem_app::events::{self, DeploymentEvent, IncidentEvent, Item};
use tandem_domain::engineering::{Deployment, DeploymentStatus, Incident};
use tandem_store::Store;
use uuid::Uuid;

use crate::Format;
use crate::commands::print_json;
use crate::events::parse_since as parse_time;

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Record a deployment (paste into a pipeline's last step); it is
    /// attributed like a GitHub deployment: the commits between the
    /// previous successful deployment of the service to the environment
    /// and --sha.
    #[command(
        after_help = "Example (a pipeline's last step, token in TANDEM_TOKEN):\n  \
        tandem deploy record --project pay --service payments --env production \\\n    \
        --repo acme/payments --sha \"$GIT_COMMIT\" --id \"$BUILD_TAG\" \\\n    \
        --server https://tandem.example.com"
    )]
    Record(RecordArgs),
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// Project key or id (needed only when several projects list the service).
    #[arg(long)]
    project: Option<String>,
    /// The service deployed, as the project's services list it.
    #[arg(long)]
    service: String,
    /// The environment (production, staging, …).
    #[arg(long = "env", value_name = "ENV")]
    environment: String,
    /// The repository deployed (OWNER/NAME), one of the project's repositories.
    #[arg(long)]
    repo: String,
    /// The commit deployed (40 hex digits); it need not be imported yet.
    #[arg(long)]
    sha: String,
    /// success, failure, cancelled or in_progress.
    #[arg(long, default_value = "success", value_parser = parse_status)]
    status: DeploymentStatus,
    /// When it started (RFC 3339; default: as recorded before, else now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    started: Option<DateTime<Utc>>,
    /// When it finished, for a final status (default: as recorded before,
    /// else now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    finished: Option<DateTime<Utc>>,
    /// The pipeline's id of the deployment; recording it again updates it
    /// (default: SERVICE-ENV-SHA).
    #[arg(long)]
    id: Option<String>,
    /// A rollback (or revert) deployment.
    #[arg(long)]
    rollback: bool,
    #[command(flatten)]
    remote: Remote,
    #[command(flatten)]
    format: crate::FormatArg,
}

#[derive(Debug, Subcommand)]
pub enum IncidentCommand {
    /// Open an incident (or report it again: same --id, nothing changes).
    #[command(after_help = "Example:\n  \
        tandem incident open --service payments --severity sev1 --id INC-42 \\\n    \
        --title \"Checkout fails\" --caused-by \"$DEPLOY_ID\"")]
    Open(OpenArgs),
    /// Resolve an incident recorded before (by open or the events API).
    #[command(
        after_help = "Example:\n  tandem incident resolve INC-42 --resolved 2026-03-02T11:00:00Z"
    )]
    Resolve(ResolveArgs),
    /// List incidents of every source (pagers, the events API, checks),
    /// newest first, with when each was acknowledged.
    #[command(after_help = "Example:\n  tandem incident list --open")]
    List {
        /// Only unresolved incidents.
        #[arg(long)]
        open: bool,
        #[arg(long, default_value_t = 50)]
        limit: i64,
        #[command(flatten)]
        format: crate::FormatArg,
    },
    /// Acknowledge an incident (by its id or its sender's id, e.g.
    /// `check:payments-health:3`): someone is on it. The first
    /// acknowledgement stays.
    #[command(after_help = "Example:\n  tandem incident ack check:payments-health:3 --by alice")]
    Ack {
        id: String,
        /// Who acknowledges it.
        #[arg(long, default_value = "cli")]
        by: String,
        #[command(flatten)]
        format: crate::FormatArg,
    },
}

/// `list` and `ack` read and write the database directly.
static LOCAL: Remote = Remote {
    server: None,
    token: None,
};

#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The service affected, as a project's services list it.
    #[arg(long)]
    service: String,
    /// As your pager names it (sev1, critical, …).
    #[arg(long)]
    severity: String,
    /// The pager's id of the incident (default: a new one, printed).
    #[arg(long)]
    id: Option<String>,
    /// When it opened (RFC 3339; default: as recorded before, else now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    opened: Option<DateTime<Utc>>,
    #[arg(long)]
    title: Option<String>,
    /// The id of the deployment (recorded through the events API) that caused it.
    #[arg(long, value_name = "DEPLOYMENT_ID")]
    caused_by: Option<String>,
    /// Project key or id (needed only when several projects list the service).
    #[arg(long)]
    project: Option<String>,
    #[command(flatten)]
    remote: Remote,
    #[command(flatten)]
    format: crate::FormatArg,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// The incident's id.
    id: String,
    /// When it was resolved (RFC 3339; default: as recorded before, else now).
    #[arg(long, value_name = "TIME", value_parser = parse_time)]
    resolved: Option<DateTime<Utc>>,
    #[command(flatten)]
    remote: Remote,
    #[command(flatten)]
    format: crate::FormatArg,
}

#[derive(Debug, Clone, Args)]
pub struct Remote {
    /// Send to a running Tandem (its base URL, e.g. https://tandem.example.com)
    /// instead of opening the database.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// API token of a member, for --server.
    #[arg(long, env = "TANDEM_TOKEN", hide_env_values = true)]
    token: Option<String>,
}

fn parse_status(s: &str) -> Result<DeploymentStatus, String> {
    s.parse()
}

impl DeployCommand {
    pub fn remote(&self) -> &Remote {
        match self {
            DeployCommand::Record(a) => &a.remote,
        }
    }
}

impl IncidentCommand {
    pub fn remote(&self) -> &Remote {
        match self {
            IncidentCommand::Open(a) => &a.remote,
            IncidentCommand::Resolve(a) => &a.remote,
            IncidentCommand::List { .. } | IncidentCommand::Ack { .. } => &LOCAL,
        }
    }
}

impl Remote {
    /// True with `--server`: send to a server, open no database.
    pub fn is_server(&self) -> bool {
        self.server.is_some()
    }

    /// The server to send to (`--server` and its token).
    pub fn target(&self) -> anyhow::Result<Target<'static>> {
        let server = self.server.as_deref().unwrap_or_default();
        Client::new(server, self.token.as_deref()).map(Target::Server)
    }
}

/// Where records go: the local database, or a server's events API.
pub enum Target<'a> {
    Local(&'a Store),
    Server(Client),
}

/// `tandem deploy …`.
pub async fn deploy(target: &Target<'_>, c: DeployCommand) -> anyhow::Result<()> {
    match c {
        DeployCommand::Record(a) => {
            let id = a.id.clone().unwrap_or_else(|| {
                format!(
                    "{}-{}-{}",
                    a.service.trim(),
                    a.environment.trim().to_lowercase(),
                    a.sha.trim().to_ascii_lowercase()
                )
            });
            let stored = target.deployment(&id).await?;
            let event = deployment_event(&a, id, stored.as_ref(), Utc::now());
            target.send_deployment(event.clone()).await?;
            let d = target
                .deployment(&event.id)
                .await?
                .ok_or_else(|| anyhow!("deployment {} was not stored", event.id))?;
            match a.format.format {
                Format::Json => print_json(&d),
                Format::Table => {
                    println!(
                        "deployment {} of {} to {}: {}, {}@{}{}",
                        d.external_id,
                        d.service,
                        d.environment,
                        d.status,
                        d.repo.as_deref().unwrap_or("?"),
                        d.sha.as_deref().map_or("?", |s| s.get(..10).unwrap_or(s)),
                        d.finished_at
                            .map_or_else(String::new, |f| format!(", finished {}", f.to_rfc3339()))
                    );
                    Ok(())
                }
            }
        }
    }
}

/// `tandem incident …`.
pub async fn incident(target: &Target<'_>, c: IncidentCommand) -> anyhow::Result<()> {
    let c = match (c, target) {
        (
            IncidentCommand::List {
                open,
                limit,
                format,
            },
            Target::Local(store),
        ) => {
            let all = events::list_incidents(store, open, limit).await?;
            return match format.format {
                Format::Json => print_json(&all),
                Format::Table => {
                    let mut t = crate::output::table(&[
                        "incident",
                        "service",
                        "severity",
                        "opened",
                        "acknowledged",
                        "resolved",
                    ]);
                    for i in &all {
                        let at = |t: Option<DateTime<Utc>>| {
                            t.map_or_else(|| "-".to_owned(), |t| t.to_rfc3339())
                        };
                        t.add_row(vec![
                            i.external_id.clone(),
                            i.service.clone().unwrap_or_default(),
                            i.severity.clone(),
                            i.opened_at.to_rfc3339(),
                            at(i.acknowledged_at),
                            i.resolved_at
                                .map_or_else(|| "open".to_owned(), |t| t.to_rfc3339()),
                        ]);
                    }
                    println!("{t}");
                    Ok(())
                }
            };
        }
        (IncidentCommand::Ack { id, by, format }, Target::Local(store)) => {
            let i = events::acknowledge(store, &id, &by, Utc::now()).await?;
            return match format.format {
                Format::Json => print_json(&i),
                Format::Table => {
                    println!(
                        "incident {} acknowledged at {} by {}",
                        i.external_id,
                        i.acknowledged_at
                            .map(|t| t.to_rfc3339())
                            .unwrap_or_default(),
                        i.acknowledged_by.unwrap_or_default()
                    );
                    Ok(())
                }
            };
        }
        (IncidentCommand::Resolve(a), Target::Local(store)) => {
            // Any source: a check's (`check:<name>:<n>`), an Alertmanager
            // alert's, or one opened here; by its id or the sender's id.
            let found = events::find_incident(store, &a.id)
                .await
                .map_err(local_error)?;
            let stored = store
                .get_incident(&found.source, &found.external_id)
                .await?
                .ok_or_else(|| anyhow!("incident {} was not stored", found.external_id))?;
            let mut event = IncidentEvent::of(&stored);
            event.resolved_at = Some(a.resolved.or(stored.resolved_at).unwrap_or_else(Utc::now));
            let i = events::record_incident_from(store, &found.source, event, None, Utc::now())
                .await
                .map_err(local_error)?;
            return print_incident(&i, a.format.format);
        }
        (IncidentCommand::List { .. } | IncidentCommand::Ack { .. }, _) => {
            bail!("incident list and ack work on the database, not with --server")
        }
        (c, _) => c,
    };
    let (event, format) = match c {
        IncidentCommand::Open(a) => {
            let id =
                a.id.clone()
                    .unwrap_or_else(|| format!("inc-{}", Uuid::now_v7().simple()));
            let stored = target.incident(&id).await?;
            (open_event(&a, id, stored.as_ref(), Utc::now()), a.format)
        }
        IncidentCommand::Resolve(a) => {
            let stored = target.incident(&a.id).await?.ok_or_else(|| {
                anyhow!(
                    "no incident {:?} was recorded (open it first: tandem incident open --id …)",
                    a.id
                )
            })?;
            let mut event = IncidentEvent::of(&stored);
            event.resolved_at = Some(a.resolved.or(stored.resolved_at).unwrap_or_else(Utc::now));
            (event, a.format)
        }
        IncidentCommand::List { .. } | IncidentCommand::Ack { .. } => {
            unreachable!("handled above")
        }
    };
    target.send_incident(event.clone()).await?;
    let i = target
        .incident(&event.id)
        .await?
        .ok_or_else(|| anyhow!("incident {} was not stored", event.id))?;
    print_incident(&i, format.format)
}

fn print_incident(i: &Incident, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(i),
        Format::Table => {
            println!(
                "incident {} on {} ({}): opened {}, {}",
                i.external_id,
                i.service.as_deref().unwrap_or("?"),
                i.severity,
                i.opened_at.to_rfc3339(),
                i.resolved_at.map_or_else(
                    || "open".to_owned(),
                    |r| format!("resolved {}", r.to_rfc3339())
                )
            );
            Ok(())
        }
    }
}

/// The event a `deploy record` run sends: flags first, then what was
/// recorded before under the same id, then now.
fn deployment_event(
    a: &RecordArgs,
    id: String,
    stored: Option<&Deployment>,
    now: DateTime<Utc>,
) -> DeploymentEvent {
    let started_at = a.started.or(stored.map(|d| d.started_at)).unwrap_or(now);
    let stored_finish = stored
        .filter(|d| d.status.is_final())
        .and_then(|d| d.finished_at);
    let finished_at = if a.status.is_final() {
        Some(a.finished.or(stored_finish).unwrap_or(now))
    } else {
        a.finished
    };
    DeploymentEvent {
        id,
        service: a.service.clone(),
        environment: a.environment.clone(),
        started_at,
        finished_at,
        status: a.status,
        repo: Some(a.repo.clone()),
        sha: Some(a.sha.clone()),
        commits: Vec::new(),
        project: a.project.clone(),
        is_rollback: a.rollback || stored.is_some_and(|d| d.is_rollback),
    }
}

/// The event an `incident open` run sends: flags first, then what was
/// recorded before under the same id (its resolution is kept), then now.
fn open_event(
    a: &OpenArgs,
    id: String,
    stored: Option<&Incident>,
    now: DateTime<Utc>,
) -> IncidentEvent {
    IncidentEvent {
        id,
        service: a.service.clone(),
        severity: a.severity.clone(),
        opened_at: a.opened.or(stored.map(|i| i.opened_at)).unwrap_or(now),
        resolved_at: stored.and_then(|i| i.resolved_at),
        caused_by_deployment: a
            .caused_by
            .clone()
            .or_else(|| stored.and_then(|i| i.caused_by.clone())),
        title: a.title.clone().or_else(|| stored.map(|i| i.title.clone())),
        project: a.project.clone(),
    }
}

/// The flag a field of the events API is given with.
fn flag(field: &str) -> String {
    let name = match field {
        "environment" => "env",
        "started_at" => "started",
        "finished_at" => "finished",
        "opened_at" => "opened",
        "resolved_at" => "resolved",
        "caused_by_deployment" | "caused_by" => "caused-by",
        "is_rollback" => "rollback",
        other => other,
    };
    format!("--{name}")
}

impl Target<'_> {
    async fn deployment(&self, id: &str) -> anyhow::Result<Option<Deployment>> {
        match self {
            Target::Local(store) => found(events::deployment(store, id).await),
            Target::Server(c) => {
                c.get(&format!("/api/v1/events/deployments/{}", segment(id)))
                    .await
            }
        }
    }

    async fn incident(&self, id: &str) -> anyhow::Result<Option<Incident>> {
        match self {
            Target::Local(store) => found(events::incident(store, id).await),
            Target::Server(c) => {
                c.get(&format!("/api/v1/events/incidents/{}", segment(id)))
                    .await
            }
        }
    }

    async fn send_deployment(&self, e: DeploymentEvent) -> anyhow::Result<()> {
        match self {
            Target::Local(store) => {
                events::record_deployments(store, vec![Item::one(e)], Utc::now())
                    .await
                    .map(drop)
                    .map_err(local_error)
            }
            Target::Server(c) => c.post("/api/v1/events/deployments", &e).await,
        }
    }

    async fn send_incident(&self, e: IncidentEvent) -> anyhow::Result<()> {
        match self {
            Target::Local(store) => events::record_incidents(store, vec![Item::one(e)], Utc::now())
                .await
                .map(drop)
                .map_err(local_error),
            Target::Server(c) => c.post("/api/v1/events/incidents", &e).await,
        }
    }
}

fn found<T>(r: Result<T, AppError>) -> anyhow::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(AppError::NotFound(_)) => Ok(None),
        Err(e) => Err(local_error(e)),
    }
}

fn local_error(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(errors) => anyhow!(
            "{}",
            errors
                .iter()
                .map(|f| format!("{}: {}", flag(&f.field), f.message))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        AppError::BadInput {
            message,
            field: Some(field),
        }
        | AppError::Conflict {
            message,
            field: Some(field),
        } => anyhow!("{}: {message}", flag(&field)),
        other => anyhow!(other),
    }
}

/// A path segment: an id with `/`, `?`, `#`, `%` or spaces escaped.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for b in id.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The events API of a running Tandem.
pub struct Client {
    base: String,
    token: String,
    http: reqwest::Client,
}

impl Client {
    fn new(server: &str, token: Option<&str>) -> anyhow::Result<Client> {
        let base = server.trim().trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            bail!("--server: {server:?} is not an http:// or https:// URL");
        }
        let Some(token) = token.map(str::trim).filter(|t| !t.is_empty()) else {
            bail!(
                "--token: an API token (member role) is required with --server; or set TANDEM_TOKEN"
            );
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("tandem/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("cannot start the HTTP client")?;
        Ok(Client {
            base,
            token: token.to_owned(),
            http,
        })
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<Option<T>> {
        let url = format!("{}{path}", self.base);
        let response = self
            .http
            .get(&url)
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            let body: Value = response.json().await.unwrap_or(Value::Null);
            // A 404 without the API's error body is a wrong --server.
            if body.pointer("/error/code").and_then(Value::as_str) == Some("not_found")
                && body
                    .pointer("/error/message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| m != "no such route")
            {
                return Ok(None);
            }
            bail!(
                "--server: {} does not serve Tandem's events API ({url} answered 404)",
                self.base
            );
        }
        let response = self.checked(response).await?;
        Ok(Some(response.json().await.with_context(|| {
            format!("{url} answered with a body that is not the expected JSON")
        })?))
    }

    async fn post(&self, path: &str, body: &impl Serialize) -> anyhow::Result<()> {
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("cannot reach {}", self.base))?;
        self.checked(response).await.map(drop)
    }

    /// The response when it succeeded, else its error in the CLI's words.
    async fn checked(&self, response: reqwest::Response) -> anyhow::Result<reqwest::Response> {
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let body: Value = response.json().await.unwrap_or(Value::Null);
        let message = body
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("no message");
        let field = body.pointer("/error/field").and_then(Value::as_str);
        match (status.as_u16(), field) {
            (401, _) => bail!("--token: the server refused the token ({message})"),
            (403, _) => bail!("--token: the token's role may not record events ({message})"),
            (_, Some(field)) => {
                // The API's message may already start with the field's name.
                let message = message
                    .strip_prefix(field)
                    .and_then(|m| m.strip_prefix(": "))
                    .unwrap_or(message);
                bail!("{}: {message}", flag(field))
            }
            _ => bail!("the server answered {status}: {message}"),
        }
    }
}
