//! What the benchmark binaries share: the engine choice on their command
//! lines, the `tandem` process they start and stop ([`process`]), the
//! statistics they report ([`stats`]), the facts that make a run comparable
//! ([`machine`]) and the team and project their data belongs to
//! ([`fixtures`]).
//!
//! Rules: nothing here measures or asserts a duration; each helper keeps
//! the exact definition the binaries used before they shared it (a median
//! or percentile changed here changes every published figure, so a
//! different definition gets its own name).

pub mod fixtures;
pub mod machine;
pub mod process;
pub mod stats;

use tandem_store::EngineKind;

/// `--engines sqlite,postgres`: the database engines a benchmark runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// Both engines, the default of every `--engines`.
    pub const ALL: [Engine; 2] = [Engine::Sqlite, Engine::Postgres];

    pub fn kind(self) -> EngineKind {
        match self {
            Engine::Sqlite => EngineKind::Sqlite,
            Engine::Postgres => EngineKind::Postgres,
        }
    }
}
