import TierModel

/// Per-org counts of sessions and the admission rule: `if currentConns >= maxConnections`
/// then refuse, before Postgres is involved.
///
/// What the ceiling counts is authenticated sessions. A connection first holds a *login in
/// progress* (from admission until the upstream says the client authenticated), and logins
/// are bounded apart from the ceiling, so sockets that never authenticate can never refuse
/// an authenticated user:
/// - A login is refused only when the org's authenticated sessions are at the ceiling.
/// - An org has at most `LoginRule.perCeiling` x ceiling logins in progress, and at most
///   ceiling logins from any one address. A new login over either bound evicts the oldest
///   login in progress of the same address (over the address bound) or of the org (over the
///   org bound); the caller ends the evicted session. So a squatter's socket only ever delays
///   itself, and one address can never evict another's logins.
/// - A login that authenticates takes a slot if the org is below its ceiling then, else it
///   is refused with the usual ceiling refusal (two logins racing for the last slot).
/// Logins in progress also expire at the tier's connection timeout (the caller's timer).
///
/// A plain value in the style of a state machine: events in (`beginLogin`, `completeLogin`,
/// `release`), decisions out, no locks and no I/O. The proxy keeps one gate behind one lock,
/// which makes check-and-increment a single step: two connections racing for the last FREE
/// slot cannot both get it.
public struct ConnectionGate: Sendable {
    /// How many logins in progress an org may have.
    public struct LoginRule: Sendable, Equatable {
        /// Logins in progress per org, as a multiple of its ceiling.
        public var perCeiling: Int
        /// Logins in progress per org from one address, as a multiple of its ceiling.
        public var perAddressPerCeiling: Int

        public init(perCeiling: Int = 2, perAddressPerCeiling: Int = 1) {
            self.perCeiling = perCeiling
            self.perAddressPerCeiling = perAddressPerCeiling
        }
    }

    /// The matrix upgrade suggestions are computed from (the one the proxy enforces).
    public var matrix: TierMatrix
    public var loginRule: LoginRule

    /// Authenticated sessions per org; an org with none has no entry, so the map does not
    /// grow with every org ever seen.
    private var open: [OrgId: Set<UInt64>] = [:]
    /// Logins in progress per org, oldest first.
    private var logins: [OrgId: [Login]] = [:]
    private var lastTicketId: UInt64 = 0

    private struct Login: Sendable {
        let ticket: SessionTicket
        let address: String
    }

    public init(matrix: TierMatrix = .builtIn, loginRule: LoginRule = LoginRule()) {
        self.matrix = matrix
        self.loginRule = loginRule
    }

    /// A connection of `org` from `address` wants to log in. Refused when the org's
    /// authenticated sessions are at `limits.postgres.maxConnections`; else it holds a login
    /// in progress, possibly evicting an older one (see the type's rule).
    ///
    /// The ceiling comes from `limits`, not from the gate: after a tier change (or during a
    /// burst) the caller passes the limits now in force and the next attempt is judged by
    /// them. Sessions already open are never evicted here; after a downgrade an org may hold
    /// more than its new ceiling, and new sessions are refused until it is back below (the
    /// grace period is the caller's policy).
    public mutating func beginLogin(org: OrgId, tier: Tier, limits: TierLimits, address: String) -> LoginDecision {
        let max = limits.postgres.maxConnections
        if let refusal = refusal(org: org, tier: tier, max: max) { return .refused(refusal) }
        var evicted: SessionTicket?
        var pending = logins[org] ?? []
        let addressBound = Swift.max(1, max * loginRule.perAddressPerCeiling)
        let orgBound = Swift.max(1, max * loginRule.perCeiling)
        if pending.lazy.filter({ $0.address == address }).count >= addressBound,
           let oldest = pending.firstIndex(where: { $0.address == address }) {
            evicted = pending.remove(at: oldest).ticket
        } else if pending.count >= orgBound {
            evicted = pending.removeFirst().ticket
        }
        lastTicketId += 1
        let ticket = SessionTicket(id: lastTicketId, org: org, tier: tier)
        pending.append(Login(ticket: ticket, address: address))
        logins[org] = pending
        return .admitted(ticket, evicted: evicted)
    }

