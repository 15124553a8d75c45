//! A seeded, coverage-blind fuzzer on the stable toolchain (no nightly, so
//! no cargo-fuzz/libFuzzer): mutates real inputs and feeds them to
//! - `github` / `gitlab`: the webhook mappers, over the published-example
//!   corpus (crates/server/tests/fixtures/webhook_corpus) and the domain's
//!   fixtures, each under its own event and under a random one;
//! - `json`: the API body rules (`json_input::check_tree`), on every
//!   mutated body that is valid JSON;
//! - `document`: the goal document parser, on mutated documents.
//!
//! Oracles beyond "does not panic": a mapper's records pass validation and
//! hold no control or bidi-override character (they are cleaned), a
//! document that parses renders to a document that parses again, and
//! `check_tree` never fails on a document serde_json itself wrote from a
//! parsed value without repeated keys.
//!
//! Not part of `cargo test`. Run (release, ~10 M executions per target):
//!   cargo run --release -p tandem-domain --example fuzz -- 10000000 1
//! (executions per target, seed). A failing input is written to
//! target/fuzz-failures/ and the run exits non-zero at the end.

use std::path::{Path, PathBuf};

use serde_json::Value;
use tandem_domain::webhook::{Context, Labels, github, gitlab};
use uuid::Uuid;

mod fuzz_kit;
use fuzz_kit::{Rng, Target};

const GITHUB_EVENTS: &[&str] = &[
    "ping",
    "push",
    "pull_request",
    "pull_request_review",
    "deployment",
    "deployment_status",
    "workflow_run",
    "issues",
    "release",
    "create",
];
const GITLAB_EVENTS: &[&str] = &[
    "Push Hook",
    "Merge Request Hook",
    "Note Hook",
    "Pipeline Hook",
    "Deployment Hook",
    "Issue Hook",
    "Tag Push Hook",
];

/// Values that have broken parsers before: extremes, wrong types, text a
/// terminal or a database acts on.
fn interesting(rng: &mut Rng) -> Value {
    let strings = [
        "",
        " ",
        "\u{0}",
        "a\u{7}\u{1b}[31m",
        "\u{202e}txt",
        "\u{9b}",
        "\r",
        "é".repeat(201).as_str().to_owned().leak(),
        "0000-01-01T00:00:00Z",
        "+10000-01-01T00:00:00Z",
        "2026-02-30T00:00:00Z",
        "2026-03-01T10:00:00+14:00",
        "not a date",
        "-1",
        "null",
        "0000000000000000000000000000000000000000",
        "ZZZZ",
        "deadbeef",
        "closed",
        "merged",
        "open",
        "opened",
        "success",
        "failed",
        "production",
        "main",
        "refs/heads/main",
    ];
    match rng.below(12) {
        0 => Value::Null,
        1 => Value::Bool(rng.chance(50)),
        2 => Value::from(-1),
        3 => Value::from(0),
        4 => Value::from(i64::MAX),
        5 => Value::from(u64::MAX),
        6 => Value::from(1e308),
        7 => Value::from(-0.5),
        8 => Value::Array(vec![]),
        9 => Value::Object(Default::default()),
        _ => Value::from(strings[rng.below(strings.len())]),
    }
}

/// A random node of `v` (the root or something below it).
fn pick_node<'a>(v: &'a mut Value, rng: &mut Rng, depth: usize) -> &'a mut Value {
    let descend = rng.chance(75) && depth < 12;
    let len = match &*v {
        Value::Object(m) => m.len(),
        Value::Array(a) => a.len(),
        _ => 0,
    };
    if !descend || len == 0 {
        return v;
    }
    let i = rng.below(len);
    match v {
        Value::Object(m) => {
            let child = m.values_mut().nth(i).unwrap();
            pick_node(child, rng, depth + 1)
        }
        Value::Array(a) => pick_node(&mut a[i], rng, depth + 1),
        _ => unreachable!(),
    }
}

