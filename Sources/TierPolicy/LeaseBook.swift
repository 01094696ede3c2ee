import Gate
import TierModel

/// The leases this instance holds, per org, by ticket: the truth the shared count is kept
/// equal to. Each heartbeat writes these counts to the store, so a lease whose outcome was
/// lost (a reply that timed out) or taken under the fallback is set right within one
/// heartbeat, and a restarted instance (an empty book) clears what its predecessor left.
///
/// A plain value: the owner keeps it behind a lock.
struct LeaseBook: Sendable {
    private var leases: [OrgId: Set<UInt64>] = [:]

    /// False if the ticket already held a lease.
    @discardableResult
    mutating func insert(_ ticket: SessionTicket) -> Bool {
        leases[ticket.org, default: []].insert(ticket.id).inserted
    }

    /// False if the ticket held none.
    @discardableResult
    mutating func remove(_ ticket: SessionTicket) -> Bool {
        guard leases[ticket.org]?.remove(ticket.id) != nil else { return false }
        if leases[ticket.org]?.isEmpty == true { leases[ticket.org] = nil }
        return true
    }

    func holds(_ ticket: SessionTicket) -> Bool { holds(org: ticket.org, id: ticket.id) }

    func holds(org: OrgId, id: UInt64) -> Bool { leases[org]?.contains(id) ?? false }

    /// By org and ticket id (a downgrade's claimed excess).
    mutating func remove(org: OrgId, id: UInt64) {
        guard leases[org]?.remove(id) != nil else { return }
        if leases[org]?.isEmpty == true { leases[org] = nil }
    }

    func count(_ org: OrgId) -> Int { leases[org]?.count ?? 0 }

    /// Orgs with at least one lease here and how many, leaving out the tickets `excluded`.
    func counts(excluding excluded: Set<UInt64> = []) -> [OrgId: Int] {
        guard !excluded.isEmpty else { return leases.mapValues(\.count) }
        return leases.compactMapValues { ids in
            let count = ids.subtracting(excluded).count
            return count == 0 ? nil : count
        }
    }

    var total: Int { leases.values.reduce(0) { $0 + $1.count } }

    /// The fallback's decision: this instance's leases of the org against its share of the
    /// ceiling (`FallbackShare`); a granted ticket is recorded.
    mutating func decideLocally(_ ticket: SessionTicket, ceiling: Int, liveInstances: Int) -> LeaseAnswer {
        let share = FallbackShare.ceiling(ceiling, liveInstances: liveInstances)
        let held = count(ticket.org)
        if holds(ticket) { return .granted(open: held, shared: false) }
        guard held < share else { return .refused(open: held, max: share, shared: false) }
        insert(ticket)
        return .granted(open: held + 1, shared: false)
    }
}
