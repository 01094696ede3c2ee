import Dispatch
import TierModel

/// The real `PolicyClock`: `ContinuousClock` for the time, a global Dispatch queue for the
/// work.
public struct DispatchClock: PolicyClock {
    public init() {}

    public var now: ContinuousClock.Instant { .now }

    public func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void) {
        DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(delay.nanoseconds), execute: work)
    }
}
