//! What the benchmark binaries share: the options on their command lines
//! ([`Engines`], and [`Load`] for the ones that drive a server in rounds), the `tandem` process they start and stop ([`process`]), the
//! statistics they report ([`stats`]), the facts that make a run comparable
//! ([`machine`]) and the team and project their data belongs to
//! ([`fixtures`]).
//!
//! Rules: nothing here measures or asserts a duration; each helper keeps
//! the exact definition the binaries used before they shared it (a median
//! or percentile changed here changes every published figure, so a
//! different definition gets its own name).

pub mod dora_data;
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

/// `--engines`, flattened into a binary's arguments.
#[derive(Debug, clap::Args)]
pub struct Engines {
    /// Engines to measure, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = Engine::ALL)]
    engines: Vec<Engine>,
}

impl Engines {
    pub fn iter(&self) -> std::slice::Iter<'_, Engine> {
        self.engines.iter()
    }
}

impl<'a> IntoIterator for &'a Engines {
    type Item = &'a Engine;
    type IntoIter = std::slice::Iter<'a, Engine>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// `--warmup`, `--rounds`, `--clients`: how a binary that drives a server
/// loads it, flattened into its arguments. What one operation is (a
/// create+read pair, a delivery) the binary's own options say.
#[derive(Debug, clap::Args)]
pub struct Load {
    /// Unmeasured operations before the first round.
    #[arg(long, default_value_t = 200)]
    pub warmup: usize,
    /// Rounds of (API run, raw ceiling runs); rates and ratios are the
    /// median over rounds.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
    /// Concurrent clients (and, where the ceiling runs concurrently, as many
    /// raw-store tasks).
    #[arg(long, default_value_t = 32)]
    pub clients: usize,
}
