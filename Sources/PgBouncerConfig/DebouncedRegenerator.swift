import Dispatch
import Synchronization
import TierModel

/// Coalesces regeneration requests: tier changes arrive in bursts (a billing import, an
/// admin script), and each RELOAD makes PgBouncer re-read every pool. A request starts a
/// window; every request inside it joins the same run, which starts when the window ends.
/// Requests that arrive while a run is in progress start the next window, so the last
/// change is always followed by a run that saw it.
///
/// Guarantees: runs never overlap (one serial queue); a burst of N requests within one
/// window causes one run, and a burst lasting T causes about T / window + 1 runs.
public final class DebouncedRegenerator: Sendable {
    /// Runs `work` once `delay` has passed. Injected so tests drive the windows themselves
    /// instead of racing real timers.
    public typealias Scheduler = @Sendable (_ delay: Duration, _ work: @escaping @Sendable () -> Void) -> Void

    public let window: Duration
    private let schedule: Scheduler
    private let action: @Sendable () -> Void
    private let state = Mutex(State())
    /// Where runs happen with the default scheduler; `stop()` waits on it.
    private let queue: DispatchQueue

    private struct State {
        var stopped = false
        var scheduled = false
        var requests = 0
        var runs = 0
    }

    /// `action` runs on a private serial queue; it should report its own errors.
    public init(window: Duration = .milliseconds(500), label: String = "tiergate.pgbouncer-regeneration",
                scheduler: Scheduler? = nil, action: @escaping @Sendable () -> Void) {
        self.window = window
        self.action = action
        let queue = DispatchQueue(label: label)
        self.queue = queue
        schedule = scheduler ?? { delay, work in
            queue.asyncAfter(deadline: .now() + .nanoseconds(delay.nanoseconds), execute: work)
        }
    }

    /// Asks for a regeneration; returns at once.
    public func requestRegeneration() {
        let start = state.withLock { state -> Bool in
            guard !state.stopped else { return false }
            state.requests += 1
            guard !state.scheduled else { return false }
            state.scheduled = true
            return true
        }
        guard start else { return }
        schedule(window) { [self] in
            // Cleared before running: a request during the run opens the next window.
            let stopped = state.withLock { state -> Bool in
                state.scheduled = false
                guard !state.stopped else { return true }
                state.runs += 1
                return false
            }
            if !stopped { action() }
        }
    }

    /// At shutdown: later requests are ignored and a run still waiting for its window does
    /// not start; returns once a run in progress has finished (with the default scheduler),
    /// so the process never exits halfway through writing the file or asking for a RELOAD.
    public func stop() {
        state.withLock { $0.stopped = true }
        queue.sync {}
    }

    /// Requests received and runs started so far, for the admin socket and tests.
    public var counts: (requests: Int, runs: Int) {
        state.withLock { ($0.requests, $0.runs) }
    }
}