/// A structural mutation: replace, delete, duplicate or retype a node.
fn mutate_value(v: &mut Value, rng: &mut Rng, donor: &Value) {
    for _ in 0..=rng.below(3) {
        let node = pick_node(v, rng, 0);
        match rng.below(6) {
            0 | 1 => *node = interesting(rng),
            2 => {
                if let Value::Object(m) = node
                    && !m.is_empty()
                {
                    let key = m.keys().nth(rng.below(m.len())).unwrap().clone();
                    m.remove(&key);
                }
            }
            3 => {
                let mut d = donor.clone();
                *node = pick_node(&mut d, rng, 0).clone();
            }
            4 => {
                if let Value::Array(a) = node
                    && let Some(first) = a.first().cloned()
                {
                    for _ in 0..rng.below(50) {
                        a.push(first.clone());
                    }
                }
            }
            _ => {
                if let Value::String(s) = node {
                    let at = rng.below(s.chars().count() + 1);
                    let mut chars: Vec<char> = s.chars().collect();
                    let c = [
                        '\u{1b}', '\u{0}', '\u{202e}', '\u{7}', 'x', '\n', '\u{ffff}',
                    ][rng.below(7)];
                    chars.insert(at, c);
                    *s = chars.into_iter().collect();
                }
            }
        }
    }
}

/// Byte tokens that have broken JSON readers before.
const BYTE_TOKENS: &[&[u8]] = &[
    b"1e-400",
    b"1e400",
    b"-0",
    b"4e-320",
    b"\"\\u0000\"",
    b"\"a\":1,\"a\":2",
    b"[]",
    b"{}",
    b"null",
    b"99999999999999999999",
    b"\"\\ud800\"",
    b",",
    b"\"",
    b"\\",
];

/// A byte-level mutation (flips, inserts, deletes, splices, tokens).
fn mutate_bytes(bytes: &mut Vec<u8>, rng: &mut Rng, donor: &[u8]) {
    fuzz_kit::mutate_bytes(bytes, rng, donor, BYTE_TOKENS, b'{');
}

fn corpus(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(|e| {
            let path = e.ok()?.path();
            (path.extension()? == "json").then(|| {
                let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
                (stem, std::fs::read(&path).unwrap())
            })
        })
        .collect();
    out.sort();
    out
}

/// The event a corpus file was published for: `pull_request.opened` →
/// `pull_request`, `Merge_Request_Hook.merged` → `Merge Request Hook`; the
/// domain fixtures (`pull_request_opened`) by the longest known prefix.
fn event_of(stem: &str, events: &[&str]) -> String {
    let head = stem.split('.').next().unwrap_or("").replace('_', " ");
    if let Some(e) = events.iter().find(|e| e.eq_ignore_ascii_case(&head)) {
        return (*e).to_owned();
    }
    let head = stem.split('.').next().unwrap_or("");
    events
        .iter()
        .filter(|e| head.starts_with(&e.replace(' ', "_").to_lowercase()))
        .max_by_key(|e| e.len())
        .map_or_else(|| events[0].to_owned(), |e| (*e).to_owned())
}

fn run_mapper(
    t: &mut Target,
    rng: &mut Rng,
    seeds: &[(String, Vec<u8>, Value)],
    events: &[&str],
    iterations: u64,
) {
    let labels = Labels::default();
    let ctx = Context {
        project_id: Uuid::from_u128(1),
        team_id: Uuid::from_u128(2),
        received_at: chrono::DateTime::from_timestamp(1_780_000_000, 0).unwrap(),
        labels: &labels,
        scoped_service: None,
        release_environment: "production",
        new_id: || Uuid::from_u128(3),
    };
    let github = t.name == "github";
    for n in 0..iterations {
        let (stem, raw, value) = &seeds[rng.below(seeds.len())];
        let (_, donor_raw, donor) = &seeds[rng.below(seeds.len())];
        let event = if rng.chance(80) {
            event_of(stem, events)
        } else {
            events[rng.below(events.len())].to_owned()
        };
        let (input, payload): (Vec<u8>, Option<Value>) = if rng.chance(70) {
            let mut v = value.clone();
            mutate_value(&mut v, rng, donor);
            (serde_json::to_vec(&v).unwrap(), Some(v))
        } else {
            let mut b = raw.clone();
            mutate_bytes(&mut b, rng, donor_raw);
            let v = serde_json::from_slice(&b).ok();
            (b, v)
        };
        t.executed();
        let Some(payload) = payload else { continue };
        let saved = || [event.as_bytes(), b"\n", &input].concat();
        t.check(n, saved, || {
            let mapped = if github {
                github::map(&event, &payload, &ctx)
            } else {
                gitlab::map(&event, &payload, &ctx)
            };
            if let Ok(m) = mapped {
                for r in &m.records {
                    if let Err(e) = r.validate() {
                        return Err(format!("a mapped {} fails validation: {e}", r.kind()));
                    }
                    let text = format!("{r:?}");
                    if text.contains("\\u{1b}")
                        || text.contains("\\u{202e}")
                        || text.contains("\\u{7}")
                    {
                        return Err(format!(
                            "a mapped {} keeps a control character: {text:.300}",
                            r.kind()
                        ));
                    }
                }
            }
            Ok(())
        });
    }
}

