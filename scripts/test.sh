#!/usr/bin/env bash
# Build TierGate and run its tests against the real service stack.
#
#   scripts/test.sh [swift test arguments...]      e.g. scripts/test.sh --filter GateTests
#
# Starts the stack (scripts/stack.sh up), builds, runs the fuzz smoke (Fuzz/smoke.sh) and
# `swift test`, and always stops the stack again, even when the build or a test fails.
# Exits with swift test's status, or else the fuzz smoke's. TIERGATE_FUZZ_SMOKE=0 skips the
# smoke (for a quick `--filter` run by hand).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1fs", b - a }'; }

# The stack is stopped on any exit, so a failed run leaves no servers behind (CI
# runs on a machine that later sessions reuse). Its data in .stack/ is kept.
stack_is_ours() {
    if [[ "${STACK_WAS_UP:-0}" == 1 ]]; then
        echo "[test] the stack was already running before this run: leaving it up"
        return 1
    fi
}
source scripts/stack-exit.sh
stop_stack_on_exit stack_is_ours

t=$(now)
# Stop only what this run started: a stack that was already up belongs to someone else
# (a developer's shell, a concurrent run) and stays up.
STACK_WAS_UP=0
# A checkout without .stack/ (a fresh clone, as in CI) has started nothing yet: whatever
# answers on the ports is not its stack, and everything this run starts is stopped after it.
# (Captured first: piped into `grep -q`, stack.sh could die of SIGPIPE after grep's first
# match, and pipefail would then count a stopped stack as running.)
if [[ -d .stack ]]; then
    stack_status=$(scripts/stack.sh status)
    if ! grep -qv ' running ' <<<"$stack_status"; then STACK_WAS_UP=1; fi
fi
scripts/stack.sh up
# The tests read TIERGATE_*_PORT (Tests/IntegrationTests/Support/Stack.swift).
eval "$(scripts/stack.sh env)"
echo "[test] stack up in $(elapsed "$t")"

# --build-tests: compile the test targets here, so the test timing below is the run alone.
t=$(now)
build_status=0
swift build --build-tests || build_status=$?
echo "[test] swift build: $(elapsed "$t") (exit $build_status)"
((build_status == 0)) || exit "$build_status"

# The fuzz smoke needs no service: every fuzz target is built and replays its seeds and
# regression inputs, then runs 20,000 more. A failure fails the run once the tests have run.
fuzz_status=0
if [[ ${TIERGATE_FUZZ_SMOKE:-1} != 0 ]]; then
    t=$(now)
    Fuzz/smoke.sh 20000 || fuzz_status=$?
    echo "[test] fuzz smoke: $(elapsed "$t") (exit $fuzz_status)"
fi

# --no-parallel: the tests share one stack, and the outage tests stop and start its
# services (scripts/stack.sh down redis); run one at a time so none sees another's outage.
t=$(now)
test_status=0
swift test --skip-build --no-parallel "$@" || test_status=$?
echo "[test] swift test: $(elapsed "$t") (exit $test_status)"
((test_status == 0)) || exit "$test_status"
exit "$fuzz_status"
