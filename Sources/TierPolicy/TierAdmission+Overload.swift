import Dispatch
import Gate
import Logging
import PostgresWire
import Proxy
import TierModel

/// Overload control in admission: the connect rate before anything else, the upstream's
/// capacity by tier when a login is admitted, and the wait queue for connections refused
/// a slot.
extension TierAdmission {
    /// Sets (nil: forgets) how many sessions TierGate may hold on `upstream` (its
    /// max_connections less the superuser reserve, or `--upstream-max-connections`).
    public func setUpstreamCapacity(_ sessions: Int?, for upstream: Endpoint) {
        overload.capacity.withLock { $0.setCapacity(sessions, for: upstream) }
        overload.waiting?.drainSoon()
    }

    /// `learn` is called, off the I/O loops and once per upstream, for each upstream a
    /// session is sent to while its capacity is unknown; it answers with `setUpstreamCapacity`.
    public func learnUnknownUpstreamCapacities(_ learn: @escaping @Sendable (Endpoint) -> Void) {
        overload.capacityLearner.withLock { $0 = learn }
    }

    /// The upstream's capacity (nil: unknown) and the sessions this instance holds on it.
    public func upstreamUse(_ upstream: Endpoint) -> (capacity: Int?, inUse: Int) {
        overload.capacity.withLock { ($0.capacity(of: upstream), $0.inUse(on: upstream)) }
    }

    /// Connections waiting in the queue (0 without `--queue`).
    public var queuedConnections: Int { overload.waiting?.length ?? 0 }

    /// The org's connect rate first: a connection over it is refused before its tier's
    /// ceiling is looked at, and before any backend is forked.
    func admitWithinRate(_ request: AdmissionRequest, identity: OrgIdentity, org: OrgTier,
                         completion: @escaping @Sendable (AdmissionOutcome) -> Void) {
        let effective = bursts?.overlay(org, matrix: resolver.matrix) ?? org
        overload.rates.take(effective) { [self] decision in
            switch decision {
            case .allowed:
                decide(request, identity: identity, org: org, completion: completion)
            case .refused(let retryAfter):
                let limits = effective.limits.postgres
                completion(.refused(refusedOverRate(ConnectRateRefusal(
                    org: effective.orgId, tier: effective.tier, rate: limits.connectRate, burst: limits.connectBurst,
                    retryAfter: retryAfter, suggestion: .connectRate(tier: effective.tier, matrix: resolver.matrix)))))
            }
        }
    }

    /// Answers the connection with the gate's decision, or queues it (`--queue`) when the
    /// decision, or the upstream's capacity, refused it a slot.
    func conclude(_ request: AdmissionRequest, identity: OrgIdentity, org: OrgTier, decision: LoginDecision,
                  completion: @escaping @Sendable (AdmissionOutcome) -> Void) {
        let attempted = attempt(request, identity: identity, org: org, decision: decision)
        if case .admitted(let session) = attempted { return completion(.admitted(session)) }
        if queue(request, identity: identity, org: org, completion: completion) { return }
        completion(answer(attempted))
    }

    /// The session's place on `upstream`; the refusal when its tier may not take one now.
    func takeUpstreamPlace(_ upstream: Endpoint, org: OrgTier) -> UpstreamCapacityRefusal? {
        let decision = overload.capacity.withLock {
            $0.acquire(upstream, tier: org.tier, reservePercent: org.limits.postgres.capacityReserve)
        }
        guard case .refused(let inUse, let tierLimit, let capacity) = decision else {
            askForCapacity(of: upstream)
            return nil
        }
        return UpstreamCapacityRefusal(org: org.orgId, tier: org.tier, inUse: inUse, tierLimit: tierLimit,
                                       capacity: capacity, suggestion: .serverCapacity(tier: org.tier, matrix: resolver.matrix))
    }

    private func askForCapacity(of upstream: Endpoint) {
        guard let learn = overload.capacityLearner.withLock({ $0 }),
              overload.capacity.withLock({ $0.capacity(of: upstream) }) == nil,
              overload.upstreamsAsked.withLock({ $0.insert(upstream).inserted }) else { return }
        DispatchQueue.global().async { learn(upstream) }
    }

    /// A session admitted to `upstream` ended: its place is free, and a waiter may take it.
    func leftUpstream(_ upstream: Endpoint) {
        overload.capacity.withLock { $0.release(upstream) }
        overload.waiting?.drainSoon()
    }

    private func answer(_ attempted: AdmissionAttempt) -> AdmissionOutcome {
        switch attempted {
        case .admitted(let session): .admitted(session)
        case .overCeiling(let refusal): .refused(refused(refusal))
        case .atCapacity(let refusal): .refused(refusedAtCapacity(refusal))
        }
    }

    /// Queues the connection for up to its tier's connection timeout; false without
    /// `--queue`, when its client already left, or when the org's line is full.
    private func queue(_ request: AdmissionRequest, identity: OrgIdentity, org: OrgTier,
                       completion: @escaping @Sendable (AdmissionOutcome) -> Void) -> Bool {
        guard let waiting = overload.waiting, !request.cancellation.isCancelled else { return false }
        var wait = Duration.milliseconds(org.limits.postgres.connectionTimeout)
        if let cap = overload.maxQueueWait { wait = min(wait, cap) }
        let address = Endpoint.host(ofPeer: request.peer)
        let retry: @Sendable () -> AdmissionAttempt = { [self] in
            // Judged by the tier the org's sessions run under now: an upgrade while it waits
            // raises its ceiling.
            let current = orgSessions.state.withLock { $0.tiers[org.orgId] } ?? org
            let decision = beginLoginNow(current, address: address)
            return attempt(request, identity: identity, org: current, decision: decision)
        }
        let queued = waiting.enqueue(
            org: org.orgId, tier: org.tier, ceiling: org.limits.postgres.maxConnections, wait: wait,
            cancellation: request.cancellation,
            AdmissionWaitQueue.Waiting(
                attempt: {
                    if case .admitted(let session) = retry() { return .admitted(session) }
                    return nil
                },
                expire: { [self] in answer(retry()) },
                complete: completion))
        if queued {
            logger.debug("connection queued for a slot", metadata: [
                "org": "\(org.orgId)", "tier": "\(org.tier)", "wait_ms": "\(wait.milliseconds)", "peer": "\(request.peer)"])
        }
        return queued
    }

    private func refusedOverRate(_ refusal: ConnectRateRefusal) -> ErrorResponse {
        metrics.refused(.connectRate, tier: refusal.tier)
        logger.notice("refused: connect rate", metadata: [
            "org": "\(refusal.org)", "tier": "\(refusal.tier)", "rate": "\(refusal.rate)", "burst": "\(refusal.burst)",
            "retry_after_ms": "\(refusal.retryAfter.milliseconds)"])
        return ErrorResponse(severity: .fatal, sqlState: ConnectRateRefusal.sqlState,
                             message: refusal.message, detail: refusal.detail, hint: refusal.hint)
    }

    private func refusedAtCapacity(_ refusal: UpstreamCapacityRefusal) -> ErrorResponse {
        metrics.refused(.upstreamCapacity, tier: refusal.tier)
        logger.notice("refused: upstream at capacity for the tier", metadata: [
            "org": "\(refusal.org)", "tier": "\(refusal.tier)", "in_use": "\(refusal.inUse)",
            "tier_limit": "\(refusal.tierLimit)", "capacity": "\(refusal.capacity)"])
        return ErrorResponse(severity: .fatal, sqlState: UpstreamCapacityRefusal.sqlState,
                             message: refusal.message, detail: refusal.detail, hint: refusal.hint)
    }
}
