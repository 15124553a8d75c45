//! What each subcommand does.

use std::io::{BufReader, IsTerminal, Write};
use tandem_domain::audit::AuditAction;

use anyhow::{Context, bail};
use chrono::Utc;
use clap::CommandFactory;
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use tandem_app::Settings;
use tandem_app::bootstrap::{AdminBootstrap, ensure_admin};
use tandem_app::credentials as auth;
use tandem_app::demo::{DEMO_PASSWORD, DemoOutcome};
use tandem_app::paging::all;
use tandem_app::settings::LogFormat;
use tandem_domain::goal::{GoalTransition, NewGoal, Parties};
use tandem_server::AppState;
use tandem_store::{ConnectOptions, ListQuery, Store};
use uuid::Uuid;

use crate::{Cli, Command, Format, GoalCommand, TokenCommand};

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command;
    match command {
        Command::DefaultConfig => {
            print!("{}", tandem_app::settings::DEFAULT_CONFIG);
            return Ok(());
        }
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "tandem", &mut std::io::stdout());
            return Ok(());
        }
        // With --server, a CI runner needs neither configuration nor a
        // database: the events go to the server's API.
        Command::Deploy(c) if c.remote().is_server() => {
            return crate::deploy::deploy(&c.remote().target()?, c).await;
        }
        Command::Incident(c) if c.remote().is_server() => {
            return crate::deploy::incident(&c.remote().target()?, c).await;
        }
        _ => {}
    }
    let mut settings = Settings::load(cli.config.as_deref())?;
    // Searching the archive reads S3 only: it works without a database.
    let command = match command {
        Command::Archive(crate::archive::ArchiveCommand::Search(args)) => {
            init_logging(&settings, false);
            return crate::archive::search(&settings, args).await;
        }
        c => c,
    };
    if let Some(url) = cli.database {
        settings.database.url = SecretString::from(url);
    }
    let serving = matches!(command, Command::Serve { .. });
    init_logging(&settings, serving);
    let store = open(&settings, command.may_create_database()).await?;
    let result = match command {
        Command::Serve { listen, demo } => serve(store.clone(), settings, listen, demo).await,
        Command::Demo => load_demo(&store).await,
        Command::Migrate => {
            println!("migrations applied ({})", store.engine().as_str());
            Ok(())
        }
        Command::Export { output } => export(&store, output).await,
        Command::ImportDump { file } => import_dump(&store, file).await,
        Command::Backup(args) => crate::backup::backup(&store, &settings, args).await,
        Command::Restore { from, format } => {
            crate::backup::restore(&store, &settings, &from, format.format).await
        }
        Command::Goal(c) => goal(&store, c).await,
        Command::User(c) => crate::users::user(&store, c).await,
        Command::Token(c) => token(&store, c).await,
        Command::Backlog { team, format } => {
            crate::planning::backlog(&store, &settings, &team, format.format).await
        }
        Command::Item(c) => crate::planning::item(&store, &settings, c).await,
        Command::Team(c) => crate::org::team(&store, c).await,
        Command::Member(c) => crate::org::member(&store, c).await,
        Command::Project(c) => crate::org::project(&store, c).await,
        Command::Stage(c) => crate::stages::stage(&store, c).await,
        Command::Forecast { goal, format } => {
            crate::forecasts::forecast(&store, &settings, &goal, format.format).await
        }
        Command::Risks {
            team,
            check,
            format,
        } => crate::forecasts::risks(&store, &settings, team, check, format.format).await,
        Command::Agenda { team, format } => {
            crate::forecasts::agenda(&store, &settings, &team, format.format).await
        }
        Command::Report(c) => crate::reports::report(&store, &settings, c).await,
        Command::WebhookSecret(c) => crate::events::webhook_secret(&store, &settings, c).await,
        Command::Reprocess(a) => crate::events::reprocess(&store, &settings, a).await,
        Command::Deploy(c) => crate::deploy::deploy(&crate::deploy::Target::Local(&store), c).await,
        Command::Incident(c) => {
            crate::deploy::incident(&crate::deploy::Target::Local(&store), c).await
        }
        Command::Import(c) => crate::imports::import(&store, &settings, c).await,
        Command::Connect(c) => crate::connect::connect(&store, &settings, c).await,
        Command::Metrics(c) => crate::metrics::metrics(&store, &settings, c).await,
        Command::Risk(c) => crate::risks::risk(&store, c).await,
        Command::Check(c) => crate::checks::check(&store, &settings, c).await,
        Command::Decision(c) => crate::decisions::decision(&store, c).await,
        Command::Publish(c) => crate::publish::publish(&store, &settings, c).await,
        Command::Archive(crate::archive::ArchiveCommand::Run { format }) => {
            crate::archive::run(&store, &settings, format.format).await
        }
        Command::Archive(crate::archive::ArchiveCommand::Search(args)) => {
            crate::archive::search(&settings, args).await
        }
        Command::Policy(c) => crate::focus::policy(&store, c).await,
        Command::Calendar(c) => crate::focus::calendar(&store, c).await,
        Command::Pulse(c) => crate::pulse::pulse(&store, &settings, c).await,
        Command::Kpi(c) => crate::kpis::kpi(&store, &settings, c).await,
        Command::Request(c) => crate::requests::request(&store, &settings, c).await,
        Command::DefaultConfig | Command::Completions { .. } => Ok(()),
    };
    store.close().await;
    result
}

