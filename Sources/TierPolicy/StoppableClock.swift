import Synchronization

/// A `PolicyClock` whose timers can all be stopped at once: at shutdown, once the sessions
/// have drained, the policy's upkeep (burst checks, downgrade enforcement) must not go on
/// calling Redis while the process winds down.
///
/// Guarantees: after `stop()` returns, no work scheduled through this clock starts, whether
/// it was scheduled before or after; work already running finishes. Time reads go on.
public final class StoppableClock: PolicyClock {
    private let base: any PolicyClock
    private let stopped = Atomic(false)

    public init(_ base: any PolicyClock = DispatchClock()) {
        self.base = base
    }

    public var now: ContinuousClock.Instant { base.now }

    public var isStopped: Bool { stopped.load(ordering: .acquiring) }

    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        guard !isStopped else { return }
        base.schedule(after: delay) { [self] in
            guard !isStopped else { return }
            work()
        }
    }

    public func stop() {
        stopped.store(true, ordering: .releasing)
    }
}
