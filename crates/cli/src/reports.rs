//! `tandem report weekly|list|show`: a team's weekly status report (the same
//! one `GET /api/v1/teams/{team}/reports/weekly` serves, with the draft's
//! edits applied) and the archive of sent reports.

use anyhow::Context;
use chrono::IsoWeek;
use clap::{Subcommand, ValueEnum};
use tandem_app::Settings;
use tandem_app::lookup::find_team;
use tandem_app::report::{self as weekly_report, week_or_current};
use tandem_domain::report;
use tandem_store::Store;

use crate::commands::print_json;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Preview a team's weekly status report: done, in progress, risks, next
    /// steps and numbers for one ISO week.
    Weekly {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// ISO week, e.g. 2026-W47 (default: the current week, UTC).
        #[arg(long, value_parser = parse_week)]
        week: Option<IsoWeek>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
    },
    /// List sent reports (the archive), newest week first.
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
    },
    /// Show a sent report as it was sent.
    Show {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// ISO week, e.g. 2026-W47.
        #[arg(long, value_parser = parse_week)]
        week: IsoWeek,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Markdown)]
        format: ReportFormat,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    /// The e-mail's HTML (charts referenced as `cid:` inline parts).
    Html,
    /// The e-mail's plain-text part.
    Text,
    Json,
    /// Slack Block Kit JSON.
    Slack,
}

fn parse_week(s: &str) -> Result<IsoWeek, String> {
    report::parse_week(s)
}

/// `tandem report …`.
pub async fn report(store: &Store, settings: &Settings, c: ReportCommand) -> anyhow::Result<()> {
    match c {
        ReportCommand::Weekly { team, week, format } => {
            let week = match week {
                Some(w) => w,
                None => week_or_current(None).map_err(anyhow::Error::msg)?,
            };
            let team = find_team(store, &team).await.context("--team")?;
            let (_, report) = weekly_report::edited(store, settings, team.id, week).await?;
            let link = weekly_report::link(settings, &team.key, &report.week);
            match format {
                ReportFormat::Markdown => print!("{}", report::to_markdown(&report)),
                ReportFormat::Text => print!("{}", report::to_text(&report, Some(&link))),
                ReportFormat::Json => print_json(&report)?,
                ReportFormat::Slack => print_json(&report::to_slack(&report, Some(&link)))?,
                ReportFormat::Html => {
                    let rendered = weekly_report::render(&report, Some(&link))?;
                    print!("{}", rendered.html);
                }
            }
            Ok(())
        }
        ReportCommand::List { team } => {
            let team_id = match team {
                Some(t) => Some(find_team(store, &t).await.context("--team")?.id),
                None => None,
            };
            let entries = store.list_archive(team_id).await?;
            if entries.is_empty() {
                println!("No report was sent yet.");
            }
            for e in entries {
                println!(
                    "{}  {}  sent {}",
                    e.week,
                    e.title,
                    e.sent_at.format("%Y-%m-%d %H:%M UTC")
                );
            }
            Ok(())
        }
        ReportCommand::Show { team, week, format } => {
            let team = find_team(store, &team).await.context("--team")?;
            let label = report::week_label(week);
            let a = store
                .archived_report(team.id, &label)
                .await
                .with_context(|| format!("no report of {} was sent for {label}", team.key))?;
            match format {
                ReportFormat::Markdown => print!("{}", a.markdown),
                ReportFormat::Html => print!("{}", a.html),
                ReportFormat::Text => print!("{}", a.text),
                ReportFormat::Json => print_json(&a)?,
                ReportFormat::Slack => print_json(&a.slack)?,
            }
            Ok(())
        }
    }
}
