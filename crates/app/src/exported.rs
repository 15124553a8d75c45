//! The computed gauges of `GET /metrics` (ADR 0020; every one defined in
//! docs/metrics.md): DORA per team, service and environment, open
//! incidents, goal on-time probability and tech-debt share; health checks
//! (status, last latency, consecutive failures, availability per check,
//! and check counts per service and status).
//!
//! One definition per number: each gauge is a field of what an existing
//! use case returns — `delivery_metrics::dora` (the API's
//! `/delivery/dora`, `tandem metrics dora`), `delivery_metrics::open_incidents`,
//! `forecasting::forecast_team` (goal forecasts) and `planning::debt_budget`
//! (the team's debt page), `checks::figures` (the check list, its last
//! result and `checks::uptime`'s formula) — nothing is recomputed here.
//!
//! Cardinality: per-check series exist for at most `[prometheus]
//! check_series_limit` checks (failing ones first, then by name;
//! `tandem_check_series_dropped` counts the rest); the per-service
//! `tandem_checks` counts cover every check.
//!
//! Cheap to scrape: the gauges are computed at most once per
//! `prometheus.refresh_seconds` and kept as encoded text ([`Exported`]);
//! scrapes in between read the cache, and while one scrape computes, the
//! others wait for its result instead of computing again. Each replica
//! keeps its own cache (the figures come from the shared database, so they
//! agree up to the refresh interval).

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tandem_domain::team::Team;
use tandem_store::{ListQuery, Store};

use crate::delivery_metrics::{self, DeliveryQuery};
use crate::error::AppResult;
use crate::paging::all;
use crate::settings::Settings;

