# Sourced by scripts/demo.sh and scripts/test.sh: stop the stack however the script ends.
#
#   source scripts/stack-exit.sh
#   stop_stack_on_exit [should_stop]   # should_stop: a function; the stack stays up if it fails
#
# Ctrl-C, SIGTERM and a closed terminal exit through the EXIT trap, so `stack.sh down`
# runs once, in every case.

stop_stack_now() {
    if [[ -n "${STACK_EXIT_CHECK:-}" ]] && ! "$STACK_EXIT_CHECK"; then return; fi
    # Ignore a second Ctrl-C, a closed terminal or a closed pipe while stopping, so the
    # stack is not left half-stopped; stack.sh inherits these dispositions.
    trap '' INT TERM HUP PIPE
    scripts/stack.sh down || true
}

stop_stack_on_exit() {
    STACK_EXIT_CHECK="${1:-}"
    trap stop_stack_now EXIT
    # Ctrl-C reaches a foreground child and this script alike; exit through the EXIT trap.
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}
