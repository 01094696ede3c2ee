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
        if case .ping = command { return .pong }
        if case .pgbouncer = command { return regeneratePgBouncer() }
        if case .reload = command, admission == nil, tlsCredentials != nil { return reload(nil) }
        if case .showStats = command, admission == nil, let tlsStatistics {
            return .showStats(tlsOnly: Self.tls(tlsStatistics.snapshot))
        }
        guard let admission else {
            return .noOrgSource
        }
        switch command {
        case .ping, .pgbouncer:
            return .failure("unreachable")
        case .invalidate(let org):
            let (reload, announced) = admission.invalidate(org)
            pgbouncerRegenerator?.requestRegeneration()
            return .invalidated(Self.orgReload(reload, announcedTo: announced))
        case .invalidateAll:
            let (reloads, announced) = admission.invalidateAll()
            pgbouncerRegenerator?.requestRegeneration()
            return .invalidatedAll(reloads.map { Self.orgReload($0, announcedTo: nil) }, announcedTo: announced)
        case .showOrg(let org):
            return .showOrg(admission.orgStatus(org))
        case .showOrgs:
            return .showOrgs(admission.orgsOverview())
        case .showStats:
            var statistics = admission.statistics()
            statistics.tls = tlsStatistics.map { Self.tls($0.snapshot) }
            return .showStats(statistics)
        case .reload:
            return reload(admission)
        case .burstOff(let org):
            guard let result = admission.switchOffBurst(org) else {
                return .burstOffUnavailable(org, because: BurstStartRefusal.unavailable.description)
            }
            if case .endedRunning(let ended) = result { return .burstSwitchedOff(org, ended: ended.state) }
            return .burstSwitchedOff(org, ended: nil)
        case .burstStart(let org):
            switch admission.startBurst(org) {
            case .failure(let refusal):
                return .burstStartRefused(org, because: refusal.description)
            case .success(.started(let state, _)):
                return .burstStarted(org, started: true, burst: state)
            case .success(.running(let state, _)):
                return .burstStarted(org, started: false, burst: state)
            case .success(.coolingDown(let remaining)):
                return .burstStartCoolingDown(org, remainingSeconds: Int(remaining.seconds.rounded(.up)))
            case .success(.switchedOff):
                return .burstStartSwitchedOff(org)
            }
        case .burstOn(let org):
            guard let lifted = admission.switchOnBurst(org) else {
                return .burstOnUnavailable(org)
            }
            return .burstSwitchedOn(org, lifted: lifted)
        }
    }

    /// The resolver's reload as the admin socket's value (the lookup error as its text).
    static func orgReload(_ reload: TierResolver.Reload, announcedTo: Int?) -> OrgReload {
        OrgReload(org: reload.org, old: reload.old, new: reload.new.mapError { OrgReload.Failure($0.description) },
                  redisReached: reload.redisReached, announcedTo: announcedTo)
    }

    static func tls(_ snapshot: TLSStatistics.Snapshot) -> ProxyStatistics.TLS {
        var tls = ProxyStatistics.TLS()
        tls.sessions = snapshot.openSessions
        tls.handshakes = snapshot.handshakes
        tls.directHandshakes = snapshot.directHandshakes
        tls.handshakeFailures = snapshot.failureCount
        tls.handshakeFailuresByReason = Dictionary(uniqueKeysWithValues: snapshot.failures.map { ($0.key.rawValue, $0.value) })
        return tls
    }

    /// Re-reads the tiers file and the TLS pair; if either does not load, nothing changes.
    private func reload(_ admission: TierAdmission?) -> AdminReply {
        let tls: TLSContextReload
        switch TLSContextReload.load(tlsCredentials) {
        case .failure(let message): return .reloadRefused(because: message.description)
        case .success(let loaded): tls = loaded
        }
        var tiers: AdminReply.TiersReload?
        if let admission {
            if let tiersPath {
                let matrix: TierMatrix
                do {
                    matrix = try TierMatrix.load(json: try Data(contentsOf: URL(fileURLWithPath: tiersPath)), path: tiersPath)
                } catch {
                    return .reloadRefused(because: "\(error)")
                }
                admission.replaceMatrix(matrix)
                pgbouncerRegenerator?.requestRegeneration()
                tiers = .file(path: tiersPath)
            } else {
                tiers = .builtIn
            }
        }
        return .reloaded(tiers: tiers, certificate: tls.install())
    }

    private func regeneratePgBouncer() -> AdminReply {
        guard let pgbouncer else { return .pgbouncerNotConfigured }
        do {
            return .pgbouncerRegenerated(try pgbouncer())
        } catch {
            return .pgbouncerFailed(because: "\(error)")
        }
    }
}