fn init_logging(settings: &Settings, serving: bool) {
    let level = if serving {
        settings.log.level.as_str()
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person watching: never in a file or a log collector.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// Connects and migrates; every command works on an up-to-date schema.
/// Without `create_if_missing` a missing SQLite file is an error.
async fn open(settings: &Settings, create_if_missing: bool) -> anyhow::Result<Store> {
    let url = settings.database.url.expose_secret();
    let options = ConnectOptions {
        max_connections: settings.database.max_connections,
        create_if_missing,
        ..ConnectOptions::default()
    };
    let store = match Store::connect(url, &options).await {
        Ok(store) => store,
        // These already say what is wrong and where, in a user's words.
        Err(
            e @ (tandem_store::StoreError::NoDatabase(_)
            | tandem_store::StoreError::Unreachable(_)
            | tandem_store::StoreError::Config(_)),
        ) => return Err(e.into()),
        Err(e) => {
            return Err(anyhow::Error::new(e)
                .context(format!("cannot open the database ({})", redact_url(url))));
        }
    };
    store
        .migrate()
        .await
        .context("cannot migrate the database")?;
    Ok(store)
}

/// The URL without its password, for messages.
fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let creds = &url[scheme + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

async fn serve(
    store: Store,
    mut settings: Settings,
    listen: Option<std::net::SocketAddr>,
    demo: bool,
) -> anyhow::Result<()> {
    if let Some(addr) = listen {
        settings.server.listen = addr;
    }
    match ensure_admin(&store, &settings).await? {
        AdminBootstrap::CreatedWithGeneratedPassword { username, password } => {
            println!("Created the first admin. Sign in as {username:?} with password {password:?}");
            println!(
                "(shown once; change it by creating another admin, or set auth.admin_password before first start)"
            );
        }
        AdminBootstrap::CreatedWithConfiguredPassword { username } => {
            println!("Created the first admin {username:?} with the configured password.");
        }
        AdminBootstrap::Existing => {}
    }
    if demo {
        match tandem_app::demo::load(&store, Utc::now().date_naive()).await? {
            loaded @ DemoOutcome::Loaded { .. } => print_demo_loaded(&loaded),
            DemoOutcome::NotEmpty => {
                println!(
                    "The database already has data; the demo organisation was not loaded again."
                );
            }
        }
    }
    let listener = tokio::net::TcpListener::bind(settings.server.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.server.listen))?;
    let addr = listener.local_addr()?;
    // Links and webhook URLs name the address really bound (port 0 becomes
    // the chosen port) unless `server.public_url` says otherwise.
    settings.server.listen = addr;
    let public = settings.server.public_url();
    println!(
        "Tandem is listening on http://{addr} (database: {})",
        store.engine().as_str()
    );
    if public != format!("http://{addr}") {
        println!("People reach it at {public} (server.public_url).");
    }
    // The demo's sign-in works only where the demo was loaded: on a fresh
    // database, point at the sign-in page and the first admin instead.
    if store.find_user_by_username("maria").await?.is_some() {
        println!(
            "Try: curl -c jar -H 'content-type: application/json' -d '{{\"username\":\"maria\",\"password\":\"{DEMO_PASSWORD}\"}}' http://{addr}/api/v1/session && curl -b jar http://{addr}/api/v1/goals"
        );
    } else {
        println!(
            "Sign in at {public}/sign-in as the admin and open \"Set up\" to add teams, projects and webhooks; `tandem user add NAME --role manager` adds people (`serve --demo` loads a demo organisation into an empty database)."
        );
    }
    tracing::info!(%addr, "listening");
    if let Some(warning) = tandem_app::notify::deprecated_settings(&settings) {
        tracing::warn!("{warning}");
        eprintln!("warning: {warning}");
    }
    let state = AppState::new(store, settings)?;
    tandem_server::launch(state, listener, shutdown_signal()).await?;
    println!("Tandem stopped.");
    Ok(())
}

fn print_demo_users(users: &[(String, String)]) {
    println!("Demo users (password {DEMO_PASSWORD:?}):");
    for (name, role) in users {
        println!("  {name:<10} {role}");
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}

fn print_demo_loaded(outcome: &DemoOutcome) {
    if let DemoOutcome::Loaded {
        teams,
        work_items,
        deployments,
        users,
    } = outcome
    {
        println!(
            "Loaded the demo organisation: {teams} teams, {work_items} work items, {deployments} deployments."
        );
        print_demo_users(users);
    }
}

async fn load_demo(store: &Store) -> anyhow::Result<()> {
    match tandem_app::demo::load(store, Utc::now().date_naive()).await? {
        loaded @ DemoOutcome::Loaded { .. } => {
            print_demo_loaded(&loaded);
            Ok(())
        }
        DemoOutcome::NotEmpty => bail!(
            "the database already has teams; the demo organisation loads only into an empty database"
        ),
    }
}

async fn export(store: &Store, output: Option<std::path::PathBuf>) -> anyhow::Result<()> {
    let summary = match output {
        Some(path) => {
            let file = std::fs::File::create(&path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            let mut out = std::io::BufWriter::new(file);
            let s = store.export(&mut out).await?;
            out.flush()?;
            eprintln!("exported {} records to {}", s.total(), path.display());
            s
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            store.export(&mut out).await?
        }
    };
    tracing::debug!(?summary, "export finished");
    Ok(())
}

async fn import_dump(store: &Store, file: std::path::PathBuf) -> anyhow::Result<()> {
    let summary = if file.as_os_str() == "-" {
        let stdin = std::io::stdin();
        store.import_dump(&mut stdin.lock()).await
    } else {
        let f = std::fs::File::open(&file)
            .with_context(|| format!("cannot open {}", file.display()))?;
        store.import_dump(&mut BufReader::new(f)).await
    }
    .with_context(|| {
        format!(
            "{} was not imported; the database is unchanged",
            file.display()
        )
    })?;
    println!("imported {} records", summary.total());
    Ok(())
}

/// A team's id from its key or id (`--team`); a missing one names the
/// closest keys.
pub(crate) async fn team_id(store: &Store, id_or_key: &str) -> anyhow::Result<Uuid> {
    Ok(tandem_app::lookup::find_team(store, id_or_key)
        .await
        .context("--team")?
        .id)
}

// Where the command modules have always found them; they live in `output`.
pub(crate) use crate::output::{print_json, table};

async fn goal(store: &Store, command: GoalCommand) -> anyhow::Result<()> {
    match command {
        GoalCommand::List {
            team,
            status,
            format,
        } => {
            let mut q = ListQuery::default();
            if let Some(team) = team {
                q.team_id = Some(team_id(store, &team).await?);
            }
            if let Some(status) = status {
                status
                    .parse::<tandem_domain::goal::GoalStatus>()
                    .map_err(|e| anyhow::anyhow!("--status: {e}"))?;
                q.status = Some(status);
            }
            let goals = all(q, |q| async move { store.list_goals(&q).await }).await?;
            match format.format {
                Format::Json => print_json(&goals)?,
                Format::Table => {
                    let mut t = table(&["id", "status", "title", "owner", "deadline"]);
                    for g in &goals {
                        t.add_row(vec![
                            g.id.to_string(),
                            g.status.to_string(),
                            g.title.clone(),
                            g.parties.owner.clone().unwrap_or_default(),
                            g.timeline
                                .deadline
                                .map(|d| d.to_string())
                                .unwrap_or_default(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        GoalCommand::Show { id, format } => {
            let goal = tandem_app::lookup::find_goal(store, &id).await?;
            let versions = store.list_goal_versions(goal.id).await?;
            match format.format {
                Format::Json => print_json(&json!({"goal": goal, "versions": versions}))?,
                Format::Table => {
                    println!("{} [{}] v{}", goal.title, goal.status, goal.version);
                    println!("Business goal: {}", goal.business_goal);
                    println!("Technical tasks: {}", goal.technical_tasks);
                    for h in &goal.hypotheses {
                        println!("Hypothesis: {h}");
                    }
                    let mut t = table(&[
                        "success metric",
                        "baseline",
                        "target",
                        "direction",
                        "unit",
                        "deadline",
                    ]);
                    for m in &goal.success_metrics {
                        let num =
                            |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_else(|| "—".into());
                        t.add_row(vec![
                            m.metric.clone(),
                            num(m.baseline),
                            num(m.target),
                            m.direction.to_string(),
                            m.unit.clone(),
                            m.deadline
                                .map(|d| d.to_string())
                                .unwrap_or_else(|| "—".into()),
                        ]);
                    }
                    println!("{t}");
                    println!(
                        "Owner: {}  Requester: {}  Contributors: {}",
                        goal.parties.owner.as_deref().unwrap_or("—"),
                        goal.parties.requester.as_deref().unwrap_or("—"),
                        goal.parties.contributors.join(", ")
                    );
                    if let Some(at) = goal.agreed_at {
                        println!(
                            "Agreed by {} at {at}",
                            goal.agreed_by.as_deref().unwrap_or("?")
                        );
                    }
                    let mut t = table(&["version", "when", "who", "action", "changed"]);
                    for v in &versions {
                        t.add_row(vec![
                            v.version.to_string(),
                            v.changed_at.to_rfc3339(),
                            v.changed_by.clone(),
                            v.action.clone(),
                            crate::documents::describe(&v.changes).join("\n"),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        GoalCommand::New {
            team,
            title,
            business_goal,
            owner,
            format,
        } => {
            let Some(title) = title else {
                if owner.is_some() || !business_goal.is_empty() {
                    bail!(
                        "--business-goal and --owner need --title; without --title, `goal new` prints a document template to fill in and `goal import`"
                    );
                }
                return crate::documents::template(store, &team).await;
            };
            let goal = NewGoal {
                team_id: team_id(store, &team).await?,
                project_id: None,
                title,
                business_goal,
                technical_tasks: String::new(),
                hypotheses: Vec::new(),
                success_metrics: Vec::new(),
                parties: Parties {
                    owner,
                    ..Parties::default()
                },
                timeline: Default::default(),
            }
            .into_goal(Uuid::now_v7(), Utc::now())?;
            store.create_goal(&goal).await?;
            match format.format {
                Format::Json => print_json(&goal)?,
                Format::Table => println!("created draft goal {} ({})", goal.id, goal.title),
            }
        }
        GoalCommand::Export { id, output } => crate::documents::export(store, &id, output).await?,
        GoalCommand::Import { file, actor } => {
            crate::documents::import(store, &file, actor).await?
        }
        GoalCommand::Diff {
            id,
            from,
            to,
            format,
        } => crate::documents::diff(store, &id, from, to, format.format).await?,
        GoalCommand::Agree(a) => transition(store, a, GoalTransition::Agree).await?,
        GoalCommand::Start(a) => transition(store, a, GoalTransition::Start).await?,
        GoalCommand::Complete(a) => transition(store, a, GoalTransition::Complete).await?,
        GoalCommand::Drop(a) => transition(store, a, GoalTransition::Drop).await?,
    }
    Ok(())
}

async fn transition(
    store: &Store,
    a: crate::TransitionArgs,
    action: GoalTransition,
) -> anyhow::Result<()> {
    crate::goals::transition(store, &a.id, action, a.actor, a.format.format).await
}

/// Writes an admin action done with the command line to the audit log
/// (actor `cli`).
pub(crate) async fn cli_audit(
    store: &Store,
    action: AuditAction,
    subject: &str,
    detail: &str,
) -> anyhow::Result<()> {
    tandem_app::audit::record(store, Utc::now(), action, "cli", subject, None, detail)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

async fn token(store: &Store, command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create { name, role, format } => {
            let (token, secret) = auth::issue_token(store, &name, role, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            cli_audit(
                store,
                AuditAction::TokenCreated,
                &format!("{} ({})", token.name, token.id),
                &format!("role {}", token.role),
            )
            .await?;
            match format.format {
                Format::Json => {
                    let mut v = json!(token);
                    v["secret"] = json!(secret);
                    print_json(&v)?;
                }
                Format::Table => {
                    println!(
                        "created token {} ({}) with role {}",
                        token.id, token.name, token.role
                    );
                    println!("secret (shown once): {secret}");
                }
            }
        }
        TokenCommand::List { format } => {
            let tokens = store.list_tokens().await?;
            match format.format {
                Format::Json => print_json(&tokens)?,
                Format::Table => {
                    let mut t = table(&["id", "name", "prefix", "role", "last used", "revoked"]);
                    for k in &tokens {
                        t.add_row(vec![
                            k.id.to_string(),
                            k.name.clone(),
                            k.prefix.clone(),
                            k.role.to_string(),
                            k.last_used_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
                            k.revoked_at.map(|d| d.to_rfc3339()).unwrap_or_default(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        TokenCommand::Revoke { id } => {
            let id = Uuid::try_parse(&id)
                .with_context(|| format!("{id:?} is not a token id (a UUID)"))?;
            store.revoke_token(id, Utc::now()).await?;
            cli_audit(store, AuditAction::TokenRevoked, &id.to_string(), "").await?;
            println!("revoked token {id}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            super::redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            super::redact_url("sqlite://tandem.db"),
            "sqlite://tandem.db"
        );
    }
}
