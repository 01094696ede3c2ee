#!/usr/bin/env bash
# Builds TierGate's libFuzzer targets straight from the module sources, without SwiftPM, into
# .build-fuzz/ (git-ignored):
#
#   Fuzz/build.sh [TARGET...]     TARGET: StartupDecoder MessageFramer SettingsGuard AdminCommand
#                                 (none: all four)
#
# A target is one executable, .build-fuzz/bin/<Target>Fuzzer: Fuzz/<Target>Fuzzer.swift
# compiled into the module it fuzzes (so it reaches internal API, as that module's tests do),
# beside the modules that one imports. All of it is built with -sanitize=fuzzer,address:
# libFuzzer's coverage, and AddressSanitizer with its leak check. -O keeps Swift's traps
# (bounds, overflow, preconditions) and makes the millions of runs affordable.
# The toolchain's own clang runtime has libFuzzer: no package to install.
# A target is rebuilt only when one of its sources, or this script, is newer than it.
#
# FUZZ_SANITIZE=fuzzer FUZZ_OUT=.build-fuzz/fuzzer-only Fuzz/build.sh builds without
# AddressSanitizer, for long runs: it makes the allocation-heavy targets three times slower.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# Absolute: each compiler runs in a folder of its own under $OUT (see `in_workdir`).
OUT="${FUZZ_OUT:-.build-fuzz}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
SWIFTC="${SWIFTC:-swiftc}"
FLAGS=(-swift-version 6 -parse-as-library -wmo "-sanitize=${FUZZ_SANITIZE:-fuzzer,address}" -O -g)

# The sources each module needs. PostgresWire and TierModel are pure as a whole; of the
# other modules only the pure files the targets use are listed.
TIER_MODEL=("$ROOT"/Sources/TierModel/*.swift)
POSTGRES_WIRE=("$ROOT"/Sources/PostgresWire/*.swift)
# The whole Gate module: the guard's rules span several of its files.
GATE=("$ROOT"/Sources/Gate/*.swift)
# The token bucket Gate's connect-rate limit is built on.
# SocketIO is the socket layer; its request framer is pure, and all the admin line buffer needs.
SOCKET_IO=("$ROOT/Sources/SocketIO/RequestFramer.swift")
ADMIN=("$ROOT"/Sources/Admin/{AdminCommand,AdminCommandTable,AdminLineBuffer,AdminReply}.swift)
SUPPORT=("$ROOT"/Fuzz/Support/*.swift)

TARGETS=(StartupDecoder MessageFramer SettingsGuard AdminCommand)

mkdir -p "$OUT/bin" "$OUT/modules" "$OUT/obj" "$OUT/logs"

# up_to_date OUTPUT INPUT...: OUTPUT exists and no INPUT (nor this script) is newer.
up_to_date() {
    local output=$1 input; shift
    [[ -e $output ]] || return 1
    for input in "$@" "${BASH_SOURCE[0]}"; do [[ $input -nt $output ]] && return 1; done
    return 0
}

# in_workdir NAME COMMAND...: runs COMMAND in a folder of its own under $OUT. swiftc leaves
# by-products (MODULE-1.swiftmodule, .swiftdoc, .swiftsourceinfo) in its working directory:
# run from the repository root they ended up committed, and parallel builds of the same
# module wrote the same files.
in_workdir() {
    local name=$1; shift
    mkdir -p "$OUT/work/$name"
    (cd "$OUT/work/$name" && "$@")
}

# library NAME SOURCE...: a module the targets import, as a .swiftmodule and one object.
library() {
    local name=$1; shift
    up_to_date "$OUT/obj/$name.o" "$@" && return 0
    in_workdir "$name" "$SWIFTC" "${FLAGS[@]}" -module-name "$name" -I "$OUT/modules" -emit-module -emit-module-path "$OUT/modules/$name.swiftmodule" \
        -c "$@" -o "$OUT/obj/$name.o"
}

# target NAME MODULE SOURCE... [-- OBJECT...]: the fuzzer executable.
target() {
    local name=$1 module=$2; shift 2
    local sources=() objects=()
    while (($#)) && [[ $1 != -- ]]; do sources+=("$1"); shift; done
    (($#)) && shift
    objects=("$@")
    sources+=("${SUPPORT[@]}" "$ROOT/Fuzz/${name}Fuzzer.swift")
    up_to_date "$OUT/bin/${name}Fuzzer" "${sources[@]}" "${objects[@]}" && return 0
    in_workdir "${name}Fuzzer" "$SWIFTC" "${FLAGS[@]}" -module-name "$module" -I "$OUT/modules" "${sources[@]}" "${objects[@]}" \
        -o "$OUT/bin/${name}Fuzzer"
}

# Builds run as background jobs, in the two stages below; a failed one
# prints its compiler output.
jobs_pids=()
jobs_names=()
start() {
    local name=$1; shift
    "$@" >"$OUT/logs/$name.log" 2>&1 &
    jobs_pids+=($!)
    jobs_names+=("$name")
}
finish() {
    local i failed=0
    for i in "${!jobs_pids[@]}"; do
        if ! wait "${jobs_pids[$i]}"; then
            echo "[fuzz] building ${jobs_names[$i]} failed:" >&2
            cat "$OUT/logs/${jobs_names[$i]}.log" >&2
            failed=1
        fi
    done
    jobs_pids=()
    jobs_names=()
    ((failed == 0)) || exit 1
}

wanted=("$@")
((${#wanted[@]})) || wanted=("${TARGETS[@]}")
wants() { [[ " ${wanted[*]} " == *" $1 "* ]]; }
for name in "${wanted[@]}"; do
    [[ " ${TARGETS[*]} " == *" $name "* ]] || { echo "[fuzz] unknown target $name (targets: ${TARGETS[*]})" >&2; exit 2; }
done

# Stage 0: PostgresWire, which TierModel (setting names) and Gate (Bind, FunctionCall) import.
if wants SettingsGuard || wants AdminCommand; then start PostgresWireLibrary library PostgresWire "${POSTGRES_WIRE[@]}"; fi
finish
# Stage 1: the other imported modules, and a target that needs none of them.
if wants SettingsGuard || wants AdminCommand; then start TierModel library TierModel "${TIER_MODEL[@]}"; fi
wants AdminCommand && start SocketIO library SocketIO "${SOCKET_IO[@]}"
wants StartupDecoder && start StartupDecoder target StartupDecoder PostgresWire "${POSTGRES_WIRE[@]}"
finish
# Stage 2: the rest.
wants MessageFramer && start MessageFramer target MessageFramer PostgresWire "${POSTGRES_WIRE[@]}"
wants SettingsGuard && start SettingsGuard target SettingsGuard Gate "${GATE[@]}" -- "$OUT/obj/TierModel.o" "$OUT/obj/PostgresWire.o"
wants AdminCommand && start AdminCommand target AdminCommand Admin "${ADMIN[@]}" -- "$OUT/obj/TierModel.o" "$OUT/obj/PostgresWire.o" "$OUT/obj/SocketIO.o"
finish
exit 0
