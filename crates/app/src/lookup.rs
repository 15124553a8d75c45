//! Finding a thing by what a person types: its id (a UUID) or its key
//! (`PAY`, `PAY-123`, `checkout.conversion`). Every API path, page and CLI
//! argument that accepts either goes through here, so they all agree: a
//! string that parses as a UUID is an id, anything else a key.

use tandem_domain::metric::Metric;
use tandem_domain::project::Project;
use tandem_domain::team::Team;
use tandem_domain::work_item::WorkItem;
use tandem_store::{Store, StoreError};
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
