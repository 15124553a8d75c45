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

pub mod alertmanager;
pub mod archive;
pub mod audit;
pub mod backup;
pub mod bootstrap;
pub mod charts;
pub mod checks;
pub mod connect;
pub mod credentials;
pub mod cron;
pub mod decisions;
pub mod delivery_metrics;
pub mod demo;
pub mod error;
pub mod events;
pub mod exported;
pub mod focus;
pub mod forecasting;
pub mod frontline;
pub mod goals;
pub mod ingest;
pub mod intake;
pub mod jobs;
pub mod kpi_sources;
pub mod kpis;
pub mod lookup;
pub mod notify;
pub mod org;
pub mod paging;
pub mod planning;
pub mod pr_commits;
pub mod publish;
pub mod pulse;
pub mod report;
pub mod requests;
pub mod risks;
pub mod settings;
pub mod slack_api;
pub mod smtp;
pub mod stages;
pub mod status;
pub mod telemetry;
pub mod users;
pub mod work_items;

pub use error::{AppError, AppResult};
pub use settings::Settings;
