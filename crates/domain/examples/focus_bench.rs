//! The focus benchmark (`crates/bench/src/bin/focus.rs`, BENCHMARKS.md)
//! built as a domain-only example: its workload uses nothing but the domain,
//! so on a machine where a release build of the whole bench crate (server
//! and all) does not fit, the same source runs with
//! `cargo run --release -p tandem-domain --example focus_bench`.

// The harness reads the clock to time the rounds; the domain's ban on
// `Instant::now` is for the library, not a benchmark.
#[allow(clippy::disallowed_methods)]
#[path = "../../bench/src/bin/focus.rs"]
mod harness;

fn main() {
    harness::main();
}
