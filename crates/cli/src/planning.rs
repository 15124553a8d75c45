//! `tandem backlog` and `tandem item show`: the same views the API serves
//! (`GET /api/v1/backlog`, `GET /api/v1/work-items/{id}/context`), read from
//! the store with the configured planning rules; and `tandem item
//! list|create|update|set`, through `tandem_app::work_items` (the functions
//! `/api/v1/work-items` calls).

use anyhow::Context;
use chrono::Utc;
use clap::{Args, Subcommand};
use serde_json::json;
use tandem_app::Settings;
use tandem_app::paging::all;
use tandem_app::{lookup, org, planning as views, work_items};
use tandem_domain::planning::{ContextValue, DebtBudget};
use tandem_domain::risk::Level;
use tandem_domain::work_item::{
    NewWorkItem, Priority, WorkContext, WorkItem, WorkItemPatch, WorkKind, WorkState,
};
use tandem_store::{ListQuery, Store};

use crate::commands::{print_json, table};
use crate::org::app_error;
use crate::stages::uuid_arg;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// Show a work item with its context: why it exists, the expected impact,
    /// current and target value, and where its priority comes from.
    #[command(after_help = "Example:\n  tandem item show PAY-12")]
    Show {
        /// External key (PAY-123) or id.
        key: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// List work items, filtered by team, project, goal, stage, state or kind.
    #[command(after_help = "Example:\n  tandem item list --team payments --state in_progress")]
    List {
        /// Team key or id.
        #[arg(long)]
        team: Option<String>,
        /// Project key or id.
        #[arg(long)]
        project: Option<String>,
        /// Goal id.
        #[arg(long)]
        goal: Option<String>,
        /// Stage id.
        #[arg(long)]
        stage: Option<String>,
        /// todo, in_progress, blocked, done or cancelled.
        #[arg(long, value_parser = parse::<WorkState>)]
        state: Option<WorkState>,
        /// feature, bug, debt, chore or incident.
        #[arg(long, value_parser = parse::<WorkKind>)]
        kind: Option<WorkKind>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Create a work item. Without --priority the organisation's rules set
    /// it (P0 for a critical production bug, else impact × complexity, else P2).
    #[command(
        after_help = "Example:\n  tandem item create --team payments --project payments-api --kind bug \\\n    --title \"Refund fails for split payments\" --key PAY-12 --impact high --complexity low"
    )]
    Create {
        /// Team key or id (default: the project's team).
        #[arg(long)]
        team: Option<String>,
        /// Project key or id.
        #[arg(long)]
        project: Option<String>,
        /// Goal id.
        #[arg(long)]
        goal: Option<String>,
        /// Stage id.
        #[arg(long)]
        stage: Option<String>,
        #[arg(long)]
        title: String,
        /// feature, bug, debt, chore or incident.
        #[arg(long, value_parser = parse::<WorkKind>)]
        kind: WorkKind,
        /// A key to find it by (`PAY-12`), unique among manual items.
        #[arg(long = "key", value_name = "KEY")]
        external_key: Option<String>,
        /// todo (default), in_progress, blocked, done or cancelled.
        #[arg(long, value_parser = parse::<WorkState>)]
        state: Option<WorkState>,
        /// P0, P1, P2 or P3.
        #[arg(long, value_parser = parse::<Priority>)]
        priority: Option<Priority>,
        /// low, medium or high.
        #[arg(long, value_parser = parse::<Level>)]
        impact: Option<Level>,
        /// low, medium or high.
        #[arg(long, value_parser = parse::<Level>)]
        complexity: Option<Level>,
        #[command(flatten)]
        context: ContextArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a work item: its title, links, context, and anything `item set` sets.
    #[command(
        after_help = "Example:\n  tandem item update PAY-12 --title \"Refunds of split payments\" --why \"Support gets 40 tickets a week\""
    )]
    Update {
        /// External key (PAY-123) or id.
        key: String,
        #[arg(long)]
        title: Option<String>,
        /// Project key or id.
        #[arg(long)]
        project: Option<String>,
        /// Goal id.
        #[arg(long)]
        goal: Option<String>,
        /// Stage id.
        #[arg(long)]
        stage: Option<String>,
        #[command(flatten)]
        set: SetArgs,
        #[command(flatten)]
        context: ContextArgs,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Set a work item's state, impact, complexity, kind or priority.
    #[command(
        after_help = "Example:\n  tandem item set PAY-12 --state in_progress --impact high --complexity low --kind bug"
    )]
    Set {
        /// External key (PAY-123) or id.
        key: String,
        #[command(flatten)]
        set: SetArgs,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// What `item set` (and `item update`) change.
#[derive(Debug, Args)]
pub struct SetArgs {
    /// todo, in_progress, blocked, done or cancelled.
    #[arg(long, value_parser = parse::<WorkState>)]
    state: Option<WorkState>,
    /// low, medium or high.
    #[arg(long, value_parser = parse::<Level>)]
    impact: Option<Level>,
    /// low, medium or high.
    #[arg(long, value_parser = parse::<Level>)]
    complexity: Option<Level>,
    /// feature, bug, debt, chore or incident.
    #[arg(long, value_parser = parse::<WorkKind>)]
    kind: Option<WorkKind>,
    /// P0, P1, P2 or P3.
    #[arg(long, value_parser = parse::<Priority>)]
    priority: Option<Priority>,
}

impl SetArgs {
    fn is_empty(&self) -> bool {
        self.state.is_none()
            && self.impact.is_none()
            && self.complexity.is_none()
            && self.kind.is_none()
            && self.priority.is_none()
    }
}

/// An item's context: why it exists and what it should change.
#[derive(Debug, Args)]
pub struct ContextArgs {
    /// Why the item exists.
    #[arg(long)]
    why: Option<String>,
    /// What it should change.
    #[arg(long)]
    expected_impact: Option<String>,
    /// The value today (e.g. "3.1 % refunds").
    #[arg(long)]
    current_value: Option<String>,
    /// The value it should reach.
    #[arg(long)]
    target_value: Option<String>,
}

impl ContextArgs {
    fn is_empty(&self) -> bool {
        self.why.is_none()
            && self.expected_impact.is_none()
            && self.current_value.is_none()
            && self.target_value.is_none()
    }

    /// `base` with the given parts replaced.
    fn over(self, mut base: WorkContext) -> WorkContext {
        if let Some(v) = self.why {
            base.why = v;
        }
        if let Some(v) = self.expected_impact {
            base.expected_impact = v;
        }
        if let Some(v) = self.current_value {
            base.current_value = v;
        }
        if let Some(v) = self.target_value {
            base.target_value = v;
        }
        base
    }
}

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T, String> {
    s.parse()
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
        ItemCommand::List {
            team,
            project,
            goal,
            stage,
            state,
            kind,
            format,
        } => {
            let mut q = ListQuery {
                goal_id: goal.map(|g| uuid_arg("--goal", &g)).transpose()?,
                stage_id: stage.map(|s| uuid_arg("--stage", &s)).transpose()?,
                status: state.map(|s| s.as_str().to_owned()),
                kind: kind.map(|k| k.as_str().to_owned()),
                ..ListQuery::default()
            };
            if let Some(t) = team {
                q.team_id = Some(org::find_team(store, &t).await.map_err(app_error)?.id);
            }
            if let Some(p) = project {
                q.project_id = Some(org::find_project(store, &p).await.map_err(app_error)?.id);
            }
            let items = all(q, |q| async move { store.list_work_items(&q).await }).await?;
            match format.format {
                Format::Json => print_json(&items)?,
                Format::Table => println!("{}", items_table(&items)),
            }
        }
        ItemCommand::Create {
            team,
            project,
            goal,
            stage,
            title,
            kind,
            external_key,
            state,
            priority,
            impact,
            complexity,
            context,
            format,
        } => {
            let project = match project {
                Some(p) => Some(org::find_project(store, &p).await.map_err(app_error)?),
                None => None,
            };
            let team_id = match (team, &project) {
                (Some(t), _) => org::find_team(store, &t).await.map_err(app_error)?.id,
                (None, Some(p)) => p.team_id,
                (None, None) => anyhow::bail!("give --team (or --project, whose team it is)"),
            };
            let input = NewWorkItem {
                project_id: project.map(|p| p.id),
                goal_id: goal.map(|g| uuid_arg("--goal", &g)).transpose()?,
                stage_id: stage.map(|s| uuid_arg("--stage", &s)).transpose()?,
                priority,
                impact,
                complexity,
                state,
                context: context.over(WorkContext::default()),
                external_key,
                ..NewWorkItem::new(team_id, title, kind)
            };
            let item = work_items::create(store, &settings.planning, input)
                .await
                .map_err(app_error)?;
            print_item(&item, "created", format.format)?;
        }
        ItemCommand::Update {
            key,
            title,
            project,
            goal,
            stage,
            set,
            context,
            format,
        } => {
            if title.is_none()
                && project.is_none()
                && goal.is_none()
                && stage.is_none()
                && set.is_empty()
                && context.is_empty()
            {
                anyhow::bail!("nothing to change: give at least one option (see --help)");
            }
            let item = find_item(store, &key).await?;
            let project_id = match project {
                Some(p) => Some(org::find_project(store, &p).await.map_err(app_error)?.id),
                None => None,
            };
            let patch = WorkItemPatch {
                project_id,
                goal_id: goal.map(|g| uuid_arg("--goal", &g)).transpose()?,
                stage_id: stage.map(|s| uuid_arg("--stage", &s)).transpose()?,
                title,
                context: (!context.is_empty()).then(|| context.over(item.context.clone())),
                ..set_patch(set)
            };
            let item = work_items::update(store, item.id, patch)
                .await
                .map_err(app_error)?;
            print_item(&item, "updated", format.format)?;
        }
        ItemCommand::Set { key, set, format } => {
            if set.is_empty() {
                anyhow::bail!(
                    "nothing to set: give --state, --impact, --complexity, --kind or --priority"
                );
            }
            let item = find_item(store, &key).await?;
            let item = work_items::update(store, item.id, set_patch(set))
                .await
                .map_err(app_error)?;
            print_item(&item, "updated", format.format)?;
        }
        ItemCommand::Show { key, format } => {
            let item = find_item(store, &key).await?;
            let ctx = views::task_context(store, &item, settings).await?;
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

async fn find_item(store: &Store, key: &str) -> anyhow::Result<WorkItem> {
    Ok(lookup::find_work_item(store, key).await?)
}

fn set_patch(set: SetArgs) -> WorkItemPatch {
    WorkItemPatch {
        state: set.state,
        impact: set.impact,
        complexity: set.complexity,
        kind: set.kind,
        priority: set.priority,
        ..WorkItemPatch::default()
    }
}

fn print_item(item: &WorkItem, done: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(item),
        Format::Table => {
            println!(
                "{done} {} {} [{}, {}, {}]",
                item.external_key
                    .clone()
                    .unwrap_or_else(|| item.id.to_string()),
                item.title,
                item.kind,
                item.state,
                item.priority
            );
            Ok(())
        }
    }
}

fn items_table(items: &[WorkItem]) -> crate::output::Table {
    let level = |l: Option<Level>| l.map_or_else(|| "—".to_owned(), |l| l.to_string());
    let mut t = table(&[
        "key",
        "kind",
        "state",
        "priority",
        "impact",
        "complexity",
        "title",
    ]);
    for w in items {
        t.add_row(vec![
            w.external_key.clone().unwrap_or_else(|| w.id.to_string()),
            w.kind.to_string(),
            w.state.to_string(),
            w.priority.to_string(),
            level(w.impact),
            level(w.complexity),
            w.title.clone(),
        ]);
    }
    t
}
