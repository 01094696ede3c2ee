import Synchronization
import Telemetry

/// Counts of where tier lookups were answered, per layer. Read by the admin socket, the
/// metrics endpoint and the tests ("200 first connections cause one MongoDB lookup").
public struct LookupStats: Sendable, Equatable {
    public var inProcessHits = 0
    public var inProcessMisses = 0
    public var redisHits = 0
    public var redisMisses = 0
    /// Redis values found but older than 5 minutes by `cachedAt` (docs/design.md#tier-source).
    public var redisStale = 0
    public var redisErrors = 0
    public var sourceLookups = 0
    public var sourceErrors = 0
    /// Lookups answered from stale knowledge because the source was down.
    public var staleServed = 0
    /// Callers that waited on another caller's lookup instead of starting their own.
    public var coalesced = 0

    public init() {}
}

final class LookupCounters: Sendable {
    private let stats = Mutex(LookupStats())
    /// The same counts as `tiergate_tier_cache_lookups_total{layer,result}`; nil: not exported.
    private let metrics: TierGateMetrics?

    init(metrics: TierGateMetrics? = nil) { self.metrics = metrics }

    private static func event(_ field: WritableKeyPath<LookupStats, Int>) -> LookupEvent? {
        switch field {
        case \.inProcessHits: .inProcessHit
        case \.inProcessMisses: .inProcessMiss
        case \.redisHits: .redisHit
        case \.redisMisses: .redisMiss
        case \.redisStale: .redisStale
        case \.redisErrors: .redisError
        case \.sourceLookups: .sourceRead
        case \.sourceErrors: .sourceError
        case \.staleServed: .staleServed
        default: nil
        }
    }

    func bump(_ field: WritableKeyPath<LookupStats, Int>, by n: Int = 1) {
        stats.withLock { $0[keyPath: field] += n }
        if let metrics, let event = Self.event(field) {
            for _ in 0..<n { metrics.lookup(event) }
        }
    }

    var snapshot: LookupStats { stats.withLock { $0 } }
}
