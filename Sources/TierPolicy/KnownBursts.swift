import TierModel

/// What one instance knows of bursts, with time passed in: the running bursts with their
/// local deadlines, and the orgs not to ask the shared ledger about again for a while.
///
/// A plain value: `BurstCoordinator` keeps it behind a lock and does the Redis calls, log
/// lines and metrics its answers lead to; the timing rules are here, tested with instants
/// alone.
///
/// Guarantees:
/// - A burst applies until its deadline here and no longer, whatever the ledger says later:
///   deadlines are `now + remaining` as Redis reported it, so a skewed wall clock cannot
///   stretch a burst.
/// - An org refused a burst is quiet until the time given, unless an operator asks.
struct KnownBursts: Sendable {
    struct Running: Sendable, Equatable {
        let state: BurstState
        let deadline: ContinuousClock.Instant
        /// The tier the org pays for, when this instance has resolved it (for log lines).
        let baseTier: Tier?
    }

    private(set) var running: [OrgId: Running] = [:]
    private var quietUntil: [OrgId: ContinuousClock.Instant] = [:]

    /// The orgs with a burst this instance knows of, for the periodic check.
    var orgs: [OrgId] { Array(running.keys) }

    /// The burst tier in force for `org` at `now`: a known burst before its deadline.
    func burstTier(of org: OrgId, at now: ContinuousClock.Instant) -> Tier? {
        guard let known = running[org], now < known.deadline else { return nil }
        return known.state.burstTier
    }

    /// Whether the ledger may be asked about `org` at `now`: not while it is quiet, unless
    /// an operator asks. A quiet time that is over, or that an operator overrides, ends.
    mutating func mayAsk(about org: OrgId, at now: ContinuousClock.Instant, operator: Bool) -> Bool {
        guard let until = quietUntil[org] else { return true }
        if now < until && !`operator` { return false }
        quietUntil[org] = nil
        return true
    }

    /// Keeps `org` quiet for `duration` from `now`. Returns whether it was not quiet
    /// already, so that the reason is logged once, not once per connection of a busy org.
    @discardableResult
    mutating func quiet(_ org: OrgId, for duration: Duration, at now: ContinuousClock.Instant) -> Bool {
        let wasQuiet = quietUntil[org].map { now < $0 } ?? false
        quietUntil[org] = now + duration
        return !wasQuiet
    }

    /// The kill switch was lifted: ask again at the next need.
    mutating func endQuiet(_ org: OrgId) {
        quietUntil[org] = nil
    }

    /// The ledger reports `state` running for `remaining` more, as of `now`. Returns whether
    /// the burst is new here. A nil `baseTier` keeps the one known.
    mutating func remember(_ org: OrgId, _ state: BurstState, remaining: Duration, baseTier: Tier?,
                           at now: ContinuousClock.Instant) -> Bool {
        let known = running[org]
        running[org] = Running(state: state, deadline: now + remaining, baseTier: baseTier ?? known?.baseTier)
        return known == nil
    }

    /// Stops applying `org`'s burst. Returns whether one was known.
    mutating func forget(_ org: OrgId) -> Bool {
        running.removeValue(forKey: org) != nil
    }

    /// The burst known for `org` when its deadline has passed at `now` (how a burst ends
    /// while Redis cannot be asked); nil otherwise.
    func overdue(_ org: OrgId, at now: ContinuousClock.Instant) -> Running? {
        guard let known = running[org], now >= known.deadline else { return nil }
        return known
    }
}
