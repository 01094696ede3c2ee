import Gate
import TierModel

/// This instance's side of the shared session count, as a value: the leases it holds
/// (`LeaseBook`), the ones it asked Redis for and has no verdict on yet, the ones its share
/// granted provisionally while Redis was quiet, and the operations waiting to go to Redis.
/// `RedisSessionLeases` keeps one behind its lock and does the I/O; every rule that keeps
/// Redis' count equal to this instance's sessions is here, where it is tested without Redis.
///
/// The invariant: once the queued operations are sent, this instance's field in Redis is
/// `countsToWrite`, which is what a heartbeat writes; each verdict and release keeps it so.
struct LeaseLedger: Sendable {
    /// What goes to Redis, in order.
    enum Operation: Sendable, Equatable {
        case acquire(SessionTicket, ceiling: Int)
        case release(SessionTicket)
    }

    /// What a verdict leaves to do.
    enum Aftermath: Sendable, Equatable {
        case none
        /// Granted after its session was released: a release is queued.
        case giveBack
        /// A provisional grant Redis refused: its session must go.
        case revoke(LeaseRevocation)
    }

    private(set) var book = LeaseBook()
    private(set) var pending: [Operation] = []
    private var drainScheduled = false
    /// Asked of Redis, no verdict yet: their release waits for it (a release of a lease Redis
    /// never granted would take one of another session's).
    private var unresolved: Set<UInt64> = []
    /// Unresolved tickets released meanwhile: a late grant is given straight back.
    private var released: Set<UInt64> = []
    /// Granted by the share while Redis was quiet, in the book, verdict to come; not in
    /// `countsToWrite` (the acquire on its way adds them).
    private var provisional: Set<UInt64> = []
    /// Provisional grants Redis refused, until their session is released.
    private var revoked: [UInt64: LeaseRevocation] = [:]

    /// Queues an acquire for Redis. True when a drain must be scheduled. A ticket whose
    /// acquire has no verdict yet is not asked for again (its share refusal led to another
    /// try, say): Redis would count one session twice; the verdict to come answers both.
    mutating func ask(_ ticket: SessionTicket, ceiling: Int) -> Bool {
        guard unresolved.insert(ticket.id).inserted else {
            released.remove(ticket.id)  // wanted again: a late grant is kept, not given back
            return false
        }
        return append(.acquire(ticket, ceiling: ceiling))
    }

    /// The share's answer (`LeaseBook.decideLocally`); a `provisional` grant awaits the
    /// verdict of the acquire already asked.
    mutating func decideByShare(_ ticket: SessionTicket, ceiling: Int, liveInstances: Int, provisional: Bool) -> LeaseAnswer {
        let answer = book.decideLocally(ticket, ceiling: ceiling, liveInstances: liveInstances)
        if provisional, unresolved.contains(ticket.id), case .granted = answer { self.provisional.insert(ticket.id) }
        return answer
    }

    /// The session ended (or was refused): out of the book and, when Redis counts it, a
    /// release queued, in one step, so `countsToWrite` sees it in one or the other. True when
    /// a drain must be scheduled.
    mutating func release(_ ticket: SessionTicket) -> Bool {
        let held = book.remove(ticket)
        provisional.remove(ticket.id)
        revoked[ticket.id] = nil
        if unresolved.contains(ticket.id) {
            released.insert(ticket.id)
            return false
        }
        return held && append(.release(ticket))
    }

    /// Redis' verdict on an acquire, however late: it stands.
    mutating func verdict(_ ticket: SessionTicket, ceiling: Int, granted: Bool, total: Int) -> (Aftermath, drain: Bool) {
        unresolved.remove(ticket.id)
        let wasReleased = released.remove(ticket.id) != nil
        let wasProvisional = provisional.remove(ticket.id) != nil
        if granted {
            if wasReleased { return (.giveBack, append(.release(ticket))) }
            book.insert(ticket)
            return (.none, false)
        }
        guard wasProvisional, book.remove(ticket) else { return (.none, false) }
        let revocation = LeaseRevocation(ticket: ticket, open: total, ceiling: ceiling)
        revoked[ticket.id] = revocation
        return (.revoke(revocation), false)
    }

    /// Redis will give no verdict (unreachable, or a reply that made no sense): what the
    /// share decided stands, and the next heartbeat writes it.
    mutating func noVerdict(_ ticket: SessionTicket) {
        unresolved.remove(ticket.id)
        released.remove(ticket.id)
        provisional.remove(ticket.id)
    }

    /// The queued operations, for one pipeline; the next `ask` or `release` schedules a drain.
    mutating func takePending() -> [Operation] {
        defer {
            pending = []
            drainScheduled = false
        }
        return pending
    }

    /// The ticket's revocation, once.
    mutating func takeRevocation(_ ticket: SessionTicket) -> LeaseRevocation? {
        revoked.removeValue(forKey: ticket.id)
    }

    /// Of `candidates`, the leases Redis counts, which a downgrade may claim there.
    func claimable(org: OrgId, candidates: [UInt64]) -> [UInt64] {
        candidates.filter { book.holds(org: org, id: $0) && !provisional.contains($0) }
    }

    /// Claimed as a downgrade's excess (Redis took them off in the same step).
    mutating func claimed(org: OrgId, ids: [UInt64]) {
        for id in ids { book.remove(org: org, id: id) }
    }

    /// This instance's leases as Redis will count them once the queued operations are sent,
    /// which is what a heartbeat writes: the book less the provisional grants (their acquires
    /// add them), plus the releases not sent yet (they take theirs off after the heartbeat;
    /// written without them, Redis would count each of those sessions once less, for good).
    var countsToWrite: [OrgId: Int] {
        var counts = book.counts(excluding: provisional)
        for case .release(let ticket) in pending { counts[ticket.org, default: 0] += 1 }
        return counts
    }

    private mutating func append(_ operation: Operation) -> Bool {
        pending.append(operation)
        defer { drainScheduled = true }
        return !drainScheduled
    }
}
