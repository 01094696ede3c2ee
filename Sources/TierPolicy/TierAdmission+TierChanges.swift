import Foundation
import Gate
import Logging
import Proxy
import TierModel
import TierStore

/// Tier changes while sessions are open.
///
/// - New connections are judged by the tier just resolved (the gate takes the limits it is
///   given), so a change is in force for them as soon as the caches hold it.
/// - Open sessions get the new settings at their next idle point (`SettingsInjection`).
/// - A downgrade below current use keeps the excess sessions for a grace period, then
///   closes the newest excess ones with a FATAL naming the ceiling.
extension TierAdmission {
    /// How long excess sessions survive a downgrade (15 minutes unless set).
    public var downgradeGrace: Duration {
        get { graceBox.withLock { $0 } }
        set { graceBox.withLock { $0 = newValue } }
    }

    // MARK: Invalidation

    /// INVALIDATE <org>: re-read the org, apply it to new and open sessions, and tell the
    /// other instances. Blocking (MongoDB, Redis).
    public func invalidate(_ org: OrgId) -> (reload: TierResolver.Reload, announcedTo: Int?) {
        let reload = resolver.reload(org)
        if case .success(let value) = reload.new { applyIfChanged(value) }
        let announced = resolver.announce(Announcement(from: instanceId, .tierChanged(org)))
        countInvalidationFailures([reload], announcedTo: announced)
        return (reload, announced)
    }

    /// INVALIDATE *: every org any cache knows, plus those with open sessions.
    public func invalidateAll() -> (reloads: [TierResolver.Reload], announcedTo: Int?) {
        let orgs = Set(resolver.allCachedOrgs).union(orgSessions.orgsWithSessions).sorted()
        resolver.dropAllLocal()
        let reloads = orgs.map { org -> TierResolver.Reload in
            let reload = resolver.reload(org)
            if case .success(let value) = reload.new { applyIfChanged(value) }
            return reload
        }
        let announced = resolver.announce(Announcement(from: instanceId, .allTiersChanged))
        countInvalidationFailures(reloads, announcedTo: announced)
        return (reloads, announced)
    }

    /// A message from the invalidation channel (an `Announcement`; anything else, and this
    /// instance's own, are ignored). For a tier change the announcing instance has already
    /// refreshed Redis; this one drops its in-process copy and, for orgs with open sessions
    /// here, resolves again and applies the result.
    public func invalidationAnnounced(_ message: String) {
        guard let announcement = Announcement(parsing: message), announcement.from != instanceId else { return }
        let orgs: [OrgId]
        let named: String
        switch announcement.event {
        case .burstStarted(let org):
            bursts?.burstAnnounced(org)
            return
        case .burstSwitchedOff(let org):
            bursts?.switchOffAnnounced(org)
            return
        case .burstSwitchedOn(let org):
            bursts?.switchOnAnnounced(org)
            return
        case .allTiersChanged:
            resolver.dropAllLocal()
            orgs = orgSessions.orgsWithSessions
            named = "*"
        case .tierChanged(let org):
            resolver.dropLocal(org)
            orgs = [org]
            named = org.rawValue
        }
        logger.info("tier invalidation announced", metadata: ["org": "\(named)", "from": "\(announcement.from)"])
        refreshOpenOrgs(orgs)
    }

    /// After missing announcements (the subscription was down): nothing local can be trusted.
    public func invalidationsMayHaveBeenMissed() {
        resolver.dropAllLocal()
        refreshOpenOrgs(orgSessions.orgsWithSessions)
    }

    private func refreshOpenOrgs(_ orgs: [OrgId]) {
        for org in orgs where !orgSessions.controls(of: org).isEmpty {
            resolver.resolve(org) { [self] result in
                if case .success(let value) = result { applyIfChanged(value) }
            }
        }
    }

    /// RELOAD: a new tier matrix for new connections and, at their next idle point, for
    /// open sessions.
    public func replaceMatrix(_ matrix: TierMatrix) {
        resolver.replaceMatrix(matrix)
        gate.withLock { $0.matrix = matrix }
        refreshOpenOrgs(orgSessions.orgsWithSessions)
    }

    // MARK: Applying a change

    /// Called with every resolved tier (admissions included): when it differs from what the
    /// org's open sessions run under, they are told.
    func noteResolved(_ org: OrgTier) {
        let known = orgSessions.state.withLock { $0.tiers[org.orgId] }
        guard let known, known.tier != org.tier || known.limits != org.limits,
              !known.isNewer(than: org) else { return }
        applyIfChanged(org)
    }

    /// An org started or stopped bursting: its open sessions move to the burst tier's
    /// settings, or back to the base tier's (excess sessions then get the downgrade grace).
    func burstChanged(_ org: OrgId) {
        guard !orgSessions.controls(of: org).isEmpty else { return }
        resolver.resolve(org) { [self] result in
            if case .success(let value) = result { applyIfChanged(value) }
        }
    }

