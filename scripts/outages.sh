#!/usr/bin/env bash
# Crash and outage drills against real `tandem serve` processes (issue 18;
# crates/bench/src/bin/outages.rs says what each proves; docs/reliability.md
# has the promises and the recorded results).
#
#   scripts/outages.sh          the drills that fit CI (a few minutes):
#                               kill -9 x 20 rounds per engine, PostgreSQL
#                               crashed and started again under load, SQLite
#                               disk full and read-only (root only: tmpfs)
#   scripts/outages.sh all      and the long ones: two serve processes on one
#                               PostgreSQL database (6 min), SMTP and Slack
#                               down 10 minutes while the report is due
#                               (about 13 min per engine)
#
# Needs TANDEM_TEST_PG_URL (the shared PostgreSQL holds the drills' fresh
# databases; the restart drill starts a private cluster of its own and
# breaks only that one). Uses the debug build.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${TANDEM_TEST_PG_URL:?set TANDEM_TEST_PG_URL, e.g. postgres://postgres@127.0.0.1:5432/postgres}"
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
cargo build -q -p tandem -p tandem-bench --bin tandem --bin tandem-outages
drill() { echo "== tandem-outages $*" >&2; target/debug/tandem-outages --tandem target/debug/tandem "$@"; }

drill kill9 --rounds 20
drill pg-restart --outage-seconds 15
if [ "$(id -u)" = 0 ]; then
  drill disk-full
else
  echo "outages.sh: disk-full skipped (it mounts a tmpfs: run as root)" >&2
fi
if [ "${1:-}" = all ]; then
  drill two-replicas --minutes 6
  drill report-outage --outage-seconds 600
fi
