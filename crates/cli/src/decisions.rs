//! `tandem decision list|show|create`: the decision log, through the same
//! `tandem_app::decisions` functions as `/api/v1/decisions`.

use chrono::{DateTime, NaiveDate, Utc};
use clap::Subcommand;
use tandem_app::paging::all;
use tandem_domain::decision::{Decision, NewDecision};
use tandem_store::{ListQuery, Store};

use crate::commands::{print_json, table};
use crate::names::{self, explain};
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum DecisionCommand {
    /// List decisions, oldest first.
    #[command(after_help = "Example:\n  tandem decision list --team payments --format json")]
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Only decisions about this goal (id).
        #[arg(long)]
        goal: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show one decision.
    #[command(after_help = "Example:\n  tandem decision show 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b")]
    Show {
        /// Decision id.
        id: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Record a decision: what was decided, why, and what follows.
    #[command(
        after_help = "Example:\n  tandem decision create --team payments --title \"Card vendor\" \\\n    \
                            --decision \"Stay with Acme for 2027\" --option Acme --option Globex \\\n    \
                            --context \"Globex is cheaper but has no 3-D Secure 2\" --decided-by ana"
    )]
    Create {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[arg(long)]
        title: String,
        /// What was decided.
        #[arg(long)]
        decision: String,
        /// The situation that asked for a decision.
        #[arg(long, default_value = "")]
        context: String,
        /// An option that was considered (repeat for each).
        #[arg(long = "option", value_name = "OPTION")]
        options: Vec<String>,
        /// What follows from it.
        #[arg(long, default_value = "")]
        consequences: String,
        #[arg(long, value_name = "NAME")]
        decided_by: Option<String>,
        /// When it was decided: YYYY-MM-DD or an RFC 3339 instant (default: now).
        #[arg(long, value_name = "DATE", value_parser = parse_instant)]
        decided_at: Option<DateTime<Utc>>,
        /// The goal it is about (id).
        #[arg(long)]
        goal: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// `YYYY-MM-DD` (midnight UTC) or an RFC 3339 instant.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|d| d.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 instant"))
}

/// `tandem decision …`.
pub async fn decision(store: &Store, command: DecisionCommand) -> anyhow::Result<()> {
    match command {
        DecisionCommand::List { team, goal, format } => {
            let mut q = ListQuery::default();
            if let Some(team) = team {
                q.team_id = Some(names::team(store, &team, "--team").await?.id);
            }
            if let Some(goal) = goal {
                q.goal_id = Some(names::goal(store, &goal).await?.id);
            }
            let decisions = all(q, |q| async move { store.list_decisions(&q).await }).await?;
            match format.format {
                Format::Json => print_json(&decisions)?,
                Format::Table if decisions.is_empty() => println!("No decisions."),
                Format::Table => {
                    let mut t = table(&["id", "decided", "title", "decision", "by"]);
                    for d in &decisions {
                        t.add_row(vec![
                            d.id.to_string(),
                            d.decided_at.date_naive().to_string(),
                            d.title.clone(),
                            d.decision.clone(),
                            d.decided_by.clone().unwrap_or_default(),
                        ]);
                    }
                    println!("{t}");
                }
            }
        }
        DecisionCommand::Show { id, format } => {
            let d = names::decision(store, &id).await?;
            match format.format {
                Format::Json => print_json(&d)?,
                Format::Table => print_one(&d),
            }
        }
        DecisionCommand::Create {
            team,
            title,
            decision,
            context,
            options,
            consequences,
            decided_by,
            decided_at,
            goal,
            format,
        } => {
            let team = names::team(store, &team, "--team").await?;
            let goal_id = match goal {
                Some(g) => Some(names::goal(store, &g).await?.id),
                None => None,
            };
            let input = NewDecision {
                team_id: team.id,
                goal_id,
                title,
                context,
                options,
                decision,
                consequences,
                decided_by,
                decided_at,
            };
            let d = tandem_app::decisions::create(store, input)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&d)?,
                Format::Table => {
                    println!("recorded decision {} ({}) for {}", d.id, d.title, team.key)
                }
            }
        }
    }
    Ok(())
}

fn print_one(d: &Decision) {
    println!("{}", d.title);
    println!(
        "Decided {} by {}",
        d.decided_at.to_rfc3339(),
        d.decided_by.as_deref().unwrap_or("—")
    );
    if !d.context.is_empty() {
        println!("Context: {}", d.context);
    }
    for o in &d.options {
        println!("Option: {o}");
    }
    println!("Decision: {}", d.decision);
    if !d.consequences.is_empty() {
        println!("Consequences: {}", d.consequences);
    }
}
