/// CancelRequests per client address: a token bucket each, so one address cannot make the
/// proxy open connections to Postgres (or look keys up in Redis) as fast as it can send.
/// Requests over the rate are dropped silently, as unknown keys are: a CancelRequest has no
/// reply. A plain value, time passed in; the owner keeps it behind a lock.
public struct CancelRateLimit: Sendable {
    public struct Rule: Sendable, Equatable {
        /// Sustained requests per second per address.
        public var perSecond: Double
        /// Requests an address may send at once after being quiet.
        public var burst: Double

        public init(perSecond: Double = 10, burst: Double = 20) {
            self.perSecond = perSecond
            self.burst = burst
        }
    }

    public let rule: Rule
    /// Addresses remembered at most; past it, those whose bucket has refilled are forgotten
    /// (they would be allowed anyway), so memory stays bounded whoever sends.
    public let maxAddresses: Int
    private var buckets: [String: (tokens: Double, at: ContinuousClock.Instant)] = [:]

    public init(rule: Rule = Rule(), maxAddresses: Int = 10_000) {
        self.rule = rule
        self.maxAddresses = maxAddresses
    }

    /// Takes one request from `address`'s bucket: false when it is empty.
    public mutating func allow(_ address: String, now: ContinuousClock.Instant) -> Bool {
        var bucket = buckets[address] ?? (rule.burst, now)
        let elapsed = now - bucket.at
        let refill = (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18) * rule.perSecond
        bucket = (min(rule.burst, bucket.tokens + refill), now)
        let allowed = bucket.tokens >= 1
        if allowed { bucket.tokens -= 1 }
        buckets[address] = bucket
        if buckets.count > maxAddresses { forgetRefilled(now: now) }
        return allowed
    }

    public var rememberedAddresses: Int { buckets.count }

    private mutating func forgetRefilled(now: ContinuousClock.Instant) {
        let refillTime = Duration.milliseconds(Int((rule.burst / max(rule.perSecond, 0.001)) * 1000))
        buckets = buckets.filter { now - $0.value.at < refillTime }
        if buckets.count > maxAddresses { buckets.removeAll() }
    }

    /// The address without its port (`127.0.0.1:5432`, `[::1]:5432`).
    public static func host(of peer: String) -> String {
        if peer.hasPrefix("["), let close = peer.firstIndex(of: "]") {
            return String(peer[peer.index(after: peer.startIndex)..<close])
        }
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        return String(peer[..<colon])
    }
}
