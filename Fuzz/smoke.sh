#!/usr/bin/env bash
# The fuzz smoke that scripts/test.sh runs: builds every fuzz target, replays its seeds and
# regression inputs, then fuzzes it for a bounded number of runs.
#
#   Fuzz/smoke.sh [RUNS]       RUNS per target, 20000 unless given
#
# Fails when a target fails to build, or crashes, hangs, leaks or breaks an invariant on any
# input; libFuzzer's report is printed and the input kept under .build-fuzz/artifacts/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT=.build-fuzz
runs=${1:-20000}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

t=$(now)
Fuzz/build.sh
echo "[fuzz] built the fuzz targets in $(elapsed "$t")"

# A fresh work folder: the smoke starts from the committed inputs alone, as in CI.
export FUZZ_WORK="$OUT/smoke"
rm -rf "$FUZZ_WORK"
mkdir -p "$OUT/logs"
failed=()
for target in StartupDecoder MessageFramer SettingsGuard AdminCommand; do
    t=$(now)
    log="$OUT/logs/smoke-$target.log"
    # A fixed seed: the same inputs on every run, so a failure here is reproducible.
    if Fuzz/run.sh "$target" -runs="$runs" -seed="${FUZZ_SEED:-1}" >"$log" 2>&1; then
        executed=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        echo "[fuzz] $target: ${executed:-?} inputs in $(elapsed "$t"), no crash, hang, leak or broken invariant"
    else
        echo "[fuzz] $target FAILED after $(elapsed "$t"); libFuzzer's report ($log):"
        tail -n 60 "$log"
        failed+=("$target")
    fi
done
if ((${#failed[@]})); then
    echo "[fuzz] failing targets: ${failed[*]}"
    exit 1
fi
