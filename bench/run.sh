#!/usr/bin/env bash
# TierGate's benchmark: one command, one report. See bench/README.md.
#
#   bench/run.sh [--smoke] [--repetitions N] [--bin PATH [--commit REV]] [--no-stack-up]
#
#   --smoke          a few seconds, 1 repetition, tiny client counts; writes its report under
#                    bench/results/raw/ (the committed results stay untouched) and ends with
#                    the line `bench smoke: OK`, or exits non-zero if any step failed
#   --repetitions N  repetitions per figure (default 3, smoke 1)
#   --bin PATH       measure this tiergate binary instead of building one
#                    (env: TIERGATE_BIN); --commit names the commit it was built from
#   --no-stack-up    do not run `scripts/stack.sh up postgres pgbouncer`; use the services
#                    already on TIERGATE_PG_PORT / TIERGATE_PGBOUNCER_PORT (or the defaults)
#
# Without --bin it builds `swift build -c release --product tiergate` into .build-bench/
# (incremental; the first build takes minutes). The full run writes bench/results/latest.md
# and bench/results/chart.png and takes about 15 minutes.
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
VENV="$ROOT/.venv"

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }

smoke=0 repetitions="" bin="${TIERGATE_BIN:-}" commit="" stack_up=1
while (($#)); do
    case $1 in
    --smoke) smoke=1;;
    --repetitions) repetitions=${2:?--repetitions needs a number}; shift;;
    --bin) bin=${2:?--bin needs a path}; shift;;
    --commit) commit=${2:?--commit needs a revision}; shift;;
    --no-stack-up) stack_up=0;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0;;
    *) die "unknown argument '$1' (see --help)";;
    esac
    shift
done

# The memory step holds up to 5,000 client sessions: the Python client holds one
# descriptor per session and TierGate two (client + upstream). Root may raise the hard limit.
want_files=65536
ulimit -Hn "$want_files" 2>/dev/null || true
ulimit -Sn "$(ulimit -Hn)" 2>/dev/null || true
((smoke)) || (($(ulimit -Sn) >= 10300)) || log "warning: open-file limit $(ulimit -Sn) is too low for 5,000 idle sessions"

# --- services ------------------------------------------------------------------------
if ((stack_up)); then
    "$ROOT/scripts/stack.sh" up postgres pgbouncer >&2 || die "scripts/stack.sh up postgres pgbouncer failed"
fi
eval "$("$ROOT/scripts/stack.sh" env)"
command -v pgbench >/dev/null || die "pgbench is not installed (scripts/stack.sh up installs postgresql-client)"
command -v pgbouncer >/dev/null || die "pgbouncer is not installed (scripts/stack.sh up installs it)"

# --- the binary ----------------------------------------------------------------------
if [[ -n $bin ]]; then
    [[ -x $bin ]] || die "--bin $bin is not an executable"
    bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
    [[ -n $commit ]] || commit="unknown (binary given with --bin; repository HEAD is $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'))"
else
    log "building tiergate (release) into .build-bench/"
    (cd "$ROOT" && swift build -c release --product tiergate --scratch-path "$ROOT/.build-bench" >&2) \
        || die "swift build failed"
    bin="$(cd "$ROOT" && swift build -c release --scratch-path "$ROOT/.build-bench" --show-bin-path)/tiergate"
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

args=(--tiergate "$bin" --commit "$commit" --pg-port "$TIERGATE_PG_PORT" --pgbouncer-port "$TIERGATE_PGBOUNCER_PORT")
((smoke)) && args+=(--smoke)
[[ -n $repetitions ]] && args+=(--repetitions "$repetitions")
export PYTHONDONTWRITEBYTECODE=1
exec "$VENV/bin/python" "$BENCH/bench.py" "${args[@]}"
