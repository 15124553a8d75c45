//! Finding a thing by what a person types: its id (a UUID) or its key
//! (`PAY`, `PAY-123`, `checkout.conversion`). Every API path, page and CLI
//! argument that accepts either goes through here, so they all agree: a
//! string that parses as a UUID is an id, anything else a key.
//!
//! The `find_*` functions are what a person typing at the command line
//! needs on top: goals, work items, risks and decisions also answer to the
//! unique start of their id (`0190a1b2`, at least `IdPrefix::MIN_DIGITS` hex
//! digits; an ambiguous start lists the matches), and a missing team, project
//! or KPI series names the closest keys ("no team 'paymnts'; did you mean 'payments'?",
//! by Jaro–Winkler similarity, at most three).

use std::future::Future;

use tandem_domain::decision::Decision;
use tandem_domain::goal::Goal;
use tandem_domain::metric::Metric;
use tandem_domain::project::Project;
use tandem_domain::risk::Risk;
use tandem_domain::team::Team;
use tandem_domain::work_item::WorkItem;
use tandem_store::{IdPrefix, IdTable, ListQuery, Store, StoreError};

use crate::error::{AppError, AppResult};
use crate::paging::all;
use uuid::Uuid;

/// What a caller typed to name a thing: an id or a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdOrKey<'a> {
    Id(Uuid),
    Key(&'a str),
}

impl<'a> IdOrKey<'a> {
    /// An id when `s` parses as a UUID, else a key.
    pub fn parse(s: &'a str) -> Self {
        match Uuid::try_parse(s) {
            Ok(id) => IdOrKey::Id(id),
            Err(_) => IdOrKey::Key(s),
        }
    }
}

/// A team by id or key.
pub async fn team(store: &Store, id_or_key: &str) -> Result<Team, StoreError> {
    match IdOrKey::parse(id_or_key) {
        IdOrKey::Id(id) => store.get_team(id).await,
        IdOrKey::Key(key) => store.get_team_by_key(key).await,
    }
}

/// A project by id or key.
pub async fn project(store: &Store, id_or_key: &str) -> Result<Project, StoreError> {
    match IdOrKey::parse(id_or_key) {
        IdOrKey::Id(id) => store.get_project(id).await,
        IdOrKey::Key(key) => store.get_project_by_key(key).await,
    }
}

/// A metric by id or key.
pub async fn metric(store: &Store, id_or_key: &str) -> Result<Metric, StoreError> {
    match IdOrKey::parse(id_or_key) {
        IdOrKey::Id(id) => store.get_metric(id).await,
        IdOrKey::Key(key) => store.get_metric_by_key(key).await,
    }
}

/// A work item by id or external key (`PAY-123`).
pub async fn work_item(store: &Store, id_or_key: &str) -> Result<WorkItem, StoreError> {
    match IdOrKey::parse(id_or_key) {
        IdOrKey::Id(id) => store.get_work_item(id).await,
        IdOrKey::Key(key) => store.get_work_item_by_key(key).await,
    }
}

/// How many matches of an ambiguous id prefix are listed.
const MAX_LISTED: usize = 10;

/// Keys at least this similar (Jaro–Winkler, 0–1) to a typed one are
/// suggested in its place.
const SIMILAR: f64 = 0.8;

/// A team by id or key; `NotFound` names the closest keys.
pub async fn find_team(store: &Store, text: &str) -> AppResult<Team> {
    match team(store, text).await {
        Err(StoreError::NotFound { .. }) => {
            let teams = all(ListQuery::default(), |q| async move {
                store.list_teams(&q).await
            })
            .await?;
            let keys = teams.iter().map(|t| t.key.as_str());
            Err(AppError::NotFound(missing("team", "teams", text, keys)))
        }
        other => Ok(other?),
    }
}

