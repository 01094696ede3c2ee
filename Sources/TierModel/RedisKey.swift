/// The Redis keys of seed 2.1, 5.1 and 6.4, built in one place from a validated `OrgId`
/// (which cannot contain `:` or spaces, so keys cannot collide or split).
public enum RedisKey: Sendable {
    /// The cached `OrgTier` (seed 2.1: `tier:org_acme`).
    public static func tier(_ org: OrgId) -> String { "tier:\(org)" }
    /// Rejection counter for thrashing detection (seed 6.4).
    public static func rejections(_ org: OrgId) -> String { "rejections:\(org)" }
    /// Active burst state (seed 5.1).
    public static func burst(_ org: OrgId) -> String { "burst:\(org)" }
    /// Burst cooldown marker (seed 5.1).
    public static func burstCooldown(_ org: OrgId) -> String { "burst:cooldown:\(org)" }

    /// `EXPIRE tier:<org> 300` (seed 2.2 step 4).
    public static let tierTTLSeconds = 300
    /// `EXPIRE rejections:<org> 60` (seed 6.4).
    public static let rejectionsTTLSeconds = 60
}
