//! `tandem pulse show|config|ask`: the team pulse (issue 15, ADR 0028)
//! through the same `tandem_app::pulse` functions as
//! `/api/v1/teams/{team}/pulse…`. `show` prints aggregates only, and none
//! below the team's threshold; nothing here can print a person's answer.

use chrono::Utc;
use clap::Subcommand;
use tandem_domain::policy::{ClockTime, Day};
use tandem_domain::pulse::{Distribution, PulseConfig, PulseWeek};
use tandem_store::Store;

use crate::commands::print_json;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum PulseCommand {
    /// A team's pulse figures for a week (aggregates only; nothing below the threshold).
    #[command(after_help = "Example:\n  tandem pulse show --team payments --week 2026-W49")]
    Show {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// An ISO week (2026-W49) or any day of it (default: this week in the team's zone).
        #[arg(long)]
        week: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show or change how a team's pulse is asked; options not given keep their value.
    #[command(
        after_help = "Example:\n  tandem pulse config --team payments --enabled true --day fri --time 14:00 --min-answers 4"
    )]
    Config {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// Ask it in Slack every week.
        #[arg(long, value_name = "BOOL")]
        enabled: Option<bool>,
        /// The day it is asked (mon…sun).
        #[arg(long)]
        day: Option<Day>,
        /// The time it is asked, in the team's zone (HH:MM; it then waits
        /// for a time the team policy allows).
        #[arg(long, value_name = "HH:MM")]
        time: Option<ClockTime>,
        /// Answers a week needs before figures are shown (at least 3).
        #[arg(long)]
        min_answers: Option<u32>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Send this week's pulse in Slack now to every member Slack knows by e-mail.
    #[command(after_help = "Example:\n  tandem pulse ask --team payments")]
    Ask {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

fn dist(label: &str, d: &Option<Distribution>) {
    if let Some(d) = d {
        let counts: Vec<String> = d
            .counts
            .iter()
            .enumerate()
            .map(|(i, n)| format!("{}: {n}", i + 1))
            .collect();
        println!("{label:<9}{:.1}/5   ({})", d.mean, counts.join(", "));
    }
}

fn print_week(w: &PulseWeek) {
    println!("Pulse of {} — {} (week of {})", w.team, w.week, w.starts_on);
    if !w.shown {
        println!(
            "Too few answers to show ({} of {}); figures appear at {}.",
            w.answers, w.members, w.min_answers
        );
        return;
    }
    println!("Answers  {} of {} members", w.answers, w.members);
    dist("Workload", &w.workload);
    dist("Focus", &w.focus);
    if !w.notes.is_empty() {
        println!("What got in the way:");
        for n in &w.notes {
            println!("  - {}", tandem_domain::text::escape(n));
        }
    }
}

fn print_config(c: &PulseConfig) {
    println!(
        "enabled      {}\nasked        {} at {} (team's zone, within the team policy)\nmin answers  {}",
        c.enabled, c.day, c.time, c.min_answers
    );
}

/// `tandem pulse …`.
pub async fn pulse(
    store: &Store,
    settings: &tandem_app::Settings,
    command: PulseCommand,
) -> anyhow::Result<()> {
    match command {
        PulseCommand::Show { team, week, format } => {
            let week = week
                .as_deref()
                .map(tandem_app::pulse::parse_week_text)
                .transpose()?;
            let w = tandem_app::pulse::week(store, &team, week, Utc::now()).await?;
            match format.format {
                Format::Json => print_json(&w)?,
                Format::Table => print_week(&w),
            }
        }
        PulseCommand::Config {
            team,
            enabled,
            day,
            time,
            min_answers,
            format,
        } => {
            let (_, mut c) = tandem_app::pulse::config(store, &team).await?;
            let changed =
                enabled.is_some() || day.is_some() || time.is_some() || min_answers.is_some();
            if let Some(e) = enabled {
                c.enabled = e;
            }
            if let Some(d) = day {
                c.day = d;
            }
            if let Some(t) = time {
                c.time = t;
            }
            if let Some(m) = min_answers {
                c.min_answers = m;
            }
            if changed {
                c = tandem_app::pulse::set_config(store, &team, c, Utc::now()).await?;
            }
            match format.format {
                Format::Json => print_json(&c)?,
                Format::Table => print_config(&c),
            }
        }
        PulseCommand::Ask { team, format } => {
            let owner = format!("cli-{}", std::process::id());
            let a =
                tandem_app::pulse::ask(store, settings, &team, &owner, true, Utc::now()).await?;
            match format.format {
                Format::Json => print_json(&a)?,
                Format::Table => {
                    println!("Asked {} member(s) in Slack for {}.", a.asked, a.week);
                    if !a.not_in_slack.is_empty() {
                        println!(
                            "Not found in Slack by e-mail: {}",
                            a.not_in_slack.join(", ")
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
