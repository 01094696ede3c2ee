import TierModel

/// Per-org counts of open sessions and the admission rule of seed 3.1 layer 1:
/// `if currentConns >= maxConnections` then refuse, before Postgres is involved.
///
/// A plain value in the style of a state machine: events in (`admit`, `release`), decisions
/// out, no locks and no I/O. The proxy keeps one gate behind one lock and calls `admit`
/// and `release` under it, which makes check-and-increment a single step: two connections
/// racing for the last FREE slot cannot both get it.
public struct ConnectionGate: Sendable {
    /// The matrix upgrade suggestions are computed from (the one the proxy enforces).
    public var matrix: TierMatrix

    /// Open tickets per org; an org with none has no entry, so the map does not grow with
    /// every org ever seen.
    private var open: [OrgId: Set<UInt64>] = [:]
    private var lastTicketId: UInt64 = 0

    public init(matrix: TierMatrix = .builtIn) {
        self.matrix = matrix
    }

    /// Admits one session of `org` if it is below `limits.postgres.maxConnections`.
    ///
    /// The ceiling comes from `limits`, not from the gate: after a tier change (or during a
    /// burst) the caller passes the limits now in force and the next attempt is judged by
    /// them. Sessions already open are never evicted here; after a downgrade an org may hold
    /// more than its new ceiling, and new sessions are refused until it is back below
    /// (seed 4.2's grace period is the caller's policy).
    public mutating func admit(org: OrgId, tier: Tier, limits: TierLimits) -> AdmissionDecision {
        let current = count(for: org)
        let max = limits.postgres.maxConnections
        guard current < max else {
            return .refused(ConnectionRefusal(org: org, tier: tier, current: current, max: max,
                                              suggestion: .connectionLimit(tier: tier, matrix: matrix)))
        }
        lastTicketId += 1
        open[org, default: []].insert(lastTicketId)
        return .admitted(SessionTicket(id: lastTicketId, org: org, tier: tier))
    }

    /// Admits with the org's resolved tier and limits.
    public mutating func admit(_ org: OrgTier) -> AdmissionDecision {
        admit(org: org.orgId, tier: org.tier, limits: org.limits)
    }

    /// Frees the ticket's slot. Idempotent: returns false, changing nothing, for a ticket
    /// already released or not issued by this gate.
    @discardableResult
    public mutating func release(_ ticket: SessionTicket) -> Bool {
        guard open[ticket.org]?.remove(ticket.id) != nil else { return false }
        if open[ticket.org]?.isEmpty == true { open[ticket.org] = nil }
        return true
    }

    /// Whether the ticket still holds a slot.
    public func isOpen(_ ticket: SessionTicket) -> Bool {
        open[ticket.org]?.contains(ticket.id) ?? false
    }

    /// Open sessions of one org.
    public func count(for org: OrgId) -> Int {
        open[org]?.count ?? 0
    }

    /// Open sessions per org, for the admin console and metrics; orgs with none are absent.
    public var openSessions: [OrgId: Int] {
        open.mapValues(\.count)
    }

    public var totalOpenSessions: Int {
        open.values.reduce(0) { $0 + $1.count }
    }
}
