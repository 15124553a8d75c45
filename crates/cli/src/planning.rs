//! `tandem backlog` and `tandem item show`: the same views the API serves
//! (`GET /api/v1/backlog`, `GET /api/v1/work-items/{id}/context`), read from
//! the store with the configured planning rules.

use anyhow::Context;
use chrono::Utc;
use clap::Subcommand;
use serde_json::json;
use tandem_app::Settings;
use tandem_app::{lookup, planning as views};
use tandem_domain::planning::{ContextValue, DebtBudget};
use tandem_store::Store;

use crate::commands::{print_json, table};
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// Show a work item with its context: why it exists, the expected impact,
    /// current and target value, and where its priority comes from.
    Show {
        /// External key (PAY-123) or id.
        key: String,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// `tandem backlog --team T`.
pub async fn backlog(
    store: &Store,
    settings: &Settings,
    team: &str,
    format: Format,
) -> anyhow::Result<()> {
    let team = lookup::find_team(store, team).await.context("--team")?;
    let view = views::backlog_view(store, &team, &settings.planning, Utc::now()).await?;
    match format {
        Format::Json => print_json(&view)?,
        Format::Table => {
            println!(
                "Backlog of {} ({}): {} open items",
                view.team.name, view.team.key, view.open_items
            );
            println!("{}", debt_line(&view.debt));
            if let Some(flag) = &view.debt.message {
                println!("⚑ Tech debt: {flag}");
            }
            if let Some(flag) = &view.inflation {
                println!("⚑ Priority inflation: {}", flag.message);
            }
            let mut t = table(&[
                "rank", "key", "priority", "rule", "kind", "state", "score", "age", "title",
            ]);
            for e in &view.entries {
                t.add_row(vec![
                    e.rank.to_string(),
                    e.external_key.clone().unwrap_or_else(|| e.id.to_string()),
                    e.priority.to_string(),
                    e.priority_rule.clone(),
                    e.kind.to_string(),
                    e.state.to_string(),
                    match (e.score, e.score_kind) {
                        (Some(s), Some(k)) => format!("{k} {}", (s * 100.0).round() / 100.0),
                        _ => "—".to_owned(),
                    },
                    format!("{}d", e.age_days),
                    e.title.clone(),
                ]);
            }
            println!("{t}");
        }
    }
    Ok(())
}

/// "Tech debt: 12.5 % of done work in the last 28 days (target 20 %); …"
fn debt_line(debt: &DebtBudget) -> String {
    let shares: Vec<String> = debt
        .periods
        .iter()
        .map(|p| match p.debt_percent {
            Some(v) => format!("{v} %"),
            None => "—".to_owned(),
        })
        .collect();
    let latest = debt
        .periods
        .last()
        .map(|p| format!("{}/{} done items", p.debt_items, p.done_items))
        .unwrap_or_default();
    format!(
        "Tech debt (target {} %), per {}-day period, oldest first: {} (latest: {latest})",
        debt.target_percent,
        debt.period_days,
        shares.join(", ")
    )
}

/// `tandem item …`.
pub async fn item(store: &Store, settings: &Settings, command: ItemCommand) -> anyhow::Result<()> {
    match command {
        ItemCommand::Show { key, format } => {
            let item = lookup::find_work_item(store, &key).await?;
            let ctx = views::task_context(store, &item, &settings.planning).await?;
            match format.format {
                Format::Json => print_json(&json!({"item": item, "context": ctx}))?,
                Format::Table => {
                    let dash = |s: &str| {
                        if s.trim().is_empty() {
                            "—".to_owned()
                        } else {
                            s.to_owned()
                        }
                    };
                    let value = |v: &Option<ContextValue>| match v {
                        Some(v) => match v.at {
                            Some(at) => format!("{} ({}, {})", v.text, v.source, at.date_naive()),
                            None => format!("{} ({})", v.text, v.source),
                        },
                        None => "—".to_owned(),
                    };
                    println!(
                        "{} {} [{}, {}]",
                        item.external_key.as_deref().unwrap_or("—"),
                        item.title,
                        item.kind,
                        item.state
                    );
                    println!("Id: {}", item.id);
                    match &ctx.goal {
                        Some(g) => println!("Goal: {} [{}]", g.title, g.status),
                        None => println!("Goal: —"),
                    }
                    println!("Why: {}", dash(&ctx.why));
                    println!("Expected impact: {}", dash(&ctx.expected_impact));
                    if let Some(m) = &ctx.success_metric {
                        println!(
                            "Success metric: {} ({})",
                            m.metric,
                            m.metric_key.as_deref().unwrap_or("—")
                        );
                    }
                    println!("Current: {}", value(&ctx.current));
                    println!("Target: {}", value(&ctx.target));
                    if let Some(p) = ctx.metric_progress {
                        println!("Progress to target: {:.0} %", p * 100.0);
                    }
                    println!(
                        "Priority: {} — {}",
                        ctx.priority.priority, ctx.priority.rule
                    );
                }
            }
        }
    }
    Ok(())
}
