//! `tandem policy show|set` and `tandem calendar add|list|refresh|week`:
//! team policies and calendar feeds (issue 15), through the same
//! `tandem_app::focus` functions as `/api/v1/teams/{team}/policy` and
//! `/api/v1/teams/{team}/calendars`.

use chrono::{NaiveDate, Utc};
use clap::Subcommand;
use tandem_domain::policy::{ClockTime, Day, TeamPolicy};
use tandem_store::Store;

use crate::commands::{print_json, table};
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show a team's policy (the defaults until one is set).
    #[command(after_help = "Example:\n  tandem policy show --team payments --format json")]
    Show {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a team's policy; options not given keep their value.
    #[command(
        after_help = "Example:\n  tandem policy set --team payments --evening-cutoff 18:00 \\\n    --focus 09:00-12:00 --max-meeting-hours 4 --no-meeting-day wed"
    )]
    Set {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// No meetings after this time (HH:MM).
        #[arg(long, value_name = "HH:MM")]
        evening_cutoff: Option<ClockTime>,
        /// Whether incident calls are exempt from the evening rule.
        #[arg(long, value_name = "BOOL")]
        incidents_exempt: Option<bool>,
        /// The protected focus block, HH:MM-HH:MM.
        #[arg(long, value_name = "FROM-TO", value_parser = span)]
        focus: Option<(ClockTime, ClockTime)>,
        /// Days of the focus block, comma-separated (mon,tue,…).
        #[arg(long, value_name = "DAYS", value_delimiter = ',')]
        focus_days: Option<Vec<Day>>,
        /// At most this many meeting hours per person per day.
        #[arg(long, value_name = "HOURS")]
        max_meeting_hours: Option<f64>,
        /// A day without meetings (mon…sun), or `none`.
        #[arg(long, value_name = "DAY")]
        no_meeting_day: Option<String>,
        /// Working hours, HH:MM-HH:MM.
        #[arg(long, value_name = "FROM-TO", value_parser = span)]
        work_hours: Option<(ClockTime, ClockTime)>,
        /// Working days, comma-separated.
        #[arg(long, value_name = "DAYS", value_delimiter = ',')]
        work_days: Option<Vec<Day>>,
        #[command(flatten)]
        format: FormatArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum CalendarCommand {
    /// Add an iCalendar feed (URL or absolute file path) to a team, or to one member.
    #[command(
        after_help = "Example:\n  tandem calendar add --team payments https://calendar.google.com/calendar/ical/team%40example.com/private-abc/basic.ics\n  tandem calendar add --team payments --user ana /srv/calendars/ana.ics"
    )]
    Add {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// The member whose own calendar it is (username).
        #[arg(long)]
        user: Option<String>,
        /// URL or absolute file path.
        source: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List feeds with their last refresh and error.
    #[command(after_help = "Example:\n  tandem calendar list --team payments")]
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Fetch feeds now (conditional on their ETag); a bad feed keeps its last good data.
    #[command(after_help = "Example:\n  tandem calendar refresh --team payments")]
    Refresh {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// A team's week against its policy: meeting hours, focus kept, breaches by rule and series.
    #[command(after_help = "Example:\n  tandem calendar week --team payments --week 2026-03-09")]
    Week {
        /// Team key or id.
        #[arg(long)]
        team: String,
        /// Any day of the week (default: this week in the team's zone).
        #[arg(long, value_name = "YYYY-MM-DD")]
        week: Option<NaiveDate>,
        #[command(flatten)]
        format: FormatArg,
    },
}

fn span(s: &str) -> Result<(ClockTime, ClockTime), String> {
    let (a, b) = s
        .split_once('-')
        .ok_or_else(|| format!("{s:?} is not FROM-TO like 09:00-12:00"))?;
    Ok((a.parse()?, b.parse()?))
}

fn print_policy(p: &TeamPolicy) {
    let days = |d: &[Day]| d.iter().map(|d| d.as_str()).collect::<Vec<_>>().join(",");
    println!(
        "evening cutoff      {} (incidents exempt: {})",
        p.evening_cutoff, p.incidents_exempt
    );
    println!(
        "focus block         {}-{} on {}",
        p.focus_start,
        p.focus_end,
        days(&p.focus_days)
    );
    println!(
        "max meetings        {} h per person per day",
        f64::from(p.max_meeting_minutes_per_day) / 60.0
    );
    println!(
        "no-meeting day      {}",
        p.no_meeting_day
            .map_or("none".to_owned(), |d| d.to_string())
    );
    println!(
        "working hours       {}-{} on {}",
        p.work_start,
        p.work_end,
        days(&p.work_days)
    );
}

/// `tandem policy …`.
pub async fn policy(store: &Store, command: PolicyCommand) -> anyhow::Result<()> {
    match command {
        PolicyCommand::Show { team, format } => {
            let (_, p) = tandem_app::focus::policy(store, &team).await?;
            match format.format {
                Format::Json => print_json(&p)?,
                Format::Table => print_policy(&p),
            }
        }
        PolicyCommand::Set {
            team,
            evening_cutoff,
            incidents_exempt,
            focus,
            focus_days,
            max_meeting_hours,
            no_meeting_day,
            work_hours,
            work_days,
            format,
        } => {
            let (_, mut p) = tandem_app::focus::policy(store, &team).await?;
            if let Some(t) = evening_cutoff {
                p.evening_cutoff = t;
            }
            if let Some(b) = incidents_exempt {
                p.incidents_exempt = b;
            }
            if let Some((a, b)) = focus {
                p.focus_start = a;
                p.focus_end = b;
            }
            if let Some(d) = focus_days {
                p.focus_days = d;
            }
            if let Some(h) = max_meeting_hours {
                if !(h.is_finite() && h > 0.0 && h <= 24.0) {
                    anyhow::bail!("--max-meeting-hours: {h} is not between 0 and 24");
                }
                p.max_meeting_minutes_per_day = (h * 60.0).round() as u32;
            }
            if let Some(d) = no_meeting_day {
                p.no_meeting_day = if d == "none" {
                    None
                } else {
                    Some(
                        d.parse()
                            .map_err(|e| anyhow::anyhow!("--no-meeting-day: {e}"))?,
                    )
                };
            }
            if let Some((a, b)) = work_hours {
                p.work_start = a;
                p.work_end = b;
            }
            if let Some(d) = work_days {
                p.work_days = d;
            }
            let p = tandem_app::focus::set_policy(store, &team, p, Utc::now()).await?;
            match format.format {
                Format::Json => print_json(&p)?,
                Format::Table => print_policy(&p),
            }
        }
    }
    Ok(())
}

/// `tandem calendar …`.
pub async fn calendar(store: &Store, command: CalendarCommand) -> anyhow::Result<()> {
    match command {
        CalendarCommand::Add {
            team,
            user,
            source,
            format,
        } => {
            let f = tandem_app::focus::add_feed(store, &team, user.as_deref(), &source, Utc::now())
                .await?;
            match format.format {
                Format::Json => print_json(&f)?,
                Format::Table => println!(
                    "Added feed {} ({}); run `tandem calendar refresh` to read it.",
                    f.id, f.source
                ),
            }
        }
        CalendarCommand::List { team, format } => {
            let feeds = tandem_app::focus::list_feeds(store, team.as_deref()).await?;
            match format.format {
                Format::Json => print_json(&feeds)?,
                Format::Table if feeds.is_empty() => println!("No calendar feeds."),
                Format::Table => {
                    let mut t = table(&["id", "source", "last good", "error", "warnings"]);
                    for f in &feeds {
                        t.add_row(vec![
                            f.id.to_string(),
                            f.source.clone(),
                            f.ok_at
                                .map(|d| d.to_rfc3339())
                                .unwrap_or_else(|| "never".into()),
                            f.last_error.clone().unwrap_or_default(),
                            f.warnings.len().to_string(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        CalendarCommand::Refresh { team, format } => {
            let owner = format!("cli-{}", std::process::id());
            let done =
                tandem_app::focus::refresh_all(store, team.as_deref(), &owner, Utc::now()).await?;
            let failed = done.iter().filter(|r| r.outcome == "failed").count();
            match format.format {
                Format::Json => print_json(&done)?,
                Format::Table => {
                    for r in &done {
                        println!("{}  {}  {} meetings", r.outcome, r.source, r.meetings);
                        for w in &r.warnings {
                            println!("  warning: {w}");
                        }
                        if let Some(e) = &r.error {
                            println!("  error: {e} (the last good data stays)");
                        }
                    }
                }
            }
            if failed > 0 {
                anyhow::bail!(
                    "{failed} feed(s) failed to refresh; the last good data stays in use"
                );
            }
        }
        CalendarCommand::Week { team, week, format } => {
            let w = tandem_app::focus::team_week(store, &team, week, Utc::now()).await?;
            match format.format {
                Format::Json => print_json(&w)?,
                Format::Table => {
                    println!(
                        "Week of {} — {} people, {} person-days",
                        w.week_start, w.people, w.person_days
                    );
                    println!(
                        "Meeting hours per person-day: {:.2}",
                        w.meeting_hours_per_person_day
                    );
                    let d = &w.distribution;
                    println!(
                        "Person-days by meeting hours: none {}, ≤1h {}, ≤2h {}, ≤3h {}, ≤4h {}, >4h {}",
                        d.none, d.up_to_1h, d.up_to_2h, d.up_to_3h, d.up_to_4h, d.over_4h
                    );
                    println!(
                        "Focus block kept: {:.1}% ({} of {} minutes)",
                        w.focus_kept_percent, w.focus_kept_minutes, w.focus_block_minutes
                    );
                    let b = &w.breaches;
                    println!(
                        "Breaches: {} (evening {}, focus block {}, meeting load {}, no-meeting day {})",
                        w.breaches_total,
                        b.evening,
                        b.focus_block,
                        b.meeting_load,
                        b.no_meeting_day
                    );
                    for s in &w.series {
                        println!("  {}", s.text);
                    }
                }
            }
        }
    }
    Ok(())
}
