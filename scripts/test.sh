#!/usr/bin/env bash
# Runs Tandem's whole test suite, on SQLite and on PostgreSQL.
#
# PostgreSQL is required: this script starts it when it is installed but
# stopped, installs it (Debian/Ubuntu, as root) when it is missing, and
# otherwise fails with a clear message. It never skips the PostgreSQL half.
# Set TANDEM_TEST_PG_URL to use another server (default
# postgres://postgres@127.0.0.1:5432/postgres).
set -euo pipefail
cd "$(dirname "$0")/.."

export TANDEM_TEST_PG_URL="${TANDEM_TEST_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

pg_up() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -d "$TANDEM_TEST_PG_URL"
  else
    (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
  fi
}

start_postgres() {
  local version
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$version" ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "test.sh: PostgreSQL is not installed; installing it with apt-get" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
      version=$(ls /etc/postgresql | sort -V | tail -n 1)
      # A fresh cluster asks for passwords on TCP; give the test user one.
      pg_ctlcluster --skip-systemctl-redirect "$version" main start
      su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\""
      export TANDEM_TEST_PG_URL="postgres://postgres:postgres@127.0.0.1:5432/postgres"
      return
    fi
    echo "test.sh: PostgreSQL is required for the test suite and is not installed." >&2
    echo "         Install it (Debian: apt-get install postgresql) or set TANDEM_TEST_PG_URL." >&2
    exit 1
  fi
  echo "test.sh: starting PostgreSQL $version" >&2
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
}

if ! pg_up; then
  start_postgres
  for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  if ! pg_up; then
    echo "test.sh: PostgreSQL did not come up at $TANDEM_TEST_PG_URL" >&2
    exit 1
  fi
fi

# Drop databases left by earlier runs (each test makes its own). One still
# in use belongs to a run going on beside this one (another suite, a drill
# of scripts/outages.sh): it is left alone.
if command -v psql >/dev/null 2>&1; then
  psql -Atq "$TANDEM_TEST_PG_URL" -c "SELECT datname FROM pg_database WHERE datname LIKE 'tandem\_test\_%'" |
    while read -r db; do
      psql -q "$TANDEM_TEST_PG_URL" -c "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 ||
        echo "test.sh: $db is in use by another run; left alone"
    done
fi

# The browser tests (crates/server/tests/browser.rs) drive Debian's headless
# Chromium through /usr/bin/chromedriver; install both when missing (as root).
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing chromium and chromium-driver for the browser tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium chromium-driver >/dev/null; }
  else
    echo "test.sh: the browser tests need /usr/bin/chromium and /usr/bin/chromedriver." >&2
    echo "         Install them (Debian: apt-get install chromium chromium-driver)." >&2
    exit 1
  fi
fi

# The Prometheus tests (crates/server/tests/it/prometheus.rs) run Debian's
# promtool, prometheus and prometheus-alertmanager binaries on free ports;
# install them when missing (as root). The packages' services are stopped at
# once: the tests start their own with temporary configurations.
if [ ! -x /usr/bin/prometheus ] || [ ! -x /usr/bin/promtool ] || [ ! -x /usr/bin/prometheus-alertmanager ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing prometheus and prometheus-alertmanager for the Prometheus tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus prometheus-alertmanager >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q prometheus prometheus-alertmanager >/dev/null; }
    (service prometheus stop; service prometheus-alertmanager stop) >/dev/null 2>&1 || true
  else
    echo "test.sh: the Prometheus tests need /usr/bin/prometheus, promtool and prometheus-alertmanager." >&2
    echo "         Install them (Debian: apt-get install prometheus prometheus-alertmanager)." >&2
    exit 1
  fi
fi

# The browser tests run axe-core (the npm package's axe.min.js) on every
# page; fetched once into target/axe/ with npm.
AXE_VERSION=4.10.2
if [ ! -f target/axe/axe.min.js ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "test.sh: fetching axe-core $AXE_VERSION for the browser tests" >&2
    tmp=$(mktemp -d)
    (cd "$tmp" && npm pack -q "axe-core@$AXE_VERSION" >/dev/null && tar -xzf axe-core-*.tgz)
    mkdir -p target/axe && cp "$tmp/package/axe.min.js" target/axe/axe.min.js
    rm -rf "$tmp"
  else
    echo "test.sh: the browser tests need axe-core: install npm, or put axe.min.js in target/axe/." >&2
    exit 1
  fi
fi

# The e-mail intake tests (crates/server/tests/it/mail_intake.rs) start
# Debian's Dovecot themselves on a free port with a private configuration;
# install it when missing (as root), as for Chromium above.
if [ ! -x /usr/sbin/dovecot ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing dovecot-imapd for the e-mail intake tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dovecot-imapd >/dev/null; }
  else
    echo "test.sh: the e-mail intake tests need /usr/sbin/dovecot." >&2
    echo "         Install it (Debian: apt-get install dovecot-imapd)." >&2
    exit 1
  fi
fi

# The DNS check tests (crates/server/tests/it/check_kinds.rs) start Debian's
# dnsmasq themselves on a free port with a private configuration; install
# it when missing (as root; dnsmasq-base has no service to stop).
if [ ! -x /usr/sbin/dnsmasq ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing dnsmasq-base for the DNS check tests" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsmasq-base >/dev/null ||
      { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q dnsmasq-base >/dev/null; }
  else
    echo "test.sh: the DNS check tests need /usr/sbin/dnsmasq." >&2
    echo "         Install it (Debian: apt-get install dnsmasq-base)." >&2
    exit 1
  fi
fi

# The weekly report's archive test and the S3 log check test use a local
# S3-compatible server:
# moto (PyPI moto[s3,server] + flask + flask-cors) in a venv under target/,
# created on first use, started here on a free port and stopped on exit.
s3_venv=target/s3-venv
if [ ! -x "$s3_venv/bin/moto_server" ]; then
  echo "test.sh: installing moto into $s3_venv for the S3 archive test" >&2
  python3 -m venv "$s3_venv"
  "$s3_venv/bin/pip" install -q 'moto[s3,server]' flask flask-cors
fi
s3_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$s3_venv/bin/moto_server" -H 127.0.0.1 -p "$s3_port" >target/moto_server.log 2>&1 &
moto_pid=$!
trap 'kill "$moto_pid" 2>/dev/null || true' EXIT
export TANDEM_TEST_S3_URL="http://127.0.0.1:$s3_port"
for _ in $(seq 1 50); do (exec 3<>"/dev/tcp/127.0.0.1/$s3_port") 2>/dev/null && break; sleep 0.2; done

cargo test --workspace --all-targets --locked "$@"
cargo test --workspace --doc --locked

# The API against clients nobody here wrote: a client generated from
# docs/openapi.json, and Schemathesis, on each engine (scripts/schemathesis.sh;
# about a minute per engine). It uses the tandem binary `cargo test` built.
TANDEM_TEST_PG_URL="$TANDEM_TEST_PG_URL" TANDEM_BIN=target/debug/tandem scripts/schemathesis.sh sqlite postgres

# Issue 18: a short run of every fuzz target, and the crash and outage
# drills that fit CI's time (kill -9 under load, PostgreSQL crashed and
# started again, SQLite disk full and read-only); the long ones are
# `scripts/outages.sh all` (docs/reliability.md has their results).
scripts/fuzz.sh smoke
TANDEM_TEST_PG_URL="$TANDEM_TEST_PG_URL" scripts/outages.sh
