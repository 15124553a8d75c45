#!/usr/bin/env bash
# The stable-toolchain fuzzers (docs/reliability.md, "Fuzzing"):
# crates/domain/examples/fuzz.rs (github, gitlab, json, document) and
# crates/app/examples/fuzz_inputs.rs (jira-csv, config).
#
#   scripts/fuzz.sh smoke            a short run of every target (CI; debug build)
#   scripts/fuzz.sh long N SEED      N executions per target, release build,
#                                    at the lowest priority (nice -n 19)
# A failing input is written to target/fuzz-failures/ and the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
case "${1:-smoke}" in
  smoke)
    cargo run -q -p tandem-domain --example fuzz -- 5000 1
    cargo run -q -p tandem-app --example fuzz_inputs -- 2000 1
    ;;
  long)
    n=${2:-10000000}; seed=${3:-1}
    cargo build -q --release -p tandem-domain --example fuzz
    cargo build -q --release -p tandem-app --example fuzz_inputs
    nice -n 19 target/release/examples/fuzz "$n" "$seed"
    nice -n 19 target/release/examples/fuzz_inputs "$n" "$seed"
    ;;
  *) echo "usage: scripts/fuzz.sh smoke | long N SEED" >&2; exit 2 ;;
esac
