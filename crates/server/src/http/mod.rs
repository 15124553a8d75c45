//! The HTTP plumbing every handler shares: who the caller is and what role
//! they need (`auth`), errors and their status codes (`error`), the JSON,
//! query and Markdown extractors (`extract`). The OpenAPI document, which
//! lists the handlers, is `crate::openapi` (beside the router), so `http`
//! never imports `api`.
//!
//! Rules: API handlers return `ApiError`, and its status codes are decided in
//! `error.rs` only (pages turn it into an HTML error in `web/mod.rs`). Role
//! checks are extractors (`auth::RequireManager` …) that run before the body
//! is read.

pub mod auth;
pub mod error;
pub mod extract;
