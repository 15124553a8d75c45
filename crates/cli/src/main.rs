//! `tandem`: the one binary. A thin layer over the library crates: it parses
//! arguments, loads settings, and calls the store or the server.

mod commands;
mod connect;
mod documents;
mod events;
mod forecasts;
mod imports;
mod metrics;
mod planning;
mod reports;

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
    /// Load a file written by `tandem export` (all of it or nothing).
    ImportDump {
        /// The dump file ("-" for standard input).
        file: PathBuf,
    },
    /// Goals: list, show, start a draft, agree; export, import and diff agreement documents.
    #[command(subcommand)]
    Goal(GoalCommand),
    /// Users: add, list, disable.
    #[command(subcommand)]
    User(UserCommand),
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
    /// Work items: show one with its context.
    #[command(subcommand)]
    Item(planning::ItemCommand),
    /// A goal's Monte Carlo forecast: P50–P95 dates, on-time probability, cut line.
    Forecast {
        /// Goal id.
        goal: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Open risks with their drafted updates.
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
    /// Print shell completions.
    Completions { shell: clap_complete::Shell },
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
    Agree {
        id: String,
        /// Who agrees (default: the current OS user).
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
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

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add a user; the password is read from TANDEM_NEW_PASSWORD or generated.
    Add {
        username: String,
        #[arg(long, value_parser = parse_role)]
        role: tandem_domain::user::Role,
        #[arg(long)]
        display_name: Option<String>,
        #[arg(long)]
        email: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List users.
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Disable a user and end their sessions.
    Disable { username: String },
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
    let cli = Cli::parse();
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
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
