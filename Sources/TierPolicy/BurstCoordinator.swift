import Dispatch
import Foundation
import Logging
import Synchronization
import Telemetry
import TierModel
import TierStore

/// The bursts this instance knows are running, and their upkeep: asking the shared ledger
/// for a burst, billing minutes as they begin, noticing the end, and the log lines and
/// metrics of each.
///
/// Redis holds the truth (`BurstLedger`); this keeps a copy with a local deadline
/// (`KnownBursts`) so that admissions during a burst need no Redis call, and re-checks each
/// running burst every `checkInterval` on the policy clock.
///
/// Calls into the ledger block and run on `queue` or a global queue, never on an I/O loop.
final class BurstCoordinator: Sendable {
    private let ledger: BurstLedger
    private let instanceId: String
    private let logger: Logger
    private let metrics: TierGateMetrics
    private let clock: any PolicyClock
    private let checkInterval: Duration
    /// Running bursts, and the orgs the ledger just refused one (cooling down, switched off,
    /// Redis unreachable): until their quiet time ends, their connections over the ceiling
    /// are refused without asking Redis again.
    private let known = Mutex(KnownBursts())
    /// How long a switched-off org, or any org while Redis is unreachable, is not asked
    /// about again (BURST ON is announced and lifts it at once).
    static let recheckAfterRefusal: Duration = .seconds(5)
    private let queue = DispatchQueue(label: "tiergate.bursts")
    /// Called (on a ledger queue) when an org starts or stops bursting as this instance
    /// sees it, so its open sessions are told.
    private let changed = Mutex<(@Sendable (OrgId) -> Void)?>(nil)
    /// Tells the other instances of a start or a switch-off (pub/sub), so their new
    /// sessions get the burst tier at once instead of at their next over-ceiling connection.
    private let announce: @Sendable (Announcement) -> Void

    init(ledger: BurstLedger, instanceId: String, checkInterval: Duration, clock: any PolicyClock,
         logger: Logger, metrics: TierGateMetrics, announce: @escaping @Sendable (Announcement) -> Void) {
        self.ledger = ledger
        self.instanceId = instanceId
        self.clock = clock
        self.checkInterval = checkInterval
        self.logger = logger
        self.metrics = metrics
        self.announce = announce
        scheduleCheck()
    }

    /// The next check of the running bursts, `checkInterval` from now; each check schedules
    /// the one after it, until the coordinator is gone.
    private func scheduleCheck() {
        clock.schedule(after: checkInterval) { [weak self] in
            guard let self else { return }
            queue.async {
                self.checkRunning()
                self.scheduleCheck()
            }
        }
    }

    func onChange(_ handler: @escaping @Sendable (OrgId) -> Void) {
        changed.withLock { $0 = handler }
    }

    // MARK: Admission

    /// `base` with the burst tier's ceiling and settings while a burst this instance knows
    /// of runs; `base` otherwise. No I/O, and for an org without the add-on (most
    /// connections) no lock: `matrix` is read only when the org is bursting.
    func overlay(_ base: OrgTier, matrix: @autoclosure () -> TierMatrix) -> OrgTier {
        guard base.burstingFrom == nil, base.burst != nil else { return base }
        let now = clock.now
        guard let burstTier = known.withLock({ $0.burstTier(of: base.orgId, at: now) }),
              burstTier > base.tier else { return base }
        return base.bursting(to: burstTier, matrix: matrix())
    }

