//! `tandem report weekly|list|show`: a team's weekly status report (the same
//! one `GET /api/v1/teams/{team}/reports/weekly` serves, with the draft's
//! edits applied) and the archive of sent reports.
//! `tandem report draft|edit|approve|send`: the week's draft, edited,
//! approved and sent through the same `tandem_app::report` functions as
//! `/api/v1/teams/{team}/reports/{week}/draft|approve|send`.

use std::collections::BTreeMap;

use anyhow::{Context, bail};
use chrono::IsoWeek;
use clap::{Args, Subcommand, ValueEnum};
use tandem_app::Settings;
use tandem_app::lookup::find_team;
use tandem_app::report::{self as weekly_report, DraftView, SendResult};
use tandem_domain::report::{self, DraftStatus, EditRequest};
use tandem_store::Store;

use crate::commands::{print_json, table};
use crate::names::{self, explain};
use crate::{Format, FormatArg};

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
    #[command(after_help = "Example:\n  tandem report list --team payments --format json")]
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show a week's draft: its status, notes, hidden lines, and every line
    /// of the report with the id that `edit --hide` and `--order` take.
    #[command(after_help = "Example:\n  tandem report draft --team payments --week 2026-W47")]
    Draft {
        #[command(flatten)]
        week: TeamWeek,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Edit a week's draft: notes per section, hidden lines, line order. An
    /// approved draft goes back to draft; a sent week cannot be edited.
    #[command(
        after_help = "Example:\n  tandem report edit --team payments --week 2026-W47 \\\n    \
                            --note risks=\"Vendor call on Tuesday\" --hide risk:0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b \\\n    \
                            --order done=done-goal:0193…,done-goal:0194…"
    )]
    Edit {
        #[command(flatten)]
        week: TeamWeek,
        /// A note under a section (done, in_progress, risks, next_steps,
        /// numbers); an empty text removes it. Repeat for several.
        #[arg(long = "note", value_name = "SECTION=TEXT", value_parser = parse_pair)]
        notes: Vec<(String, String)>,
        /// Hide a line by id. Repeat for several.
        #[arg(long, value_name = "LINE_ID")]
        hide: Vec<String>,
        /// Show a hidden line again. Repeat for several.
        #[arg(long, value_name = "LINE_ID")]
        show: Vec<String>,
        /// A section's lines in this order (comma-separated ids; nothing
        /// after `=` restores the assembled order). Repeat for several sections.
        #[arg(long, value_name = "SECTION=ID,ID,…", value_parser = parse_pair)]
        order: Vec<(String, String)>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Approve a week's draft for sending.
    #[command(
        after_help = "Example:\n  tandem report approve --team payments --week 2026-W47 --as ana"
    )]
    Approve {
        #[command(flatten)]
        week: TeamWeek,
        /// Who approves (default: the current OS user).
        #[arg(long = "as", value_name = "NAME")]
        actor: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Send an approved week's report to every configured channel (e-mail,
    /// Slack, webhook) not yet served, and archive it. Exits non-zero when a
    /// delivery failed; sending again retries only those.
    #[command(after_help = "Example:\n  tandem report send --team payments --week 2026-W47")]
    Send {
        #[command(flatten)]
        week: TeamWeek,
        #[command(flatten)]
        format: FormatArg,
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

/// A team and one of its weeks.
#[derive(Debug, Args)]
pub struct TeamWeek {
    /// Team key or id.
    #[arg(long)]
    team: String,
    /// ISO week, e.g. 2026-W47.
    #[arg(long, value_parser = parse_week)]
    week: IsoWeek,
}

fn parse_week(s: &str) -> Result<IsoWeek, String> {
    report::parse_week(s)
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    s.split_once('=')
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .ok_or_else(|| format!("{s:?} has no '='; write SECTION=…"))
}

/// `tandem report …`.
pub async fn report(store: &Store, settings: &Settings, c: ReportCommand) -> anyhow::Result<()> {
    match c {
        ReportCommand::Weekly { team, week, format } => {
            let team = find_team(store, &team).await.context("--team")?;
            let week = match week {
                Some(w) => w,
                None => {
                    weekly_report::team_week_or_current(None, &team).map_err(anyhow::Error::msg)?
                }
            };
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
        ReportCommand::List { team, format } => {
            let team_id = match team {
                Some(t) => Some(names::team(store, &t, "--team").await?.id),
                None => None,
            };
            let entries = store.list_archive(team_id).await?;
            if let Format::Json = format.format {
                return print_json(&entries);
            }
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
        ReportCommand::Draft { week, format } => {
            let (team, week) = team_week(store, week).await?;
            let view = weekly_report::draft_view(store, settings, team.id, week)
                .await
                .map_err(explain)?;
            print_view(&view, format.format)
        }
        ReportCommand::Edit {
            week,
            notes,
            hide,
            show,
            order,
            format,
        } => {
            let req = EditRequest {
                notes: notes.into_iter().collect(),
                hide,
                show,
                order: order
                    .into_iter()
                    .map(|(k, v)| {
                        let ids = v
                            .split(',')
                            .map(str::trim)
                            .filter(|id| !id.is_empty())
                            .map(str::to_owned)
                            .collect();
                        (k, ids)
                    })
                    .collect::<BTreeMap<_, _>>(),
            };
            if req.is_empty() {
                bail!("nothing to change: give --note, --hide, --show or --order");
            }
            let (team, week) = team_week(store, week).await?;
            weekly_report::edit_draft(store, settings, team.id, week, &req)
                .await
                .map_err(explain)
                .with_context(|| {
                    format!(
                        "the draft of {} for {} was not changed",
                        team.key,
                        report::week_label(week)
                    )
                })?;
            let view = weekly_report::draft_view(store, settings, team.id, week)
                .await
                .map_err(explain)?;
            print_view(&view, format.format)
        }
        ReportCommand::Approve {
            week,
            actor,
            format,
        } => {
            let (team, week) = team_week(store, week).await?;
            let actor = crate::goals::actor(actor);
            let draft = weekly_report::approve_draft(store, team.id, week, &actor)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&draft)?,
                Format::Table => println!(
                    "the report of {} for {} is approved by {}; `tandem report send` sends it",
                    team.key,
                    draft.week,
                    draft.approved_by.as_deref().unwrap_or(&actor)
                ),
            }
            Ok(())
        }
        ReportCommand::Send { week, format } => {
            let (team, week) = team_week(store, week).await?;
            let result = weekly_report::send_approved(store, settings, team.id, week)
                .await
                .map_err(explain)?;
            print_sent(&result, format.format)?;
            let failed = result
                .outcomes
                .iter()
                .filter(|o| o.result == "failed")
                .count();
            if failed > 0 {
                bail!(
                    "{failed} of {} deliveries failed (logged); `tandem report send` again retries only those",
                    result.outcomes.len()
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

async fn team_week(
    store: &Store,
    tw: TeamWeek,
) -> anyhow::Result<(tandem_domain::team::Team, IsoWeek)> {
    Ok((names::team(store, &tw.team, "--team").await?, tw.week))
}

fn print_view(view: &DraftView, format: Format) -> anyhow::Result<()> {
    if let Format::Json = format {
        return print_json(view);
    }
    let r = &view.report;
    let status = match &view.draft {
        None => "no draft yet".to_owned(),
        Some(d) => match d.status {
            DraftStatus::Draft => "draft".to_owned(),
            DraftStatus::Approved => {
                format!("approved by {}", d.approved_by.as_deref().unwrap_or("?"))
            }
            DraftStatus::Sent => format!(
                "sent {}",
                d.sent_at
                    .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                    .unwrap_or_default()
            ),
        },
    };
    println!("{} [{status}]", r.title);
    for section in &r.sections {
        println!();
        println!("{} ({})", section.heading, section.kind);
        if let Some(note) = &section.note {
            println!("  Note: {note}");
        }
        if let Some(empty) = &section.empty_message {
            println!("  {empty}");
        }
        for line in &section.lines {
            println!("  [{}] {}", line.id, line.text);
            for child in &line.children {
                println!("      [{}] {}", child.id, child.text);
            }
        }
    }
    if let Some(d) = &view.draft
        && !d.edits.hidden.is_empty()
    {
        println!();
        println!(
            "Hidden: {}",
            d.edits
                .hidden
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if !view.deliveries.is_empty() {
        println!();
        let mut t = table(&["channel", "recipient", "status", "attempts", "error"]);
        for d in &view.deliveries {
            t.add_row(vec![
                d.channel.to_string(),
                d.recipient.clone(),
                d.status.to_string(),
                d.attempts.to_string(),
                d.last_error.clone().unwrap_or_default(),
            ]);
        }
        println!("{t}");
    }
    Ok(())
}

fn print_sent(result: &SendResult, format: Format) -> anyhow::Result<()> {
    if let Format::Json = format {
        return print_json(result);
    }
    let mut t = table(&["channel", "recipient", "result", "attempts", "error"]);
    for o in &result.outcomes {
        t.add_row(vec![
            o.channel.to_string(),
            o.recipient.clone(),
            o.result.clone(),
            o.attempts.to_string(),
            o.error.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    println!(
        "{}",
        if result.archived {
            format!("The report of {} is in the archive.", result.week)
        } else {
            format!(
                "Nothing was delivered; the report of {} is not archived.",
                result.week
            )
        }
    );
    Ok(())
}
