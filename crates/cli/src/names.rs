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
/// The one lookup ([`tandem_app::lookup::find_team`]) suggests the closest keys.
pub async fn team(store: &Store, raw: &str, flag: &str) -> anyhow::Result<Team> {
    use anyhow::Context as _;
    tandem_app::lookup::find_team(store, raw)
        .await
        .with_context(|| flag.to_owned())
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
            Err(not_found(format!(
                "no KPI series has the key or id {raw:?}{}",
                known("series", &keys)
            )))
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

/// A goal by id or the unique start of its id ([`tandem_app::lookup::find_goal`]).
pub async fn goal(store: &Store, raw: &str) -> anyhow::Result<Goal> {
    Ok(tandem_app::lookup::find_goal(store, raw).await?)
}

/// A risk by id.
pub async fn risk(store: &Store, raw: &str) -> anyhow::Result<Risk> {
    absent(store.get_risk(id("risk", raw)?).await)?
        .ok_or_else(|| not_found(format!("no risk has the id {raw}")))
}

/// A decision by id.
pub async fn decision(store: &Store, raw: &str) -> anyhow::Result<Decision> {
    absent(store.get_decision(id("decision", raw)?).await)?
        .ok_or_else(|| not_found(format!("no decision has the id {raw}")))
}

/// A "not found" that keeps its kind, so the exit code says so (4).
fn not_found(message: String) -> anyhow::Error {
    anyhow::Error::new(AppError::NotFound(message))
}
