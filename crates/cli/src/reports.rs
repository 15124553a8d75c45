//! `tandem report weekly`: a team's weekly status report, the same one
//! `GET /api/v1/teams/{team}/reports/weekly` serves.

use anyhow::Context;
use chrono::IsoWeek;
use clap::{Subcommand, ValueEnum};
use tandem_domain::report;
use tandem_server::Settings;
use tandem_server::api::planning::find_team;
use tandem_server::api::reports::week_or_current;
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
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ReportFormat {
    Markdown,
    Json,
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
            let team = find_team(store, &team)
                .await
                .with_context(|| format!("--team: no team has the key or id {team:?}"))?;
            let report = tandem_server::reporting::weekly(
                store,
                team.id,
                week,
                &settings.planning,
                &settings.forecast,
            )
            .await?;
            match format {
                ReportFormat::Markdown => print!("{}", report::to_markdown(&report)),
                ReportFormat::Json => print_json(&report)?,
            }
            Ok(())
        }
    }
}
