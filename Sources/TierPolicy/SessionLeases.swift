import Gate
import TierModel

/// The org's sessions counted across every TierGate instance: what makes a ceiling one
/// ceiling however many instances sit behind the load balancer.
///
/// A session takes a lease when it is admitted (as a login in progress) and gives it back
/// when it ends; the answer tells the admission how many sessions the org holds cluster-wide
/// with this one. Implementations answer within a short bound whatever their store does
/// (`RedisSessionLeases`: 50 ms of silence from Redis, then a local share of the ceiling,
/// provisionally until Redis answers).
public protocol SessionLeases: Sendable {
    /// Takes a lease for `ticket` under `ceiling`, unless the org's live leases are already
    /// at it. `completion` runs exactly once, on any queue, never on the caller's stack
    /// while a lock of the caller's is held.
    func acquire(_ ticket: SessionTicket, ceiling: Int, completion: @escaping @Sendable (LeaseAnswer) -> Void)
    /// Gives the ticket's lease back; idempotent, and a no-op for a ticket that holds none.
    func release(_ ticket: SessionTicket)
    /// After a downgrade's grace: of `candidates` (ticket ids of this instance's sessions of
    /// `org`, the ones to close first first), those this instance closes so that the org's cluster-wide
    /// count comes down to `ceiling`. Their leases are returned at once, so instances
    /// enforcing at the same moment never close more than the excess between them.
    /// Blocking (one store round trip); never call it on a session's loop.
    func claimExcess(org: OrgId, ceiling: Int, candidates: [UInt64]) -> [UInt64]
    /// The org's count as SHOW ORG shows it. Blocking.
    func count(_ org: OrgId) -> ClusterCount
    /// The lease store's state as SHOW STATS shows it.
    var status: ClusterStatus { get }
    /// Called when a lease granted without the store (its share, while the store was slow)
    /// is refused by the store's count after all: the session it admitted is over the
    /// ceiling and must go. Set once, before admissions start.
    func onRevoke(_ handler: @escaping @Sendable (LeaseRevocation) -> Void)
    /// The ticket's revocation, once (until its release): whoever gets it ends the session,
    /// so a login that authenticates as its lease is revoked is ended once.
    func takeRevocation(_ ticket: SessionTicket) -> LeaseRevocation?
}

/// A provisional lease the store refused: the session it admitted is over the ceiling.
public struct LeaseRevocation: Sendable, Equatable {
    public var ticket: SessionTicket
    /// The org's leases as the store counted them when it refused.
    public var open: Int
    public var ceiling: Int
}

/// A lease request's outcome.
public enum LeaseAnswer: Sendable, Equatable {
    /// Leased; `open` is the org's lease count with this one (cluster-wide, or this
    /// instance's when `shared` is false: the store was unreachable and the local share
    /// of the ceiling decided).
    case granted(open: Int, shared: Bool)
    /// The org is at the ceiling (`open` leases; the local share's when not `shared`).
    case refused(open: Int, max: Int, shared: Bool)
}

/// One org's sessions as the cluster counts them.
public struct ClusterCount: Sendable, Equatable {
    /// Live leases of every instance (nil when the store is unreachable).
    public var cluster: Int?
    /// Leases this instance holds for the org.
    public var thisInstance: Int
    /// Instances whose heartbeat is live (the last seen count while unreachable).
    public var instances: Int
    public var shared: Bool

    public init(cluster: Int?, thisInstance: Int, instances: Int, shared: Bool) {
        self.cluster = cluster
        self.thisInstance = thisInstance
        self.instances = instances
        self.shared = shared
    }
}

/// The lease store as SHOW STATS shows it.
public struct ClusterStatus: Sendable, Equatable {
    public var instanceId: String
    /// True while the shared count decides; false while the local fallback does.
    public var shared: Bool
    public var liveInstances: Int
    /// Leases this instance holds, all orgs.
    public var leasesHeld: Int
    /// Admissions decided by the local fallback since start.
    public var fallbackDecisions: Int
    /// Fallback grants the shared count refused when it answered late, since start.
    public var revocations: Int
    /// Times the shared count became unreachable since start.
    public var outages: Int
}
