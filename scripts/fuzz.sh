#!/usr/bin/env bash
# The stable-toolchain fuzzers (docs/reliability.md, "Fuzzing"):
# crates/domain/examples/fuzz.rs (github, gitlab, json, document) and
# crates/app/examples/fuzz_inputs.rs (jira-csv, config); the domain
# fuzzer's generator, mutator and run loop are crates/domain/examples/fuzz_kit/.
#
#   scripts/fuzz.sh smoke            a short run of every target (CI; debug build)
#   scripts/fuzz.sh long N SEED      N executions per target, release build,
#                                    at the lowest priority (nice -n 19); every
#                                    target in a process of its own at once,
#                                    each logging to target/fuzz-logs/TARGET.log
#                                    (the domain's targets print their progress
#                                    every million)
# A failing input is written to target/fuzz-failures/ and the run fails.
# CARGO_TARGET_DIR is honoured.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
target_dir=${CARGO_TARGET_DIR:-target}
case "${1:-smoke}" in
  smoke)
    cargo run -q -p tandem-domain --example fuzz -- 5000 1
    cargo run -q -p tandem-app --example fuzz_inputs -- 2000 1
    ;;
  long)
    n=${2:-10000000}; seed=${3:-1}
    cargo build -q --release -p tandem-domain --example fuzz
    cargo build -q --release -p tandem-app --example fuzz_inputs
    mkdir -p target/fuzz-logs
    pids=()
    for t in github gitlab json document; do
      nice -n 19 "$target_dir/release/examples/fuzz" "$n" "$seed" "$t" >"target/fuzz-logs/$t.log" 2>&1 &
      pids+=($!)
    done
    for t in jira-csv config; do
      nice -n 19 "$target_dir/release/examples/fuzz_inputs" "$n" "$seed" "$t" >"target/fuzz-logs/$t.log" 2>&1 &
      pids+=($!)
    done
    status=0
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    for t in github gitlab json document jira-csv config; do tail -n 1 "target/fuzz-logs/$t.log"; done
    exit $status
    ;;
  *) echo "usage: scripts/fuzz.sh smoke | long N SEED" >&2; exit 2 ;;
esac
