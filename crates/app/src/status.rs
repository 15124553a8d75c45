//! The status page (issue 16, item 5; ADR 0031): per service, its state
//! now and its availability over the last 90 days, and the latest business
//! updates; for the organisation or one team. The page (`/status`,
//! `/status/{team}`) and `GET /api/v1/status` both call [`page`].
//!
//! Rules:
//! - A service is every service an enabled check watches (of the team,
//!   for a team's page). Its state is `domain::frontline::service_state`
//!   over its checks' statuses.
//! - Its availability is `checks::availability_over` over its enabled
//!   checks' rollups: the one definition of uptime, which
//!   `GET /api/v1/checks/{name}/uptime` also calls (time-weighted; each run
//!   stands for its interval; docs/metrics.md). Over 90 days it reads the
//!   hour rollups, kept `monitor.hour_retention_days` (100 by default).
//! - Business updates of the last 14 days are shown, newest first, at
//!   most 10: every incident's on the organisation's page, the team's
//!   projects' on a team's page.

use std::collections::BTreeMap;

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;
use tandem_domain::check::CheckStatus;
use tandem_domain::frontline::{ServiceState, service_state};
use tandem_store::{BusinessUpdate, Store};

use crate::checks::{self, Uptime};
use crate::error::AppResult;
use crate::lookup;
use crate::settings::Settings;

/// The window of the uptime figure.
pub const UPTIME_DAYS: i64 = 90;
/// How far back business updates are shown.
pub const UPDATE_DAYS: i64 = 14;

/// One service on the status page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceStatus {
    pub service: String,
    /// The owning team's key (of its checks; the first by name).
    pub team: String,
    pub state: ServiceState,
    /// Over the last 90 days, from the checks' rollups.
    pub uptime: Uptime,
    /// The names of the checks watching it.
    pub checks: Vec<String>,
}

/// What the status page shows.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusPage {
    pub title: String,
    /// The team's key for a team's page; `null` for the organisation's.
    pub team: Option<String>,
    pub services: Vec<ServiceStatus>,
    pub updates: Vec<BusinessUpdate>,
    pub generated_at: DateTime<Utc>,
}

/// The status page of the organisation (`team` `None`) or one team.
pub async fn page(
    store: &Store,
    settings: &Settings,
    team: Option<&str>,
    now: DateTime<Utc>,
) -> AppResult<StatusPage> {
    let team = match team {
        Some(t) => Some(lookup::find_team(store, t).await?),
        None => None,
    };
    let mut by_service: BTreeMap<String, Vec<tandem_store::StoredCheck>> = BTreeMap::new();
    for c in checks::list(store).await? {
        if c.disabled || team.as_ref().is_some_and(|t| t.id != c.team_id) {
            continue;
        }
        by_service.entry(c.service.clone()).or_default().push(c);
    }
    let from = now - TimeDelta::days(UPTIME_DAYS);
    let mut teams = BTreeMap::new();
    let mut services = Vec::with_capacity(by_service.len());
    for (service, checks) in by_service {
        let ids: Vec<_> = checks.iter().map(|c| c.id).collect();
        let statuses: Vec<CheckStatus> = checks.iter().map(|c| c.state.status).collect();
        let uptime = checks::availability_over(store, &service, &ids, from, now).await?;
        let team_id = checks[0].team_id;
        let team_key = match teams.get(&team_id) {
            Some(k) => String::clone(k),
            None => {
                let k = store.get_team(team_id).await?.key;
                teams.insert(team_id, k.clone());
                k
            }
        };
        services.push(ServiceStatus {
            state: service_state(&statuses),
            uptime,
            team: team_key,
            checks: checks.into_iter().map(|c| c.name).collect(),
            service,
        });
    }
    let mut updates = Vec::new();
    for u in store
        .business_updates(None, now - TimeDelta::days(UPDATE_DAYS), 200)
        .await?
    {
        if updates.len() == 10 {
            break;
        }
        let shown = match &team {
            None => true,
            Some(t) => store.get_project(u.project_id).await?.team_id == t.id,
        };
        if shown {
            updates.push(u);
        }
    }
    let title = settings
        .status_page
        .title
        .clone()
        .unwrap_or_else(|| "Service status".to_owned());
    Ok(StatusPage {
        title: match &team {
            Some(t) => format!("{title}: {}", t.name),
            None => title,
        },
        team: team.map(|t| t.key),
        services,
        updates,
        generated_at: now,
    })
}
