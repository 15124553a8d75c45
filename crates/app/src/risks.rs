//! Risks people raise and look after: create one, edit it or set its status
//! (`open`, `mitigating`, `closed`). The API (`POST/PATCH /api/v1/risks`) and
//! `tandem risk create|update` both come here. Tandem's own checks raise
//! and close their risks in `forecasting`.

use chrono::Utc;
use tandem_domain::risk::{NewRisk, Risk, RiskPatch};
use tandem_store::Store;
use uuid::Uuid;

use crate::AppResult;

/// Stores a new manual risk, open.
pub async fn create(store: &Store, input: NewRisk) -> AppResult<Risk> {
    let risk = input.into_risk(Uuid::now_v7(), Utc::now())?;
    store.create_risk(&risk).await?;
    Ok(risk)
}

/// Applies `patch` to risk `id`; closing stamps `closed_at`, reopening
/// clears it. Nothing is stored when the patch breaks a rule.
pub async fn update(store: &Store, id: Uuid, patch: RiskPatch) -> AppResult<Risk> {
    let mut risk = store.get_risk(id).await?;
    risk.apply(patch, Utc::now())?;
    store.update_risk(&risk).await?;
    Ok(risk)
}
