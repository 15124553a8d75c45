//! Importers: history from a local git repository; backfill from GitHub,
//! GitLab and Jira; the hosting APIs beyond a backfill (pull request
//! commits, an organisation's repositories, webhooks).
pub mod backfill;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod hosting;
pub mod jira;
pub mod jira_csv;
pub mod publish;
mod rest;

pub use rest::RestError;
