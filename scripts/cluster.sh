#!/usr/bin/env bash
# Several TierGate instances on the stack, sharing its Redis, optionally behind HAProxy.
#
#   scripts/cluster.sh up [N] [--haproxy]   # N instances (default 3) on ports 6441.., admin
#                                           # sockets /tmp/tiergate-cluster-<i>.sock; with
#                                           # --haproxy, HAProxy in TCP mode on 6440 in front
#   scripts/cluster.sh status
#   scripts/cluster.sh down
#
# Uses the stack as it runs (scripts/stack.sh up first; TIERGATE_*_PORT from `stack.sh env`)
# and the binary in TIERGATE_BIN, else .build/release/tiergate, else .build/debug/tiergate.
# Logs and pids in .stack/cluster/. The tests start their own instances; this is for trying
# it by hand (README, Several instances).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
DIR="$ROOT/.stack/cluster"
BASE_PORT="${TIERGATE_CLUSTER_PORT:-6440}"
eval "$(scripts/stack.sh env)"

binary() {
    for candidate in "${TIERGATE_BIN:-}" .build/release/tiergate .build/debug/tiergate; do
        if [[ -n "$candidate" && -x "$candidate" ]]; then echo "$candidate"; return; fi
    done
    echo "no tiergate binary: swift build -c release" >&2
    exit 1
}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

up() {
    local count=3 haproxy=0
    for arg in "$@"; do
        case "$arg" in
            --haproxy) haproxy=1 ;;
            *) count="$arg" ;;
        esac
    done
    mkdir -p "$DIR"
    local bin
    bin="$(binary)"
    for ((i = 1; i <= count; i++)); do
        local port=$((BASE_PORT + i))
        if alive "$DIR/tg$i.pid"; then echo "[cluster] tg$i already running on $port"; continue; fi
        "$bin" serve --listen "127.0.0.1:$port" --upstream "127.0.0.1:$TIERGATE_PG_PORT" \
            --mongo "mongodb://127.0.0.1:$TIERGATE_MONGO_PORT" --redis "redis://127.0.0.1:$TIERGATE_REDIS_PORT" \
            --instance-id "tg$i" --admin-socket "/tmp/tiergate-cluster-$i.sock" \
            >"$DIR/tg$i.log" 2>&1 &
        echo $! >"$DIR/tg$i.pid"
        echo "[cluster] tg$i on 127.0.0.1:$port (admin: /tmp/tiergate-cluster-$i.sock, log: $DIR/tg$i.log)"
    done
    if ((haproxy)); then
        command -v haproxy >/dev/null || { echo "[cluster] haproxy is not installed (apt-get install haproxy)" >&2; exit 1; }
        {
            printf 'defaults\n    mode tcp\n    timeout connect 5s\n    timeout client 1h\n    timeout server 1h\n\n'
            printf 'frontend postgres\n    bind 127.0.0.1:%s\n    default_backend tiergate\n\n' "$BASE_PORT"
            printf 'backend tiergate\n    balance roundrobin\n    option tcp-check\n'
            for ((i = 1; i <= count; i++)); do printf '    server tg%s 127.0.0.1:%s check\n' "$i" $((BASE_PORT + i)); done
        } >"$DIR/haproxy.cfg"
        alive "$DIR/haproxy.pid" && kill "$(cat "$DIR/haproxy.pid")"
        haproxy -f "$DIR/haproxy.cfg" -D -p "$DIR/haproxy.pid"
        echo "[cluster] HAProxy (TCP, round robin) on 127.0.0.1:$BASE_PORT: psql \"host=127.0.0.1 port=$BASE_PORT user=acme_app.org_acme dbname=acme password=acme_pw\""
    fi
}

status() {
    shopt -s nullglob
    for pid in "$DIR"/*.pid; do
        local name
        name="$(basename "$pid" .pid)"
        if alive "$pid"; then echo "$name running (pid $(cat "$pid"))"; else echo "$name stopped"; fi
    done
}

down() {
    shopt -s nullglob
    for pid in "$DIR"/*.pid; do
        if alive "$pid"; then kill "$(cat "$pid")"; fi
        rm -f "$pid"
    done
    echo "[cluster] stopped"
}

case "${1:-}" in
    up) shift; up "$@" ;;
    status) status ;;
    down) down ;;
    *) echo "usage: scripts/cluster.sh up [N] [--haproxy] | status | down" >&2; exit 2 ;;
esac
