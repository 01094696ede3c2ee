import CoreMetrics
import TierModel

/// Every metric TierGate exports (README, Metrics), each handle created once, in `init`,
/// with a fixed set of dimensions.
///
/// Guarantees:
/// - Recording never formats a string nor creates a handle: labels come from closed sets
///   (`Tier`, `RefusalReason`, `LookupEvent`, the admin command labels), looked up in tables
///   built here. The one exception is `tiergate_org_open_sessions`, created once per org
///   when its first session opens, and `tiergate_burst_active`, created when an org's burst
///   is first seen (see `OrgGauges` for the cardinality bound of both), unless
///   `orgLabels` is `.off`; `.hashed` writes a digest of the org id instead of the id.
/// - This type never bootstraps `MetricsSystem`. Pass the factory (the executable's
///   Prometheus factory, or MetricsTestKit's `TestMetrics` in tests); the default is
///   whatever `MetricsSystem` was bootstrapped with, so libraries that are not given one
///   record into the no-op handler.
///
/// Label values: `tier` is a tier name or `none` (refused before the tier was known);
/// `reason`, `layer`, `result`, `command` as the enums say.
public final class TierGateMetrics: Sendable {
    /// At most this many orgs get their own `tiergate_org_open_sessions` series.
    public static let defaultOrgSeriesCap = 500
    /// The `tier` label when the tier is not known (refused before the lookup answered).
    public static let noTier = "none"

    public enum Name {
        public static let admitted = "tiergate_connections_admitted_total"
        public static let refused = "tiergate_connections_refused_total"
        public static let upstreamFailures = "tiergate_upstream_failures_total"
        public static let openSessions = "tiergate_open_sessions"
        public static let orgOpenSessions = "tiergate_org_open_sessions"
        public static let burstsStarted = "tiergate_bursts_started_total"
        public static let burstActive = "tiergate_burst_active"
        public static let burstSeconds = "tiergate_burst_seconds_total"
        public static let burstMinutesBilled = "tiergate_burst_minutes_billed_total"
        public static let burstActivation = "tiergate_burst_activation_duration_seconds"
        public static let connectionLimitHits = "tiergate_connection_limit_hits_total"
        public static let cacheLookups = "tiergate_tier_cache_lookups_total"
        public static let lookupDuration = "tiergate_tier_lookup_duration_seconds"
        public static let statementTimeouts = "tiergate_statement_timeouts_total"
        public static let settingsRefusals = "tiergate_settings_refusals_total"
        public static let adminCommands = "tiergate_admin_commands_total"
        public static let thrashing = "tiergate_thrashing_events_total"
        public static let settingsRestored = "tiergate_settings_restored_total"
        public static let loopWakeups = "tiergate_event_loop_wakeups_total"
        public static let loopEvents = "tiergate_event_loop_events_total"
        public static let queueLength = "tiergate_connection_queue_length"
        public static let statements = "tiergate_statements_total"
        public static let invalidationFailures = "tiergate_invalidation_failures_total"

        /// Every name above: what dashboards and alert rules may refer to.
        public static let all: [String] = [
            admitted, refused, upstreamFailures, openSessions, orgOpenSessions, burstsStarted, burstActive,
            burstSeconds, burstMinutesBilled, burstActivation, connectionLimitHits, cacheLookups, lookupDuration,
            statementTimeouts, settingsRefusals, adminCommands, thrashing, settingsRestored, loopWakeups, loopEvents,
            queueLength, queueWait, statements, invalidationFailures,
        ]
        public static let queueWait = "tiergate_connection_wait_seconds"
    }

    /// The refusals by reason, for SHOW STATS.
    public let refusalCounts = RefusalCounts()
    private let admittedByTier: [Tier: Counter]
    private let refusedByTier: [Tier: [RefusalReason: Counter]]
    private let refusedNoTier: [RefusalReason: Counter]
    private let upstreamFailuresByTier: [Tier: [UpstreamFailureReason: Counter]]
    private let openByTier: [Tier: Meter]
    private let limitHitsByTier: [Tier: Counter]
    private let lookups: [LookupEvent: Counter]
    private let lookupTimer: Timer
    private let statementTimeoutsByTier: [Tier: Counter]
    private let settingsRefusalsByTier: [Tier: Counter]
    private let settingsRestoredByTier: [Tier: Counter]
    private let adminByCommand: [String: Counter]
    private let thrashingByTier: [Tier: Counter]
    private let orgs: OrgGauges
    private let burstsStartedByTier: [Tier: Counter]
    private let burstSecondsByTier: [Tier: Counter]
    private let burstMinutesByTier: [Tier: Counter]
    private let bursting: OrgGauges
    private let burstActivationTimer: Timer
    private let loopWakeups: Counter
    /// How the per-org series name orgs.
    public let orgLabels: OrgLabelMode
    private let loopEvents: Counter
    private let queuedByTier: [Tier: Meter]
    private let queueWaitByTier: [Tier: Timer]
    private let statementsByTier: [Tier: Counter]
    private let invalidationFailures: [InvalidationFailure: Counter]

