/// A `TokenBucket` per key (an org, a client address), with memory bounded by the keys in
/// use: past `pruneThreshold` buckets, those that have refilled to full are dropped (a full
/// bucket is what a new key gets, so dropping one changes no answer).
public struct TokenBuckets<Key: Hashable & Sendable>: Sendable {
    private struct Entry: Sendable {
        var bucket: TokenBucket
        /// The rule of the last take: what "refilled" is judged by when pruning.
        var rate: Double
        var burst: Int
    }

    private var entries: [Key: Entry] = [:]
    public let pruneThreshold: Int

    public init(pruneThreshold: Int = 1024) {
        self.pruneThreshold = pruneThreshold
    }

    /// Takes one token from `key`'s bucket under the rule given now.
    public mutating func take(_ key: Key, rate: Double, burst: Int, at now: ContinuousClock.Instant) -> TokenBucketDecision {
        var entry = entries[key] ?? Entry(bucket: TokenBucket(burst: burst, at: now), rate: rate, burst: burst)
        let decision = entry.bucket.take(rate: rate, burst: burst, at: now)
        entry.rate = rate
        entry.burst = burst
        entries[key] = entry
        if entries.count > pruneThreshold {
            entries = entries.filter { !$0.value.bucket.isFull(rate: $0.value.rate, burst: $0.value.burst, at: now) }
        }
        return decision
    }

    /// Keys with a bucket of their own.
    public var count: Int { entries.count }

    /// Forgets every bucket (an owner's last resort when none has refilled).
    public mutating func removeAll() { entries.removeAll() }
}
