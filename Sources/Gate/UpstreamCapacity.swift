import PostgresWire
import TierModel

/// How many sessions TierGate holds on each upstream Postgres, and which tiers may take
/// the next one when the upstream is nearly full.
///
/// Each tier keeps a percentage of the upstream's capacity free (`capacityReserve` in the
/// matrix): a tier may open a session only while the sessions in use are below
/// `capacity - ceil(capacity x reserve / 100)`. With the built-in reserves (30, 20, 10, 0)
/// FREE is refused first, then STARTER, then PRO, and ENTERPRISE may take the last
/// connection: the design's queue priorities (P4 ... P1) for a full server.
///
/// A session counts from admission (its backend is forked when it logs in) until it ends.
/// An upstream whose capacity is unknown limits nothing, but its sessions are still
/// counted, so learning the capacity later starts from the truth. A plain value; the caller
/// keeps it behind one lock, which makes check-and-count one step.
public struct UpstreamCapacity: Sendable {
    private var capacity: [Endpoint: Int] = [:]
    private var inUse: [Endpoint: Int] = [:]

    public init() {}

    /// Sets (nil: forgets) how many sessions TierGate may hold on `endpoint`.
    public mutating func setCapacity(_ sessions: Int?, for endpoint: Endpoint) {
        capacity[endpoint] = sessions.map { Swift.max(0, $0) }
    }

    public func capacity(of endpoint: Endpoint) -> Int? { capacity[endpoint] }

    public func inUse(on endpoint: Endpoint) -> Int { inUse[endpoint] ?? 0 }

    /// Sessions a tier with `reservePercent` may hold on an upstream of `capacity`.
    public static func tierLimit(capacity: Int, reservePercent: Int) -> Int {
        let reserve = (capacity * Swift.max(0, reservePercent) + 99) / 100
        return Swift.max(0, capacity - reserve)
    }

    /// A new session of `tier` on `endpoint`: counted if its tier may still open one there.
    public mutating func acquire(_ endpoint: Endpoint, tier: Tier, reservePercent: Int) -> CapacityDecision {
        let used = inUse[endpoint] ?? 0
        if let capacity = capacity[endpoint] {
            let limit = Self.tierLimit(capacity: capacity, reservePercent: reservePercent)
            if used >= limit {
                return .refused(inUse: used, tierLimit: limit, capacity: capacity)
            }
        }
        inUse[endpoint] = used + 1
        return .acquired
    }

    /// A session counted by `acquire` ended. Call once per acquired session.
    public mutating func release(_ endpoint: Endpoint) {
        guard let used = inUse[endpoint] else { return }
        inUse[endpoint] = used > 1 ? used - 1 : nil
    }
}

public enum CapacityDecision: Sendable, Equatable {
    case acquired
    /// The upstream holds `inUse` of TierGate's sessions and the tier may use `tierLimit` of its `capacity`.
    case refused(inUse: Int, tierLimit: Int, capacity: Int)
}
