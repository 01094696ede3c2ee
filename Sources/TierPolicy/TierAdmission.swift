import Dispatch
import Foundation
import Gate
import Logging
import PostgresWire
import Proxy
import Synchronization
import Telemetry
import TierModel
import TierStore

/// Admission by tier: who the org is (the `.orgId` suffix of the startup user), what it pays
/// for, whether it has a free slot under its tier's ceiling, and the session settings and
/// rules its tier imposes.
///
/// The gate check happens before any upstream work, so a refused connection starts no
/// Postgres backend. The slot is held from admission until the session ends, however it
/// ends: `AdmittedSession.onEnd` releases it, and releasing is idempotent.
public final class TierAdmission: SessionAdmitter {
    let resolver: TierResolver
    let gate: Mutex<ConnectionGate>
    private let defaultUpstream: Endpoint
    /// When set, every admitted session goes to this PgBouncer, to the org's own pool
    /// (alias = orgId) instead of the org's Postgres.
    private let pgbouncer: Endpoint?
    let logger: Logger
    private let thrashing = Mutex(RejectionWindow<ContinuousClock.Instant>())
    /// Rejections are counted in Redis off the session loops: one round trip each.
    private let rejectionQueue = DispatchQueue(label: "tiergate.rejections", qos: .utility)
    /// Open sessions per org with their handles, pending downgrades, counters
    /// (TierAdmission+TierChanges.swift).
    let orgSessions = OrgSessions()
    /// The downgrade grace period, bursts' deadlines and upkeep, the thrashing window.
    let clock: any PolicyClock
    let startedAt: ContinuousClock.Instant
    /// Names this process in invalidation announcements, so it skips its own.
    let instanceId: String
    let graceBox = Mutex<Duration>(.seconds(15 * 60))
    var pgbouncerRouted: Bool { pgbouncer != nil }
    /// Admissions, refusals, open sessions, lookup latency, upstream failures.
    let metrics: TierGateMetrics
    /// Burst scaling; nil without Redis, where the burst state lives: then no org bursts.
    let bursts: BurstCoordinator?
    /// Where TLS server names name orgs (`<orgId>.<domain>`); nil: server names are ignored.
    let serverNameOrgs: ServerNameOrgDomain?
    /// The org's sessions counted across instances (TierAdmission+Leases.swift); nil: this
    /// instance's own count is the only one.
    public let leases: (any SessionLeases)?
    /// Connect-rate limits, upstream capacity by tier, the wait queue (TierAdmission+Overload.swift).
    let overload: OverloadControl

    /// - Parameter burstCheckInterval: how often running bursts are re-checked (billing,
    ///   end); a burst ends at most this late on this instance.
    public init(resolver: TierResolver, defaultUpstream: Endpoint, pgbouncer: Endpoint? = nil, logger: Logger,
                metrics: TierGateMetrics = TierGateMetrics(), burstCheckInterval: Duration = .seconds(1),
                clock: any PolicyClock = DispatchClock(), serverNameOrgs: ServerNameOrgDomain? = nil,
                leases: (any SessionLeases)? = nil, overload: OverloadConfiguration = OverloadConfiguration()) {
        self.serverNameOrgs = serverNameOrgs
        self.metrics = metrics
        self.leases = leases
        self.overload = OverloadControl(overload, shared: resolver.connectRates, metrics: metrics, clock: clock)

        self.clock = clock
        startedAt = clock.now
        self.resolver = resolver
        self.defaultUpstream = defaultUpstream
        self.pgbouncer = pgbouncer
        self.logger = logger
        gate = Mutex(ConnectionGate(matrix: resolver.matrix,
                                    loginRule: leases == nil ? ConnectionGate.LoginRule() : Self.loginRuleWithLeases))
        if leases != nil { orgSessions.state.withLock { $0.clusterWide = true } }
        let instanceId = UUID().uuidString
        self.instanceId = instanceId
        bursts = resolver.bursts.map { ledger in
            BurstCoordinator(ledger: ledger, instanceId: instanceId, checkInterval: burstCheckInterval,
                             clock: clock, logger: logger, metrics: metrics,
                             announce: { [resolver] in _ = resolver.announce($0) })
        }
        bursts?.onChange { [weak self] org in self?.burstChanged(org) }
        leases?.onRevoke { [weak self] revocation in self?.revoke(revocation) }
    }

