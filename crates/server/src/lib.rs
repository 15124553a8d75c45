//! Tandem's HTTP application.
//!
//! Invariants:
//! - Only this crate knows HTTP. Handlers parse input into domain types,
//!   authorise, call the store, and return JSON; errors become HTTP in one
//!   place (`http/error.rs`).
//! - Every route requires authentication except `/healthz`, `/readyz` and
//!   `POST /api/v1/session` (sign-in itself).
//! - The routes are in `router.rs`; the HTTP plumbing (authentication and
//!   role extractors, errors, JSON/query extractors, OpenAPI) in `http/`.
//! - `launch` takes the settings, a bound listener and a shutdown future, so
//!   tests start the real server on port 0.

pub mod api;
pub mod bootstrap;
pub mod charts;
pub mod delivery;
pub mod delivery_archive;
pub mod delivery_metrics;
pub mod demo;
pub mod forecasting;
pub mod http;
pub mod maintenance;
pub mod reporting;
pub mod router;
pub mod schedule;
pub mod settings;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tandem_store::Store;

pub use router::router;
pub use settings::Settings;
// The HTTP plumbing lives in `http/`; these paths stay as they were, so
// `crate::auth`, `crate::error` … (and `tandem_server::openapi`) still name it.
pub use http::{auth, error, extract, openapi};

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// A valid argon2id hash of a random password, made on first use (not at
    /// start-up, where it would cost tens of milliseconds): verified against
    /// when a username is unknown, so sign-in takes the same time either way.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            settings: Arc::new(settings),
            dummy_hash: Arc::default(),
        })
    }

    /// The hash to verify against when a username is unknown.
    pub async fn dummy_hash(&self) -> anyhow::Result<String> {
        let hash = self
            .dummy_hash
            .get_or_try_init(|| async {
                tokio::task::spawn_blocking(|| auth::hash_password(&auth::new_password()?)).await?
            })
            .await?;
        Ok(hash.clone())
    }
}

/// Serves the application on `listener` until `shutdown` completes, then lets
/// in-flight requests finish and closes the database.
pub async fn launch(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = state.store.clone();
    let checks = spawn_checks(&state);
    let reports = schedule::spawn(&state);
    let background = maintenance::spawn(&state);
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await?;
    for task in [checks, reports].into_iter().flatten().chain(background) {
        task.abort();
    }
    store.close().await;
    Ok(())
}

/// Runs the risk checks at start and then every
/// `forecast.check_interval_minutes`. Several replicas may run them at the
/// same time: risks are keyed by cause, so a second opening is skipped and
/// updates converge on the same content.
fn spawn_checks(state: &AppState) -> Option<tokio::task::JoinHandle<()>> {
    let minutes = state.settings.forecast.check_interval_minutes;
    if minutes == 0 {
        return None;
    }
    let store = state.store.clone();
    let settings = state.settings.clone();
    Some(tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(minutes * 60));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match forecasting::run_checks(&store, &settings.forecast, chrono::Utc::now()).await {
                Ok(report) => tracing::info!(?report, "risk checks ran"),
                Err(e) => {
                    tracing::warn!(error = %e, "risk checks failed; retrying at the next interval")
                }
            }
        }
    }))
}
