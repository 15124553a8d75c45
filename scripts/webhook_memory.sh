#!/usr/bin/env bash
# Peak memory of `tandem serve` under concurrent large webhook posts that are
# never trusted (issue 18, defect 4): 16 unsigned 24 MiB posts, then 16 posts
# of 24 MiB with a well-formed but wrong signature, all at once per round.
# Unsigned posts are refused before their body is read; wrongly signed ones
# are read (their signature can only be checked at the end) within
# webhooks.in_flight_bytes (64 MiB). Prints the server's peak RSS (VmHWM)
# before and after each round; the goal is < 100 MB of growth.
#
#   scripts/webhook_memory.sh [path/to/tandem]   (default target/release/tandem)
#
# Local only: the server listens on 127.0.0.1; every request goes there.
set -euo pipefail
BIN=${1:-target/release/tandem}
PORT=${PORT:-18917}
CONCURRENT=${CONCURRENT:-16}
WORK=$(mktemp -d)
trap 'kill "${PID:-}" 2>/dev/null || true; rm -rf "$WORK"' EXIT

export TANDEM_DATABASE__URL="sqlite://$WORK/tandem.db"
export TANDEM_SERVER__LISTEN="127.0.0.1:$PORT"
export TANDEM_SERVER__PUBLIC_URL="http://127.0.0.1:$PORT"
export TANDEM_AUTH__ADMIN_PASSWORD="memory-check-password"
"$BIN" serve >"$WORK/serve.log" 2>&1 &
PID=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# A project with a GitHub secret, so that signed posts have a secret to fail.
JAR="$WORK/cookies"
curl -fsS -o /dev/null -c "$JAR" -X POST "http://127.0.0.1:$PORT/api/v1/session" \
  -H 'content-type: application/json' \
  -d '{"username":"admin","password":"memory-check-password"}'
api() { curl -fsS -b "$JAR" -H 'content-type: application/json' "$@"; }
TEAM=$(api -X POST "http://127.0.0.1:$PORT/api/v1/teams" -d '{"key":"pay","name":"Payments"}' |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
api -o /dev/null -X POST "http://127.0.0.1:$PORT/api/v1/projects" \
  -d "{\"team_id\":\"$TEAM\",\"key\":\"payments\",\"name\":\"Payments\",\"repositories\":[\"acme/payments\"]}"
api -o /dev/null -X PUT "http://127.0.0.1:$PORT/api/v1/projects/payments/webhook-secrets/github" \
  -d '{"secret":"the-real-secret-0123456789"}'

# 24 MiB of JSON.
python3 - "$WORK/body.json" <<'PY'
import json, sys
pad = "x" * (24 * 1024 * 1024 - 100)
open(sys.argv[1], "w").write(json.dumps({"zen": "big", "repository": {"full_name": "acme/payments"}, "p": pad}))
PY

hwm() { awk '/VmHWM/ {print $2}' "/proc/$PID/status"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$PID/status"; }

round() {
  local label=$1; shift
  local before; before=$(hwm)
  local statuses="$WORK/$label.statuses"
  : >"$statuses"
  for i in $(seq 1 "$CONCURRENT"); do
    curl -s -o /dev/null -w '%{http_code}\n' -X POST "http://127.0.0.1:$PORT/webhooks/github" \
      -H 'content-type: application/json' -H 'x-github-event: ping' -H "x-github-delivery: $label-$i" \
      "$@" --data-binary @"$WORK/body.json" >>"$statuses" &
  done
  wait $(jobs -p | grep -v "^$PID\$") 2>/dev/null || true
  local after; after=$(hwm)
  printf '%-16s peak RSS %6d MB -> %6d MB (+%d MB); answers: %s\n' "$label" \
    $((before / 1024)) $((after / 1024)) $(((after - before) / 1024)) \
    "$(sort "$statuses" | uniq -c | awk '{printf "%s×%s ", $1, $2}')"
}

echo "tandem serve: RSS $(( $(rss) / 1024 )) MB, peak $(( $(hwm) / 1024 )) MB at start ($CONCURRENT concurrent posts of 24 MiB per round)"
round unsigned
round wrong-signature -H "x-hub-signature-256: sha256=$(printf '0%.0s' $(seq 1 64))"
echo "tandem serve: peak RSS $(( $(hwm) / 1024 )) MB at the end; load average $(cut -d' ' -f1-3 /proc/loadavg)"