    /// Asks the ledger for a burst of `org` (which has an enabled add-on): the running one,
    /// or a new one unless cooling down or switched off. Completes on a global queue with
    /// the ledger's decision, nil when Redis is unreachable or the org was refused moments
    /// ago (no burst: the base ceiling applies). `operator`: asked by BURST START, which
    /// always asks the ledger.
    func request(_ org: OrgTier, trigger: String, operator: Bool = false,
                 completion: @escaping @Sendable (BurstLedger.Decision?) -> Void) {
        guard let config = org.burst else { return completion(nil) }
        let asked = clock.now
        guard known.withLock({ $0.mayAsk(about: org.orgId, at: asked, operator: `operator`) }) else {
            return completion(nil)
        }
        DispatchQueue.global().async { [self] in
            guard let admission = ledger.admit(org.orgId, burst: config, instance: instanceId) else {
                logger.notice("burst not available: Redis unreachable; the base ceiling applies", metadata: [
                    "org": "\(org.orgId)", "tier": "\(org.tier)"])
                beQuiet(org.orgId, for: Self.recheckAfterRefusal)
                return completion(nil)
            }
            if let ended = admission.ended { reportEnded(org.orgId, ended, baseTier: org.tier) }
            switch admission.decision {
            case .started(let state, let remaining):
                let activation = clock.now - asked
                metrics.burstStarted(tier: state.burstTier)
                billed(org.orgId, state, admission.billedMinutes)
                metrics.burstActivated(after: activation)
                logger.notice("burst started", metadata: [
                    "org": "\(org.orgId)", "tier": "\(org.tier)", "burst_tier": "\(state.burstTier)",
                    "trigger": "\(trigger)", "max_duration_s": "\(Int(remaining.seconds.rounded()))",
                    "cooldown_s": "\(config.cooldownMilliseconds / 1000)",
                    "cost_per_minute": "\(state.costPerMinute)", "notify_customer": "\(config.notifyOnBurst)",
                    "activation_ms": "\(String(format: "%.2f", activation.seconds * 1000))"])
                remember(org.orgId, state, remaining: remaining, baseTier: org.tier)
                announce(Announcement(from: instanceId, .burstStarted(org.orgId)))
            case .running(let state, let remaining):
                remember(org.orgId, state, remaining: remaining, baseTier: org.tier)
            case .coolingDown(let remaining):
                // A little short of Redis' own expiry: asking once too often is harmless,
                // refusing a burst the ledger would grant is not.
                if beQuiet(org.orgId, for: max(.zero, remaining - .milliseconds(50))) {
                    logger.info("no burst: cooling down after the last one", metadata: [
                        "org": "\(org.orgId)", "tier": "\(org.tier)", "cooldown_left_s": "\(Int(remaining.seconds.rounded(.up)))"])
                }
            case .switchedOff:
                if beQuiet(org.orgId, for: Self.recheckAfterRefusal) {
                    logger.info("no burst: switched off (BURST OFF)", metadata: ["org": "\(org.orgId)", "tier": "\(org.tier)"])
                }
            }
            completion(admission.decision)
        }
    }

    /// Returns whether the org was not quiet already (so the caller logs once).
    @discardableResult
    private func beQuiet(_ org: OrgId, for duration: Duration) -> Bool {
        let now = clock.now
        return known.withLock { $0.quiet(org, for: duration, at: now) }
    }

    // MARK: Other instances, operators

    /// Another instance started a burst of `org`: check it and take it on.
    func burstAnnounced(_ org: OrgId) {
        queue.async { [self] in check(org) }
    }

    /// Another instance switched `org` off: stop applying its burst now.
    func switchOffAnnounced(_ org: OrgId) {
        queue.async { [self] in forget(org) }
    }

    /// Another instance lifted `org`'s kill switch: ask the ledger again at the next need.
    func switchOnAnnounced(_ org: OrgId) {
        known.withLock { $0.endQuiet(org) }
    }

