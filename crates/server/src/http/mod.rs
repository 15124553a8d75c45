//! The HTTP plumbing every handler shares: who the caller is and what role
//! they need (`auth`), errors and their status codes (`error`), the JSON,
//! query and Markdown extractors (`extract`), and the OpenAPI document
//! (`openapi`).
//!
//! Rule: status codes are decided here, in `error.rs`, and nowhere else in
//! the API; handlers return `ApiError`.

pub mod auth;
pub mod error;
pub mod extract;
pub mod openapi;
