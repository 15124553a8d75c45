//! Agreements as documents on the command line: `goal export`, `goal
//! import`, the template printed by `goal new` without `--title`, and `goal
//! diff`. The rules live in `tandem_domain::document`; this file resolves
//! keys, reads and writes files, and calls the store.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow};
use chrono::Utc;
use serde_json::json;
use tandem_domain::document::{self, ImportPlan, Resolved, changes};
use tandem_domain::goal::{FieldChange, Goal, GoalStatus};
use tandem_store::{Store, StoreError};
use uuid::Uuid;

use crate::Format;

/// Readable lines for a version's changes (used by `goal show`).
pub fn describe(changes: &[FieldChange]) -> Vec<String> {
    changes::describe(changes)
}

/// The goal as a document, with its team and project named by key.
async fn render(store: &Store, goal: &Goal) -> anyhow::Result<String> {
    let team = store.get_team(goal.team_id).await?;
    let project = match goal.project_id {
        Some(id) => Some(store.get_project(id).await?.key),
        None => None,
    };
    Ok(document::render_goal(goal, &team.key, project.as_deref()))
}

/// `tandem goal export G [--output FILE]`
pub async fn export(store: &Store, id: &str, output: Option<PathBuf>) -> anyhow::Result<()> {
    let goal = tandem_app::lookup::find_goal(store, id).await?;
    let text = render(store, &goal).await?;
    match output {
        Some(path) => {
            // `--output docs/goals/x.md` in a fresh checkout: make the folders.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            std::fs::write(&path, &text)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote goal {} (version {}) to {}",
                goal.id,
                goal.version,
                path.display()
            );
        }
        None => print!("{text}"),
    }
    Ok(())
}

/// `tandem goal new --team T` without `--title`: the template to fill in.
pub async fn template(store: &Store, team: &str) -> anyhow::Result<()> {
    let team = tandem_app::lookup::find_team(store, team)
        .await
        .context("--team")?;
    print!("{}", document::template(&team.key));
    Ok(())
}

/// `tandem goal import FILE`: a document without a known id creates a draft;
/// one naming a stored goal edits it (versioned once agreed), unless it was
/// exported from another version of the goal. A refused import changes
/// nothing.
pub async fn import(store: &Store, file: &Path, actor: Option<String>) -> anyhow::Result<()> {
    let actor = actor
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_owned());
    let result = apply(store, &read(file)?, &actor).await;
    let outcome = result.with_context(|| {
        let name = if file.as_os_str() == "-" {
            "standard input".to_owned()
        } else {
            file.display().to_string()
        };
        format!("{name} was not imported; nothing was changed")
    })?;
    match outcome {
        Applied::Created(goal, (status, version)) => {
            println!("created draft goal {} ({})", goal.id, goal.title);
            if status != GoalStatus::Draft {
                println!(
                    "note: the document says {status} (version {version}); agreement is not imported — agree the goal with `tandem goal agree {}`",
                    goal.id
                );
            }
        }
        Applied::Updated(goal, lines) => {
            if goal.status == GoalStatus::Draft {
                println!("updated draft goal {} ({})", goal.id, goal.title);
            } else {
                println!("goal {} is now version {}:", goal.id, goal.version);
            }
            for line in lines {
                println!("  {line}");
            }
        }
        Applied::Unchanged(goal) => {
            println!(
                "goal {} is unchanged (version {}): the document says what is stored",
                goal.id, goal.version
            );
        }
    }
    Ok(())
}

fn read(file: &Path) -> anyhow::Result<String> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))
}

enum Applied {
    /// The new draft, and the status and version the document said.
    Created(Goal, (GoalStatus, i32)),
    Updated(Goal, Vec<String>),
    Unchanged(Goal),
}

async fn apply(store: &Store, text: &str, actor: &str) -> anyhow::Result<Applied> {
    let doc = document::parse(text)?;
    let stored = match doc.id {
        Some(id) => match store.get_goal(id).await {
            Ok(goal) => Some(goal),
            Err(StoreError::NotFound { .. }) => None,
            Err(e) => return Err(e.into()),
        },
        None => None,
    };
    let team = store
        .get_team_by_key(&doc.team)
        .await
        .map_err(|_| anyhow!("team: no team has the key {:?}", doc.team))?;
    let project_id = match &doc.project {
        Some(key) => Some(
            store
                .get_project_by_key(key)
                .await
                .map_err(|_| anyhow!("project: no project has the key {key:?}"))?
                .id,
        ),
        None => None,
    };
    let resolved = Resolved {
        team_id: team.id,
        project_id,
    };
    let plan = document::plan_import(
        &doc,
        stored.as_ref(),
        resolved,
        actor,
        Utc::now(),
        Uuid::now_v7(),
    )?;
    Ok(match plan {
        ImportPlan::Create(goal) => {
            store.create_goal(&goal).await?;
            Applied::Created(goal, (doc.status, doc.version))
        }
        ImportPlan::Update(change) => {
            let read_version = stored.as_ref().map_or(0, |g| g.version);
            store.save_goal_change(&change, read_version).await?;
            let lines = match &change.version {
                Some(v) => changes::describe(&v.changes),
                None => stored
                    .as_ref()
                    .map(|before| {
                        changes::describe(&tandem_domain::goal::diff(before, &change.goal))
                    })
                    .unwrap_or_default(),
            };
            Applied::Updated(change.goal, lines)
        }
        ImportPlan::Unchanged(goal) => Applied::Unchanged(goal),
    })
}

/// `tandem goal diff G [FROM] [TO]`: by default the last version against the
/// one before it; with only FROM, FROM against the current version.
pub async fn diff(
    store: &Store,
    id: &str,
    from: Option<i32>,
    to: Option<i32>,
    format: Format,
) -> anyhow::Result<()> {
    let goal = tandem_app::lookup::find_goal(store, id).await?;
    let versions = store.list_goal_versions(goal.id).await?;
    let (from, to) = match (from, to) {
        (None, _) if goal.version == 0 => {
            println!(
                "goal {} is a draft (version 0): it has no versions to compare until it is agreed",
                goal.id
            );
            return Ok(());
        }
        (None, _) => (goal.version - 1, goal.version),
        (Some(from), None) => (from, goal.version),
        (Some(from), Some(to)) => (from, to),
    };
    let net = changes::between(&versions, from, to)?;
    let lines = changes::describe(&net);
    match format {
        Format::Json => crate::commands::print_json(
            &json!({"goal_id": goal.id, "from": from, "to": to, "changes": net, "lines": lines}),
        )?,
        Format::Table => {
            println!("goal {}: version {from} → {to}", goal.id);
            if lines.is_empty() {
                println!("  no changes");
            }
            for line in lines {
                println!("  {line}");
            }
        }
    }
    Ok(())
}
