//! Background work of `serve`: attributing newly arrived deployments and
//! incidents ahead of the first metric read, and deleting raw deliveries
//! past their retention. Both are safe on several replicas at once:
//! attribution recomputes derived rows from stored facts (the same answer
//! whoever computes it), and a prune deletes what every replica would.

use std::time::Duration;

use chrono::Utc;
use tandem_store::Store;

use crate::AppState;
use crate::settings::Settings;

/// How often the retention prune runs, first a few minutes after start.
const PRUNE_EVERY: Duration = Duration::from_secs(24 * 60 * 60);
const PRUNE_FIRST_AFTER: Duration = Duration::from_secs(5 * 60);

/// Starts the background attribution and the daily prune, each when its
/// setting is not 0.
pub fn spawn(state: &AppState) -> Vec<tokio::task::JoinHandle<()>> {
    let mut tasks = Vec::new();
    let m = &state.settings.maintenance;
    if m.attribute_interval_seconds > 0 {
        let (store, settings) = (state.store.clone(), state.settings.clone());
        let every = Duration::from_secs(m.attribute_interval_seconds);
        tasks.push(tokio::spawn(async move {
            let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = attribute(&store, &settings).await {
                    tracing::warn!(error = %e, "background attribution failed; retrying at the next interval");
                }
            }
        }));
    }
    if m.delivery_retention_days > 0 {
        let store = state.store.clone();
        let days = m.delivery_retention_days;
        tasks.push(tokio::spawn(async move {
            let first = tokio::time::Instant::now() + PRUNE_FIRST_AFTER;
            let mut tick = tokio::time::interval_at(first, PRUNE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                match prune(&store, days).await {
                    Ok(0) => {}
                    Ok(n) => {
                        tracing::info!(deleted = n, days, "raw deliveries past retention deleted")
                    }
                    Err(e) => tracing::warn!(error = %e, "deleting old raw deliveries failed"),
                }
            }
        }));
    }
    tasks
}

/// Attributes whatever is pending under the configured rules.
pub async fn attribute(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    store.set_metric_rules(&settings.metrics.rules()).await?;
    let n = store.attribute_pending().await?;
    if n > 0 {
        tracing::info!(
            deployments = n,
            seconds = started.elapsed().as_secs_f64(),
            "attributed in the background"
        );
    }
    Ok(())
}

/// Deletes raw deliveries received more than `days` days ago.
pub async fn prune(store: &Store, days: u32) -> anyhow::Result<u64> {
    let before = Utc::now() - chrono::TimeDelta::days(i64::from(days));
    Ok(store.prune_deliveries(before).await?)
}
