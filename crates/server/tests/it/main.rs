//! HTTP API integration tests: the real server on port 0, over a fresh
//! database, once per engine (`<test>::sqlite` and `<test>::postgres`).

mod alertmanager;
mod auth;
mod authorisation;
mod check_kinds;
mod checks;
mod delivery_metrics;
mod documents;
mod events;
mod figures;
mod focus;
mod forecasts;
mod grafana;
mod input_rules;
mod mail_intake;
mod openapi;
mod org;
mod pages;
mod pagination;
mod planning;
mod prom_tools;
mod prometheus;
mod report_delivery;
mod reports;
mod requests;
mod resources;
mod setup;
mod sign_in_throttle;
mod slack_intake;
mod support;
mod validation;
mod webhook_hardening;
mod webhooks;
