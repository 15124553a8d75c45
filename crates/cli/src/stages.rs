//! `tandem stage list|show|create|update`: the stages of a goal, through
//! `tandem_app::stages` (the functions `/api/v1/stages` calls).

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use tandem_app::stages;
use tandem_domain::stage::{NewStage, Stage, StagePatch};
use tandem_store::Store;
use uuid::Uuid;

use crate::commands::{print_json, table};
use crate::org::app_error;
use crate::{Format, FormatArg};

#[derive(Debug, Subcommand)]
pub enum StageCommand {
    /// List a goal's stages in order.
    #[command(after_help = "Example:\n  tandem stage list --goal 0193f1d2-…")]
    List {
        /// Goal id.
        #[arg(long)]
        goal: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Show one stage.
    #[command(after_help = "Example:\n  tandem stage show 0193f1d2-…")]
    Show {
        /// Stage id.
        id: String,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Add a stage to a goal (after its last stage unless --position).
    #[command(
        after_help = "Example:\n  tandem stage create --goal 0193f1d2-… --name \"Card vault\" --starts 2026-12-07 --ends 2026-12-18"
    )]
    Create {
        /// Goal id.
        #[arg(long)]
        goal: String,
        #[arg(long)]
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Order within the goal, from 1.
        #[arg(long)]
        position: Option<i32>,
        /// First day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        starts: Option<NaiveDate>,
        /// Last day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        ends: Option<NaiveDate>,
        #[command(flatten)]
        format: FormatArg,
    },
    /// Change a stage's name, description, position or dates.
    #[command(after_help = "Example:\n  tandem stage update 0193f1d2-… --ends 2026-12-21")]
    Update {
        /// Stage id.
        id: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[arg(long)]
        position: Option<i32>,
        /// First day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        starts: Option<NaiveDate>,
        /// Last day (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        ends: Option<NaiveDate>,
        #[command(flatten)]
        format: FormatArg,
    },
}

/// A UUID given for `what` (`--goal`, the stage id), or an error naming it.
pub(crate) fn uuid_arg(what: &str, raw: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(raw).with_context(|| format!("{what}: {raw:?} is not an id (a UUID)"))
}

/// `tandem stage …`.
pub async fn stage(store: &Store, command: StageCommand) -> anyhow::Result<()> {
    match command {
        StageCommand::List { goal, format } => {
            let goal = uuid_arg("--goal", &goal)?;
            let stages = stages::of_goal(store, goal).await.map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&stages)?,
                Format::Table => println!("{}", stages_table(&stages)),
            }
        }
        StageCommand::Show { id, format } => {
            let stage = stages::get(store, uuid_arg("stage", &id)?)
                .await
                .map_err(app_error)?;
            match format.format {
                Format::Json => print_json(&stage)?,
                Format::Table => println!("{}", stages_table(std::slice::from_ref(&stage))),
            }
        }
        StageCommand::Create {
            goal,
            name,
            description,
            position,
            starts,
            ends,
            format,
        } => {
            let input = NewStage {
                goal_id: uuid_arg("--goal", &goal)?,
                name,
                description,
                position,
                starts_on: starts,
                ends_on: ends,
            };
            let stage = stages::create(store, input).await.map_err(app_error)?;
            print_stage(&stage, "created", format.format)?;
        }
        StageCommand::Update {
            id,
            name,
            description,
            position,
            starts,
            ends,
            format,
        } => {
            let patch = StagePatch {
                name,
                description,
                position,
                starts_on: starts,
                ends_on: ends,
            };
            let stage = stages::update(store, uuid_arg("stage", &id)?, patch)
                .await
                .map_err(app_error)?;
            print_stage(&stage, "updated", format.format)?;
        }
    }
    Ok(())
}

fn print_stage(stage: &Stage, done: &str, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(stage),
        Format::Table => {
            println!(
                "{done} stage {} \"{}\" (position {} of goal {})",
                stage.id, stage.name, stage.position, stage.goal_id
            );
            Ok(())
        }
    }
}

fn stages_table(stages: &[Stage]) -> crate::output::Table {
    let date = |d: Option<NaiveDate>| d.map_or_else(|| "—".to_owned(), |d| d.to_string());
    let mut t = table(&["#", "name", "starts", "ends", "id"]);
    for s in stages {
        t.add_row(vec![
            s.position.to_string(),
            s.name.clone(),
            date(s.starts_on),
            date(s.ends_on),
            s.id.to_string(),
        ]);
    }
    t
}
