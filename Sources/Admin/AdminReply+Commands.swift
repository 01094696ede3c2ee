import TierModel

/// The replies of INVALIDATE, SHOW and BURST built from the typed values the tier policy
/// returns: every field name and its order are fixed here.
extension AdminReply {
    public static func showOrg(_ status: OrgStatus) -> AdminReply {
        .success(status.json)
    }

    public static func showOrgs(_ rows: [OrgOverview]) -> AdminReply {
        .success(["orgs": .array(rows.map { .object($0.json) })])
    }

    public static func showStats(_ statistics: ProxyStatistics) -> AdminReply {
        .success(statistics.json)
    }

    /// SHOW STATS of a relay without tiers: client TLS alone.
    public static func showStats(tlsOnly tls: ProxyStatistics.TLS) -> AdminReply {
        .success(["tls": .object(tls.json)])
    }

    /// INVALIDATE org: a failed re-read fails the reply, the caches dropped all the same.
    public static func invalidated(_ reload: OrgReload) -> AdminReply {
        let fields = reload.json
        if case .failure(let error) = reload.new {
            var head: JSONObject = ["error": .string("INVALIDATE \(reload.org): caches dropped, but \(error)")]
            for member in fields.members where head[member.key] == nil { head[member.key] = member.value }
            return AdminReply(ok: false, fields: head)
        }
        return .success(fields)
    }

    /// INVALIDATE *: each org's reload (their own `announcedTo` left out), then the one
    /// announcement's reach.
    public static func invalidatedAll(_ reloads: [OrgReload], announcedTo: Int?) -> AdminReply {
        .success(["orgs": .array(reloads.map { .object($0.fields) }),
                  "announcedTo": announcedTo.map(JSONValue.integer) ?? .null])
    }

    /// BURST OFF: the kill switch is set; the burst it ended, if one ran.
    public static func burstSwitchedOff(_ org: OrgId, ended: BurstState?) -> AdminReply {
        .success(["org": .string(org.rawValue), "switchedOff": .bool(true),
                  "endedBurst": ended.map { .object($0.json) } ?? .null])
    }

    /// BURST START: a burst started now (`started`), or the one already running.
    public static func burstStarted(_ org: OrgId, started: Bool, burst: BurstState) -> AdminReply {
        .success(["org": .string(org.rawValue), "started": .bool(started), "burst": .object(burst.json)])
    }

    public static func burstStartRefused(_ org: OrgId, because reason: String) -> AdminReply {
        .failure("BURST START \(org): \(reason)")
    }

    public static func burstStartCoolingDown(_ org: OrgId, remainingSeconds: Int) -> AdminReply {
        burstStartRefused(org, because: "cooling down after the last burst for \(remainingSeconds) s more")
    }

    public static func burstStartSwitchedOff(_ org: OrgId) -> AdminReply {
        burstStartRefused(org, because: "switched off (BURST OFF); BURST ON first")
    }

    /// BURST ON: whether the kill switch was set.
    public static func burstSwitchedOn(_ org: OrgId, lifted: Bool) -> AdminReply {
        .success(["org": .string(org.rawValue), "switchedOn": .bool(lifted)])
    }
}

extension OrgReload {
    /// org, old, new (or newError), redis, announcedTo.
    var json: JSONObject {
        var object = fields
        object["announcedTo"] = announcedTo.map(JSONValue.integer) ?? .null
        return object
    }

    /// org, old, new (or newError), redis.
    var fields: JSONObject {
        var object: JSONObject = ["org": .string(org.rawValue)]
        object["old"] = old.map(Self.summary) ?? .null
        switch new {
        case .success(let value): object["new"] = Self.summary(value)
        case .failure(let error): object["new"] = .null; object["newError"] = .string(error.description)
        }
        object["redis"] = .bool(redisReached)
        return object
    }

    static func summary(_ org: OrgTier) -> JSONValue {
        .object(["tier": .string(org.tier.rawValue), "maxConnections": .integer(org.limits.postgres.maxConnections),
                 "tierUpdatedAt": .integer(org.tierUpdatedAt)])
    }
}

/// PING, RELOAD, PGBOUNCER and the refusals shared by several commands.
extension AdminReply {
    public static let pong = AdminReply.success(["reply": .string("PONG")])

    public static let noOrgSource = AdminReply.failure("no org source configured (--mongo or --orgs): TierGate relays without tiers")

    /// What RELOAD re-read of the tiers: the file, or that the matrix is the built-in one.
    public enum TiersReload: Sendable {
        case file(path: String)
        case builtIn
    }

    /// RELOAD done: the tiers (nil without an org source), then the certificate put in force
    /// (nil without TLS).
    public static func reloaded(tiers: TiersReload?, certificate: String?) -> AdminReply {
        var fields: JSONObject = [:]
        switch tiers {
        case .file(let path): fields["tiers"] = .string(path); fields["reloaded"] = .bool(true)
        case .builtIn: fields["tiers"] = .string("built-in"); fields["reloaded"] = .bool(false)
        case nil: break
        }
        if let certificate { fields["tls"] = .object(["cert": .string(certificate), "reloaded": .bool(true)]) }
        return .success(fields)
    }

    /// RELOAD refused: a file did not load, and nothing changed.
    public static func reloadRefused(because reason: String) -> AdminReply {
        .failure("RELOAD refused, the tiers and TLS certificate in force are unchanged: \(reason)")
    }

    public static func pgbouncerRegenerated(_ summary: String) -> AdminReply {
        .success(["pgbouncer": .string(summary)])
    }

    public static let pgbouncerNotConfigured =
        AdminReply.failure("PGBOUNCER: not configured (no PgBouncer config generation in this TierGate)")

    public static func pgbouncerFailed(because reason: String) -> AdminReply {
        .failure("PGBOUNCER: \(reason)")
    }

    public static func burstOffUnavailable(_ org: OrgId, because reason: String) -> AdminReply {
        .failure("BURST OFF \(org): \(reason)")
    }

    public static func burstOnUnavailable(_ org: OrgId) -> AdminReply {
        .failure("BURST ON \(org): bursts unavailable (they need --redis, and Redis must be reachable)")
    }
}