fn run_json(t: &mut Target, rng: &mut Rng, seeds: &[(String, Vec<u8>, Value)], iterations: u64) {
    for n in 0..iterations {
        let (_, raw, value) = &seeds[rng.below(seeds.len())];
        let (_, donor_raw, donor) = &seeds[rng.below(seeds.len())];
        let input = if rng.chance(50) {
            let mut v = value.clone();
            mutate_value(&mut v, rng, donor);
            serde_json::to_vec(&v).unwrap()
        } else {
            let mut b = raw.clone();
            mutate_bytes(&mut b, rng, donor_raw);
            b
        };
        t.executed();
        t.check(
            n,
            || input.clone(),
            || {
                let parsed: Result<Value, _> = serde_json::from_slice(&input);
                let found = tandem_domain::json_input::check_tree(&input);
                if let Ok(v) = parsed
                    && found.is_none()
                {
                    // What serde_json writes back has no repeated keys and only
                    // numbers it parsed: the rules must accept it as well.
                    let again = serde_json::to_vec(&v).unwrap();
                    if let Some((field, message)) = tandem_domain::json_input::check_tree(&again) {
                        return Err(format!("re-serialised body refused at {field}: {message}"));
                    }
                }
                Ok(())
            },
        );
    }
}

fn run_document(t: &mut Target, rng: &mut Rng, iterations: u64) {
    use tandem_domain::document::{parse, render, template};
    let seeds: Vec<Vec<u8>> = vec![template("payments").into_bytes()];
    for n in 0..iterations {
        let mut b = seeds[0].clone();
        mutate_bytes(&mut b, rng, &seeds[0]);
        t.executed();
        let text = String::from_utf8_lossy(&b).into_owned();
        t.check(
            n,
            || text.as_bytes().to_vec(),
            || {
                if let Ok(doc) = parse(&text) {
                    let again = render(&doc);
                    if let Err(e) = parse(&again) {
                        return Err(format!(
                            "a parsed document renders to one that does not parse: {e}"
                        ));
                    }
                }
                Ok(())
            },
        );
    }
}

fn main() {
    let args = fuzz_kit::args();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let load = |dirs: &[PathBuf]| -> Vec<(String, Vec<u8>, Value)> {
        dirs.iter()
            .flat_map(|d| corpus(d))
            .filter_map(|(stem, raw)| {
                let v = serde_json::from_slice(&raw).ok()?;
                Some((stem, raw, v))
            })
            .collect()
    };
    let gh = load(&[
        root.join("../server/tests/fixtures/webhook_corpus/github"),
        root.join("tests/fixtures/github"),
    ]);
    let gl = load(&[
        root.join("../server/tests/fixtures/webhook_corpus/gitlab"),
        root.join("tests/fixtures/gitlab"),
    ]);
    let all: Vec<_> = gh.iter().chain(gl.iter()).cloned().collect();
    println!(
        "seed {}, {} executions per target; corpus: {} GitHub, {} GitLab payloads",
        args.seed,
        args.iterations,
        gh.len(),
        gl.len()
    );
    fuzz_kit::run_all(
        &args,
        &["github", "gitlab", "json", "document"],
        |t, rng, iterations| match t.name {
            "github" => run_mapper(t, rng, &gh, GITHUB_EVENTS, iterations),
            "gitlab" => run_mapper(t, rng, &gl, GITLAB_EVENTS, iterations),
            "json" => run_json(t, rng, &all, iterations),
            _ => run_document(t, rng, iterations),
        },
    );
}
