/// The Redis keys of docs/design.md#redis-keys, built in one place from a validated `OrgId`
/// (which cannot contain `:` or spaces, so keys cannot collide or split).
public enum RedisKey: Sendable {
    /// The cached `OrgTier` (docs/design.md#tier-source: `tier:org_acme`).
    public static func tier(_ org: OrgId) -> String { "tier:\(org)" }
    /// Rejection counter for thrashing detection (docs/design.md#thrashing).
    public static func rejections(_ org: OrgId) -> String { "rejections:\(org)" }
    /// Active burst state (docs/design.md#bursts).
    public static func burst(_ org: OrgId) -> String { "burst:\(org)" }
    /// The org's shared connect-rate token bucket (a hash: tokens, ts).
    public static func connectRate(_ org: OrgId) -> String { "connrate:\(org)" }
    /// Burst cooldown marker (docs/design.md#bursts). `off` without a TTL is the `BURST OFF` kill switch.
    public static func burstCooldown(_ org: OrgId) -> String { "burst:cooldown:\(org)" }
    /// Hash: org -> the org's latest `BurstState` with its billed minutes and end. Kept out
    /// of `burst:*` so a billing cron that scans `burst:*` never mistakes it for
    /// a running burst, and without a TTL so a burst's end is recorded even when no
    /// instance was looking at the moment it expired.
    public static let burstRecords = "tiergate:bursts"
    /// Hash: org -> burst minutes billed, ever (the billing counter; HGETALL for an export).
    public static let burstMinutesBilled = "tiergate:burst-minutes"

    /// Counts invalidations of the org's tier. A lookup reads it with the cached
    /// value and may write `tier:<org>` back only if it is unchanged, so a lookup that began
    /// before an invalidation can never put the old tier back (a fencing token).
    public static func tierGeneration(_ org: OrgId) -> String { "tiergen:\(org)" }
    /// The pub/sub channel every TierGate subscribes to; its messages are `Announcement`s.
    public static let invalidationChannel = "tiergate:invalidate"

    /// `EXPIRE tier:<org> 300` (docs/design.md#tier-source).
    public static let tierTTLSeconds = 300
    /// `EXPIRE rejections:<org> 60` (docs/design.md#thrashing).
    public static let rejectionsTTLSeconds = 60
}