/// A project by id or key; `NotFound` names the closest keys.
pub async fn find_project(store: &Store, text: &str) -> AppResult<Project> {
    match project(store, text).await {
        Err(StoreError::NotFound { .. }) => {
            let projects = all(ListQuery::default(), |q| async move {
                store.list_projects(&q).await
            })
            .await?;
            let keys = projects.iter().map(|p| p.key.as_str());
            Err(AppError::NotFound(missing(
                "project", "projects", text, keys,
            )))
        }
        other => Ok(other?),
    }
}

/// A goal by id or the unique start of its id.
pub async fn find_goal(store: &Store, text: &str) -> AppResult<Goal> {
    by_id(
        store,
        IdTable::Goals,
        "goal",
        text,
        |id| store.get_goal(id),
        |g| g.title.clone(),
    )
    .await
}

/// A risk by id or the unique start of its id.
pub async fn find_risk(store: &Store, text: &str) -> AppResult<Risk> {
    by_id(
        store,
        IdTable::Risks,
        "risk",
        text,
        |id| store.get_risk(id),
        |r| r.title.clone(),
    )
    .await
}

/// A decision by id or the unique start of its id.
pub async fn find_decision(store: &Store, text: &str) -> AppResult<Decision> {
    by_id(
        store,
        IdTable::Decisions,
        "decision",
        text,
        |id| store.get_decision(id),
        |d| d.title.clone(),
    )
    .await
}

/// A KPI series by id or key; `NotFound` names the closest keys.
pub async fn find_metric(store: &Store, text: &str) -> AppResult<Metric> {
    match metric(store, text).await {
        Err(StoreError::NotFound { .. }) => {
            let metrics = all(ListQuery::default(), |q| async move {
                store.list_metrics(&q).await
            })
            .await?;
            let keys = metrics.iter().map(|m| m.key.as_str());
            Err(AppError::NotFound(missing(
                "KPI series",
                "KPI series",
                text,
                keys,
            )))
        }
        other => Ok(other?),
    }
}

/// The one "id or the unique start of an id" resolution: `get` reads the
/// record, `title` says which one it is when a prefix matches several.
async fn by_id<T, Fut>(
    store: &Store,
    table: IdTable,
    entity: &str,
    text: &str,
    get: impl Fn(Uuid) -> Fut,
    title: impl Fn(&T) -> String,
) -> AppResult<T>
where
    Fut: Future<Output = Result<T, StoreError>>,
{
    let id = match IdOrKey::parse(text) {
        IdOrKey::Id(id) => id,
        IdOrKey::Key(typed) => {
            let Some(prefix) = IdPrefix::parse(typed) else {
                return Err(AppError::BadInput {
                    message: format!(
                        "{typed:?} is not a {entity} id or the start of one (at least {} hexadecimal digits)",
                        IdPrefix::MIN_DIGITS
                    ),
                    field: None,
                });
            };
            let ids = matching(store, table, &prefix).await?;
            match ids.as_slice() {
                [] => {
                    return Err(AppError::NotFound(format!(
                        "no {entity} id starts with {typed:?}"
                    )));
                }
                [id] => *id,
                many => {
                    let mut listed = Vec::new();
                    for id in many.iter().take(MAX_LISTED) {
                        let record = get(*id).await?;
                        listed.push(format!("{id} ({})", title(&record)));
                    }
                    return Err(ambiguous(entity, typed, many.len(), &listed));
                }
            }
        }
    };
    get(id).await.map_err(|e| match e {
        StoreError::NotFound { .. } => AppError::NotFound(format!("no {entity} has the id {id}")),
        other => other.into(),
    })
}

