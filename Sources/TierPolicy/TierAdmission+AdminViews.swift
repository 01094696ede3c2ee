import Foundation
import TierModel
import TierStore

/// What the admin socket shows of tier policy (SHOW ORG, SHOW ORGS, SHOW STATS), as values
/// the Admin module renders.
extension TierAdmission {
    /// SHOW ORG: the tier in force, the tier paid for and, when they differ, why (a lapsed
    /// subscription), its limits, roles and databases, open sessions, burst add-on and state,
    /// pending enforcement. Blocking (the burst state is read from Redis).
    public func orgStatus(_ org: OrgId) -> OrgStatus {
        let (resolved, open, logins, pending) = view(org)
        return OrgStatus(
            org: org, tier: resolved, burst: burstStatus(org, addon: resolved?.burst), openSessions: open,
            loginsInProgress: logins, cluster: clusterView(org, ceiling: resolved?.limits.postgres.maxConnections),
            metricsLabel: metrics.orgLabels.label(for: org),
            pendingEnforcement: pending.map { pending in
                OrgStatus.PendingEnforcement(
                    tier: pending.tier, ceiling: pending.ceiling, openAtChange: pending.openAtChange,
                    excess: max(0, open - pending.ceiling), at: pending.deadlineDate,
                    inSeconds: max(0, Int((pending.deadline - clock.now).seconds.rounded(.up))))
            })
    }

    /// What SHOW ORG and SHOW ORGS know of an org here: its tier as served now (a
    /// subscription may have lapsed since the open sessions were told; a burst overlaid),
    /// what the ceiling counts (authenticated sessions), the logins still in progress, and
    /// a downgrade waiting for its grace period to end.
    private func view(_ org: OrgId) -> (resolved: OrgTier?, open: Int, logins: Int,
                                       pending: OrgSessions.PendingEnforcement?) {
        let (told, pending) = orgSessions.state.withLock { ($0.tiers[org], $0.pending[org]) }
        let (open, logins) = gate.withLock { ($0.count(for: org), $0.loginsInProgress(for: org)) }
        let resolved = (told.map(resolver.servedNow) ?? resolver.cachedValue(org))
            .map { bursts?.overlay($0, matrix: resolver.matrix) ?? $0 }
        return (resolved, open, logins, pending)
    }

    /// The burst part of SHOW ORG: the add-on as configured, and the shared state (running,
    /// cooling down, switched off or idle; start, end, minutes used) from Redis.
    private func burstStatus(_ org: OrgId, addon: OrgTier.BurstConfig?) -> BurstStatus {
        guard let bursts else {
            return BurstStatus(addon: addon, shared: .unavailable(reason: "bursts need --redis, where their state is shared"))
        }
        guard let status = bursts.status(org) else {
            return BurstStatus(addon: addon, shared: .unavailable(reason: "Redis unreachable"))
        }
        let state: BurstStatus.State = if status.running { .running } else if status.switchedOff { .off }
            else if status.cooldownRemaining != nil { .coolingDown } else { .idle }
        // While a burst runs its cooldown key also covers the burst: shown once cooling down.
        let cooldown = state == .coolingDown ? status.cooldownRemaining.map { Int($0.seconds.rounded(.up)) } : nil
        return BurstStatus(addon: addon, shared: .known(state, latest: status.latest, cooldownRemainingSeconds: cooldown,
                                                        totalMinutesBilled: status.totalBilledMinutes))
    }

    /// SHOW ORGS: every org this instance knows (cached or with open sessions).
    public func orgsOverview() -> [OrgOverview] {
        let orgs = Set(resolver.cachedOrgs).union(orgSessions.orgsWithSessions).sorted()
        return orgs.map { org in
            let (resolved, open, _, pending) = view(org)
            return OrgOverview(org: org, tier: resolved?.baseTier,
                               burstingTo: resolved.flatMap { $0.burstingFrom == nil ? nil : $0.tier },
                               maxConnections: resolved?.limits.postgres.maxConnections, openSessions: open,
                               pendingEnforcement: pending != nil)
        }
    }

    /// SHOW STATS: admissions, refusals by reason, cache layers, lookups, uptime.
    public func statistics() -> ProxyStatistics {
        let (admitted, closed) = orgSessions.state.withLock { ($0.admitted, $0.closedByDowngrade) }
        let lookups = resolver.stats
        let (open, logins) = gate.withLock { ($0.totalOpenSessions, $0.totalLoginsInProgress) }
        var statistics = ProxyStatistics()
        statistics.uptimeSeconds = Int((clock.now - startedAt).seconds)
        statistics.admitted = admitted
        statistics.open = open
        statistics.loginsInProgress = logins
        statistics.queued = queuedConnections
        statistics.refused = Dictionary(uniqueKeysWithValues: metrics.refusalCounts.snapshot.map { ($0.key.rawValue, $0.value) })
        statistics.closedByDowngrade = closed
        statistics.cluster = clusterStatistics()
        statistics.lookups = lookups
        return statistics
    }
}