type F64Gauge = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DoraLabels {
    team: String,
    /// Empty for the team's figure over all its services.
    service: String,
    environment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ServiceLabels {
    team: String,
    /// Empty for the team's total.
    service: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GoalLabels {
    team: String,
    goal_id: String,
    goal: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TeamLabels {
    team: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckLabels {
    team: String,
    service: String,
    check: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CheckCountLabels {
    team: String,
    service: String,
    /// `passing`, `failing` or `unknown` (not run yet).
    status: String,
}

/// The families of one computation.
#[derive(Default)]
struct Gauges {
    deployments: Family<DoraLabels, F64Gauge>,
    per_week: Family<DoraLabels, F64Gauge>,
    lead_median: Family<DoraLabels, F64Gauge>,
    lead_p85: Family<DoraLabels, F64Gauge>,
    changes: Family<DoraLabels, F64Gauge>,
    failed: Family<DoraLabels, F64Gauge>,
    cfr: Family<DoraLabels, F64Gauge>,
    incidents: Family<DoraLabels, F64Gauge>,
    restore_median: Family<DoraLabels, F64Gauge>,
    open: Family<ServiceLabels, F64Gauge>,
    on_time: Family<GoalLabels, F64Gauge>,
    debt: Family<TeamLabels, F64Gauge>,
    debt_target: Family<TeamLabels, F64Gauge>,
    check_up: Family<CheckLabels, F64Gauge>,
    check_latency: Family<CheckLabels, F64Gauge>,
    check_failures: Family<CheckLabels, F64Gauge>,
    check_availability: Family<CheckLabels, F64Gauge>,
    checks: Family<CheckCountLabels, F64Gauge>,
    check_dropped: F64Gauge,
}

impl Gauges {
    fn register(&self, r: &mut Registry, window_days: u32, computed_at: DateTime<Utc>) {
        let w = window_days;
        let dora: [(&str, String, &Family<DoraLabels, F64Gauge>); 9] = [
            (
                "tandem_dora_deployments",
                format!("Successful deployments in the last {w} days (rollbacks included)"),
                &self.deployments,
            ),
            (
                "tandem_dora_deployment_frequency_per_week",
                format!("Deployments per week over the last {w} days"),
                &self.per_week,
            ),
            (
                "tandem_dora_lead_time_median_seconds",
                format!(
                    "Median lead time for changes (commit to production) over the last {w} days"
                ),
                &self.lead_median,
            ),
            (
                "tandem_dora_lead_time_p85_seconds",
                format!("85th percentile lead time for changes over the last {w} days"),
                &self.lead_p85,
            ),
            (
                "tandem_dora_changes",
                format!(
                    "Deployments that are changes (not rollbacks or reverts) in the last {w} days"
                ),
                &self.changes,
            ),
            (
                "tandem_dora_failed_changes",
                format!("Changes that failed in the last {w} days"),
                &self.failed,
            ),
            (
                "tandem_dora_change_failure_rate_ratio",
                format!("Failed changes / changes over the last {w} days (0-1)"),
                &self.cfr,
            ),
            (
                "tandem_dora_incidents",
                format!("Incidents opened in the last {w} days"),
                &self.incidents,
            ),
            (
                "tandem_dora_time_to_restore_median_seconds",
                format!("Median time to restore of the incidents opened in the last {w} days"),
                &self.restore_median,
            ),
        ];
        for (name, help, family) in dora {
            r.register(name, help, family.clone());
        }
        r.register(
            "tandem_incidents_open",
            "Incidents not resolved (opened at any time), by team and service",
            self.open.clone(),
        );
        r.register(
            "tandem_goal_on_time_probability_ratio",
            "Monte Carlo probability (0-1) that an agreed or in-progress goal is done by its deadline",
            self.on_time.clone(),
        );
        r.register(
            "tandem_tech_debt_share_ratio",
            "Share (0-1) of the items done in the latest four-week period that were tech debt",
            self.debt.clone(),
        );
        r.register(
            "tandem_tech_debt_target_ratio",
            "The team's target share (0-1) of tech debt",
            self.debt_target.clone(),
        );
        r.register(
            "tandem_check_up",
            "1 while a health check passes, 0 while it fails (absent before its first run)",
            self.check_up.clone(),
        );
        r.register(
            "tandem_check_last_latency_seconds",
            "How long a health check's last run took",
            self.check_latency.clone(),
        );
        r.register(
            "tandem_check_consecutive_failures",
            "Failed runs in a row of a health check (0 after a success)",
            self.check_failures.clone(),
        );
        r.register(
            "tandem_check_availability_ratio",
            format!(
                "Time-weighted availability (0-1) of a health check over the last {} days, \
                 from its hour rollups",
                crate::checks::AVAILABILITY_DAYS
            ),
            self.check_availability.clone(),
        );
        r.register(
            "tandem_checks",
            "Health checks by team, service and status (passing, failing, unknown)",
            self.checks.clone(),
        );
        r.register(
            "tandem_check_series_dropped",
            "Checks left out of the per-check series by prometheus.check_series_limit",
            self.check_dropped.clone(),
        );
        let window = F64Gauge::default();
        window.set(f64::from(window_days) * 86_400.0);
        r.register(
            "tandem_dora_window_seconds",
            "The span the tandem_dora_* gauges cover (whole UTC days, today included)",
            window,
        );
        let at = F64Gauge::default();
        at.set(computed_at.timestamp_micros() as f64 / 1e6);
        r.register(
            "tandem_exported_computed_timestamp_seconds",
            "When the computed gauges were last computed, seconds since the Unix epoch",
            at,
        );
    }
}

fn set(family: &Family<DoraLabels, F64Gauge>, labels: &DoraLabels, v: Option<f64>) {
    if let Some(v) = v {
        family.get_or_create(labels).set(v);
    }
}

/// Computes every gauge now and encodes it (text format, no `# EOF`).
pub async fn compute(store: &Store, settings: &Settings, now: DateTime<Utc>) -> AppResult<String> {
    let g = Gauges::default();
    let today = now.date_naive();
    let window = settings.prometheus.window_days;
    let since = today - chrono::Duration::days(i64::from(window) - 1);
    let environments = if settings.prometheus.environments.is_empty() {
        vec![settings.metrics.production_environment.clone()]
    } else {
        settings.prometheus.environments.clone()
    };
    let teams: Vec<Team> = all(ListQuery::default(), |q| async move {
        store.list_teams(&q).await
    })
    .await?;
    for team in &teams {
        let by_team = ListQuery {
            team_id: Some(team.id),
            ..ListQuery::default()
        };
        let projects = all(by_team, |q| async move { store.list_projects(&q).await }).await?;
        let mut services: Vec<String> = projects
            .iter()
            .flat_map(|p| p.services.iter().cloned())
            .collect();
        services.sort();
        services.dedup();
        let scopes: Vec<Option<String>> = std::iter::once(None)
            .chain(services.iter().cloned().map(Some))
            .collect();
        for env in &environments {
            for service in &scopes {
                let q = DeliveryQuery {
                    team: Some(team.id.to_string()),
                    project: None,
                    service: service.clone(),
                    env: Some(env.clone()),
                    since: Some(since),
                    until: Some(today),
                    bucket: None,
                };
                let d = delivery_metrics::dora(store, settings, &q).await?;
                let l = DoraLabels {
                    team: team.key.clone(),
                    service: service.clone().unwrap_or_default(),
                    environment: env.clone(),
                };
                let hours = |h: Option<f64>| h.map(|h| h * 3600.0);
                set(
                    &g.deployments,
                    &l,
                    Some(d.deployment_frequency.deployments as f64),
                );
                set(&g.per_week, &l, Some(d.deployment_frequency.per_week));
                set(&g.lead_median, &l, hours(d.lead_time.median_hours));
                set(&g.lead_p85, &l, hours(d.lead_time.p85_hours));
                set(&g.changes, &l, Some(d.change_failure_rate.changes as f64));
                set(&g.failed, &l, Some(d.change_failure_rate.failed as f64));
                set(&g.cfr, &l, d.change_failure_rate.rate);
                set(&g.incidents, &l, Some(d.time_to_restore.incidents as f64));
                set(&g.restore_median, &l, hours(d.time_to_restore.median_hours));
            }
        }
        for service in &scopes {
            let open =
                delivery_metrics::open_incidents(store, settings, team.id, service.as_deref())
                    .await?;
            g.open
                .get_or_create(&ServiceLabels {
                    team: team.key.clone(),
                    service: service.clone().unwrap_or_default(),
                })
                .set(open.len() as f64);
        }
        let forecast =
            crate::forecasting::forecast_team(store, team.id, today, &settings.forecast).await?;
        if let Some(targets) = forecast.forecast.targets() {
            for t in targets {
                let Some(p) = t.on_time_probability else {
                    continue;
                };
                let title = forecast
                    .goals
                    .iter()
                    .find(|g| g.goal.id.to_string() == t.key)
                    .map(|g| g.goal.title.clone())
                    .unwrap_or_default();
                g.on_time
                    .get_or_create(&GoalLabels {
                        team: team.key.clone(),
                        goal_id: t.key.clone(),
                        goal: title,
                    })
                    .set(p);
            }
        }
        let debt = crate::planning::debt_budget(store, team, &settings.planning, now).await?;
        let tl = TeamLabels {
            team: team.key.clone(),
        };
        if let Some(share) = debt.periods.last().and_then(|p| p.debt_percent) {
            g.debt.get_or_create(&tl).set(share / 100.0);
        }
        g.debt_target
            .get_or_create(&tl)
            .set(debt.target_percent / 100.0);
    }
    check_gauges(&g, store, settings, now).await?;
    let mut registry = Registry::default();
    g.register(&mut registry, window, now);
    let mut out = String::new();
    prometheus_client::encoding::text::encode_registry(&mut out, &registry)
        .map_err(|e| crate::error::AppError::Unexpected(anyhow::anyhow!("encoding: {e}")))?;
    Ok(out)
}

/// The health checks' gauges.
async fn check_gauges(
    g: &Gauges,
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
) -> AppResult<()> {
    use tandem_domain::check::CheckStatus;

    let mut all = crate::checks::figures(store, now).await?;
    for f in &all {
        g.checks
            .get_or_create(&CheckCountLabels {
                team: f.check.spec.team.clone(),
                service: f.check.service.clone(),
                status: f.check.state.status.to_string(),
            })
            .inc();
    }
    // Failing checks first, so a limit never hides one.
    all.sort_by(|a, b| {
        let failing =
            |f: &crate::checks::CheckFigures| f.check.state.status != CheckStatus::Failing;
        failing(a)
            .cmp(&failing(b))
            .then_with(|| a.check.name.cmp(&b.check.name))
    });
    let limit = settings.prometheus.check_series_limit;
    g.check_dropped.set(all.len().saturating_sub(limit) as f64);
    for f in all.iter().take(limit) {
        let l = CheckLabels {
            team: f.check.spec.team.clone(),
            service: f.check.service.clone(),
            check: f.check.name.clone(),
            kind: f.check.spec.kind.to_string(),
        };
        let up = match f.check.state.status {
            CheckStatus::Passing => Some(1.0),
            CheckStatus::Failing => Some(0.0),
            CheckStatus::Unknown => None,
        };
        if let Some(up) = up {
            g.check_up.get_or_create(&l).set(up);
        }
        if let Some(ms) = f.last_latency_ms {
            g.check_latency.get_or_create(&l).set(ms as f64 / 1000.0);
        }
        if f.check.last_run_at.is_some() {
            g.check_failures
                .get_or_create(&l)
                .set(f64::from(f.check.state.consecutive_failures));
        }
        if let Some(a) = f.availability {
            g.check_availability.get_or_create(&l).set(a);
        }
    }
    Ok(())
}

/// The cache of the computed gauges: one per process (the server's state).
#[derive(Debug, Default)]
pub struct Exported {
    cached: std::sync::Mutex<Option<(Instant, Arc<String>)>>,
    /// Held by the scrape that computes; the others wait on it.
    computing: tokio::sync::Mutex<()>,
}

impl Exported {
    /// The computed gauges' text, computed again when older than
    /// `prometheus.refresh_seconds`.
    pub async fn text(&self, store: &Store, settings: &Settings) -> AppResult<Arc<String>> {
        let max_age = Duration::from_secs(settings.prometheus.refresh_seconds);
        if let Some(text) = self.fresh(max_age) {
            return Ok(text);
        }
        let _computing = self.computing.lock().await;
        if let Some(text) = self.fresh(max_age) {
            return Ok(text);
        }
        let ok = compute(store, settings, Utc::now()).await;
        crate::telemetry::record_job("exported_gauges", ok.is_ok());
        let text = Arc::new(ok?);
        *self.cached.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((Instant::now(), text.clone()));
        Ok(text)
    }

    fn fresh(&self, max_age: Duration) -> Option<Arc<String>> {
        let cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        cached
            .as_ref()
            .filter(|(at, _)| at.elapsed() < max_age)
            .map(|(_, text)| text.clone())
    }
}
