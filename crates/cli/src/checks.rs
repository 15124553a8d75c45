//! `tandem check list|add|run|silence|disable|enable|uptime`: health checks through the
//! same `tandem_app::checks` functions as `/api/v1/checks` (and as the
//! `[[checks]]` of tandem.toml, which `serve` stores at start).

use std::collections::BTreeMap;

use anyhow::anyhow;
use chrono::{TimeDelta, Utc};
use clap::{Args, Subcommand};
use tandem_app::Settings;
use tandem_app::checks::{self, run::Runner};
use tandem_domain::check::{CheckKind, CheckSpec, Severity};
use tandem_store::{Store, StoredCheck};

use crate::commands::print_json;
use crate::output::table;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum CheckCommand {
    /// List checks with their status.
    #[command(after_help = "Example:\n  tandem check list --format json")]
    List {
        #[command(flatten)]
        format: FormatArg,
    },
    /// Define a check (or change the one with this name).
    #[command(after_help = "Examples:\n  \
        tandem check add --name payments-health --team pay --service payments --kind http \\\n    \
        --target https://payments.example.com/healthz --condition '[STATUS] == 200' \\\n    \
        --condition '[RESPONSE_TIME] < 800' --interval 30 --failure-threshold 3\n  \
        tandem check add --name db-connections --team pay --service payments --kind postgres \\\n    \
        --target postgres://monitor@db/payments \\\n    \
        --query 'SELECT count(*) FROM pg_stat_activity' --condition '[VALUE] < 80'\n  \
        tandem check add --name nightly-export --team pay --service payments --kind heartbeat \\\n    \
        --interval 86400 --grace 3600\n  \
        tandem check add --name api-dns --team pay --service payments --kind dns \\\n    \
        --target api.example.com --record-type A --condition '[RECORDS] == 203.0.113.7'\n  \
        tandem check add --name api-cert --team pay --service payments --kind tls \\\n    \
        --target api.example.com:443 --condition '[CERTIFICATE_EXPIRATION] > 14d'\n  \
        tandem check add --name app-errors --team pay --service payments --kind log \\\n    \
        --target /var/log/payments --pattern ' ERROR ' --window 15 --condition '[MATCHES] < 20'")]
    Add(Box<AddArgs>),
    /// Run a check now and record the result (its schedule stays).
    #[command(after_help = "Example:\n  tandem check run payments-health")]
    Run {
        name: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Silence a check for a while: runs are recorded, nothing goes failing.
    #[command(after_help = "Example:\n  tandem check silence payments-health --minutes 120")]
    Silence {
        name: String,
        /// How long from now (0 lifts the silence).
        #[arg(long)]
        minutes: u32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Switch a check off, by name or id: it keeps its definition and
    /// history but no longer runs (so it opens no incident and sends no
    /// alert) until enabled again.
    #[command(after_help = "Example:\n  tandem check disable payments-health")]
    Disable {
        /// The check's name or id.
        name: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Switch a disabled check back on, by name or id: it runs at its next
    /// scheduler pass.
    #[command(after_help = "Example:\n  tandem check enable payments-health")]
    Enable {
        /// The check's name or id.
        name: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Time-weighted availability over the last days, from the rollups.
    #[command(after_help = "Example:\n  tandem check uptime payments-health --days 90")]
    Uptime {
        name: String,
        #[arg(long, default_value_t = 90)]
        days: u32,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[arg(long)]
    name: String,
    /// The owning team's key.
    #[arg(long)]
    team: String,
    /// The service watched, as a project's services list it.
    #[arg(long)]
    service: String,
    /// Project key, when several projects list the service.
    #[arg(long)]
    project: Option<String>,
    /// http, tcp, postgres, redis, heartbeat, dns, tls or log.
    #[arg(long, value_parser = parse::<CheckKind>)]
    kind: CheckKind,
    /// URL (http, postgres, redis), host:port (tcp, tls), a domain name
    /// (dns), a path or s3://BUCKET/PREFIX (log); none for heartbeat.
    #[arg(long, default_value = "")]
    target: String,
    /// A condition, e.g. '[STATUS] == 200' (repeat for more).
    #[arg(long = "condition")]
    conditions: Vec<String>,
    #[arg(long, default_value_t = 60)]
    interval: u32,
    #[arg(long, default_value_t = 10)]
    timeout: u32,
    #[arg(long, default_value_t = 1)]
    failure_threshold: u32,
    #[arg(long, default_value_t = 1)]
    success_threshold: u32,
    /// critical, warning or info.
    #[arg(long, default_value = "critical", value_parser = parse::<Severity>)]
    severity: Severity,
    /// http: the method.
    #[arg(long)]
    method: Option<String>,
    /// http: a header as `Name: value` (repeat for more).
    #[arg(long = "header")]
    headers: Vec<String>,
    /// http: the request body.
    #[arg(long)]
    body: Option<String>,
    /// postgres: one read-only statement.
    #[arg(long)]
    query: Option<String>,
    /// heartbeat: seconds a ping may be late.
    #[arg(long, default_value_t = 0)]
    grace: u32,
    /// The check this one depends on.
    #[arg(long)]
    depends_on: Option<String>,
    /// dns: the record type (A, AAAA, CNAME, MX, NS, TXT, …; default A).
    #[arg(long)]
    record_type: Option<String>,
    /// dns: the name server to ask, IP or IP:port (default: the system's).
    #[arg(long)]
    nameserver: Option<String>,
    /// log: the regular expression of the lines to count.
    #[arg(long)]
    pattern: Option<String>,
    /// log: count the matching lines of the last this many minutes.
    #[arg(long)]
    window: Option<u32>,
    #[command(flatten)]
    format: FormatArg,
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

pub async fn check(store: &Store, settings: &Settings, c: CheckCommand) -> anyhow::Result<()> {
    let now = Utc::now();
    match c {
        CheckCommand::List { format } => {
            let all = checks::list(store).await?;
            match format.format {
                Format::Json => print_json(&all),
                Format::Table => {
                    print_checks(&all);
                    Ok(())
                }
            }
        }
        CheckCommand::Add(a) => {
            let mut headers = BTreeMap::new();
            for h in &a.headers {
                let (k, v) = h
                    .split_once(':')
                    .ok_or_else(|| anyhow!("--header {h:?}: expected `Name: value`"))?;
                headers.insert(k.trim().to_owned(), v.trim().to_owned());
            }
            let spec = CheckSpec {
                name: a.name,
                team: a.team,
                service: a.service,
                project: a.project,
                kind: a.kind,
                target: a.target,
                method: a.method,
                headers,
                body: a.body,
                query: a.query,
                conditions: a.conditions,
                interval_seconds: a.interval,
                timeout_seconds: a.timeout,
                failure_threshold: a.failure_threshold,
                success_threshold: a.success_threshold,
                grace_seconds: a.grace,
                severity: a.severity,
                depends_on: a.depends_on,
                maintenance: Vec::new(),
                record_type: a.record_type,
                nameserver: a.nameserver,
                pattern: a.pattern,
                window_minutes: a.window,
            };
            let defined = checks::define(store, spec, checks::ORIGIN_API, now).await?;
            match a.format.format {
                Format::Json => print_json(&defined),
                Format::Table => {
                    print_checks(std::slice::from_ref(&defined.check));
                    if let Some(token) = &defined.heartbeat_token {
                        println!(
                            "heartbeat token (shown once): {token}\n  curl -X POST <tandem>/heartbeats/{token}"
                        );
                    }
                    Ok(())
                }
            }
        }
        CheckCommand::Run { name, format } => {
            let runner = Runner::for_settings(
                format!("cli-{}", uuid::Uuid::now_v7()),
                1,
                &settings.monitor,
            )?;
            let (check, verdict) =
                checks::run::run_now(store, settings, &runner, &name, now).await?;
            match format.format {
                Format::Json => {
                    print_json(&serde_json::json!({"check": check, "verdict": verdict}))
                }
                Format::Table => {
                    println!(
                        "{}: {} in {} ms — {} (now {})",
                        check.name,
                        if verdict.ok { "ok" } else { "FAILED" },
                        verdict.latency_ms,
                        verdict.message,
                        check.state.status
                    );
                    Ok(())
                }
            }
        }
        CheckCommand::Silence {
            name,
            minutes,
            format,
        } => {
            let check = checks::silence(store, &name, minutes, now).await?;
            match format.format {
                Format::Json => print_json(&check),
                Format::Table => {
                    match check.silenced_until {
                        Some(u) => println!("{} silenced until {}", check.name, u.to_rfc3339()),
                        None => println!("{} is not silenced", check.name),
                    }
                    Ok(())
                }
            }
        }
        CheckCommand::Disable { name, format } => switch(store, &name, true, format).await,
        CheckCommand::Enable { name, format } => switch(store, &name, false, format).await,
        CheckCommand::Uptime { name, days, format } => {
            let u =
                checks::uptime(store, &name, now - TimeDelta::days(i64::from(days)), now).await?;
            match format.format {
                Format::Json => print_json(&u),
                Format::Table => {
                    println!(
                        "{}: {} over {days} days ({} runs, {} failed)",
                        u.check,
                        u.availability.map_or_else(
                            || "no runs yet".to_owned(),
                            |a| format!("{:.3} %", a * 100.0)
                        ),
                        u.runs,
                        u.failed_runs
                    );
                    Ok(())
                }
            }
        }
    }
}

/// `check disable` / `check enable`.
async fn switch(
    store: &Store,
    name: &str,
    disabled: bool,
    format: FormatArg,
) -> anyhow::Result<()> {
    let check = checks::set_disabled(store, name, disabled).await?;
    match format.format {
        Format::Json => print_json(&check),
        Format::Table => {
            if check.disabled {
                println!("{} is disabled: it no longer runs", check.name);
            } else {
                println!("{} is enabled", check.name);
            }
            Ok(())
        }
    }
}

fn print_checks(all: &[StoredCheck]) {
    let mut t = table(&["check", "kind", "service", "status", "last run", "message"]);
    for c in all {
        t.add_row(vec![
            c.name.clone(),
            c.spec.kind.to_string(),
            c.service.clone(),
            if c.disabled {
                "disabled".to_owned()
            } else {
                c.state.status.to_string()
            },
            c.last_run_at
                .map_or_else(|| "never".to_owned(), |t| t.to_rfc3339()),
            c.last_message.clone(),
        ]);
    }
    println!("{t}");
}
