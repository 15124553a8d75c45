//! HTTP API integration tests: the real server on port 0, over a fresh
//! database, once per engine (`<test>::sqlite` and `<test>::postgres`).

mod auth;
mod authorisation;
mod delivery_metrics;
mod documents;
mod events;
mod forecasts;
mod input_rules;
mod openapi;
mod org;
mod pages;
mod pagination;
mod planning;
mod report_delivery;
mod reports;
mod resources;
mod setup;
mod sign_in_throttle;
mod support;
mod validation;
mod webhook_hardening;
mod webhooks;
