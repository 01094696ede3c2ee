import CoreMetrics

/// The metrics of the count shared between instances: whether it decides now, how often the
/// local fallback had to, how many outages, and cancel requests by outcome. Created once,
/// after the bootstrap, like `TierGateMetrics`.
public final class ClusterMetrics: Sendable {
    public enum Name {
        public static let shared = "tiergate_session_leases_shared"
        public static let fallbacks = "tiergate_session_lease_fallbacks_total"
        public static let outages = "tiergate_session_lease_outages_total"
        public static let revocations = "tiergate_session_lease_revocations_total"
        public static let leaseWait = "tiergate_session_lease_wait_seconds"
        public static let cancels = "tiergate_cancel_requests_total"
    }

    /// What became of a CancelRequest a client sent this instance.
    public enum CancelOutcome: String, Sendable, CaseIterable {
        /// Its key was this instance's own session's.
        case forwardedLocal = "forwarded_local"
        /// Another instance's session's, found in Redis.
        case forwardedShared = "forwarded_shared"
        /// No session has the key (ignored silently, as Postgres does).
        case unknown
        /// Over the per-address rate (ignored silently).
        case rateLimited = "rate_limited"
    }

    private let sharedGauge: Gauge
    private let fallbackCounter: Counter
    private let outageCounter: Counter
    private let revocationCounter: Counter
    private let waitTimer: Timer
    private let cancelCounters: [CancelOutcome: Counter]

    /// The process's handles, made at first use: after the bootstrap, as `serve` uses them.
    public static let shared = ClusterMetrics()

    public init(factory: any MetricsFactory = MetricsSystem.factory) {
        sharedGauge = Gauge(label: Name.shared, dimensions: [], factory: factory)
        fallbackCounter = Counter(label: Name.fallbacks, dimensions: [], factory: factory)
        outageCounter = Counter(label: Name.outages, dimensions: [], factory: factory)
        revocationCounter = Counter(label: Name.revocations, dimensions: [], factory: factory)
        waitTimer = Timer(label: Name.leaseWait, dimensions: [], factory: factory)
        cancelCounters = Dictionary(uniqueKeysWithValues: CancelOutcome.allCases.map {
            ($0, Counter(label: Name.cancels, dimensions: [("outcome", $0.rawValue)], factory: factory))
        })
        sharedGauge.record(0)
    }

    /// 1 while the shared count decides admissions, 0 while the local fallback does.
    public func sharedCount(_ on: Bool) { sharedGauge.record(on ? 1 : 0) }

    /// An admission decided by the local fallback share.
    public func fallbackDecision() { fallbackCounter.increment() }

    /// A fallback grant the shared count refused when it answered late: its session closed.
    public func revocation() { revocationCounter.increment() }

    /// The shared count became unreachable.
    public func outageStarted() { outageCounter.increment() }

    /// How long an admission waited for its lease (bounded by the lease wait).
    public func leaseWaited(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        waitTimer.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    public func cancel(_ outcome: CancelOutcome) { cancelCounters[outcome]?.increment() }
}