    /// BURST START. Blocking. Nil when Redis is unavailable.
    func start(_ org: OrgTier) -> BurstLedger.Decision? {
        let done = DispatchSemaphore(value: 0)
        let decision = Mutex<BurstLedger.Decision?>(nil)
        request(org, trigger: "operator (BURST START)", operator: true) { result in
            decision.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return decision.withLock { $0 }
    }

    /// BURST OFF. Blocking. Nil when Redis is unavailable.
    func switchOff(_ org: OrgId) -> BurstLedger.SwitchedOff? {
        guard let result = ledger.switchOff(org) else { return nil }
        if case .endedRunning(let ended) = result {
            reportEnded(org, ended, baseTier: baseTier(of: org))
        }
        logger.notice("burst switched off by an operator", metadata: ["org": "\(org)", "ended_running_burst": "\(result != .noneRunning)"])
        queue.sync { forget(org) }
        announce(Announcement(from: instanceId, .burstSwitchedOff(org)))
        return result
    }

    /// BURST ON. Blocking. Nil when Redis is unavailable.
    func resume(_ org: OrgId) -> Bool? {
        let lifted = ledger.resume(org)
        if lifted == true {
            logger.notice("burst switched back on by an operator", metadata: ["org": "\(org)"])
            switchOnAnnounced(org)
            announce(Announcement(from: instanceId, .burstSwitchedOn(org)))
        }
        return lifted
    }

    /// SHOW ORG. Blocking.
    func status(_ org: OrgId) -> BurstLedger.Status? {
        ledger.status(org)
    }

    // MARK: Upkeep

    private func checkRunning() {
        for org in known.withLock({ $0.orgs }) { check(org) }
    }

    /// One ledger tick for `org` (on `queue`).
    private func check(_ org: OrgId) {
        switch ledger.tick(org) {
        case .running(let state, let remaining, let billed)?:
            self.billed(org, state, billed)
            remember(org, state, remaining: remaining, baseTier: nil)
        case .ended(let ended)?:
            reportEnded(org, ended, baseTier: baseTier(of: org))
            forget(org)
        case .notRunning?:
            forget(org)
        case nil:
            // Redis is unreachable: the burst lasts as long as it was known to, no longer.
            let now = clock.now
            if let overdue = known.withLock({ $0.overdue(org, at: now) }) {
                logger.notice("burst over by its deadline (Redis unreachable: its end is billed later)", metadata: [
                    "org": "\(org)", "burst_tier": "\(overdue.state.burstTier)"])
                forget(org)
            }
        }
    }

    private func remember(_ org: OrgId, _ state: BurstState, remaining: Duration, baseTier: Tier?) {
        let now = clock.now
        let isNew = known.withLock { $0.remember(org, state, remaining: remaining, baseTier: baseTier, at: now) }
        guard isNew else { return }
        logger.info("burst in force here", metadata: [
            "org": "\(org)", "tier": "\(baseTier.map(\.rawValue) ?? "unknown")", "burst_tier": "\(state.burstTier)", "started_by": "\(state.startedBy)",
            "ends_in_s": "\(Int(remaining.seconds.rounded()))"])
        metrics.burstActive(org, true)
        changed.withLock { $0 }?(org)
    }

    private func forget(_ org: OrgId) {
        guard known.withLock({ $0.forget(org) }) else { return }
        metrics.burstActive(org, false)
        changed.withLock { $0 }?(org)
    }

    private func baseTier(of org: OrgId) -> Tier? {
        known.withLock { $0.running[org]?.baseTier }
    }

    /// Minutes this instance billed: counted, and the cost alert when they cross it.
    private func billed(_ org: OrgId, _ state: BurstState, _ minutes: Int) {
        metrics.burstMinutesBilled(minutes, tier: state.burstTier)
        guard state.crossedCost(billedNow: minutes) else { return }
        logger.warning("burst cost alert: the burst's cost passed the alert threshold", metadata: [
            "org": "\(org)", "burst_tier": "\(state.burstTier)", "cost": "\(state.billedCost)",
            "threshold": "\(BurstState.costAlertThreshold)", "minutes_billed": "\(state.billedMinutes)",
            "cost_per_minute": "\(state.costPerMinute)"])
    }

    /// The end of a burst, reported by the one instance whose ledger call finished it.
    private func reportEnded(_ org: OrgId, _ ended: BurstLedger.Ended, baseTier: Tier?) {
        let state = ended.state
        let endedAt = state.endedAt ?? state.endsAt
        let ran = Duration.milliseconds(state.elapsedMilliseconds(now: endedAt))
        billed(org, state, ended.billedMinutes)
        metrics.burstEnded(after: ran, tier: state.burstTier)
        logger.notice("burst ended", metadata: [
            "org": "\(org)", "tier": "\(baseTier.map(\.rawValue) ?? "unknown")", "burst_tier": "\(state.burstTier)",
            "reason": "\(endedAt < state.endsAt ? "switched off" : "maximum duration reached")",
            "duration_s": "\(Int(ran.seconds.rounded()))", "minutes_billed": "\(state.billedMinutes)",
            "cost": "\(state.billedCost)", "started_by": "\(state.startedBy)"])
    }
}
