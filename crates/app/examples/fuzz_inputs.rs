//! The stable-toolchain fuzzer's second half (the first is
//! `crates/domain/examples/fuzz.rs`, whose mutator this copies: the domain
//! cannot reach these readers): mutated inputs fed to
//! - `jira-csv`: the Jira CSV export reader (`tandem_importers::jira_csv::parse`),
//!   seeded with the CLI's fixture export. Oracles: no panic; every issue
//!   it returns has a key; a refusal names at least one problem, each with
//!   a line number.
//! - `config`: the configuration loader (`Settings::load_from`: the TOML
//!   file plus `TANDEM_*` variables), seeded with `tandem.example.toml`
//!   and mutated `TANDEM_*` pairs. Oracles: no panic; a loaded
//!   configuration passes its own checks when loaded again from the same
//!   file and variables (the same answer twice).
//!
//! Not part of `cargo test` (CI runs a short smoke run, `scripts/fuzz.sh`).
//! Run (release):
//!   cargo run --release -p tandem-app --example fuzz_inputs -- 10000000 1 [target]
//! (executions per target, seed). A failing input is written to
//! target/fuzz-failures/ and the run exits non-zero at the end.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::time::Instant;

use tandem_app::Settings;
use tandem_importers::jira_csv::{JiraCsvImport, parse};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Byte mutations: flips, inserts, deletions, tokens, splices from a donor.
fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng, donor: &[u8], tokens: &[&[u8]]) {
    for _ in 0..=rng.below(4) {
        if bytes.is_empty() {
            bytes.push(b'a');
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

struct Target {
    name: &'static str,
    executions: u64,
    failures: u64,
}

fn save(kind: &str, n: u64, input: &[u8], why: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/fuzz-failures");
    std::fs::create_dir_all(&dir).ok();
    let path = dir.join(format!("{kind}-{n}.bin"));
    std::fs::write(&path, input).ok();
    eprintln!("FAILURE {kind} #{n}: {why} (input in {})", path.display());
}

fn record(
    t: &mut Target,
    kind: &str,
    n: u64,
    input: &[u8],
    outcome: std::thread::Result<Result<(), String>>,
) {
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(why)) => {
            t.failures += 1;
            save(kind, n, input, &why);
        }
        Err(_) => {
            t.failures += 1;
            save(kind, n, input, "panic");
        }
    }
}

const CSV_TOKENS: &[&[u8]] = &[
    b"\"",
    b",",
    b"\n",
    b"\r\n",
    b"\"\"",
    b"\x1b[31m",
    "\u{202e}".as_bytes(),
    b"\0",
    b"-1",
    b"99999999999999999999",
    b"1e400",
    b"NaN",
    b"31/Feb/26 9:00 AM",
    b"01/Mar/99999 9:00 AM",
    b"CHK-",
    b"Epic",
    b"Parent",
    b"Issue key",
];

fn run_jira_csv(t: &mut Target, rng: &mut Rng, iterations: u64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seed = std::fs::read(root.join("../cli/tests/fixtures/jira_export.csv"))
        .expect("the CLI's Jira fixture export");
    let what = JiraCsvImport {
        date_format: tandem_importers::jira_csv::DEFAULT_DATE_FORMAT.into(),
        timezone: chrono_tz::UTC,
        debt_types: vec!["Tech Debt".into(), "Bug".into()],
        epic_goals: vec![("CHK-10".into(), uuid::Uuid::nil())],
    };
    for n in 0..iterations {
        let mut b = seed.clone();
        mutate_bytes(&mut b, rng, &seed, CSV_TOKENS);
        t.executions += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| match parse(&b, &what) {
            Ok(issues) => {
                for i in &issues {
                    if i.key.trim().is_empty() {
                        return Err(format!("an issue without a key: {i:?}"));
                    }
                }
                Ok(())
            }
            Err(problems) if problems.is_empty() => Err("refused naming no problem".into()),
            Err(problems) if problems.iter().any(|p| p.line == 0) => {
                Err(format!("a problem without a line: {problems:?}"))
            }
            Err(_) => Ok(()),
        }));
        record(t, "jira-csv", n, &b, outcome);
    }
}

