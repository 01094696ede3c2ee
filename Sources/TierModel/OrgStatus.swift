import Foundation

/// What this instance knows of one org, as SHOW ORG shows it: the tier as served now (a
/// lapsed subscription or a burst already applied), its sessions here and across the
/// cluster, its burst, and a downgrade waiting for its grace period to end. A value the tier
/// policy builds and the admin socket renders; nothing in it is text to parse back.
public struct OrgStatus: Sendable {
    /// A downgrade below current use, enforced when its grace period ends.
    public struct PendingEnforcement: Sendable, Equatable {
        public let tier: Tier
        public let ceiling: Int
        public let openAtChange: Int
        /// Sessions open now beyond the ceiling (never negative).
        public let excess: Int
        /// The end of the grace period on the wall clock.
        public let at: Date
        /// Whole seconds until then, rounded up (never negative).
        public let inSeconds: Int

        public init(tier: Tier, ceiling: Int, openAtChange: Int, excess: Int, at: Date, inSeconds: Int) {
            self.tier = tier
            self.ceiling = ceiling
            self.openAtChange = openAtChange
            self.excess = excess
            self.at = at
            self.inSeconds = inSeconds
        }
    }

    public let org: OrgId
    /// Nil when the org is neither cached nor has sessions here.
    public let tier: OrgTier?
    public let burst: BurstStatus
    /// Authenticated sessions on this instance (what the ceiling counts).
    public let openSessions: Int
    public let loginsInProgress: Int
    /// Nil without shared session leases.
    public let cluster: ClusterView?
    /// The org's label in the per-org /metrics series; nil when they are off.
    public let metricsLabel: String?
    public let pendingEnforcement: PendingEnforcement?

    public init(org: OrgId, tier: OrgTier?, burst: BurstStatus, openSessions: Int, loginsInProgress: Int,
                cluster: ClusterView?, metricsLabel: String?, pendingEnforcement: PendingEnforcement?) {
        self.org = org
        self.tier = tier
        self.burst = burst
        self.openSessions = openSessions
        self.loginsInProgress = loginsInProgress
        self.cluster = cluster
        self.metricsLabel = metricsLabel
        self.pendingEnforcement = pendingEnforcement
    }
}
