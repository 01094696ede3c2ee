import Dispatch
import Foundation
import Gate
import Logging
import PostgresWire
import TierModel
import TierStore

/// Tier changes while sessions are open (issue 5, seed 4 and 6.2), and the views the admin
/// socket shows.
///
/// - New connections are judged by the tier just resolved (the gate takes the limits it is
///   given), so a change is in force for them as soon as the caches hold it.
/// - Open sessions get the new settings at their next idle point (`SettingsInjection`).
/// - A downgrade below current use keeps the excess sessions for a grace period, then
///   closes the newest excess ones with a FATAL naming the ceiling.
extension TierAdmission {
    /// How long excess sessions survive a downgrade (seed 4.2: 15 minutes).
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
        let announced = resolver.announceInvalidation("\(instanceId) \(org)")
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
        let announced = resolver.announceInvalidation("\(instanceId) *")
        return (reloads, announced)
    }

    /// A message from the invalidation channel: "<instanceId> <org or *>". The announcing
    /// instance has already refreshed Redis; this one drops its in-process copy and, for
    /// orgs with open sessions here, resolves again and applies the result.
    ///
    /// Bursts use the same channel: "<instanceId> burst <org>" when one starts and
    /// "<instanceId> burst-off <org>" / "burst-on <org>" after BURST OFF / ON (instances that predate bursts ignore
    /// them: a word with a space is no org id).
    public func invalidationAnnounced(_ message: String) {
        let words = message.split(separator: " ").map(String.init)
        if words.count == 3, words[0] != instanceId, let org = try? OrgId(words[2]) {
            switch words[1] {
            case "burst": bursts?.burstAnnounced(org)
            case "burst-off": bursts?.switchOffAnnounced(org)
            case "burst-on": bursts?.switchOnAnnounced(org)
            default: break
            }
            return
        }
        let parts = message.split(separator: " ", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { return }
        guard parts[0] != instanceId else { return }
        let orgs: [OrgId]
        if parts[1] == "*" {
            resolver.dropAllLocal()
            orgs = orgSessions.orgsWithSessions
        } else {
            guard let org = try? OrgId(parts[1]) else { return }
            resolver.dropLocal(org)
            orgs = [org]
        }
        logger.info("tier invalidation announced", metadata: ["org": "\(parts[1])", "from": "\(parts[0])"])
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
        let update = SessionUpdate(
            rules: TierSessionRules(org: org, matrix: matrix, pooled: pgbouncerRouted, metrics: metrics),
            idleTimeout: TimeoutRules(limits: org.limits).idle,
            logMetadata: ["tier": org.tier.rawValue],
            settingsStatement: pgbouncerRouted ? nil : org.sessionSettings.settings.map(\.sql).joined(separator: "; "))
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
            guard sessions.count > ceiling else { return (true, sessions, nil) }
            state.nextToken += 1
            let burstEnded = previous?.burstingFrom != nil && org.burstingFrom == nil && previous?.baseTier == org.tier
            let pending = OrgSessions.PendingEnforcement(
                tier: org.tier, burstEndedFrom: burstEnded ? previous?.tier : nil, ceiling: ceiling, openAtChange: sessions.count,
                deadline: Date().addingTimeInterval(downgradeGrace.seconds), token: state.nextToken)
            state.pending[org.orgId] = pending
            return (true, sessions, pending)
        }
        guard changed else { return }
        logger.notice("tier change applied to open sessions", metadata: [
            "org": "\(org.orgId)", "tier": "\(org.tier)", "open_sessions": "\(controls.count)",
            "ceiling": "\(org.limits.postgres.maxConnections)", "bursting": "\(org.burstingFrom != nil)"])
        for control in controls { control.send(.update(update)) }
        if let enforcement {
            logger.warning("downgrade below current use: excess sessions close after the grace period", metadata: [
                "org": "\(org.orgId)", "tier": "\(org.tier)", "open_sessions": "\(enforcement.openAtChange)",
                "ceiling": "\(enforcement.ceiling)", "grace_s": "\(Int(downgradeGrace.seconds))"])
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(downgradeGrace.nanoseconds)) { [self] in
                enforce(org.orgId, token: enforcement.token)
            }
        }
    }

    /// The grace period is over: close the newest sessions above the ceiling.
    private func enforce(_ org: OrgId, token: UInt64) {
        let grace = downgradeGrace
        let (victims, pending, open) = orgSessions.state.withLock { state
            -> ([SessionControl], OrgSessions.PendingEnforcement?, Int) in
            guard let pending = state.pending[org], pending.token == token else { return ([], nil, 0) }
            state.pending[org] = nil
            let sessions = (state.sessions[org] ?? [:]).values.sorted { $0.ticketId > $1.ticketId }
            let excess = max(0, sessions.count - pending.ceiling)
            state.closedByDowngrade += excess
            return (Array(sessions.prefix(excess)), pending, sessions.count)
        }
        guard let pending, !victims.isEmpty else { return }
        logger.notice("downgrade enforced: closing the newest excess sessions", metadata: [
            "org": "\(org)", "tier": "\(pending.tier)", "ceiling": "\(pending.ceiling)",
            "open_sessions": "\(open)", "closing": "\(victims.count)"])
        let error = ClientError.downgradeExcess(org: org.rawValue, tier: pending.tier.rawValue, ceiling: pending.ceiling,
                                                open: open, graceSeconds: Int(grace.seconds),
                                                burstEndedFrom: pending.burstEndedFrom?.rawValue).errorResponse
        for victim in victims { victim.send(.terminate(error)) }
    }

    // MARK: Admin views

    /// SHOW ORG: the tier in force, its limits, open sessions, burst add-on and state,
    /// pending enforcement. Blocking (the burst state is read from Redis).
    public func orgStatus(_ org: OrgId) -> JSONObject {
        let (open, told, pending) = orgSessions.state.withLock {
            ($0.sessions[org]?.count ?? 0, $0.tiers[org], $0.pending[org])
        }
        let resolved = (told ?? resolver.cachedValue(org)).map { bursts?.overlay($0, matrix: resolver.matrix) ?? $0 }
        var object: JSONObject = ["org": .string(org.rawValue)]
        if let resolved {
            object["tier"] = .string(resolved.baseTier.rawValue)
            object["burstingTo"] = resolved.burstingFrom == nil ? .null : .string(resolved.tier.rawValue)
            object["tierUpdatedAt"] = .integer(resolved.tierUpdatedAt)
            if let limits = (try? JSONValue(parsing: resolved.redisValue))?.objectValue?["limits"] {
                object["limits"] = limits
            }
            object["settings"] = .object(JSONObject(resolved.sessionSettings.settings.map {
                (key: $0.name, value: JSONValue.string($0.value)) }))
        } else {
            object["tier"] = .null
        }
        object["burst"] = burstStatus(org, addon: resolved?.burst)
        object["openSessions"] = .integer(open)
        object["pendingEnforcement"] = pending.map { pending in
            .object(["tier": .string(pending.tier.rawValue), "ceiling": .integer(pending.ceiling),
                     "openAtChange": .integer(pending.openAtChange), "excess": .integer(max(0, open - pending.ceiling)),
                     "at": .string(ISO8601Text.format(pending.deadline)),
                     "inSeconds": .integer(max(0, Int(pending.deadline.timeIntervalSinceNow.rounded(.up))))])
        } ?? .null
        return object
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
            let status = orgStatus(org)
            var row: JSONObject = ["org": .string(org.rawValue)]
            row["tier"] = status["tier"] ?? .null
            row["burstingTo"] = status["burstingTo"] ?? .null
            row["maxConnections"] = status["limits"]?.objectValue?["postgres"]?.objectValue?["maxConnections"] ?? .null
            row["openSessions"] = status["openSessions"] ?? .integer(0)
            row["pendingEnforcement"] = .bool(status["pendingEnforcement"] != .null)
            return row
        }
    }

    /// SHOW STATS: admissions, refusals by reason, cache layers, lookups, uptime.
    public func statistics() -> JSONObject {
        let (admitted, refused, closed) = orgSessions.state.withLock { ($0.admitted, $0.refused, $0.closedByDowngrade) }
        let lookups = resolver.stats
        let open = gate.withLock { $0.totalOpenSessions }
        return [
            "uptimeSeconds": .integer(Int(Date().timeIntervalSince(startedAt))),
            "connections": .object([
                "admitted": .integer(admitted),
                "open": .integer(open),
                "refused": .object(JSONObject(refused.sorted { $0.key < $1.key }.map { (key: $0.key, value: .integer($0.value)) })),
                "closedByDowngrade": .integer(closed),
            ]),
            "cache": .object([
                "inProcess": .object(["hits": .integer(lookups.inProcessHits), "misses": .integer(lookups.inProcessMisses)]),
                "redis": .object(["hits": .integer(lookups.redisHits), "misses": .integer(lookups.redisMisses),
                                  "stale": .integer(lookups.redisStale), "errors": .integer(lookups.redisErrors)]),
            ]),
            "lookups": .object([
                "source": .integer(lookups.sourceLookups), "sourceErrors": .integer(lookups.sourceErrors),
                "coalesced": .integer(lookups.coalesced), "staleServed": .integer(lookups.staleServed),
            ]),
        ]
    }
}

extension TierLookupError {
    /// The refusal reason as SHOW STATS counts it.
    var statsReason: String {
        switch self {
        case .unknownOrg: "unknown_org"
        case .invalidOrg: "invalid_org"
        case .unavailable: "tier_unavailable"
        }
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

extension TierAdmission {
    /// The tier matrix in force (it changes on RELOAD), for PgBouncer regeneration.
    public var matrix: TierMatrix { resolver.matrix }
}