    /// `resolved` (as read from the caches or the source: the base tier) is applied with
    /// the running burst on top, if any, so an invalidation during a burst keeps it.
    func applyIfChanged(_ resolved: OrgTier) {
        let matrix = resolver.matrix
        let org = bursts?.overlay(resolved, matrix: matrix) ?? resolved
        // Through PgBouncer the pool's connect_query carries the settings and a SET would
        // stay on a pooled server connection for other clients: only the rules change.
        let update = TierUpdate(org: org, rules: TierSessionRules(org: org, matrix: matrix, pooled: pgbouncerRouted, metrics: metrics),
                                idleTimeout: IdleTimeout(tier: org), injectSettings: !pgbouncerRouted)
        let grace = downgradeGrace
        let now = clock.now
        let (changed, controls, enforcement) = orgSessions.state.withLock { state
            -> (Bool, [SessionControl], OrgSessions.PendingEnforcement?) in
            let sessions = Array((state.sessions[org.orgId] ?? [:]).values)
            guard !sessions.isEmpty else { return (false, [], nil) }
            if let known = state.tiers[org.orgId], known.tier == org.tier, known.limits == org.limits {
                state.tiers[org.orgId] = org
                return (false, [], nil)
            }
            let previous = state.tiers[org.orgId]
            state.tiers[org.orgId] = org
            let ceiling = org.limits.postgres.maxConnections
            state.pending[org.orgId] = nil
            // Cluster-wide the org may be over a lowered ceiling while within it here.
            let lowered = state.clusterWide && previous.map { ceiling < $0.limits.postgres.maxConnections } == true
            guard sessions.count > ceiling || lowered else { return (true, sessions, nil) }
            state.nextToken += 1
            let burstEnded = previous?.burstingFrom != nil && org.burstingFrom == nil && previous?.baseTier == org.tier
            let pending = OrgSessions.PendingEnforcement(
                tier: org.tier, burstEndedFrom: burstEnded ? previous?.tier : nil, ceiling: ceiling, openAtChange: sessions.count,
                deadline: now + grace, deadlineDate: Date().addingTimeInterval(grace.seconds), token: state.nextToken)
            state.pending[org.orgId] = pending
            return (true, sessions, pending)
        }
        guard changed else { return }
        logger.notice("tier change applied to open sessions", metadata: [
            "org": "\(org.orgId)", "tier": "\(org.tier)", "open_sessions": "\(controls.count)",
            "ceiling": "\(org.limits.postgres.maxConnections)", "bursting": "\(org.burstingFrom != nil)"])
        for control in controls { control.apply(update) }
        overload.waiting?.drainSoon()  // a raised ceiling has room for waiters
        if let enforcement {
            logger.warning("downgrade below current use: excess sessions close after the grace period", metadata: [
                "org": "\(org.orgId)", "tier": "\(org.tier)", "open_sessions": "\(enforcement.openAtChange)",
                "ceiling": "\(enforcement.ceiling)", "grace_s": "\(Int(grace.seconds))"])
            clock.schedule(after: grace) { [self] in enforce(org.orgId, token: enforcement.token) }
        }
    }

    /// The grace period is over: close the newest sessions above the ceiling.
    private func enforce(_ org: OrgId, token: UInt64) {
        let grace = downgradeGrace
        let (sessions, pending) = orgSessions.state.withLock { state
            -> ([SessionControl], OrgSessions.PendingEnforcement?) in
            guard let pending = state.pending[org], pending.token == token else { return ([], nil) }
            state.pending[org] = nil
            return ((state.sessions[org] ?? [:]).values.sorted { $0.ticketId > $1.ticketId }, pending)
        }
        guard let pending else { return }
        let victims = excessSessions(org, ceiling: pending.ceiling, newestFirst: sessions)
        let open = sessions.count
        orgSessions.state.withLock { $0.closedByDowngrade += victims.count }
        guard !victims.isEmpty else { return }
        logger.notice("downgrade enforced: closing the newest excess sessions", metadata: [
            "org": "\(org)", "tier": "\(pending.tier)", "ceiling": "\(pending.ceiling)",
            "open_sessions": "\(open)", "closing": "\(victims.count)"])
        let error = TierClientError.downgradeExcess(org: org.rawValue, tier: pending.tier.rawValue, ceiling: pending.ceiling,
                                                    open: open, graceSeconds: Int(grace.seconds),
                                                    burstEndedFrom: pending.burstEndedFrom?.rawValue).errorResponse
        for victim in victims { victim.terminate(error) }
    }
}

extension TierAdmission {
    /// The tier matrix in force (it changes on RELOAD), for PgBouncer regeneration.
    public var matrix: TierMatrix { resolver.matrix }
}
