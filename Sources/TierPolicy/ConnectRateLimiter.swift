import Dispatch
import Gate
import Synchronization
import TierModel
import TierStore
import Throttle

/// The per-org connect-rate limit: shared by every TierGate through Redis when it is
/// configured (`ConnectRateLedger`, one atomic script per connection), else this instance's
/// own buckets (`TokenBuckets` by org).
///
/// Guarantees:
/// - Redis decides whenever it answers. Connections waiting for it go in one pipeline per
///   round trip, so a connect storm queues no connection behind another's round trip.
/// - This instance's own bucket decides only when Redis is quiet (a due reply without a
///   byte for `sharedWait`, measured on the socket, so a starved proxy never takes its own
///   slowness for Redis') or unavailable: an outage never holds connections up longer than
///   that. A Redis answer that comes after the local decision still takes its token there.
/// - Without Redis, or while it is down, the limit holds per instance: N instances admit at
///   most N times the rate.
/// - Every call completes exactly once: at once without Redis, else from a Dispatch queue,
///   never a session's loop.
/// - Redis is asked on one serial queue: the limiter never holds more than one of the
///   shared Redis connections.
final class ConnectRateLimiter: Sendable {
    private struct Waiting: Sendable {
        let request: ConnectRateLedger.Request
        let once: AnswerOnce<TokenBucketDecision>
    }

    private struct State {
        var waiting: [Waiting] = []
        var drainScheduled = false
        /// The call in flight has been silent `sharedWait`: local buckets decide until it answers.
        var quiet = false
    }

    private let local = Mutex(TokenBuckets<OrgId>())
    private let shared: ConnectRateLedger?
    private let sharedWait: Duration
    private let clock: any PolicyClock
    private let queue = DispatchQueue(label: "tiergate.connect-rate")
    private let state = Mutex(State())

    init(shared: ConnectRateLedger?, sharedWait: Duration, clock: any PolicyClock) {
        self.shared = shared
        self.sharedWait = sharedWait
        self.clock = clock
    }

    /// Takes a token for a new connection of `org` under its tier's `connectRate` and `connectBurst`.
    func take(_ org: OrgTier, completion: @escaping @Sendable (TokenBucketDecision) -> Void) {
        let request = ConnectRateLedger.Request(org: org.orgId, rate: org.limits.postgres.connectRate,
                                                burst: org.limits.postgres.connectBurst)
        guard shared != nil else { return completion(takeLocally(request)) }
        let once = AnswerOnce(completion)
        let (quiet, schedule) = state.withLock { state -> (Bool, Bool) in
            state.waiting.append(Waiting(request: request, once: once))
            defer { state.drainScheduled = true }
            return (state.quiet, !state.drainScheduled)
        }
        // Asked of Redis all the same (its bucket keeps count), decided here now.
        if quiet { once.answer { takeLocally(request) } }
        if schedule { queue.async { [self] in drain() } }
    }

    /// On the queue: every waiting request in one pipeline.
    private func drain() {
        guard let shared else { return }
        let batch = state.withLock { state -> [Waiting] in
            defer {
                state.waiting = []
                state.drainScheduled = false
            }
            return state.waiting
        }
        guard !batch.isEmpty else { return }
        let answers = shared.take(batch.map(\.request), quiet: QuietWatch(after: sharedWait) { [self] in wentQuiet(batch) })
        state.withLock { $0.quiet = false }
        for (index, waiting) in batch.enumerated() {
            waiting.once.answer {
                guard let answer = answers?[index] else { return takeLocally(waiting.request) }
                return answer.allowed ? .allowed : .refused(retryAfter: .milliseconds(answer.retryAfterMilliseconds))
            }
        }
    }

    /// Redis silent on `batch`: it, and whatever comes while Redis stays quiet, is decided here.
    private func wentQuiet(_ batch: [Waiting]) {
        let queued = state.withLock { state -> [Waiting] in
            state.quiet = true
            return state.waiting
        }
        for waiting in batch + queued { waiting.once.answer { takeLocally(waiting.request) } }
    }

    private func takeLocally(_ request: ConnectRateLedger.Request) -> TokenBucketDecision {
        local.withLock { $0.take(request.org, rate: request.rate, burst: request.burst, at: clock.now) }
    }
}