/// A work item by id, external key (`PAY-123`) or the unique start of its id.
pub async fn find_work_item(store: &Store, text: &str) -> AppResult<WorkItem> {
    match work_item(store, text).await {
        Err(StoreError::NotFound { .. }) => {}
        other => return Ok(other?),
    }
    let no_item = || AppError::NotFound(format!("no work item has the key or id {text:?}"));
    let Some(prefix) = IdPrefix::parse(text) else {
        return Err(no_item());
    };
    let ids = matching(store, IdTable::WorkItems, &prefix).await?;
    match ids.as_slice() {
        [] => Err(no_item()),
        [id] => Ok(store.get_work_item(*id).await?),
        many => {
            let mut listed = Vec::new();
            for id in many.iter().take(MAX_LISTED) {
                let w = store.get_work_item(*id).await?;
                let key = w.external_key.as_deref().unwrap_or("no key");
                listed.push(format!("{} ({key}: {})", w.id, w.title));
            }
            Err(ambiguous("work item", text, many.len(), &listed))
        }
    }
}

/// The ids starting with `prefix`: one more than listed, so "more" shows.
async fn matching(store: &Store, table: IdTable, prefix: &IdPrefix) -> AppResult<Vec<Uuid>> {
    Ok(store
        .ids_with_prefix(table, prefix, MAX_LISTED as i64 + 1)
        .await?)
}

fn ambiguous(entity: &str, typed: &str, found: usize, listed: &[String]) -> AppError {
    let more = if found > listed.len() { "\n  …" } else { "" };
    AppError::BadInput {
        message: format!(
            "{typed:?} starts more than one {entity} id; type more of it:\n  {}{more}",
            listed.join("\n  ")
        ),
        field: None,
    }
}

/// "no team 'paymnts'; did you mean 'payments'?", or the known keys when
/// there are few and none is close.
fn missing<'a>(
    entity: &str,
    plural: &str,
    typed: &str,
    known: impl Iterator<Item = &'a str> + Clone,
) -> String {
    let close = closest(typed, known.clone());
    match close.as_slice() {
        [] => {
            let all: Vec<&str> = known.collect();
            match all.len() {
                0 => format!("no {entity} {typed:?}: there are no {plural} yet"),
                1..=MAX_LISTED => format!(
                    "no {entity} {typed:?}; the {plural} are {}",
                    quoted(&all, "and")
                ),
                _ => format!("no {entity} has the key or id {typed:?}"),
            }
        }
        close => format!(
            "no {entity} {typed:?}; did you mean {}?",
            quoted(close, "or")
        ),
    }
}

fn quoted(keys: &[&str], last: &str) -> String {
    let keys: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    match keys.split_last() {
        Some((tail, head)) if !head.is_empty() => format!("{} {last} {tail}", head.join(", ")),
        _ => keys.join(""),
    }
}

/// Up to three of `known` most like `typed` (case-insensitive), best first.
pub fn closest<'a>(typed: &str, known: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let typed = typed.to_lowercase();
    let mut scored: Vec<(f64, &str)> = known
        .map(|k| (strsim::jaro_winkler(&typed, &k.to_lowercase()), k))
        .filter(|(score, _)| *score >= SIMILAR)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().take(3).map(|(_, k)| k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_keys_are_suggested_best_first() {
        let keys = ["payments", "platform", "growth", "payments-api"];
        assert_eq!(
            closest("paymnts", keys.into_iter()),
            vec!["payments", "payments-api"]
        );
        assert_eq!(closest("GROWHT", keys.into_iter()), vec!["growth"]);
        assert!(closest("zzz", keys.into_iter()).is_empty());
        assert_eq!(
            missing(
                "team",
                "teams",
                "paymnts",
                ["payments", "growth"].into_iter()
            ),
            "no team \"paymnts\"; did you mean \"payments\"?"
        );
        assert_eq!(
            missing(
                "team",
                "teams",
                "zzz",
                ["payments", "growth", "platform"].into_iter()
            ),
            "no team \"zzz\"; the teams are \"payments\", \"growth\" and \"platform\""
        );
        assert_eq!(
            missing("team", "teams", "zzz", std::iter::empty()),
            "no team \"zzz\": there are no teams yet"
        );
    }
}
