#!/usr/bin/env bash
# Runs one fuzz target (built by Fuzz/build.sh) over its seeds and regression inputs:
#
#   Fuzz/run.sh TARGET [libFuzzer flag...]      e.g. Fuzz/run.sh MessageFramer -runs=10000000
#
# Every file of Fuzz/corpus/TARGET/ and Fuzz/regressions/TARGET/ is run first, so an input
# that once broke the target fails the run at once; then libFuzzer mutates them. Inputs that
# reach new coverage go to $FUZZ_WORK/TARGET/ (default .build-fuzz/corpus, kept between
# runs), a crashing input to .build-fuzz/artifacts/TARGET/: the committed folders are only
# read. Flags given here come after the defaults below and override them. FUZZ_OUT runs a
# build made with the same FUZZ_OUT (Fuzz/build.sh).
# Exits with libFuzzer's status: 0 when no input crashed, hung, leaked or broke an invariant.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
OUT="${FUZZ_OUT:-.build-fuzz}"

target=${1:?usage: Fuzz/run.sh TARGET [libFuzzer flag...]}
shift
# -max_len per target: past the startup packet limit (10,000 bytes); a few kB of messages;
# a long query (the tricks a lexer must see through are short; longer inputs cost time);
# a conversation of many admin lines (the smaller line limits the target picks are
# exceeded; the server's 4,096 is not, the unit tests cover it).
case $target in
    StartupDecoder) max_len=10240 ;;
    MessageFramer) max_len=4096 ;;
    SettingsGuard) max_len=512 ;;
    AdminCommand) max_len=1024 ;;
    *) echo "[fuzz] unknown target $target" >&2; exit 2 ;;
esac

binary="$OUT/bin/${target}Fuzzer"
[[ -x $binary ]] || { echo "[fuzz] $binary is missing: run Fuzz/build.sh first" >&2; exit 2; }
work="${FUZZ_WORK:-$OUT/corpus}/$target"
artifacts="$OUT/artifacts/$target"
mkdir -p "$work" "$artifacts"
inputs=("Fuzz/corpus/$target")
[[ -d Fuzz/regressions/$target ]] && inputs+=("Fuzz/regressions/$target")

# Swift's own crash backtracer would read the crashed stack under AddressSanitizer and
# report itself; libFuzzer's handler reports the crash and keeps the input.
export SWIFT_BACKTRACE=enable=no
# AddressSanitizer records a stack for every allocation and holds freed memory in a 256 MB
# quarantine; the Swift code under test allocates for every token and string, and that
# bookkeeping was most of a run's time. Memory errors and leaks are still caught; to see
# where a reported block was allocated, replay the input with the defaults:
#   ASAN_OPTIONS= .build-fuzz/bin/TARGETFuzzer .build-fuzz/artifacts/TARGET/crash-...
export ASAN_OPTIONS="${ASAN_OPTIONS-malloc_context_size=0:quarantine_size_mb=16}"
# -timeout: an input that takes 10 s is a hang (the slowest seed takes milliseconds).
# -rss_limit_mb: an input that makes a target hold 2 GB is a finding too.
exec "$binary" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$@" "$work" "${inputs[@]}"
