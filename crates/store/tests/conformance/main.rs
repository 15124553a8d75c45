//! Storage conformance suite: every public `Store` operation, run against
//! both engines (SQLite and PostgreSQL) through `per_engine!`, so the two
//! engines are held to exactly the same behaviour.

mod check_runs;
mod checks;
mod common;

mod audit;
mod basics;
mod decisions;
mod delivery;
mod delivery_metrics;
mod dump;
mod fetches;
mod focus;
mod frontline;
mod git;
mod goals;
mod incident_log;
mod intake;
mod metrics;
mod planning;
mod projects;
mod publish;
mod pulse;
mod requests;
mod retention;
mod risks;
mod scopes;
mod stages;
mod teams;
mod users;
mod work_items;
