import Synchronization
import Telemetry
import TierModel

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
