//! The decision log: record a decision, edit one. The API
//! (`POST/PATCH /api/v1/decisions`) and `tandem decision create` both come
//! here.

use chrono::Utc;
use tandem_domain::decision::{Decision, DecisionPatch, NewDecision};
use tandem_store::Store;
use uuid::Uuid;

use crate::AppResult;

/// Stores a new decision (decided now unless the input says when).
pub async fn create(store: &Store, input: NewDecision) -> AppResult<Decision> {
    let d = input.into_decision(Uuid::now_v7(), Utc::now())?;
    store.create_decision(&d).await?;
    Ok(d)
}

/// Applies `patch` to decision `id`.
pub async fn update(store: &Store, id: Uuid, patch: DecisionPatch) -> AppResult<Decision> {
    let mut d = store.get_decision(id).await?;
    d.apply(patch, Utc::now())?;
    store.update_decision(&d).await?;
    Ok(d)
}
