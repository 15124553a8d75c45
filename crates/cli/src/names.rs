//! What a person typed on the command line, resolved to the thing it names
//! (through `tandem_app::lookup` and the store), with errors that name what
//! was not found and, when the choice is short, what there is. Also how an
//! `AppError` reads on a terminal: every broken rule, one per line.

use anyhow::anyhow;
use tandem_app::AppError;
use tandem_domain::decision::Decision;
use tandem_domain::goal::Goal;
use tandem_domain::metric::Metric;
use tandem_domain::risk::Risk;
use tandem_domain::team::Team;
use tandem_store::Store;

/// An `AppError` as the CLI prints it: every broken rule, `field: message`.
pub fn explain(e: AppError) -> anyhow::Error {
    match e {
        AppError::Invalid(errors) if errors.len() > 1 => anyhow!(
            "{} problems:\n  {}",
            errors.len(),
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("\n  ")
        ),
        other => anyhow::Error::new(other),
    }
}

/// A team by key or id; `flag` is the argument it came from (`--team`).
/// The one lookup ([`tandem_app::lookup::find_team`]) suggests the closest keys.
pub async fn team(store: &Store, raw: &str, flag: &str) -> anyhow::Result<Team> {
    use anyhow::Context as _;
    tandem_app::lookup::find_team(store, raw)
        .await
        .with_context(|| flag.to_owned())
}

/// A KPI series by key or id; a missing one names the closest keys.
pub async fn series(store: &Store, raw: &str) -> anyhow::Result<Metric> {
    Ok(tandem_app::lookup::find_metric(store, raw).await?)
}

/// A goal by id or the unique start of its id ([`tandem_app::lookup::find_goal`]).
pub async fn goal(store: &Store, raw: &str) -> anyhow::Result<Goal> {
    Ok(tandem_app::lookup::find_goal(store, raw).await?)
}

/// A risk by id or the unique start of its id.
pub async fn risk(store: &Store, raw: &str) -> anyhow::Result<Risk> {
    Ok(tandem_app::lookup::find_risk(store, raw).await?)
}

/// A decision by id or the unique start of its id.
pub async fn decision(store: &Store, raw: &str) -> anyhow::Result<Decision> {
    Ok(tandem_app::lookup::find_decision(store, raw).await?)
}
