import Synchronization
import TierPolicy

/// A `PolicyClock` that moves only when a test says so. Scheduled work runs inside
/// `advance(by:)`, on the test's thread, in the order it falls due.
final class ManualClock: PolicyClock {
    private struct Scheduled {
        let due: Duration
        let order: Int
        let work: @Sendable () -> Void
    }

    private let origin = ContinuousClock.now
    private let state = Mutex<(elapsed: Duration, scheduled: [Scheduled], nextOrder: Int)>((.zero, [], 0))

    var now: ContinuousClock.Instant { origin + state.withLock { $0.elapsed } }

    /// Work waiting for its time.
    var pendingWork: Int { state.withLock { $0.scheduled.count } }

    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        state.withLock { state in
            state.scheduled.append(Scheduled(due: state.elapsed + delay, order: state.nextOrder, work: work))
            state.nextOrder += 1
        }
    }

    /// Moves time forward by `duration`, running each piece of work that falls due on the
    /// way at its own time (work it schedules runs too, if due in time).
    func advance(by duration: Duration) {
        let target = state.withLock { $0.elapsed } + duration
        while let next = takeNext(dueBy: target) { next() }
        state.withLock { $0.elapsed = target }
    }

    private func takeNext(dueBy target: Duration) -> (@Sendable () -> Void)? {
        state.withLock { state in
            guard let index = state.scheduled.indices
                .filter({ state.scheduled[$0].due <= target })
                .min(by: { (state.scheduled[$0].due, state.scheduled[$0].order) < (state.scheduled[$1].due, state.scheduled[$1].order) })
            else { return nil }
            let next = state.scheduled.remove(at: index)
            state.elapsed = max(state.elapsed, next.due)
            return next.work
        }
    }
}
