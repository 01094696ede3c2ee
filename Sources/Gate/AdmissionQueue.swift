import TierModel

/// Connections waiting for a slot instead of an immediate refusal: FIFO within an org,
/// served across orgs by tier priority (ENTERPRISE's waiters first, then PRO, STARTER,
/// FREE; the earliest-queued org first within a tier).
///
/// Guarantees:
/// - Within an org only the oldest waiter is ever offered a slot, so a later connection can
///   never overtake an earlier one of the same org.
/// - Each waiter leaves exactly once: served, expired at its deadline, or removed (its
///   client left). The queue holds nothing else for it: no slot, no timer (the owner arms
///   one timer, for `earliestDeadline`).
/// - At most `perOrgBound(ceiling)` waiters per org; more are refused by the caller at once,
///   so a connect storm cannot grow the queue without limit.
///
/// A plain value with no clock of its own and no I/O: time comes in with each call.
public struct AdmissionQueue<Payload: Sendable>: Sendable {
    public struct Waiter: Sendable {
        public let id: UInt64
        public let org: OrgId
        /// The tier the org was served under when it queued: its priority.
        public let tier: Tier
        public let enqueuedAt: ContinuousClock.Instant
        public let deadline: ContinuousClock.Instant
        public let payload: Payload
    }

    private var byOrg: [OrgId: [Waiter]] = [:]
    private var orgOf: [UInt64: OrgId] = [:]
    private var lastId: UInt64 = 0

    public init() {}

    /// Appends a waiter to its org's line; returns its id.
    public mutating func enqueue(org: OrgId, tier: Tier, at now: ContinuousClock.Instant,
                                 deadline: ContinuousClock.Instant, payload: Payload) -> UInt64 {
        lastId += 1
        byOrg[org, default: []].append(Waiter(id: lastId, org: org, tier: tier, enqueuedAt: now,
                                              deadline: deadline, payload: payload))
        orgOf[lastId] = org
        return lastId
    }

    /// Removes a waiter wherever it stands (its client left); nil if it already left.
    public mutating func remove(_ id: UInt64) -> Waiter? {
        guard let org = orgOf.removeValue(forKey: id), var line = byOrg[org],
              let index = line.firstIndex(where: { $0.id == id }) else { return nil }
        let waiter = line.remove(at: index)
        byOrg[org] = line.isEmpty ? nil : line
        return waiter
    }

    /// Removes and returns every waiter whose deadline is at or before `now`.
    public mutating func removeExpired(at now: ContinuousClock.Instant) -> [Waiter] {
        var expired: [Waiter] = []
        for (org, line) in byOrg where line.contains(where: { $0.deadline <= now }) {
            let kept = line.filter { $0.deadline > now }
            expired += line.filter { $0.deadline <= now }
            byOrg[org] = kept.isEmpty ? nil : kept
        }
        for waiter in expired { orgOf[waiter.id] = nil }
        return expired.sorted { $0.deadline < $1.deadline }
    }

    /// Offers slots in priority order: `attempt` is called with the oldest waiter of each
    /// org, highest tier first; a waiter it accepts (returns true) leaves the queue and its
    /// org's next waiter is offered in turn. Returns the waiters served, in order.
    public mutating func serve(_ attempt: (Waiter) -> Bool) -> [Waiter] {
        var served: [Waiter] = []
        var blocked: Set<OrgId> = []
        while let head = heads.first(where: { !blocked.contains($0.org) }) {
            if attempt(head) {
                _ = remove(head.id)
                served.append(head)
            } else {
                blocked.insert(head.org)
            }
        }
        return served
    }

    /// The oldest waiter of each org, in the order slots are offered.
    public var heads: [Waiter] {
        byOrg.values.compactMap(\.first).sorted {
            ($0.tier, $1.enqueuedAt, $1.id) > ($1.tier, $0.enqueuedAt, $0.id)
        }
    }

    public var earliestDeadline: ContinuousClock.Instant? {
        byOrg.values.lazy.flatMap { $0 }.map(\.deadline).min()
    }

    public var count: Int { orgOf.count }

    public func count(org: OrgId) -> Int { byOrg[org]?.count ?? 0 }

    public func count(tier: Tier) -> Int {
        byOrg.values.reduce(0) { $0 + $1.lazy.filter { $0.tier == tier }.count }
    }

    /// Waiters an org may have at once: its ceiling (at least one).
    public static func perOrgBound(ceiling: Int) -> Int { Swift.max(1, ceiling) }
}