    /// - Parameter orgLabels: how the per-org series name orgs (`OrgLabelMode`).
    /// - Parameter adminCommands: the `command` labels of `tiergate_admin_commands_total`
    ///   (the admin command table's, which ends with the label of anything else).
    public init(factory: any MetricsFactory = MetricsSystem.factory, orgSeriesCap: Int = TierGateMetrics.defaultOrgSeriesCap,
                orgLabels: OrgLabelMode = .plain, adminCommands: [String] = []) {
        func perTier<M>(_ make: (Tier) -> M) -> [Tier: M] {
            Dictionary(uniqueKeysWithValues: Tier.allCases.map { ($0, make($0)) })
        }
        func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
            Counter(label: label, dimensions: dimensions, factory: factory)
        }
        admittedByTier = perTier { counter(Name.admitted, [("tier", $0.rawValue)]) }
        refusedByTier = perTier { tier in
            Dictionary(uniqueKeysWithValues: RefusalReason.allCases.map {
                ($0, counter(Name.refused, [("tier", tier.rawValue), ("reason", $0.rawValue)]))
            })
        }
        refusedNoTier = Dictionary(uniqueKeysWithValues: RefusalReason.allCases.map {
            ($0, counter(Name.refused, [("tier", Self.noTier), ("reason", $0.rawValue)]))
        })
        upstreamFailuresByTier = perTier { tier in
            Dictionary(uniqueKeysWithValues: UpstreamFailureReason.allCases.map {
                ($0, counter(Name.upstreamFailures, [("tier", tier.rawValue), ("reason", $0.rawValue)]))
            })
        }
        openByTier = perTier { Meter(label: Name.openSessions, dimensions: [("tier", $0.rawValue)], factory: factory) }
        limitHitsByTier = perTier { counter(Name.connectionLimitHits, [("tier", $0.rawValue)]) }
        lookups = Dictionary(uniqueKeysWithValues: LookupEvent.allCases.map {
            ($0, counter(Name.cacheLookups, [("layer", $0.layer), ("result", $0.result)]))
        })
        lookupTimer = Timer(label: Name.lookupDuration, dimensions: [], factory: factory)
        statementTimeoutsByTier = perTier { counter(Name.statementTimeouts, [("tier", $0.rawValue)]) }
        settingsRefusalsByTier = perTier { counter(Name.settingsRefusals, [("tier", $0.rawValue)]) }
        settingsRestoredByTier = perTier { counter(Name.settingsRestored, [("tier", $0.rawValue)]) }
        adminByCommand = Dictionary(adminCommands.map { ($0, counter(Name.adminCommands, [("command", $0)])) },
                                    uniquingKeysWith: { first, _ in first })
        thrashingByTier = perTier { counter(Name.thrashing, [("tier", $0.rawValue)]) }
        self.orgLabels = orgLabels
        orgs = OrgGauges(label: Name.orgOpenSessions, factory: factory, cap: orgSeriesCap, labels: orgLabels)
        burstsStartedByTier = perTier { counter(Name.burstsStarted, [("tier", $0.rawValue)]) }
        burstSecondsByTier = perTier { counter(Name.burstSeconds, [("tier", $0.rawValue)]) }
        burstMinutesByTier = perTier { counter(Name.burstMinutesBilled, [("tier", $0.rawValue)]) }
        bursting = OrgGauges(label: Name.burstActive, factory: factory, cap: orgSeriesCap, labels: orgLabels)
        burstActivationTimer = Timer(label: Name.burstActivation, dimensions: [], factory: factory)
        loopWakeups = counter(Name.loopWakeups, [])
        loopEvents = counter(Name.loopEvents, [])
        queuedByTier = perTier { Meter(label: Name.queueLength, dimensions: [("tier", $0.rawValue)], factory: factory) }
        queueWaitByTier = perTier { Timer(label: Name.queueWait, dimensions: [("tier", $0.rawValue)], factory: factory) }
        statementsByTier = perTier { counter(Name.statements, [("tier", $0.rawValue)]) }
        invalidationFailures = Dictionary(uniqueKeysWithValues: InvalidationFailure.allCases.map {
            ($0, counter(Name.invalidationFailures, [("stage", $0.rawValue)]))
        })
    }

    /// A client statement on a gated session (a Query or a Bind message): the denominator
    /// of the statement-timeout rate.
    public func statementReceived(tier: Tier) {
        statementsByTier[tier]?.increment()
    }

    /// Part of an INVALIDATE did not happen (its caches may serve the old tier until they expire).
    public func invalidationFailed(_ stage: InvalidationFailure) {
        invalidationFailures[stage]?.increment()
    }

    // MARK: Wait queue

    /// A connection over its org's ceiling (or the upstream's capacity for its tier) started
    /// waiting for a slot.
    public func queued(tier: Tier) {
        queuedByTier[tier]?.increment()
    }

    /// A waiting connection left the queue after `waited`: served, timed out, or its client
    /// left (`served` false for the last two; every exit is one observation of the wait).
    public func leftQueue(tier: Tier, waited: Duration) {
        queuedByTier[tier]?.decrement()
        queueWaitByTier[tier]?.recordNanoseconds(Int64(waited.nanoseconds))
    }

    // MARK: Event loops

    /// Since the last call: times the event loops were woken by Dispatch, and socket events
    /// they served. Their ratio is how many events one wake-up serves (the I/O core batches
    /// every ready socket under one wake-up).
    public func eventLoopsServed(wakeups: Int, events: Int) {
        if wakeups > 0 { loopWakeups.increment(by: wakeups) }
        if events > 0 { loopEvents.increment(by: events) }
    }

    // MARK: Admission

    /// A connection passed the gate: counted, and open until `sessionClosed`.
    public func sessionAdmitted(org: OrgId, tier: Tier) {
        admittedByTier[tier]?.increment()
        openByTier[tier]?.increment()
        orgs.opened(org)
    }

    /// The session admitted with this org and tier ended (its gate slot was released).
    public func sessionClosed(org: OrgId, tier: Tier) {
        openByTier[tier]?.decrement()
        orgs.closed(org)
    }

    /// A connection was refused; `tier` nil when it was refused before its tier was known.
    /// A `connectionLimit` refusal also counts as a connection-limit hit.
    public func refused(_ reason: RefusalReason, tier: Tier?) {
        refusalCounts.count(reason)
        if let tier {
            refusedByTier[tier]?[reason]?.increment()
            if reason == .connectionLimit { limitHitsByTier[tier]?.increment() }
        } else {
            refusedNoTier[reason]?.increment()
        }
    }

    public func upstreamFailed(_ reason: UpstreamFailureReason, tier: Tier) {
        upstreamFailuresByTier[tier]?[reason]?.increment()
    }

    // MARK: Tier lookups

    public func lookup(_ event: LookupEvent) {
        lookups[event]?.increment()
    }

    /// How long an admission waited for the org's tier, whichever layer answered.
    public func lookupCompleted(after duration: Duration) {
        lookupTimer.recordNanoseconds(Int64(duration.nanoseconds))
    }

    // MARK: Sessions

    /// A query was cancelled by the tier's statement timeout (57014, decorated with the hint).
    public func statementTimedOut(tier: Tier) {
        statementTimeoutsByTier[tier]?.increment()
    }

    /// A client tried to raise a tier setting (42501).
    /// A settings check found settings a client had raised unseen and put them back.
    public func settingsRestored(tier: Tier) {
        settingsRestoredByTier[tier]?.increment()
    }

    public func settingsRefused(tier: Tier) {
        settingsRefusalsByTier[tier]?.increment()
    }

    /// An org started thrashing against its connection limit (docs/design.md#thrashing): once per onset.
    public func thrashingStarted(tier: Tier) {
        thrashingByTier[tier]?.increment()
    }

    // MARK: Bursts (docs/design.md#bursts)
    //
    // Starts, seconds and billed minutes are counted by the one instance whose Redis call
    // did the deed (`BurstLedger`), so summing over instances counts each once. `tier` is
    // the burst tier.

    /// This instance started a burst.
    public func burstStarted(tier: Tier) {
        burstsStartedByTier[tier]?.increment()
    }

    /// From the connection that asked for a burst to the burst in force (docs/design.md#bursts;
    /// it should stay under 500 ms).
    public func burstActivated(after duration: Duration) {
        burstActivationTimer.recordNanoseconds(Int64(duration.nanoseconds))
    }

    /// This instance billed `minutes` burst minutes.
    public func burstMinutesBilled(_ minutes: Int, tier: Tier) {
        guard minutes > 0 else { return }
        burstMinutesByTier[tier]?.increment(by: minutes)
    }

    /// This instance finished a burst that ran for `duration`.
    public func burstEnded(after duration: Duration, tier: Tier) {
        burstSecondsByTier[tier]?.increment(by: Int(duration.seconds.rounded()))
    }

    /// The org's burst is running as this instance sees it (1 while it runs; the series
    /// exists only then).
    public func burstActive(_ org: OrgId, _ active: Bool) {
        active ? bursting.opened(org) : bursting.closed(org)
    }

    // MARK: Admin

    /// An admin command ran; `label` is one of those given at creation (others count nowhere).
    public func adminCommand(_ label: String) {
        adminByCommand[label]?.increment()
    }

    /// Orgs with their own `tiergate_org_open_sessions` series now.
    public var orgSeriesCount: Int { orgs.seriesCount }
}
