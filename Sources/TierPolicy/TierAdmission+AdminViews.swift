import Foundation
import TierModel
import TierStore

/// What the admin socket shows of tier policy: SHOW ORG, SHOW ORGS, SHOW STATS, and the
/// burst commands (BURST START / OFF / ON).
extension TierAdmission {
    /// SHOW ORG: the tier in force, the tier paid for and, when they differ, why (a lapsed
    /// subscription), its limits, roles and databases, open sessions, burst add-on and state,
    /// pending enforcement. Blocking (the burst state is read from Redis).
    public func orgStatus(_ org: OrgId) -> JSONObject {
        let (resolved, open, logins, pending) = view(org)
        var object: JSONObject = ["org": .string(org.rawValue)]
        if let resolved {
            object["tier"] = .string(resolved.baseTier.rawValue)
            object["paidTier"] = .string(resolved.paidTier.rawValue)
            object["effectiveTier"] = .string(resolved.baseTier.rawValue)
            object["effectiveTierReason"] = resolved.lapse.map { .string($0.description) } ?? .null
            object["subscription"] = resolved.subscription.map { subscription in
                .object(["status": subscription.status.map(JSONValue.string) ?? .null,
                         "currentPeriodEnd": subscription.currentPeriodEnd.map {
                             .string(ISO8601Text.format(Date(timeIntervalSince1970: Double($0) / 1000))) } ?? .null])
            } ?? .null
            object["roles"] = .array(resolved.route.roles.map(JSONValue.string))
            object["databases"] = .array(resolved.route.databases.map(JSONValue.string))
            object["burstingTo"] = resolved.burstingFrom == nil ? .null : .string(resolved.tier.rawValue)
            object["tierUpdatedAt"] = .integer(resolved.tierUpdatedAt)
            object["limits"] = resolved.limits.jsonValue
            object["settings"] = .object(JSONObject(resolved.sessionSettings.settings.map {
                (key: $0.name, value: JSONValue.string($0.value)) }))
        } else {
            object["tier"] = .null
        }
        object["burst"] = burstStatus(org, addon: resolved?.burst)
        object["openSessions"] = .integer(open)
        object["loginsInProgress"] = .integer(logins)
        object["cluster"] = clusterView(org, ceiling: resolved?.limits.postgres.maxConnections)
        // The org's label in the per-org /metrics series (null when they are off).
        object["metricsLabel"] = metrics.orgLabels.label(for: org).map(JSONValue.string) ?? .null
        object["pendingEnforcement"] = pending.map { pending in
            .object(["tier": .string(pending.tier.rawValue), "ceiling": .integer(pending.ceiling),
                     "openAtChange": .integer(pending.openAtChange), "excess": .integer(max(0, open - pending.ceiling)),
                     "at": .string(ISO8601Text.format(pending.deadlineDate)),
                     "inSeconds": .integer(max(0, Int((pending.deadline - clock.now).seconds.rounded(.up))))])
        } ?? .null
        return object
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
    private func burstStatus(_ org: OrgId, addon: OrgTier.BurstConfig?) -> JSONValue {
        var object: JSONObject = [:]
        object["addon"] = addon.map { addon in
            .object(["burstTier": .string(addon.burstTier.rawValue),
                     "maxBurstDurationMinutes": .number(addon.maxBurstDurationMinutes),
                     "cooldownMinutes": .number(addon.cooldownMinutes), "costPerMinute": .number(addon.costPerMinute),
                     "autoTrigger": .bool(addon.autoTrigger)])
        } ?? .null
        guard let bursts else {
            object["state"] = .string("unavailable")
            object["reason"] = .string("bursts need --redis, where their state is shared")
            return .object(object)
        }
        guard let status = bursts.status(org) else {
            object["state"] = .string("unavailable")
            object["reason"] = .string("Redis unreachable")
            return .object(object)
        }
        let state: String = if status.running { "running" } else if status.switchedOff { "off" }
            else if status.cooldownRemaining != nil { "cooling_down" } else { "idle" }
        object["state"] = .string(state)
        if let latest = status.latest, case .object(let summary) = Self.burstSummary(latest) {
            for member in summary.members where member.key != "burstTier" { object[member.key] = member.value }
        } else {
            object["startedAt"] = .null
            object["minutesUsed"] = .integer(0)
        }
        // While a burst runs its cooldown key also covers the burst: shown once cooling down.
        object["cooldownRemainingSeconds"] = state == "cooling_down"
            ? status.cooldownRemaining.map { .integer(Int($0.seconds.rounded(.up))) } ?? .null : .null
        object["totalMinutesBilled"] = .integer(status.totalBilledMinutes)
        return .object(object)
    }

    /// One burst as the admin socket shows it: start, end, minutes used and their cost.
    public static func burstSummary(_ state: BurstState) -> JSONValue {
        func time(_ ms: Int?) -> JSONValue {
            ms.map { .string(ISO8601Text.format(Date(timeIntervalSince1970: Double($0) / 1000))) } ?? .null
        }
        return .object(["burstTier": .string(state.burstTier.rawValue), "startedAt": time(state.startedAt),
                        "endsAt": time(state.endsAt), "endedAt": time(state.endedAt),
                        "minutesUsed": .integer(state.billedMinutes), "cost": .number(state.billedCost)])
    }

    /// BURST OFF: nil when bursts are unavailable (no Redis, or unreachable).
    public func switchOffBurst(_ org: OrgId) -> BurstLedger.SwitchedOff? {
        bursts?.switchOff(org)
    }

    /// BURST START: a burst asked for by an operator or billing system, whatever the org's
    /// use and `autoTrigger` (the add-on must still be enabled). Blocking. The ledger's
    /// decision, or why it was not asked.
    public func startBurst(_ org: OrgId) -> Result<BurstLedger.Decision, BurstStartRefusal> {
        guard let bursts else { return .failure(.unavailable) }
        let base: OrgTier
        switch resolver.resolveNow(org) {
        case .success(let value): base = value
        case .failure(let error): return .failure(.lookup(error.description))
        }
        guard let addon = base.burst, addon.burstTier > base.tier else { return .failure(.noAddon(base.tier)) }
        guard let decision = bursts.start(base) else { return .failure(.unavailable) }
        return .success(decision)
    }

    /// BURST ON: true if the kill switch was set; nil when bursts are unavailable.
    public func switchOnBurst(_ org: OrgId) -> Bool? {
        bursts?.resume(org)
    }

    /// SHOW ORGS: every org this instance knows (cached or with open sessions).
    public func orgsOverview() -> [JSONObject] {
        let orgs = Set(resolver.cachedOrgs).union(orgSessions.orgsWithSessions).sorted()
        return orgs.map { org in
            let (resolved, open, _, pending) = view(org)
            var row: JSONObject = ["org": .string(org.rawValue)]
            row["tier"] = resolved.map { .string($0.baseTier.rawValue) } ?? .null
            row["burstingTo"] = resolved.flatMap { $0.burstingFrom == nil ? nil : JSONValue.string($0.tier.rawValue) } ?? .null
            row["maxConnections"] = resolved.map { .integer($0.limits.postgres.maxConnections) } ?? .null
            row["openSessions"] = .integer(open)
            row["pendingEnforcement"] = .bool(pending != nil)
            return row
        }
    }

    /// SHOW STATS: admissions, refusals by reason, cache layers, lookups, uptime.
    public func statistics() -> JSONObject {
        let (admitted, closed) = orgSessions.state.withLock { ($0.admitted, $0.closedByDowngrade) }
        let refused = metrics.refusalCounts.snapshot
        let lookups = resolver.stats
        let (open, logins) = gate.withLock { ($0.totalOpenSessions, $0.totalLoginsInProgress) }
        return [
            "uptimeSeconds": .integer(Int((clock.now - startedAt).seconds)),
            "connections": .object([
                "admitted": .integer(admitted),
                "open": .integer(open),
                "loginsInProgress": .integer(logins),
                "queued": .integer(queuedConnections),
                "refused": .object(JSONObject(refused.map { (key: $0.key.rawValue, value: .integer($0.value)) }.sorted { $0.key < $1.key })),
                "closedByDowngrade": .integer(closed),
            ]),
            "cache": .object([
                "inProcess": .object(["hits": .integer(lookups.inProcessHits), "misses": .integer(lookups.inProcessMisses)]),
                "redis": .object(["hits": .integer(lookups.redisHits), "misses": .integer(lookups.redisMisses),
                                  "stale": .integer(lookups.redisStale), "errors": .integer(lookups.redisErrors)]),
            ]),
            "cluster": clusterStatistics(),
            "lookups": .object([
                "source": .integer(lookups.sourceLookups), "sourceErrors": .integer(lookups.sourceErrors),
                "coalesced": .integer(lookups.coalesced), "staleServed": .integer(lookups.staleServed),
            ]),
        ]
    }
}

/// ISO 8601 in UTC with milliseconds, for times shown by the admin socket.
enum ISO8601Text {
    static func format(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: date)
    }
}

