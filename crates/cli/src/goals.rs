//! `tandem goal agree|start|complete|drop <id>`: a goal's lifecycle, through
//! the same `tandem_app::goals::transition` as
//! `POST /api/v1/goals/{id}/{transition}`.

use tandem_app::AppError;
use tandem_domain::goal::GoalTransition;
use tandem_store::Store;

use crate::Format;
use crate::commands::print_json;
use crate::names;

/// Who the CLI acts as: `--as`, else the OS user.
pub fn actor(given: Option<String>) -> String {
    given
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "cli".to_owned())
}

fn past(action: GoalTransition) -> &'static str {
    match action {
        GoalTransition::Agree => "agreed",
        GoalTransition::Start => "started",
        GoalTransition::Complete => "completed",
        GoalTransition::Drop => "dropped",
    }
}

/// Moves the goal `raw_id` through `action` as `actor`.
pub async fn transition(
    store: &Store,
    raw_id: &str,
    action: GoalTransition,
    actor: Option<String>,
    format: Format,
) -> anyhow::Result<()> {
    let goal = names::goal(store, raw_id).await?;
    let actor = self::actor(actor);
    let done = match tandem_app::goals::transition(store, goal.id, action, &actor).await {
        Ok(g) => g,
        Err(e @ (AppError::Invalid(_) | AppError::Conflict { .. })) => {
            return Err(names::explain(e).context(format!(
                "goal {} ({}) cannot be {}",
                goal.id,
                goal.title,
                past(action)
            )));
        }
        Err(e) => return Err(names::explain(e)),
    };
    match format {
        Format::Json => print_json(&done)?,
        Format::Table => println!(
            "goal {} ({}) {} by {actor}: now {} (version {})",
            done.id,
            done.title,
            past(action),
            done.status,
            done.version
        ),
    }
    Ok(())
}
