/// Where a tier lookup was answered or failed (docs/design.md#tier-source), as the `layer` and
/// `result` labels of `tiergate_tier_cache_lookups_total`.
public enum LookupEvent: Sendable, CaseIterable {
    case inProcessHit
    case inProcessMiss
    case redisHit
    case redisMiss
    /// A Redis value older than 5 minutes by `cachedAt` (docs/design.md#tier-source).
    case redisStale
    case redisError
    /// A read of the org source (MongoDB, or the embedded orgs file).
    case sourceRead
    case sourceError
    /// Answered from stale knowledge because the source was down.
    case staleServed

    public var layer: String {
        switch self {
        case .inProcessHit, .inProcessMiss: "in_process"
        case .redisHit, .redisMiss, .redisStale, .redisError: "redis"
        case .sourceRead, .sourceError, .staleServed: "mongodb"
        }
    }

    public var result: String {
        switch self {
        case .inProcessHit, .redisHit: "hit"
        case .inProcessMiss, .redisMiss: "miss"
        case .redisStale: "stale"
        case .redisError, .sourceError: "error"
        case .sourceRead: "read"
        case .staleServed: "stale_served"
        }
    }
}