    public func admit(_ request: AdmissionRequest, completion answer: @escaping @Sendable (AdmissionOutcome) -> Void) {
        let completion = Self.auditing(answer)
        let user = request.startup.user ?? ""
        let identity: OrgIdentity
        do {
            let serverNameOrg = request.serverName.flatMap { serverNameOrgs?.org(inServerName: $0) }
            identity = try OrgIdentity(startupUser: user, serverNameOrg: serverNameOrg)
        } catch {
            if case .serverNameNamesAnotherOrg(let named) = error.reason {
                logger.notice("refused: the user name and the TLS server name name different orgs", metadata: [
                    "user": "\(user)", "server_name": "\(request.serverName ?? "")", "peer": "\(request.peer)"])
                metrics.refused(.noOrg, tier: nil)
                completion(.refused(TierClientError.orgConflict(user: user, serverNameOrg: named.rawValue).errorResponse))
                return
            }
            logger.notice("refused: no org in user name", metadata: ["user": "\(user)", "peer": "\(request.peer)"])
            metrics.refused(.noOrg, tier: nil)
            completion(.refused(TierClientError.orgMissing(user: user, reason: error.description).errorResponse))
            return
        }
        let lookupStarted = ContinuousClock.now
        resolver.resolve(identity.org) { [self] result in
            metrics.lookupCompleted(after: .now - lookupStarted)
            switch result {
            case .success(let org):
                if let refusal = accessRefusal(request, identity: identity, org: org) {
                    return completion(.refused(refusal))
                }
                admitWithinRate(request, identity: identity, org: org, completion: completion)
            case .failure(let error):
                metrics.refused(error.refusalReason, tier: nil)
                logger.notice("refused: tier lookup failed", metadata: [
                    "org": "\(identity.org)", "reason": "\(error.refusalReason.rawValue)", "peer": "\(request.peer)"])
                completion(.refused(refusal(for: error, org: identity.org)))
            }
        }
    }

    /// Open sessions per org, for the admin socket and metrics.
    public var openSessions: [OrgId: Int] { gate.withLock { $0.openSessions } }

    /// The gate's decision under the org's ceiling: its base tier's, or its burst tier's while
    /// a burst runs. A connection over the base ceiling of an org with an auto-triggered
    /// burst add-on waits for the shared burst decision (one Redis call); one that pushes
    /// use past 90% is admitted at once and the burst is asked for behind it.
    func decide(_ request: AdmissionRequest, identity: OrgIdentity, org base: OrgTier,
                        completion: @escaping @Sendable (AdmissionOutcome) -> Void) {
        let effective = bursts?.overlay(base, matrix: resolver.matrix) ?? base
        noteResolved(effective)
        let mayTrigger = bursts != nil && base.burst?.autoTrigger == true && effective.burstingFrom == nil
        let address = Endpoint.host(ofPeer: request.peer)
        // Use as the burst trigger sees it: the org's sessions (cluster-wide with leases) and this one.
        beginLogin(effective, address: address) { [self] decision, open in
            guard mayTrigger, let bursts,
                  let trigger = BurstTrigger.evaluate(open: open, ceiling: base.limits.postgres.maxConnections,
                                                      admitted: decision.ticket != nil) else {
                return conclude(request, identity: identity, org: effective, decision: decision, completion: completion)
            }
            switch trigger {
            case .nearCeiling:
                conclude(request, identity: identity, org: effective, decision: decision, completion: completion)
                bursts.request(base, trigger: "use over \(BurstTrigger.utilizationPercent)% of \(base.limits.postgres.maxConnections)") { _ in }
            case .overCeiling:
                bursts.request(base, trigger: "connection over the ceiling of \(base.limits.postgres.maxConnections)") { [self] answer in
                    guard let state = answer?.burst, state.burstTier > base.tier else {
                        return conclude(request, identity: identity, org: base, decision: decision, completion: completion)
                    }
                    let bursting = base.bursting(to: state.burstTier, matrix: resolver.matrix)
                    noteResolved(bursting)
                    beginLogin(bursting, address: address) { [self] retry, _ in
                        conclude(request, identity: identity, org: bursting, decision: retry, completion: completion)
                    }
                }
            }
        }
    }

