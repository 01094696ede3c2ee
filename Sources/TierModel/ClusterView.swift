/// An org's sessions across the instances that share session leases, as SHOW ORG shows them.
public struct ClusterView: Sendable, Equatable {
    /// Every instance's sessions (authenticated and logins in progress); nil when the shared
    /// count could not be read.
    public let openSessions: Int?
    public let thisInstance: Int
    public let instances: Int
    /// True when the shared count decides; false when each instance falls back to its share.
    public let shared: Bool
    /// This instance's share of the ceiling while in fallback.
    public let ceilingHere: Int?

    public init(openSessions: Int?, thisInstance: Int, instances: Int, shared: Bool, ceilingHere: Int?) {
        self.openSessions = openSessions
        self.thisInstance = thisInstance
        self.instances = instances
        self.shared = shared
        self.ceilingHere = ceilingHere
    }
}

/// This instance's part in the cluster, as SHOW STATS shows it.
public struct ClusterStatistics: Sendable, Equatable {
    public let instanceId: String
    public let shared: Bool
    public let liveInstances: Int
    public let leasesHeldHere: Int
    public let fallbackDecisions: Int
    /// Fallback grants the shared count refused when it answered late (their sessions closed).
    public let revocations: Int
    public let outages: Int

    public init(instanceId: String, shared: Bool, liveInstances: Int, leasesHeldHere: Int, fallbackDecisions: Int,
                revocations: Int, outages: Int) {
        self.instanceId = instanceId
        self.shared = shared
        self.liveInstances = liveInstances
        self.leasesHeldHere = leasesHeldHere
        self.fallbackDecisions = fallbackDecisions
        self.revocations = revocations
        self.outages = outages
    }
}
