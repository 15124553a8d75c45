//! Tandem's application layer: the use cases, between the HTTP server and
//! the CLI above and the store and the domain below. Pages, the JSON API and
//! the CLI call the same functions here, so they show the same numbers.
//!
//! Rules (see ARCHITECTURE.md):
//! - No HTTP: no web framework, no status codes. Failures are [`AppError`]; the server
//!   maps them to statuses in one place.
//! - Only the store knows SQL; the domain does the pure computing. This crate
//!   gathers data, calls the domain, and writes results back.
//! - No import circles among the top-level modules: `settings` holds every
//!   `[section]` of the configuration and imports no feature module;
//!   `report` is assemble → send → schedule, with archive beside send.

pub mod audit;
pub mod bootstrap;
pub mod charts;
pub mod credentials;
pub mod cron;
pub mod delivery_metrics;
pub mod demo;
pub mod error;
pub mod forecasting;
pub mod ingest;
pub mod jobs;
pub mod lookup;
pub mod paging;
pub mod planning;
pub mod report;
pub mod settings;

pub use error::{AppError, AppResult};
pub use settings::Settings;