    /// What the gate's decision comes to: a session (holding its login and its place on the
    /// upstream until `onEnd`), or why not, with nothing held.
    func attempt(_ request: AdmissionRequest, identity: OrgIdentity, org: OrgTier,
                 decision: LoginDecision) -> AdmissionAttempt {
        switch decision {
        case .refused(let refusal):
            return .overCeiling(refusal)
        case .admitted(let ticket, let evicted):
            if let evicted { displace(evicted, org: org) }
            let settings = org.sessionSettings
            let route = org.route
            let upstream = pgbouncer ?? Endpoint(host: route.host ?? defaultUpstream.host,
                                                 port: route.port.flatMap(UInt16.init(exactly:)) ?? defaultUpstream.port)
            if let full = takeUpstreamPlace(upstream, org: org) {
                gate.withLock { _ = $0.release(ticket) }
                leases?.release(ticket)
                return .atCapacity(full)
            }
            // Through PgBouncer the settings come from the org pool's connect_query, since
            // PgBouncer drops startup `options` (pgbouncer/README.md).
            let startup = pgbouncer == nil
                ? StartupRewrite.rewrite(request.startup, identity: identity, route: route, settings: settings)
                : StartupRewrite.rewriteForPgBouncer(request.startup, identity: identity)
            let control = SessionControl(ticketId: ticket.id, admittedAt: clock.now)
            orgSessions.register(control, org: org)
            let admittedTier = org.tier
            return .admitted(AdmittedSession(
                upstream: upstream,
                startup: startup,
                authenticationTimeout: .milliseconds(org.limits.postgres.connectionTimeout),
                idleTimeout: IdleTimeout(tier: org),
                statementTimeout: StatementTimeout(tier: org),
                rules: TierSessionRules(org: org, matrix: resolver.matrix, pooled: pgbouncer != nil, metrics: metrics,
                                        memory: control.guardMemory),
                logMetadata: org.burstingFrom.map { ["org": org.orgId.rawValue, "tier": org.tier.rawValue, "burst_from": $0.rawValue] }
                    ?? ["org": org.orgId.rawValue, "tier": org.tier.rawValue],
                mailbox: control.mailbox,
                onUpstreamFailure: { [metrics] failure in metrics.upstreamFailed(failure.reason, tier: admittedTier) },
                confirmLogin: { [self] in confirmLogin(ticket, org: org) },
                onSettingsRestored: { [metrics] _ in metrics.settingsRestored(tier: admittedTier) },
                onEnd: { [self] in
                    if gate.withLock({ $0.release(ticket) }) == .slot {
                        metrics.sessionClosed(org: ticket.org, tier: admittedTier)
                    }
                    leases?.release(ticket)
                    orgSessions.unregister(ticket.id, org: ticket.org)
                    leftUpstream(upstream)
                }))
        }
    }

