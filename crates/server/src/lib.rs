//! Tandem's HTTP application.
//!
//! Invariants:
//! - Only this crate knows HTTP. Handlers parse input into domain types,
//!   authorise, call the store, and return JSON; errors become HTTP in one
//!   place (`http/error.rs`).
//! - Every route requires authentication except `/healthz`, `/readyz` and
//!   `POST /api/v1/session` (sign-in itself); `/metrics` takes the scrape
//!   token or an admin's token, the webhook receivers their own secrets.
//! - The routes are in `router.rs` and their OpenAPI document in
//!   `openapi.rs`; the HTTP plumbing (authentication and role extractors,
//!   errors, JSON/query extractors) in `http/`. The use cases are
//!   `tandem_app`'s: nothing here computes a figure of its own.
//! - `launch` takes the settings, a bound listener and a shutdown future, so
//!   tests start the real server on port 0.

pub mod alertmanager;
pub mod api;
pub mod http;
pub mod openapi;
pub mod prometheus;
pub mod router;
pub mod slack;
pub mod web;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;

use tandem_store::Store;

pub use router::router;
use tandem_app::Settings;

/// What every handler can reach.
#[derive(Debug, Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    /// A valid argon2id hash of a random password, made on first use (not at
    /// start-up, where it would cost tens of milliseconds): verified against
    /// when a username is unknown, so sign-in takes the same time either way.
    dummy_hash: Arc<tokio::sync::OnceCell<String>>,
    /// The computed gauges of `GET /metrics`, cached (`prometheus.rs`).
    pub exported: Arc<tandem_app::exported::Exported>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            settings: Arc::new(settings),
            dummy_hash: Arc::default(),
            exported: Arc::default(),
        })
    }

    /// The hash to verify against when a username is unknown.
    pub async fn dummy_hash(&self) -> anyhow::Result<String> {
        let hash = self
            .dummy_hash
            .get_or_try_init(|| async {
                tokio::task::spawn_blocking(|| {
                        tandem_app::credentials::hash_password(
                            &tandem_app::credentials::new_password()?,
                        )
                    })
                    .await?
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
    let background = tandem_app::jobs::spawn_all(&state.store, &state.settings);
    let app = router(state);
    // The peer address is kept for sign-in throttling and the audit log.
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    for task in background {
        task.abort();
    }
    store.close().await;
    Ok(())
}
