/// One org in SHOW ORGS: its tier, a burst's tier, its ceiling, its sessions here and
/// whether a downgrade is pending.
public struct OrgOverview: Sendable, Equatable {
    public let org: OrgId
    /// The tier paid for or fallen back to, without a burst; nil when not cached.
    public let tier: Tier?
    /// The burst tier while a burst runs.
    public let burstingTo: Tier?
    public let maxConnections: Int?
    public let openSessions: Int
    public let pendingEnforcement: Bool

    public init(org: OrgId, tier: Tier?, burstingTo: Tier?, maxConnections: Int?, openSessions: Int,
                pendingEnforcement: Bool) {
        self.org = org
        self.tier = tier
        self.burstingTo = burstingTo
        self.maxConnections = maxConnections
        self.openSessions = openSessions
        self.pendingEnforcement = pendingEnforcement
    }
}