    /// The login of `ticket` authenticated: it takes one of the org's slots if the org is
    /// below the ceiling of `limits` now, else it is refused (and holds nothing). Nil when
    /// the ticket holds no login in progress (evicted, released, or completed before).
    public mutating func completeLogin(_ ticket: SessionTicket, limits: TierLimits) -> AdmissionDecision? {
        guard var pending = logins[ticket.org], let index = pending.firstIndex(where: { $0.ticket == ticket }) else {
            return nil
        }
        pending.remove(at: index)
        logins[ticket.org] = pending.isEmpty ? nil : pending
        if let refusal = refusal(org: ticket.org, tier: ticket.tier, max: limits.postgres.maxConnections) {
            return .refused(refusal)
        }
        open[ticket.org, default: []].insert(ticket.id)
        return .admitted(ticket)
    }

    /// A login and its completion in one step: the session holds a slot at once (for callers
    /// that have no authentication to wait for).
    public mutating func admit(org: OrgId, tier: Tier, limits: TierLimits, address: String = "") -> AdmissionDecision {
        switch beginLogin(org: org, tier: tier, limits: limits, address: address) {
        case .refused(let refusal):
            return .refused(refusal)
        case .admitted(let ticket, _):
            return completeLogin(ticket, limits: limits) ?? .admitted(ticket)
        }
    }

    /// Admits with the org's resolved tier and limits.
    public mutating func admit(_ org: OrgTier) -> AdmissionDecision {
        admit(org: org.orgId, tier: org.tier, limits: org.limits)
    }

    private func refusal(org: OrgId, tier: Tier, max: Int) -> ConnectionRefusal? {
        let current = count(for: org)
        guard current >= max else { return nil }
        return ConnectionRefusal(org: org, tier: tier, current: current, max: max,
                                 suggestion: .connectionLimit(tier: tier, matrix: matrix))
    }

    /// What `release` freed.
    public enum Released: Sendable, Equatable {
        /// An authenticated session's slot.
        case slot
        /// A login in progress.
        case login
    }

    /// Frees what the ticket holds. Idempotent: returns nil, changing nothing, for a ticket
    /// already released, evicted, or not issued by this gate.
    @discardableResult
    public mutating func release(_ ticket: SessionTicket) -> Released? {
        if open[ticket.org]?.remove(ticket.id) != nil {
            if open[ticket.org]?.isEmpty == true { open[ticket.org] = nil }
            return .slot
        }
        guard var pending = logins[ticket.org], let index = pending.firstIndex(where: { $0.ticket == ticket }) else {
            return nil
        }
        pending.remove(at: index)
        logins[ticket.org] = pending.isEmpty ? nil : pending
        return .login
    }

    /// Whether the ticket holds a slot (an authenticated session).
    public func isOpen(_ ticket: SessionTicket) -> Bool {
        open[ticket.org]?.contains(ticket.id) ?? false
    }

    /// Authenticated sessions of one org: what its ceiling counts.
    public func count(for org: OrgId) -> Int {
        open[org]?.count ?? 0
    }

    /// The logins in progress of `org` from `address`, oldest first: those a newer login of the
    /// same address may displace when a count kept elsewhere (shared between instances) is
    /// at the ceiling.
    public func logins(org: OrgId, address: String) -> [SessionTicket] {
        (logins[org] ?? []).filter { $0.address == address }.map(\.ticket)
    }

    /// Logins in progress of one org.
    public func loginsInProgress(for org: OrgId) -> Int {
        logins[org]?.count ?? 0
    }

    /// Authenticated sessions per org, for the admin console and metrics; orgs with none are absent.
    public var openSessions: [OrgId: Int] {
        open.mapValues(\.count)
    }

    public var totalOpenSessions: Int {
        open.values.reduce(0) { $0 + $1.count }
    }

    public var totalLoginsInProgress: Int {
        logins.values.reduce(0) { $0 + $1.count }
    }
}

/// The gate's answer to a login attempt.
public enum LoginDecision: Sendable, Equatable {
    /// The login holds a place until it completes or its ticket is released; `evicted` is an
    /// older login in progress it displaced, whose session the caller must end.
    case admitted(SessionTicket, evicted: SessionTicket?)
    /// The org's authenticated sessions are at its ceiling.
    case refused(ConnectionRefusal)

    public var ticket: SessionTicket? {
        if case .admitted(let ticket, _) = self { ticket } else { nil }
    }
}
