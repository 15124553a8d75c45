//! Importers: history from a local git repository; backfill from GitHub,
//! GitLab and Jira.
pub mod backfill;
pub mod git;
pub mod github;
pub mod gitlab;
pub mod jira;
pub mod jira_csv;
mod rest;
