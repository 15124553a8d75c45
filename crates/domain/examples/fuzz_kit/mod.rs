//! What the two stable-toolchain fuzzers share: the seeded generator, the
//! byte mutator, and the run loop (arguments, one target after another
//! with its own generator, panics caught and counted, failing inputs saved,
//! progress and a summary line per target, a non-zero exit on any
//! failure). `crates/domain/examples/fuzz.rs` declares it as a module;
//! `crates/app/examples/fuzz_inputs.rs` includes this file by path (the
//! domain cannot reach the app's readers, and an example is not a library).
//!
//! Not a target itself: a directory without `main.rs` is no example.

#![allow(dead_code)] // each fuzzer uses part of it

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

/// xorshift64*: reproducible from the seed, no dependency.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// A byte-level mutation, one to five times: flips, inserts, deletions,
/// `tokens`, splices from `donor`, repeats. An empty input restarts from
/// `fill`.
pub fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng, donor: &[u8], tokens: &[&[u8]], fill: u8) {
    for _ in 0..=rng.below(4) {
        if bytes.is_empty() {
            bytes.push(fill);
        }
        let at = rng.below(bytes.len());
        match rng.below(6) {
            0 => bytes[at] ^= 1 << rng.below(8),
            1 => bytes.insert(at, rng.next() as u8),
            2 => {
                let end = (at + rng.below(16)).min(bytes.len());
                bytes.drain(at..end);
            }
            3 => {
                let t = tokens[rng.below(tokens.len())];
                bytes.splice(at..at, t.iter().copied());
            }
            4 if !donor.is_empty() => {
                let from = rng.below(donor.len());
                let end = (from + rng.below(64)).min(donor.len());
                bytes.splice(at..at, donor[from..end].iter().copied());
            }
            _ => {
                let end = (at + rng.below(32)).min(bytes.len());
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
        }
    }
}

/// Executions between two progress lines of a long run.
const PROGRESS_EVERY: u64 = 1_000_000;

/// One target's run: what it executed and how many inputs failed.
pub struct Target {
    pub name: &'static str,
    pub executions: u64,
    pub failures: u64,
    started: Instant,
}

impl Target {
    /// Counts one execution (a long run prints its progress every million).
    pub fn executed(&mut self) {
        self.executions += 1;
        if self.executions.is_multiple_of(PROGRESS_EVERY) {
            println!(
                "  {:<9} {:>11} executions  {:>4} failures  {:>8.1} s",
                self.name,
                self.executions,
                self.failures,
                self.started.elapsed().as_secs_f64()
            );
        }
    }

    /// Runs one check of input `n`, catching a panic; a failure or a panic
    /// is counted and the input (`input()`, built only then) saved to
    /// target/fuzz-failures/.
    pub fn check(
        &mut self,
        n: u64,
        input: impl FnOnce() -> Vec<u8>,
        check: impl FnOnce() -> Result<(), String>,
    ) {
        let why = match catch_unwind(AssertUnwindSafe(check)) {
            Ok(Ok(())) => return,
            Ok(Err(why)) => why,
            Err(_) => "panic".to_owned(),
        };
        self.failures += 1;
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
        std::fs::create_dir_all(&dir).ok();
        let path = dir.join(format!("{}-{n}.bin", self.name));
        std::fs::write(&path, input()).ok();
        eprintln!(
            "FAILURE {} #{n}: {why} (input in {})",
            self.name,
            path.display()
        );
    }
}

/// The command line: executions per target, seed, and optionally the one
/// target to run.
pub struct Args {
    pub iterations: u64,
    pub seed: u64,
    pub only: Option<String>,
}

/// Reads the arguments (defaults: 100,000 executions, seed 1) and keeps
/// the panic hook's message short (panics are caught and counted).
pub fn args() -> Args {
    let mut args = std::env::args().skip(1);
    let iterations = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seed = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let only = args.next();
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    Args {
        iterations,
        seed,
        only,
    }
}

/// Runs each of `names` (or the one asked for) with a generator of its own
/// from the seed, prints a line per target, and exits non-zero when any
/// input failed.
pub fn run_all(
    args: &Args,
    names: &[&'static str],
    mut run: impl FnMut(&mut Target, &mut Rng, u64),
) {
    let mut failed = false;
    for &name in names {
        if args.only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let mut rng = Rng(args.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        // The harness (not the domain) reports its own rate.
        #[allow(clippy::disallowed_methods)]
        let started = Instant::now();
        let mut t = Target {
            name,
            executions: 0,
            failures: 0,
            started,
        };
        run(&mut t, &mut rng, args.iterations);
        println!(
            "{:<9} {:>11} executions  {:>4} failures  {:>8.1} s",
            t.name,
            t.executions,
            t.failures,
            started.elapsed().as_secs_f64()
        );
        failed |= t.failures > 0;
    }
    if failed {
        std::process::exit(1);
    }
}
