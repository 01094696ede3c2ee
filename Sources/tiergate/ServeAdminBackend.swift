import Admin
import Foundation
import PgBouncerConfig
import Proxy
import TierModel
import TierPolicy
import TierStore

/// The admin socket's commands carried out on a serving TierGate.
struct ServeAdminBackend: AdminBackend {
    /// Nil when serving without an org source (transparent relay): tier commands fail.
    let admission: TierAdmission?
    /// The --tiers file RELOAD re-reads; nil for the built-in matrix.
    let tiersPath: String?
    /// PGBOUNCER: regenerates PgBouncer's config and returns a summary; nil until the
    /// generator is wired in.
    let pgbouncer: (@Sendable () throws -> String)?
    /// Asked for a (debounced) regeneration after every tier change made through this socket.
    var pgbouncerRegenerator: DebouncedRegenerator? = nil
    /// The client certificate RELOAD re-reads with the tiers; nil without TLS.
    var tlsCredentials: TLSCredentials? = nil
    /// Client TLS counters SHOW STATS adds; nil without client TLS.
    var tlsStatistics: TLSStatistics? = nil

    func execute(_ command: AdminCommand) -> AdminReply {
        if case .ping = command { return .success(["reply": .string("PONG")]) }
        if case .pgbouncer = command { return regeneratePgBouncer() }
        if case .reload = command, admission == nil, tlsCredentials != nil { return reload(nil) }
        if case .showStats = command, admission == nil, let tlsStatistics {
            return .success(["tls": .object(Self.tlsFields(tlsStatistics.snapshot))])
        }
        guard let admission else {
            return .failure("no org source configured (--mongo or --orgs): TierGate relays without tiers")
        }
        switch command {
        case .ping, .pgbouncer:
            return .failure("unreachable")
        case .invalidate(let org):
            let (reload, announced) = admission.invalidate(org)
            pgbouncerRegenerator?.requestRegeneration()
            return invalidationReply(reload, announced: announced)
        case .invalidateAll:
            let (reloads, announced) = admission.invalidateAll()
            pgbouncerRegenerator?.requestRegeneration()
            var fields: JSONObject = ["orgs": .array(reloads.map { JSONValue.object(reloadFields($0)) })]
            fields["announcedTo"] = announced.map { .integer($0) } ?? .null
            return .success(fields)
        case .showOrg(let org):
            return .success(admission.orgStatus(org))
        case .showOrgs:
            return .success(["orgs": .array(admission.orgsOverview().map { .object($0) })])
        case .showStats:
            var fields = admission.statistics()
            if let tlsStatistics { fields["tls"] = .object(Self.tlsFields(tlsStatistics.snapshot)) }
            return .success(fields)
        case .reload:
            return reload(admission)
        case .burstOff(let org):
            guard let result = admission.switchOffBurst(org) else {
                return .failure("BURST OFF \(org): \(BurstStartRefusal.unavailable)")
            }
            var fields: JSONObject = ["org": .string(org.rawValue), "switchedOff": .bool(true)]
            if case .endedRunning(let ended) = result {
                fields["endedBurst"] = TierAdmission.burstSummary(ended.state)
            } else {
                fields["endedBurst"] = .null
            }
            return .success(fields)
        case .burstStart(let org):
            switch admission.startBurst(org) {
            case .failure(let refusal):
                return .failure("BURST START \(org): \(refusal)")
            case .success(.started(let state, _)):
                return .success(["org": .string(org.rawValue), "started": .bool(true), "burst": TierAdmission.burstSummary(state)])
            case .success(.running(let state, _)):
                return .success(["org": .string(org.rawValue), "started": .bool(false), "burst": TierAdmission.burstSummary(state)])
            case .success(.coolingDown(let remaining)):
                return .failure("BURST START \(org): cooling down after the last burst for \(Int(remaining.seconds.rounded(.up))) s more")
            case .success(.switchedOff):
                return .failure("BURST START \(org): switched off (BURST OFF); BURST ON first")
            }
        case .burstOn(let org):
            guard let lifted = admission.switchOnBurst(org) else {
                return .failure("BURST ON \(org): bursts unavailable (they need --redis, and Redis must be reachable)")
            }
            return .success(["org": .string(org.rawValue), "switchedOn": .bool(lifted)])
        }
    }