const TOML_TOKENS: &[&[u8]] = &[
    b"=",
    b"[",
    b"]",
    b"[[checks]]\n",
    b"\"",
    b"'''",
    b"\n",
    b"0",
    b"-1",
    b"18446744073709551616",
    b"1e400",
    b"nan",
    b"inf",
    b"true",
    b"{}",
    b"[]",
    b"\\u0000",
    b"1979-05-27T07:32:00Z",
];

const ENV_KEYS: &[&str] = &[
    "TANDEM_SERVER__LISTEN",
    "TANDEM_DATABASE__MAX_CONNECTIONS",
    "TANDEM_REPORT__SCHEDULE",
    "TANDEM_REPORT__SCHEDULER_INTERVAL_SECONDS",
    "TANDEM_WEBHOOKS__IN_FLIGHT_BYTES",
    "TANDEM_FORECAST__CHECK_INTERVAL_MINUTES",
    "TANDEM_LOG__LEVEL",
    "TANDEM_MAINTENANCE__DELIVERY_RETENTION_DAYS",
    "TANDEM_PROMETHEUS__REFRESH_SECONDS",
    "TANDEM_SERVER__BODY_LIMIT_BYTES",
    "TANDEM_",
    "TANDEM___",
    "TANDEM_A__B__C",
];

fn run_config(t: &mut Target, rng: &mut Rng, iterations: u64) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let seed = std::fs::read(root.join("../server/tandem.example.toml"))
        .expect("the example configuration");
    // A file per process in memory where there is one.
    let dir = if std::path::Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let path = dir.join(format!("tandem-fuzz-config-{}.toml", std::process::id()));
    let values: &[&str] = &[
        "0",
        "1",
        "-1",
        "true",
        "x",
        "",
        "1e400",
        "99999999999999999999",
        "\u{1b}[31m",
        "127.0.0.1:0",
        "* * * * *",
        "a,b",
        "[1,2]",
        "{a=1}",
    ];
    for n in 0..iterations {
        let mut b = seed.clone();
        mutate_bytes(&mut b, rng, &seed, TOML_TOKENS);
        let mut env: Vec<(String, String)> = Vec::new();
        for _ in 0..rng.below(3) {
            let k = ENV_KEYS[rng.below(ENV_KEYS.len())].to_owned();
            let mut v = values[rng.below(values.len())].as_bytes().to_vec();
            if rng.below(2) == 0 {
                mutate_bytes(&mut v, rng, b"0123456789", TOML_TOKENS);
            }
            env.push((k, String::from_utf8_lossy(&v).into_owned()));
        }
        std::fs::write(&path, &b).expect("write the fuzzed configuration");
        t.executions += 1;
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            let first = Settings::load_from(Some(&path), &env);
            let second = Settings::load_from(Some(&path), &env);
            match (first, second) {
                (Ok(_), Ok(_)) | (Err(_), Err(_)) => Ok(()),
                (a, b) => Err(format!(
                    "loaded twice, two answers: {:?} / {:?}",
                    a.err().map(|e| e.to_string()),
                    b.err().map(|e| e.to_string())
                )),
            }
        }));
        let mut input = b.clone();
        for (k, v) in &env {
            input.extend_from_slice(format!("\n# env {k}={v}").as_bytes());
        }
        record(t, "config", n, &input, outcome);
    }
    std::fs::remove_file(&path).ok();
}

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(1);
    let only = args.next();
    // Panics are caught and counted; keep the default hook's message short.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    println!("seed {seed}, {iterations} executions per target");
    let mut targets = Vec::new();
    for name in ["jira-csv", "config"] {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut t = Target {
            name,
            executions: 0,
            failures: 0,
        };
        let started = Instant::now();
        match name {
            "jira-csv" => run_jira_csv(&mut t, &mut rng, iterations),
            _ => run_config(&mut t, &mut rng, iterations),
        }
        println!(
            "{:<9} {:>11} executions  {:>4} failures  {:>8.1} s",
            t.name,
            t.executions,
            t.failures,
            started.elapsed().as_secs_f64()
        );
        targets.push(t);
    }
    if targets.iter().any(|t| t.failures > 0) {
        std::process::exit(1);
    }
}
