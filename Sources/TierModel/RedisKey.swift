/// The Redis keys of seed 2.1, 5.1 and 6.4, built in one place from a validated `OrgId`
/// (which cannot contain `:` or spaces, so keys cannot collide or split).
public enum RedisKey: Sendable {
    /// The cached `OrgTier` (seed 2.1: `tier:org_acme`).
    public static func tier(_ org: OrgId) -> String { "tier:\(org)" }
    /// Rejection counter for thrashing detection (seed 6.4).
    public static func rejections(_ org: OrgId) -> String { "rejections:\(org)" }
    /// Active burst state (seed 5.1).
    public static func burst(_ org: OrgId) -> String { "burst:\(org)" }
    /// The org's shared connect-rate token bucket (a hash: tokens, ts).
    public static func connectRate(_ org: OrgId) -> String { "connrate:\(org)" }
    /// Burst cooldown marker (seed 5.1). `off` without a TTL is the `BURST OFF` kill switch.
    public static func burstCooldown(_ org: OrgId) -> String { "burst:cooldown:\(org)" }
    /// Hash: org -> the org's latest `BurstState` with its billed minutes and end. Kept out
    /// of `burst:*` so the seed's billing cron (which scans `burst:*`) never mistakes it for
    /// a running burst, and without a TTL so a burst's end is recorded even when no
    /// instance was looking at the moment it expired.
    public static let burstRecords = "tiergate:bursts"
    /// Hash: org -> burst minutes billed, ever (the billing counter; HGETALL for an export).
    public static let burstMinutesBilled = "tiergate:burst-minutes"

    /// Counts invalidations of the org's tier (issue 5). A lookup reads it with the cached
    /// value and may write `tier:<org>` back only if it is unchanged, so a lookup that began
    /// before an invalidation can never put the old tier back (a fencing token).
    public static func tierGeneration(_ org: OrgId) -> String { "tiergen:\(org)" }
    /// The pub/sub channel every TierGate subscribes to; its messages are `Announcement`s.
    public static let invalidationChannel = "tiergate:invalidate"

    /// `EXPIRE tier:<org> 300` (seed 2.2 step 4).
    public static let tierTTLSeconds = 300
    /// `EXPIRE rejections:<org> 60` (seed 6.4).
    public static let rejectionsTTLSeconds = 60
}
