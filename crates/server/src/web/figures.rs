//! The figures several pages and feeds show, computed once and shared
//! through the page cache (`web::cache`), so that the same number on two
//! pages comes from one computation: a team's DORA report over the pages'
//! window (the team page's panel, its bound KPIs, the overview's cards,
//! both CSV feeds) and each KPI's weekly series and current figure.
//!
//! Every key carries the delivery data version
//! (`tandem_app::delivery_metrics::data_version`, read after the stored
//! facts are brought up to date): a new deployment, incident, commit, pull
//! request commit, service scope or metric rule — written by this process,
//! another replica or the CLI, on SQLite or PostgreSQL — changes it, and the
//! next request computes afresh. What the version does not cover (work
//! items, typed KPI points, pull request review times) is at most
//! `cache::TTL` old, as before; forms of this process clear the cache.

use std::sync::Arc;

use chrono::NaiveDate;
use tandem_domain::dora::DoraReport;
use tandem_domain::metric::Metric;
use uuid::Uuid;

use super::cache::PageCache;
use crate::AppState;
use crate::http::error::{ApiError, ApiResult};
use tandem_app::AppError;
use tandem_app::delivery_metrics::{self, DeliveryQuery};
use tandem_app::kpis;

/// A weekly series: (the week's Monday, value).
pub type Weekly = Vec<(NaiveDate, f64)>;

/// The delivery data version now; see the module header.
pub async fn version(state: &AppState) -> ApiResult<i64> {
    delivery_metrics::data_version(&state.store, &state.settings)
        .await
        .map_err(ApiError::from)
}

/// A team's DORA report over the pages' window of `today`
/// (`kpis::window`), weekly buckets, or why there is none (the message of
/// `AppError::BadInput`: no projects, …). Cached per team, day and version.
pub async fn team_dora(
    state: &AppState,
    cache: &PageCache,
    team_id: Uuid,
    today: NaiveDate,
    version: i64,
) -> ApiResult<Arc<Result<DoraReport, String>>> {
    let (since, until) = kpis::window(today);
    cache
        .get_or_try(
            format!("dora:{team_id}:{since}:{until}:{version}"),
            || async {
                let q = DeliveryQuery {
                    team: Some(team_id.to_string()),
                    since: Some(since),
                    until: Some(until),
                    bucket: Some("week".into()),
                    ..DeliveryQuery::default()
                };
                match delivery_metrics::dora(&state.store, &state.settings, &q).await {
                    Ok(r) => Ok(Ok(r)),
                    Err(AppError::BadInput { message, .. }) => Ok(Err(message)),
                    Err(e) => Err(ApiError::from(e)),
                }
            },
        )
        .await
}

/// A KPI's weekly values over the pages' window and its current figure.
#[derive(Debug, Clone)]
pub struct KpiFigures {
    pub weekly: Weekly,
    pub current: Option<kpis::Figure>,
}

/// A KPI's figures as of `today`: for a metric bound to a delivery metric,
/// taken from its team's [`team_dora`] (the entry the team page's DORA
/// panel shows), by `kpis::from_report`; for a typed series,
/// `kpis::weekly_and_current`. Cached per metric, day and version.
pub async fn kpi(
    state: &AppState,
    cache: &PageCache,
    metric: &Metric,
    today: NaiveDate,
    version: i64,
) -> ApiResult<Arc<KpiFigures>> {
    let key = format!("kpi:{}:{today}:{version}", metric.id);
    if let (Some(c), Some(team_id)) = (metric.computed_from, metric.team_id) {
        let report = team_dora(state, cache, team_id, today, version).await?;
        let (_, until) = kpis::window(today);
        return cache
            .get_or_try(key, || async {
                let (weekly, current) = match report.as_ref() {
                    Ok(r) => kpis::from_report(c, r, until),
                    Err(_) => (Vec::new(), None),
                };
                Ok::<_, ApiError>(KpiFigures { weekly, current })
            })
            .await;
    }
    cache
        .get_or_try(key, || async {
            let (weekly, current) =
                kpis::weekly_and_current(&state.store, &state.settings, metric, today)
                    .await
                    .map_err(ApiError::from)?;
            Ok::<_, ApiError>(KpiFigures { weekly, current })
        })
        .await
}
