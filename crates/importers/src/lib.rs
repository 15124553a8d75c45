//! Importers: history from a local git repository.
pub mod git;
