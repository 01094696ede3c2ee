import Dispatch
import Synchronization
import Gate
import TierModel

/// The gate and the shared count together. The gate (this instance) decides first, on this
/// instance's authenticated sessions; a login it lets through then takes a lease
/// (`SessionLeases`), which holds the org to its ceiling across every instance. Leases count
/// logins in progress too, so they bound them: the gate's own bounds on logins are lifted,
/// and a login refused at the ceiling displaces the oldest login in progress of its own
/// address on this instance, taking its lease (a silent socket only ever delays itself).
/// Without leases the gate alone decides, as before.
extension TierAdmission {
    /// With leases, logins in progress are bounded by the leases (they count them).
    static let loginRuleWithLeases = ConnectionGate.LoginRule(perCeiling: 1_000_000, perAddressPerCeiling: 1_000_000)

    /// `then` gets the decision and the org's sessions as the burst trigger counts them
    /// (cluster-wide with leases, counting this login if admitted). It runs at once without
    /// leases, else when the lease is answered (within the lease wait).
    func beginLogin(_ org: OrgTier, address: String, then: @escaping @Sendable (LoginDecision, Int) -> Void) {
        let (decision, localOpen) = gate.withLock { gate in
            let decision = gate.beginLogin(org: org.orgId, tier: org.tier, limits: org.limits, address: address)
            return (decision, gate.count(for: org.orgId) + (decision.ticket == nil ? 0 : 1))
        }
        guard let leases, case .admitted(let ticket, _) = decision else { return then(decision, localOpen) }
        let ceiling = org.limits.postgres.maxConnections
        leases.acquire(ticket, ceiling: ceiling) { [self] answer in
            switch answer {
            case .granted(let open, _):
                then(decision, open)
            case .refused(let open, let max, _):
                // The oldest login in progress of this address here that holds a lease (an
                // admitted one: it has a session control) gives way; one still waiting for
                // its lease has none to give.
                let admitted = Set(orgSessions.controls(of: org.orgId).map(\.ticketId))
                let displaced = gate.withLock { gate -> SessionTicket? in
                    guard let oldest = gate.logins(org: org.orgId, address: address).first(where: {
                        $0 != ticket && admitted.contains($0.id)
                    }) else { return nil }
                    return gate.release(oldest) == .login ? oldest : nil
                }
                guard let displaced else { return then(refuse(ticket, org: org, open: open, max: max), open) }
                leases.release(displaced)
                displace(displaced, org: org)
                leases.acquire(ticket, ceiling: ceiling) { [self] retry in
                    switch retry {
                    case .granted(let open, _):
                        then(decision, open)
                    case .refused(let open, let max, _):
                        then(refuse(ticket, org: org, open: open, max: max), open)
                    }
                }
            }
        }
    }

    /// `beginLogin` for a caller that must answer at once (the wait queue's retry, on the
    /// queue's own thread): with leases it waits for the lease, which `acquire` answers within
    /// its bounded wait, so a queued connection is held to the cluster-wide ceiling too.
    func beginLoginNow(_ org: OrgTier, address: String) -> LoginDecision {
        guard leases != nil else {
            return gate.withLock { $0.beginLogin(org: org.orgId, tier: org.tier, limits: org.limits, address: address) }
        }
        let answered = DispatchSemaphore(value: 0)
        let result = Mutex<LoginDecision?>(nil)
        beginLogin(org, address: address) { decision, _ in
            result.withLock { $0 = decision }
            answered.signal()
        }
        answered.wait()
        return result.withLock { $0! }
    }

    /// The lease was refused: the login gives back its place in the gate and the lease.
    private func refuse(_ ticket: SessionTicket, org: OrgTier, open: Int, max: Int) -> LoginDecision {
        gate.withLock { _ = $0.release(ticket) }
        leases?.release(ticket)
        return .refused(ConnectionRefusal(org: org.orgId, tier: org.tier, current: open, max: max,
                                          suggestion: .connectionLimit(tier: org.tier, matrix: resolver.matrix)))
    }

    /// A lease the share granted while Redis was quiet, refused by Redis when it answered:
    /// the session is over the ceiling after all and ends as a connection over it would have
    /// been refused. An authenticated session ends now; a login still in progress is refused
    /// when it authenticates (`confirmLogin`). Whichever comes second finds nothing to do.
    func revoke(_ revocation: LeaseRevocation) {
        let ticket = revocation.ticket
        guard gate.withLock({ $0.isOpen(ticket) }), let taken = leases?.takeRevocation(ticket) else { return }
        let error = refused(revokedRefusal(taken))
        orgSessions.controls(of: ticket.org).first { $0.ticketId == ticket.id }?.terminate(error)
    }

    /// The refusal a revoked lease's session gets: the org at its ceiling, as Redis counted it.
    func revokedRefusal(_ revocation: LeaseRevocation) -> ConnectionRefusal {
        let ticket = revocation.ticket
        return ConnectionRefusal(org: ticket.org, tier: ticket.tier, current: revocation.open, max: revocation.ceiling,
                                 suggestion: .connectionLimit(tier: ticket.tier, matrix: resolver.matrix))
    }

    /// The sessions to close after a downgrade's grace, newest first among `sessions`: with
    /// leases, only as many as bring the org's cluster-wide count down to `ceiling` (claimed
    /// atomically, so instances enforcing together never close more than the excess);
    /// without, this instance's excess.
    func excessSessions(_ org: OrgId, ceiling: Int, newestFirst sessions: [SessionControl]) -> [SessionControl] {
        guard let leases else { return Array(sessions.prefix(max(0, sessions.count - ceiling))) }
        let claimed = Set(leases.claimExcess(org: org, ceiling: ceiling, candidates: sessions.map(\.ticketId)))
        return sessions.filter { claimed.contains($0.ticketId) }
    }
}

extension TierAdmission {
    /// SHOW ORG's `cluster`: the org's sessions on every instance (leases: authenticated and
    /// logins in progress), this instance's share of them, the live instances, and whether
    /// the shared count or the local fallback decides now; nil without leases. Blocking.
    func clusterView(_ org: OrgId, ceiling: Int?) -> ClusterView? {
        guard let leases else { return nil }
        let count = leases.count(org)
        return ClusterView(openSessions: count.cluster, thisInstance: count.thisInstance, instances: count.instances,
                           shared: count.shared,
                           ceilingHere: count.shared ? nil : ceiling.map {
                               FallbackShare.ceiling($0, liveInstances: count.instances) })
    }

    /// SHOW STATS' `cluster`; nil without leases.
    func clusterStatistics() -> ClusterStatistics? {
        guard let status = leases?.status else { return nil }
        return ClusterStatistics(instanceId: status.instanceId, shared: status.shared, liveInstances: status.liveInstances,
                                 leasesHeldHere: status.leasesHeld, fallbackDecisions: status.fallbackDecisions,
                                 revocations: status.revocations,
                                 outages: status.outages)
    }
}
