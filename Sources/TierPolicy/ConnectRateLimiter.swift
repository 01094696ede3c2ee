import Dispatch
import Gate
import Synchronization
import TierModel
import TierStore
import Throttle

/// The per-org connect-rate limit: shared by every TierGate through Redis when it is
/// configured (`ConnectRateLedger`, one atomic script per connection), else this instance's
/// own buckets (`ConnectRateLimit`).
///
/// Guarantees:
/// - A decision never waits longer than `sharedWait` for Redis: a slower or failed answer
///   is replaced by this instance's own bucket, so an outage never holds connections up (a
///   Redis answer that comes after the fallback may still take its token there).
/// - Without Redis, or while it is down, the limit holds per instance: N instances admit at
///   most N times the rate.
/// - Every call completes exactly once: at once without Redis, else from a Dispatch queue,
///   never a session's loop.
/// - Redis is asked one connection at a time (a serial queue): the limiter never holds more
///   than one of the shared Redis connections.
final class ConnectRateLimiter: Sendable {
    private let local = Mutex(ConnectRateLimit())
    private let shared: ConnectRateLedger?
    private let sharedWait: Duration
    private let clock: any PolicyClock
    /// Redis calls, one at a time: the limiter holds at most one of the shared Redis
    /// connections, so a connect storm does not grow the pool (each call takes ~0.1-0.3 ms).
    private let queue = DispatchQueue(label: "tiergate.connect-rate")
    /// The fallback timers, apart: they must fire while a Redis call blocks `queue`.
    private let timers = DispatchQueue(label: "tiergate.connect-rate.fallback")

    init(shared: ConnectRateLedger?, sharedWait: Duration, clock: any PolicyClock) {
        self.shared = shared
        self.sharedWait = sharedWait
        self.clock = clock
    }

    /// Takes a token for a new connection of `org` under its tier's `connectRate` and `connectBurst`.
    func take(_ org: OrgTier, completion: @escaping @Sendable (TokenBucketDecision) -> Void) {
        let rate = org.limits.postgres.connectRate
        let burst = org.limits.postgres.connectBurst
        guard let shared else { return completion(takeLocally(org.orgId, rate: rate, burst: burst)) }
        let once = Once(completion)
        queue.async { [self] in
            let answer = shared.take(org.orgId, rate: rate, burst: burst)
            once.run {
                guard let answer else { return takeLocally(org.orgId, rate: rate, burst: burst) }
                return answer.allowed ? .allowed : .refused(retryAfter: .milliseconds(answer.retryAfterMilliseconds))
            }
        }
        timers.asyncAfter(deadline: .now() + .nanoseconds(sharedWait.nanoseconds)) { [self] in
            once.run { takeLocally(org.orgId, rate: rate, burst: burst) }
        }
    }

    private func takeLocally(_ org: OrgId, rate: Double, burst: Int) -> TokenBucketDecision {
        local.withLock { $0.take(org: org, rate: rate, burst: burst, at: clock.now) }
    }

    /// Calls its completion once, for whichever answer comes first.
    private final class Once: Sendable {
        private let completion: Mutex<(@Sendable (TokenBucketDecision) -> Void)?>

        init(_ completion: @escaping @Sendable (TokenBucketDecision) -> Void) {
            self.completion = Mutex(completion)
        }

        /// The first caller decides (`decide` runs only for it) and completes; later ones do nothing.
        func run(_ decide: () -> TokenBucketDecision) {
            let pending = completion.withLock { current -> (@Sendable (TokenBucketDecision) -> Void)? in
                defer { current = nil }
                return current
            }
            guard let pending else { return }
            pending(decide())
        }
    }
}