    /// The session's login authenticated: it takes a slot under the ceiling in force now (the
    /// tier its org's sessions were last told of, which includes a burst), or is refused as a
    /// connection over the ceiling would have been at admission.
    private func confirmLogin(_ ticket: SessionTicket, org: OrgTier) -> ErrorResponse? {
        let limits = orgSessions.state.withLock { $0.tiers[ticket.org]?.limits } ?? org.limits
        switch gate.withLock({ $0.completeLogin(ticket, limits: limits) }) {
        case .admitted?:
            // Checked after the slot is taken, so a revocation racing this login is seen here
            // or finds the session open (`revoke`).
            if let revocation = leases?.takeRevocation(ticket) {
                gate.withLock { _ = $0.release(ticket) }
                return refused(revokedRefusal(revocation))
            }
            metrics.sessionAdmitted(org: ticket.org, tier: ticket.tier)
            return nil
        case .refused(let refusal)?:
            return refused(refusal)
        case nil:
            // Displaced while it authenticated: its termination is on its way.
            return TierClientError.loginDisplaced(org: ticket.org.rawValue, loginsInProgress: loginBound(org)).errorResponse
        }
    }

    /// A connection over the org's ceiling: counted, logged, and the FATAL it gets.
    func refused(_ refusal: ConnectionRefusal) -> ErrorResponse {
        metrics.refused(.connectionLimit, tier: refusal.tier)
        recordRejection(refusal)
        return ErrorResponse(severity: .fatal, sqlState: ConnectionRefusal.sqlState,
                             message: refusal.message, detail: refusal.detail, hint: refusal.hint)
    }

    /// A newer login took this login's place before it authenticated: its session ends.
    func displace(_ ticket: SessionTicket, org: OrgTier) {
        metrics.refused(.loginDisplaced, tier: ticket.tier)
        logger.notice("login displaced by a newer one", metadata: [
            "org": "\(ticket.org)", "tier": "\(ticket.tier)", "logins_in_progress_max": "\(loginBound(org))"])
        let error = TierClientError.loginDisplaced(org: ticket.org.rawValue, loginsInProgress: loginBound(org)).errorResponse
        orgSessions.controls(of: ticket.org).first { $0.ticketId == ticket.id }?.terminate(error)
    }

    private func loginBound(_ org: OrgTier) -> Int {
        // With leases, logins in progress share the ceiling with the sessions.
        if leases != nil { return max(1, org.limits.postgres.maxConnections) }
        return max(1, org.limits.postgres.maxConnections * gate.withLock { $0.loginRule.perCeiling })
    }

    private func refusal(for error: TierLookupError, org: OrgId) -> ErrorResponse {
        switch error {
        case .unknownOrg:
            return TierClientError.unknownOrg(org.rawValue).errorResponse
        case .invalidOrg(_, let reason):
            return TierClientError.invalidOrg(org.rawValue, reason: reason).errorResponse
        case .unavailable:
            return TierClientError.tierUnavailable(org.rawValue).errorResponse
        }
    }

    /// Rejections counted per org in Redis' 60 s window (shared by every proxy), and one
    /// warning when an org starts thrashing, not one per rejection.
    private func recordRejection(_ refusal: ConnectionRefusal) {
        logger.notice("refused: connection limit", metadata: [
            "org": "\(refusal.org)", "tier": "\(refusal.tier)",
            "current": "\(refusal.current)", "max": "\(refusal.max)"])
        rejectionQueue.async { [self] in
            let shared = resolver.countRejection(refusal.org)
            let local = thrashing.withLock { $0.recordRejection(org: refusal.org, at: clock.now) }
            let onset = shared.map { RejectionWindow<ContinuousClock.Instant>.isThrashingOnset(sharedCount: $0) }
                ?? (local != nil)
            if onset {
                metrics.thrashingStarted(tier: refusal.tier)
                logger.warning("org is thrashing against its connection limit", metadata: [
                    "org": "\(refusal.org)", "tier": "\(refusal.tier)",
                    "rejections_in_window": "\(shared ?? local?.rejections ?? 0)",
                    "suggestion": "\(refusal.hint)"])
            }
        }
    }
}