    private func invalidationReply(_ reload: TierResolver.Reload, announced: Int?) -> AdminReply {
        var fields = reloadFields(reload)
        fields["announcedTo"] = announced.map { .integer($0) } ?? .null
        if case .failure(let error) = reload.new {
            let head: JSONObject = ["error": .string("INVALIDATE \(reload.org): caches dropped, but \(error)")]
            return AdminReply(ok: false, fields: head.merging(fields))
        }
        return .success(fields)
    }

    private func reloadFields(_ reload: TierResolver.Reload) -> JSONObject {
        var fields: JSONObject = ["org": .string(reload.org.rawValue)]
        fields["old"] = reload.old.map(Self.summary) ?? .null
        switch reload.new {
        case .success(let value): fields["new"] = Self.summary(value)
        case .failure(let error): fields["new"] = .null; fields["newError"] = .string(error.description)
        }
        fields["redis"] = .bool(reload.redisReached)
        return fields
    }

    static func tlsFields(_ snapshot: TLSStatistics.Snapshot) -> JSONObject {
        var failures: JSONObject = [:]
        for (reason, count) in snapshot.failures.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            failures[reason.rawValue] = .integer(count)
        }
        return ["sessions": .integer(snapshot.openSessions), "handshakes": .integer(snapshot.handshakes),
                "directHandshakes": .integer(snapshot.directHandshakes),
                "handshakeFailures": .integer(snapshot.failureCount), "handshakeFailuresByReason": .object(failures)]
    }

    static func summary(_ org: OrgTier) -> JSONValue {
        .object(["tier": .string(org.tier.rawValue),
                 "maxConnections": .integer(org.limits.postgres.maxConnections),
                 "tierUpdatedAt": .integer(org.tierUpdatedAt)])
    }

    /// Re-reads the tiers file and the TLS pair; if either does not load, nothing changes.
    private func reload(_ admission: TierAdmission?) -> AdminReply {
        var fields: JSONObject = [:]
        let tls: TLSContextReload
        switch TLSContextReload.load(tlsCredentials) {
        case .failure(let message): return .failure("RELOAD refused, the tiers and TLS certificate in force are unchanged: \(message)")
        case .success(let loaded): tls = loaded
        }
        if let admission {
            if let tiersPath {
                let matrix: TierMatrix
                do {
                    matrix = try TierMatrix.load(json: try Data(contentsOf: URL(fileURLWithPath: tiersPath)), path: tiersPath)
                } catch {
                    return .failure("RELOAD refused, the tiers and TLS certificate in force are unchanged: \(error)")
                }
                admission.replaceMatrix(matrix)
                pgbouncerRegenerator?.requestRegeneration()
                fields["tiers"] = .string(tiersPath)
                fields["reloaded"] = .bool(true)
            } else {
                fields["tiers"] = .string("built-in")
                fields["reloaded"] = .bool(false)
            }
        }
        if let tlsFields = tls.install() { fields["tls"] = .object(tlsFields) }
        return .success(fields)
    }

    private func regeneratePgBouncer() -> AdminReply {
        guard let pgbouncer else {
            return .failure("PGBOUNCER: not configured (no PgBouncer config generation in this TierGate)")
        }
        do {
            return .success(["pgbouncer": .string(try pgbouncer())])
        } catch {
            return .failure("PGBOUNCER: \(error)")
        }
    }
}

extension JSONObject {
    func merging(_ other: JSONObject) -> JSONObject {
        var merged = self
        for member in other.members where merged[member.key] == nil { merged[member.key] = member.value }
        return merged
    }
}
