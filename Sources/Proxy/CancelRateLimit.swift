import Throttle

/// CancelRequests per client address: a token bucket each, so one address cannot make the
/// proxy open connections to Postgres (or look keys up in Redis) as fast as it can send.
/// Requests over the rate are dropped silently, as unknown keys are: a CancelRequest has no
/// reply. A plain value, time passed in; the owner keeps it behind a lock.
public struct CancelRateLimit: Sendable {
    public struct Rule: Sendable, Equatable {
        /// Sustained requests per second per address.
        public var perSecond: Double
        /// Requests an address may send at once after being quiet.
        public var burst: Int

        public init(perSecond: Double = 10, burst: Int = 20) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    public let rule: Rule
    /// Addresses remembered at most; past it, those whose bucket is full again are forgotten
    /// (`TokenBuckets`), and all of them if none is, so memory stays bounded whoever sends.
    public let maxAddresses: Int
    private var buckets: TokenBuckets<String>

    public init(rule: Rule = Rule(), maxAddresses: Int = 10_000) {
        self.rule = rule
        self.maxAddresses = maxAddresses
        buckets = TokenBuckets(pruneThreshold: maxAddresses)
    }

    /// Takes one request from `address`'s bucket: false when it is empty.
    public mutating func allow(_ address: String, now: ContinuousClock.Instant) -> Bool {
        let allowed = buckets.take(address, rate: rule.perSecond, burst: rule.burst, at: now) == .allowed
        if buckets.count > maxAddresses { buckets.removeAll() }
        return allowed
    }

    public var rememberedAddresses: Int { buckets.count }
}
