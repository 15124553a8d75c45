//! The stable-toolchain fuzzer's second half (the first is
//! `crates/domain/examples/fuzz.rs`, whose kit this shares: the domain
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
//! target/fuzz-failures/ and the run exits non-zero at the end. The
//! generator, the byte mutator and the run loop are the domain fuzzer's
//! (`crates/domain/examples/fuzz_kit/`, included by path).

use std::path::PathBuf;

use tandem_app::Settings;
use tandem_importers::jira_csv::{JiraCsvImport, parse};

#[path = "../../domain/examples/fuzz_kit/mod.rs"]
mod fuzz_kit;
use fuzz_kit::{Rng, Target, mutate_bytes};

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
        mutate_bytes(&mut b, rng, &seed, CSV_TOKENS, b'a');
        t.executed();
        t.check(
            n,
            || b.clone(),
            || match parse(&b, &what) {
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
            },
        );
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
        mutate_bytes(&mut b, rng, &seed, TOML_TOKENS, b'a');
        let mut env: Vec<(String, String)> = Vec::new();
        for _ in 0..rng.below(3) {
            let k = ENV_KEYS[rng.below(ENV_KEYS.len())].to_owned();
            let mut v = values[rng.below(values.len())].as_bytes().to_vec();
            if rng.below(2) == 0 {
                mutate_bytes(&mut v, rng, b"0123456789", TOML_TOKENS, b'a');
            }
            env.push((k, String::from_utf8_lossy(&v).into_owned()));
        }
        std::fs::write(&path, &b).expect("write the fuzzed configuration");
        t.executed();
        let saved = || {
            let mut input = b.clone();
            for (k, v) in &env {
                input.extend_from_slice(format!("\n# env {k}={v}").as_bytes());
            }
            input
        };
        t.check(n, saved, || {
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
        });
    }
    std::fs::remove_file(&path).ok();
}

fn main() {
    let args = fuzz_kit::args();
    println!(
        "seed {}, {} executions per target",
        args.seed, args.iterations
    );
    fuzz_kit::run_all(
        &args,
        &["jira-csv", "config"],
        |t, rng, iterations| match t.name {
            "jira-csv" => run_jira_csv(t, rng, iterations),
            _ => run_config(t, rng, iterations),
        },
    );
}
