//! `tandem risk list|show|create|update`: risks one by one, through the same
//! `tandem_app::risks` functions as `/api/v1/risks`. (`tandem risks` is the
//! open-risk digest with drafted updates, in `forecasts.rs`.)

use anyhow::bail;
use clap::Subcommand;
use serde_json::json;
use tandem_app::paging::all;
use tandem_domain::risk::{Level, NewRisk, Risk, RiskPatch, RiskStatus};
use tandem_store::{ListQuery, Store};

use crate::commands::{print_json, table};
use crate::names::{self, explain};
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum RiskCommand {
    /// List risks, any status unless --status says.
    #[command(after_help = "Example:\n  tandem risk list --team payments --status open")]
    List {
        /// Only this team (key or id).
        #[arg(long)]
        team: Option<String>,
        /// Only risks in this status (open, mitigating, closed).
        #[arg(long, value_parser = parse::<RiskStatus>)]
        status: Option<RiskStatus>,
        /// Only risks of this goal (id).
        #[arg(long)]
        goal: Option<String>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show one risk with its history.
    #[command(after_help = "Example:\n  tandem risk show 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b")]
    Show {
        /// Risk id.
        id: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Raise a risk (status open).
    #[command(
        after_help = "Example:\n  tandem risk create --team payments --title \"Card vendor may slip\" \\\n    \
                            --likelihood medium --impact high --plan \"Weekly check-in with the vendor\" \\\n    \
                            --schedule-impact-days 10"
    )]
    Create {
        /// Team key or id.
        #[arg(long)]
        team: String,
        #[arg(long)]
        title: String,
        /// low, medium or high.
        #[arg(long, value_parser = parse::<Level>)]
        likelihood: Level,
        /// low, medium or high.
        #[arg(long, value_parser = parse::<Level>)]
        impact: Level,
        /// The goal at risk (id).
        #[arg(long)]
        goal: Option<String>,
        #[arg(long, default_value = "")]
        description: String,
        /// What is being done about it.
        #[arg(long, default_value = "")]
        plan: String,
        #[arg(long)]
        owner: Option<String>,
        /// How many days the schedule moves if it happens.
        #[arg(long, default_value_t = 0)]
        schedule_impact_days: i32,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a risk or set its status; parts not given stay.
    #[command(
        after_help = "Examples:\n  tandem risk update 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b --status mitigating \
                            --plan \"Second vendor on standby\"\n  \
                            tandem risk update 0193a8f0-6c1e-7d2a-9b1f-3c5d7e9f1a2b --status closed"
    )]
    Update {
        /// Risk id.
        id: String,
        /// open, mitigating or closed.
        #[arg(long, value_parser = parse::<RiskStatus>)]
        status: Option<RiskStatus>,
        #[arg(long)]
        title: Option<String>,
        #[arg(long, value_parser = parse::<Level>)]
        likelihood: Option<Level>,
        #[arg(long, value_parser = parse::<Level>)]
        impact: Option<Level>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        plan: Option<String>,
        #[arg(long)]
        owner: Option<String>,
        #[arg(long)]
        schedule_impact_days: Option<i32>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// A `string_enum!` value from its name (the error lists the allowed ones).
pub fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
}

/// `tandem risk …`.
pub async fn risk(store: &Store, command: RiskCommand) -> anyhow::Result<()> {
    match command {
        RiskCommand::List {
            team,
            status,
            goal,
            format,
        } => {
            let mut q = ListQuery::default();
            if let Some(team) = team {
                q.team_id = Some(names::team(store, &team, "--team").await?.id);
            }
            if let Some(goal) = goal {
                q.goal_id = Some(names::goal(store, &goal).await?.id);
            }
            q.status = status.map(|s| s.to_string());
            let risks = all(q, |q| async move { store.list_risks(&q).await }).await?;
            match format.format {
                Format::Json => print_json(&risks)?,
                Format::Table => print_table(&risks),
            }
        }
        RiskCommand::Show { id, format } => {
            let risk = names::risk(store, &id).await?;
            let history = store.list_risk_history(risk.id).await?;
            match format.format {
                Format::Json => print_json(&json!({"risk": risk, "history": history}))?,
                Format::Table => {
                    println!("{} [{}]", risk.title, risk.status);
                    println!(
                        "Likelihood {}, impact {}, schedule impact {} days; raised by {}",
                        risk.likelihood, risk.impact, risk.schedule_impact_days, risk.source
                    );
                    println!("Owner: {}", risk.owner.as_deref().unwrap_or("—"));
                    if !risk.description.is_empty() {
                        println!("Description: {}", risk.description);
                    }
                    if !risk.plan.is_empty() {
                        println!("Plan: {}", risk.plan);
                    }
                    if !risk.drafted_update.is_empty() {
                        println!("Drafted update: {}", risk.drafted_update);
                    }
                    if !history.is_empty() {
                        let mut t = table(&["when", "status", "note"]);
                        for h in &history {
                            t.add_row(vec![h.at.to_rfc3339(), h.status.clone(), h.note.clone()]);
                        }
                        println!("{t}");
                    }
                }
            }
        }
        RiskCommand::Create {
            team,
            title,
            likelihood,
            impact,
            goal,
            description,
            plan,
            owner,
            schedule_impact_days,
            format,
        } => {
            let team = names::team(store, &team, "--team").await?;
            let goal_id = match goal {
                Some(g) => Some(names::goal(store, &g).await?.id),
                None => None,
            };
            let input = NewRisk {
                team_id: team.id,
                goal_id,
                stage_id: None,
                title,
                description,
                likelihood,
                impact,
                plan,
                owner,
                schedule_impact_days,
            };
            let risk = tandem_app::risks::create(store, input)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&risk)?,
                Format::Table => {
                    println!("raised risk {} ({}) for {}", risk.id, risk.title, team.key)
                }
            }
        }
        RiskCommand::Update {
            id,
            status,
            title,
            likelihood,
            impact,
            description,
            plan,
            owner,
            schedule_impact_days,
            format,
        } => {
            let risk = names::risk(store, &id).await?;
            let patch = RiskPatch {
                title,
                description,
                likelihood,
                impact,
                plan,
                owner,
                schedule_impact_days,
                status,
            };
            if is_empty(&patch) {
                bail!(
                    "nothing to change: give --status, --title, --likelihood, --impact, --description, --plan, --owner or --schedule-impact-days"
                );
            }
            let risk = tandem_app::risks::update(store, risk.id, patch)
                .await
                .map_err(explain)?;
            match format.format {
                Format::Json => print_json(&risk)?,
                Format::Table => println!("risk {} ({}) is {}", risk.id, risk.title, risk.status),
            }
        }
    }
    Ok(())
}

fn is_empty(p: &RiskPatch) -> bool {
    p.title.is_none()
        && p.description.is_none()
        && p.likelihood.is_none()
        && p.impact.is_none()
        && p.plan.is_none()
        && p.owner.is_none()
        && p.schedule_impact_days.is_none()
        && p.status.is_none()
}

fn print_table(risks: &[Risk]) {
    if risks.is_empty() {
        println!("No risks.");
        return;
    }
    let mut t = table(&[
        "id",
        "status",
        "title",
        "likelihood",
        "impact",
        "source",
        "owner",
    ]);
    for r in risks {
        t.add_row(vec![
            r.id.to_string(),
            r.status.to_string(),
            r.title.clone(),
            r.likelihood.to_string(),
            r.impact.to_string(),
            r.source.to_string(),
            r.owner.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
}
