import Synchronization

/// Refused connections by reason since start, as SHOW STATS reports them.
///
/// Kept by `TierGateMetrics.refused(_:tier:)`, the one call that also feeds
/// `tiergate_connections_refused_total`, so the admin socket and /metrics count the same
/// refusals under the same reason names (whether or not /metrics is served).
public final class RefusalCounts: Sendable {
    private let counts = Mutex<[RefusalReason: Int]>([:])

    public init() {}

    func count(_ reason: RefusalReason) {
        counts.withLock { $0[reason, default: 0] += 1 }
    }

    /// Every reason counted at least once, with its count.
    public var snapshot: [RefusalReason: Int] {
        counts.withLock { $0 }
    }
}
