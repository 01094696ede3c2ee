import Dispatch
import Synchronization

/// Coalesces regeneration requests: tier changes arrive in bursts (a billing import, an
/// admin script), and each RELOAD makes PgBouncer re-read every pool. A request starts a
/// window; every request inside it joins the same run, which starts when the window ends.
/// Requests that arrive while a run is in progress start the next window, so the last
/// change is always followed by a run that saw it.
///
/// Guarantees: runs never overlap (one serial queue); a burst of N requests within one
/// window causes one run, and a burst lasting T causes about T / window + 1 runs.
public final class DebouncedRegenerator: Sendable {
    public let window: Duration
    private let queue: DispatchQueue
    private let action: @Sendable () -> Void
    private let state = Mutex(State())

    private struct State {
        var scheduled = false
        var requests = 0
        var runs = 0
    }

    /// `action` runs on a private serial queue; it should report its own errors.
    public init(window: Duration = .milliseconds(500), label: String = "tiergate.pgbouncer-regeneration",
                action: @escaping @Sendable () -> Void) {
        self.window = window
        self.queue = DispatchQueue(label: label)
        self.action = action
    }

    /// Asks for a regeneration; returns at once.
    public func requestRegeneration() {
        let start = state.withLock { state -> Bool in
            state.requests += 1
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        guard start else { return }
        let (seconds, attoseconds) = window.components
        let nanoseconds = Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
        queue.asyncAfter(deadline: .now() + .nanoseconds(nanoseconds)) { [self] in
            // Cleared before running: a request during the run opens the next window.
            state.withLock {
                $0.scheduled = false
                $0.runs += 1
            }
            action()
        }
    }

    /// Requests received and runs started so far, for the admin socket and tests.
    public var counts: (requests: Int, runs: Int) {
        state.withLock { ($0.requests, $0.runs) }
    }
}
