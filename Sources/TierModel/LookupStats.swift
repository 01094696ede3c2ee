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
