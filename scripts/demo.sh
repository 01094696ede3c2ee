#!/usr/bin/env bash
# Run TierGate in front of the stack's Postgres, with the sample orgs, until Ctrl-C.
#
#   scripts/demo.sh
#
# Starts the stack (scripts/stack.sh up, which also seeds the sample orgs into
# SecantusDB), builds the release binary and runs `tiergate serve` in the foreground
# on 127.0.0.1:6432. Ctrl-C stops the proxy, then the stack (its data is kept).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

LISTEN_PORT="${TIERGATE_DEMO_PORT:-6432}"
METRICS_PORT="${TIERGATE_DEMO_METRICS_PORT:-9187}"
# sun_path holds 108 bytes: a short path, not one under a possibly deep checkout.
ADMIN_SOCKET="${TIERGATE_DEMO_ADMIN_SOCKET:-/tmp/tiergate-demo-$(id -u).sock}"

source scripts/stack-exit.sh
stop_stack_on_exit

scripts/stack.sh up
eval "$(scripts/stack.sh env)"

swift build -c release

cat <<EOF_INTRO

TierGate demo: connect as <role>.<orgId> (each org lists its roles); the org's tier decides
what the session gets.

  psql "host=127.0.0.1 port=$LISTEN_PORT user=acme_app.org_acme dbname=acme password=acme_pw"

Sample orgs (scripts/sample-orgs.json, in dynabase.organizations at mongodb://127.0.0.1:$TIERGATE_MONGO_PORT):
EOF_INTRO
.venv/bin/python - "$LISTEN_PORT" <<'PY'
import json, sys
port = sys.argv[1]
for org in json.load(open("scripts/sample-orgs.json")):
    burst = [a for a in org.get("addons", []) if a.get("type") == "burst_scaling" and a.get("enabled")]
    extra = f"  (burst to {burst[0]['burstTier']})" if burst else ""
    db = org["postgres"]["databases"][0]
    role = org["postgres"]["roles"][0]
    password = role.removesuffix("_app") + "_pw"  # scripts/stack.sh: SAMPLE_ORG_DATABASES
    print(f"  {org['orgId']:<10} {org['tier']:<11}{extra:<24}"
          f" psql \"host=127.0.0.1 port={port} user={role}.{org['orgId']} dbname={db} password={password}\"")
PY
cat <<EOF_MORE

Admin socket and metrics:

  .build/release/tiergate admin --socket $ADMIN_SOCKET SHOW ORG org_gamma
  curl -s http://127.0.0.1:$METRICS_PORT/metrics | grep ^tiergate_

To watch org_gamma (PRO, 50 connections) burst to ENTERPRISE, hold 48 sessions for a while
(the 46th passes 90% of its ceiling), then SHOW ORG org_gamma; BURST OFF org_gamma ends it:

  PGPASSWORD=gamma_pw pgbench -n -c 48 -j 4 -T 20 -f <(echo 'select pg_sleep(2)') -h 127.0.0.1 -p $LISTEN_PORT -U gamma_app.org_gamma gamma

Ctrl-C stops the proxy and the stack.

EOF_MORE

# Not exec: the EXIT trap must still run to stop the stack.
.build/release/tiergate serve \
    --listen "127.0.0.1:$LISTEN_PORT" \
    --upstream "127.0.0.1:$TIERGATE_PG_PORT" \
    --mongo "mongodb://127.0.0.1:$TIERGATE_MONGO_PORT" \
    --redis "redis://127.0.0.1:$TIERGATE_REDIS_PORT" \
    --admin-socket "$ADMIN_SOCKET" \
    --metrics "127.0.0.1:$METRICS_PORT"
