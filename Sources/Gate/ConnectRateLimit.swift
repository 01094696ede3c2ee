import TierModel
import Throttle

/// One `TokenBucket` per org: the connect-rate limit of one TierGate instance (the
/// shared one in Redis follows the same arithmetic).
///
/// Memory stays bounded by the orgs connecting now: once there are more than
/// `pruneThreshold` buckets, buckets that have refilled to full are dropped (a full bucket
/// is what an org without one gets).
public struct ConnectRateLimit: Sendable {
    private var buckets: [OrgId: TokenBucket] = [:]
    private var rates: [OrgId: (rate: Double, burst: Int)] = [:]
    public let pruneThreshold: Int

    public init(pruneThreshold: Int = 1024) {
        self.pruneThreshold = pruneThreshold
    }

    /// A new connection of `org` under the limits of its tier now.
    public mutating func take(org: OrgId, rate: Double, burst: Int, at now: ContinuousClock.Instant) -> TokenBucketDecision {
        if buckets.count > pruneThreshold { prune(at: now) }
        var bucket = buckets[org] ?? TokenBucket(burst: burst, at: now)
        let decision = bucket.take(rate: rate, burst: burst, at: now)
        buckets[org] = bucket
        rates[org] = (rate, burst)
        return decision
    }

    /// Orgs with a bucket of their own.
    public var trackedOrgs: Int { buckets.count }

    private mutating func prune(at now: ContinuousClock.Instant) {
        for (org, bucket) in buckets {
            guard let limits = rates[org], bucket.isFull(rate: limits.rate, burst: limits.burst, at: now) else { continue }
            buckets[org] = nil
            rates[org] = nil
        }
    }
}
