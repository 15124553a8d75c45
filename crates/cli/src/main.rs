//! `tandem`: the one binary. A thin layer over the library crates: it parses
//! arguments, loads settings, and calls the store or the server.

mod archive;
mod backup;
mod checks;
mod commands;
mod connect;
mod decisions;
mod deploy;
mod documents;
mod events;
mod focus;
mod forecasts;
mod goals;
mod imports;
mod kpis;
mod metrics;
mod names;
mod org;
mod output;
mod planning;
mod publish;
mod pulse;
mod reports;
mod request_mail;
mod requests;
mod risks;
mod stages;
mod users;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "tandem",
    version,
    about = "Keep software development and the business in step."
)]
struct Cli {
    /// Configuration file (default: ./tandem.toml when present).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Database URL, overriding the configuration (sqlite://PATH or postgres://…).
    #[arg(
        long,
        global = true,
        value_name = "URL",
        env = "TANDEM_DATABASE_URL_OVERRIDE",
        hide_env = true
    )]
    database: Option<String>,
    /// Print tables at full width instead of fitting them to the terminal.
    #[arg(long, global = true)]
    wide: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server.
    Serve {
        /// Address to listen on (default: server.listen).
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Load the demo organisation when the database is empty.
        #[arg(long)]
        demo: bool,
    },
    /// Load the demo organisation into an empty database.
    Demo,
    /// Apply pending database migrations.
    Migrate,
    /// Print a commented example configuration.
    DefaultConfig,
    /// Write every entity as JSON lines.
    Export {
        /// Output file (default: standard output).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Back up the whole database (compressed, checksummed, verified by a
    /// restore into a temporary database) to a directory or S3; `prune`
    /// deletes the backups the `[backup]` retention does not keep.
    #[command(
        args_conflicts_with_subcommands = true,
        after_help = "Examples:\n  tandem backup --to /var/backups/tandem\n  tandem backup --to s3://ops-backups/tandem\n  tandem backup prune --to /var/backups/tandem"
    )]
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty database (refused when the database
    /// holds data or the backup is corrupt or foreign; nothing is written).
    #[command(
        after_help = "Examples:\n  tandem restore --from /var/backups/tandem\n  tandem restore --from s3://ops-backups/tandem/tandem-20261207T001500Z.jsonl.gz"
    )]
    Restore {
        /// A backup file, or a directory / s3://BUCKET/PREFIX (its latest backup).
        #[arg(long, value_name = "PATH|s3://…")]
        from: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Load a file written by `tandem export` (all of it or nothing).
    ImportDump {
        /// The dump file ("-" for standard input).
        file: PathBuf,
    },
    /// Goals: list, show, start a draft, agree, start, complete, drop; export,
    /// import and diff agreement documents.
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Users: add, list, disable, enable, set a role or a password.
    #[command(subcommand)]
    User(users::UserCommand),
    /// API tokens: create, list, revoke.
    #[command(subcommand)]
    Token(TokenCommand),
    /// A team's open work in priority order, with the tech-debt budget.
    Backlog {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Work items: list, show one with its context, create, update, set state/impact/complexity/kind.
    #[command(subcommand)]
    Item(planning::ItemCommand),
    /// Teams: list, show, create, update.
    #[command(subcommand)]
    Team(org::TeamCommand),
    /// Team members: list, add, remove.
    #[command(subcommand)]
    Member(org::MemberCommand),
    /// Projects: list, show, create, update, add-repo, add-service, and their service scopes.
    #[command(subcommand)]
    Project(org::ProjectCommand),
    /// Stages of a goal: list, show, create, update.
    #[command(subcommand)]
    Stage(stages::StageCommand),
    /// A goal's Monte Carlo forecast: P50–P95 dates, on-time probability, cut line.
    Forecast {
        /// Goal id.
        goal: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Open risks with their drafted updates (`tandem risk …` lists, shows,
    /// creates and updates them one by one).
    #[command(after_help = "Example:\n  tandem risks --check --team payments")]
    Risks {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Run Tandem's risk checks first (forecasts, stale and blocked work).
        #[arg(long)]
        check: bool,
        #[command(flatten)]
        format: FormatArg,
    },
    /// What to decide at the next product sync.
    Agenda {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Reports: preview a team's weekly status report (markdown, html, text,
    /// json, slack); list and show the sent ones.
    #[command(subcommand)]
    Report(reports::ReportCommand),
    /// Webhook secrets: set a project's GitHub or GitLab webhook secret.
    #[command(subcommand)]
    WebhookSecret(events::WebhookSecretCommand),
    /// Derive records again from stored webhook deliveries (after a fix);
    /// running it twice changes nothing more.
    Reprocess(events::ReprocessArgs),
    /// Deployments from any CI/CD pipeline: record one (locally, or with
    /// --server to a running Tandem).
    #[command(subcommand)]
    Deploy(deploy::DeployCommand),
    /// Incidents of every source (pagers, the events API, health checks):
    /// open, resolve (locally, or with --server), list, acknowledge.
    #[command(subcommand)]
    Incident(deploy::IncidentCommand),
    /// Health checks (HTTP, TCP, PostgreSQL, Redis, heartbeat): list, add,
    /// run now, silence, uptime. `serve` runs them on schedule.
    #[command(subcommand)]
    Check(checks::CheckCommand),
    /// Connect a GitHub organisation or GitLab group: map its repositories
    /// to projects, set webhook secrets and webhooks, and backfill.
    #[command(subcommand)]
    Connect(connect::ConnectCommand),
    /// Import engineering data: git history from a local repository,
    /// backfill from GitHub.
    #[command(subcommand)]
    Import(imports::ImportCommand),
    /// Delivery metrics: DORA, lead time, review time, cycle time,
    /// throughput, bugs, tech-debt share, coverage, and what is behind them.
    #[command(subcommand)]
    Metrics(metrics::MetricsCommand),
    /// Risks one by one: list (any status), show with history, create, update
    /// or set the status (open, mitigating, closed).
    #[command(subcommand)]
    Risk(risks::RiskCommand),
    /// The decision log: list, show, record a decision.
    #[command(subcommand)]
    Decision(decisions::DecisionCommand),
    /// Publishing agreements, decisions and reports to git, Notion and
    /// Confluence, and task context to Jira: status, run, git.
    #[command(subcommand)]
    Publish(publish::PublishCommand),
    /// A team's policy for meetings and focus time: show, set.
    #[command(subcommand)]
    Policy(focus::PolicyCommand),
    /// Calendar feeds (iCalendar): add, list, refresh; a team's week against its policy.
    #[command(subcommand)]
    Calendar(focus::CalendarCommand),
    /// The weekly team pulse (workload, focus, what got in the way): show
    /// a team's figures (aggregates only), configure it, ask it in Slack now.
    #[command(subcommand)]
    Pulse(pulse::PulseCommand),
    /// KPI series (business and team numbers over time): list, show, create,
    /// update; add a point, import points from CSV. (Delivery metrics are
    /// `tandem metrics`.)
    #[command(subcommand)]
    Kpi(kpis::KpiCommand),
    /// Business requests: the triage queue, one request with its cost of
    /// yes, submit one, decide one.
    #[command(subcommand)]
    Request(requests::RequestCommand),
    /// The archive of raw deliveries, check results and sent reports in
    /// S3 (`[archive]`): run a pass now, search it.
    #[command(subcommand)]
    Archive(archive::ArchiveCommand),
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
}

impl Command {
    /// Whether this command may create a missing SQLite database. Reads on
    /// a missing file say so instead of leaving an empty `tandem.db` behind;
    /// the commands that set a database up, bring data in or write may
    /// create it. Every command is listed, so a new one has to choose.
    fn may_create_database(&self) -> bool {
        match self {
            Command::Serve { .. }
            | Command::Demo
            | Command::Migrate
            | Command::ImportDump { .. }
            | Command::Restore { .. }
            | Command::Import(_)
            | Command::WebhookSecret(_)
            | Command::Team(org::TeamCommand::Create { .. })
            | Command::Deploy(_)
            | Command::Incident(_)
            | Command::Check(checks::CheckCommand::Add(_))
            | Command::Connect(_)
            | Command::User(
                users::UserCommand::Add { .. }
                | users::UserCommand::Disable { .. }
                | users::UserCommand::Enable { .. }
                | users::UserCommand::SetRole { .. }
                | users::UserCommand::SetPassword { .. },
            )
            | Command::Token(TokenCommand::Create { .. } | TokenCommand::Revoke { .. })
            | Command::Request(
                requests::RequestCommand::Submit { .. } | requests::RequestCommand::Decide { .. },
            )
            | Command::Goal(
                GoalCommand::New { .. }
                | GoalCommand::Agree(_)
                | GoalCommand::Start(_)
                | GoalCommand::Complete(_)
                | GoalCommand::Drop(_)
                | GoalCommand::Import { .. },
            ) => true,
            Command::DefaultConfig
            | Command::Completions { .. }
            | Command::Export { .. }
            | Command::Backup(_)
            | Command::Archive(_)
            | Command::User(users::UserCommand::List { .. })
            | Command::Token(TokenCommand::List { .. })
            | Command::Goal(
                GoalCommand::List { .. }
                | GoalCommand::Show { .. }
                | GoalCommand::Export { .. }
                | GoalCommand::Diff { .. },
            )
            | Command::Backlog { .. }
            | Command::Item(_)
            | Command::Team(_)
            | Command::Member(_)
            | Command::Project(_)
            | Command::Stage(_)
            | Command::Risk(_)
            | Command::Check(_)
            | Command::Decision(_)
            | Command::Publish(_)
            | Command::Policy(_)
            | Command::Calendar(_)
            | Command::Pulse(_)
            | Command::Kpi(_)
            | Command::Request(_)
            | Command::Forecast { .. }
            | Command::Risks { .. }
            | Command::Agenda { .. }
            | Command::Report(_)
            | Command::Reprocess(_)
            | Command::Metrics(_) => false,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, ValueEnum)]
enum Format {
    #[default]
    Table,
    Json,
}

#[derive(Debug, Args)]
struct FormatArg {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Debug, Subcommand)]
enum GoalCommand {
    /// List goals.
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Only goals in this status (draft, agreed, in_progress, done, dropped).
        #[arg(long)]
        status: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show one goal with its version history.
    Show {
        id: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Start a draft goal; without --title, print an agreement document to
    /// fill in and `goal import`.
    New {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[arg(long)]
        title: Option<String>,
        /// The business goal, in the requester's words.
        #[arg(long, default_value = "")]
        business_goal: String,
        /// Who owns the goal.
        #[arg(long)]
        owner: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Agree a goal (records who agreed and when).
    #[command(
        after_help = "Example:\n  tandem goal agree 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b --as ana"
    )]
    Agree(TransitionArgs),
    /// Start an agreed goal: the team is working on it.
    #[command(after_help = "Example:\n  tandem goal start 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b")]
    Start(TransitionArgs),
    /// Complete a goal in progress.
    #[command(
        after_help = "Example:\n  tandem goal complete 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b --format json"
    )]
    Complete(TransitionArgs),
    /// Drop a goal that is not closed (a dropped draft leaves no version).
    #[command(
        after_help = "Example:\n  tandem goal drop 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b --as ana"
    )]
    Drop(TransitionArgs),
    /// Write a goal as a Markdown agreement document with TOML front matter.
    Export {
        id: String,
        /// Output file (default: standard output).
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Apply an agreement document: a new draft, or an edit of the goal it
    /// names (refused if the goal changed since the document was exported).
    Import {
        /// The document ("-" for standard input).
        file: PathBuf,
        /// Who makes the change (default: the current OS user).
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
    },
    /// What changed between two versions (default: the last change).
    Diff {
        id: String,
        /// From this version (0: the draft as agreed).
        from: Option<i32>,
        /// To this version (default: the current one).
        to: Option<i32>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// A goal and who moves it.
#[derive(Debug, Args)]
struct TransitionArgs {
    /// Goal id.
    id: String,
    /// Who does it (default: the current OS user).
    #[arg(long = "as", value_name = "NAME")]
    actor: Option<String>,
    #[command(flatten)]
    format: FormatArg,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create an API token; its secret is printed once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_parser = parse_role)]
        role: tandem_domain::user::Role,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List tokens (never their secrets).
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Revoke a token by id.
    Revoke { id: String },
}

fn parse_role(s: &str) -> Result<tandem_domain::user::Role, String> {
    s.parse()
}

fn main() -> ExitCode {
    output::end_quietly_on_broken_pipe();
    let cli = Cli::parse();
    output::set_wide(cli.wide);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => output::report(&e),
    }
}
