import Synchronization

/// Tells an admitter that the client left before its admission was answered, so an
/// admission that waits (for a slot in a queue) can give up its place at once instead of
/// holding it, and its timer, until it would have been answered.
///
/// The session calls `cancel()` when it ends; the admitter registers with `onCancel` while
/// it waits. Each handler runs at most once, and never after `answered()`.
public final class AdmissionCancellation: Sendable {
    private enum State {
        case waiting([@Sendable () -> Void])
        case cancelled
        case answered
    }

    private let state = Mutex(State.waiting([]))

    public init() {}

    /// Runs `handler` when the client leaves before the answer (at once, if it already left).
    public func onCancel(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            switch state {
            case .waiting(let handlers):
                state = .waiting(handlers + [handler])
                return false
            case .cancelled:
                return true
            case .answered:
                return false
            }
        }
        if runNow { handler() }
    }

    /// The client left; the handlers run now, on the caller's queue.
    public func cancel() {
        let handlers = state.withLock { state -> [@Sendable () -> Void] in
            guard case .waiting(let handlers) = state else { return [] }
            state = .cancelled
            return handlers
        }
        for handler in handlers { handler() }
    }

    /// The admission was answered: later cancels run nothing.
    public func answered() {
        state.withLock { state in
            if case .waiting = state { state = .answered }
        }
    }

    public var isCancelled: Bool {
        state.withLock { if case .cancelled = $0 { true } else { false } }
    }
}
