#!/usr/bin/env bash
# TierGate's benchmark: one command, one report. See bench/README.md.
#
#   bench/run.sh [--smoke] [--repetitions N] [--bin PATH [--commit REV]] [--gate-bench PATH]
#                [--no-stack-up]
#
#   --smoke          a few seconds, 1 repetition, tiny client counts; writes its report under
#                    bench/results/raw/ (the committed results stay untouched) and ends with
#                    the line `bench smoke: OK`, or exits non-zero if any step failed
#   --repetitions N  repetitions per figure (default 3, smoke 1)
#   --bin PATH       measure this tiergate binary instead of building one
#                    (env: TIERGATE_BIN); --commit names the commit it was built from
#   --gate-bench PATH  run this tiergate-gate-bench instead of building one (env:
#                    TIERGATE_GATE_BENCH_BIN); with --bin and without it, the one next to
#                    the --bin binary is used if there is one, else its figures are skipped
#   --no-stack-up    do not run `scripts/stack.sh up postgres pgbouncer redis mongo`; use the
#                    services already on the TIERGATE_*_PORT ports (or the defaults)
#
# Without --bin it builds `swift build -c release` of the products tiergate and
# tiergate-gate-bench into .build-bench/ (incremental; the first build takes minutes). The
# full run writes bench/results/latest.md and bench/results/chart.png and takes about
# 13 minutes.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

smoke=0 repetitions="" bin="${TIERGATE_BIN:-}" commit="" stack_up=1 gate_bench="${TIERGATE_GATE_BENCH_BIN:-}"
while (($#)); do
    case $1 in
    --smoke) smoke=1;;
    --repetitions) repetitions=${2:?--repetitions needs a number}; shift;;
    --bin) bin=${2:?--bin needs a path}; shift;;
    --commit) commit=${2:?--commit needs a revision}; shift;;
    --gate-bench) gate_bench=${2:?--gate-bench needs a path}; shift;;
    --no-stack-up) stack_up=0;;
    -h|--help) sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0;;
    *) die "unknown argument '$1' (see --help)";;
    esac
    shift
done

# The memory step holds up to 10,000 client sessions: the Python client holds one
# descriptor per session and TierGate two (client + upstream). Root may raise the hard limit,
# unless it lacks CAP_SYS_RESOURCE (a container): then the memory step holds as many
# sessions as TierGate's limit allows and the report says so.
want_files=65536
ulimit -Hn "$want_files" 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
((smoke)) || (($(ulimit -Sn) >= 20200)) \
    || log "warning: open-file limit $(ulimit -Sn) is too low for 10,000 idle sessions through TierGate; the memory step holds fewer"

# --- services ------------------------------------------------------------------------
# Redis and MongoDB serve the gating path's tier lookups (and tiergate-gate-bench's).
if ((stack_up)); then
    "$ROOT/scripts/stack.sh" up postgres pgbouncer redis mongo >&2 || die "scripts/stack.sh up failed"
fi
eval "$("$ROOT/scripts/stack.sh" env)"
command -v pgbench >/dev/null || die "pgbench is not installed (scripts/stack.sh up installs postgresql-client)"
command -v pgbouncer >/dev/null || die "pgbouncer is not installed (scripts/stack.sh up installs it)"

# --- the binary ----------------------------------------------------------------------
if [[ -n $bin ]]; then
    [[ -x $bin ]] || die "--bin $bin is not an executable"
    bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
    [[ -n $commit ]] || commit="unknown (binary given with --bin; repository HEAD is $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    # A test that built the whole package (debug) has the micro-benchmark next to tiergate.
    [[ -n $gate_bench || ! -x $(dirname "$bin")/tiergate-gate-bench ]] || gate_bench="$(dirname "$bin")/tiergate-gate-bench"
else
    log "building tiergate and tiergate-gate-bench (release) into .build-bench/"
    for product in tiergate tiergate-gate-bench; do
        [[ $product == tiergate-gate-bench && -n $gate_bench ]] && continue
        (cd "$ROOT" && swift build -c release --product "$product" --scratch-path "$ROOT/.build-bench" >&2) \
            || die "swift build --product $product failed"
    done
    bin_dir="$(cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-bench" --show-bin-path)"
    bin="$bin_dir/tiergate"
    [[ -n $gate_bench ]] || gate_bench="$bin_dir/tiergate-gate-bench"
    commit="$(git -C "$ROOT" rev-parse --short HEAD)"
    # Uncommitted changes under Sources/ or in Package.swift went into the binary too.
    if [[ -n $(git -C "$ROOT" status --porcelain -- Sources Package.swift) ]]; then commit+="+uncommitted"; fi
fi

# --- python with matplotlib (for the chart) --------------------------------------------
[[ -x $VENV/bin/python ]] || python3 -m venv "$VENV"
if ! "$VENV/bin/python" -c 'import matplotlib' 2>/dev/null; then
    log "installing matplotlib into .venv/"
    "$VENV/bin/pip" install -q matplotlib >&2 || die "pip install matplotlib failed"
fi

if [[ -n $gate_bench ]]; then
    [[ -x $gate_bench ]] || die "--gate-bench $gate_bench is not an executable"
    gate_bench="$(cd "$(dirname "$gate_bench")" && pwd)/$(basename "$gate_bench")"
fi

args=(--tiergate "$bin" --commit "$commit" --pg-port "$TIERGATE_PG_PORT" --pgbouncer-port "$TIERGATE_PGBOUNCER_PORT"
      --mongo-port "$TIERGATE_MONGO_PORT" --redis-port "$TIERGATE_REDIS_PORT")
[[ -n $gate_bench ]] && args+=(--gate-bench "$gate_bench")
((smoke)) && args+=(--smoke)
[[ -n $repetitions ]] && args+=(--repetitions "$repetitions")
export PYTHONDONTWRITEBYTECODE=1
# The stack's Postgres speaks TLS (ssl = on) and libpq's default sslmode=prefer would take it,
# so "direct Postgres" would pay for TLS where the proxies relay plain text: every plain-text
# figure is measured in plain text (the TLS bench names sslmode=require in its conninfo,
# which wins over this).
export PGSSLMODE=disable
exec "$VENV/bin/python" "$BENCH/bench.py" "${args[@]}"
