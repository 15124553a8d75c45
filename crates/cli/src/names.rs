//! What a person typed on the command line, resolved to the thing it names
//! (through `tandem_app::lookup` and the store), with errors that name what
//! was not found and, when the choice is short, what there is. Also how an
//! `AppError` reads on a terminal: every broken rule, one per line.

use anyhow::anyhow;
use tandem_app::AppError;
use tandem_app::paging::all;
use tandem_domain::decision::Decision;
use tandem_domain::goal::Goal;
use tandem_domain::metric::Metric;
use tandem_domain::risk::Risk;
use tandem_domain::team::Team;
use tandem_store::{ListQuery, Store, StoreError};
use uuid::Uuid;

/// Lists of at most this many keys are shown in a "not found" error.
const SHORT_LIST: usize = 20;

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

/// `found` listed after a "not found" message when it is short.
fn known(kind: &str, found: &[String]) -> String {
    match found.len() {
        0 => format!("; there are no {kind} yet"),
        n if n <= SHORT_LIST => format!("; the {kind} are: {}", found.join(", ")),
        _ => String::new(),
    }
}

/// A team by key or id; `flag` is the argument it came from (`--team`).
pub async fn team(store: &Store, raw: &str, flag: &str) -> anyhow::Result<Team> {
    match tandem_app::lookup::team(store, raw).await {
        Ok(t) => Ok(t),
        Err(StoreError::NotFound { .. }) => {
            let teams = all(ListQuery::default(), |q| async move {
                store.list_teams(&q).await
            })
            .await?;
            let keys: Vec<String> = teams.into_iter().map(|t| t.key).collect();
            Err(anyhow!(
                "{flag}: no team has the key or id {raw:?}{}",
                known("teams", &keys)
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// A KPI series by key or id.
pub async fn series(store: &Store, raw: &str) -> anyhow::Result<Metric> {
    match tandem_app::lookup::metric(store, raw).await {
        Ok(m) => Ok(m),
        Err(StoreError::NotFound { .. }) => {
            let metrics = all(ListQuery::default(), |q| async move {
                store.list_metrics(&q).await
            })
            .await?;
            let keys: Vec<String> = metrics.into_iter().map(|m| m.key).collect();
            Err(anyhow!(
                "no KPI series has the key or id {raw:?}{}",
                known("series", &keys)
            ))
        }
        Err(e) => Err(e.into()),
    }
}

/// An id of `kind`, or an error naming what was typed.
pub fn id(kind: &str, raw: &str) -> anyhow::Result<Uuid> {
    Uuid::try_parse(raw).map_err(|_| anyhow!("{raw:?} is not a {kind} id (a UUID)"))
}

/// `Ok(None)` for a store "not found", so callers can say which id.
fn absent<T>(r: Result<T, StoreError>) -> anyhow::Result<Option<T>> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(StoreError::NotFound { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A goal by id.
pub async fn goal(store: &Store, raw: &str) -> anyhow::Result<Goal> {
    absent(store.get_goal(id("goal", raw)?).await)?
        .ok_or_else(|| anyhow!("no goal has the id {raw}"))
}

/// A risk by id.
pub async fn risk(store: &Store, raw: &str) -> anyhow::Result<Risk> {
    absent(store.get_risk(id("risk", raw)?).await)?
        .ok_or_else(|| anyhow!("no risk has the id {raw}"))
}

/// A decision by id.
pub async fn decision(store: &Store, raw: &str) -> anyhow::Result<Decision> {
    absent(store.get_decision(id("decision", raw)?).await)?
        .ok_or_else(|| anyhow!("no decision has the id {raw}"))
}
