import Gate
import Testing
import TierModel
@testable import TierPolicy

/// The rules that keep Redis' lease count equal to this instance's sessions, without Redis:
/// `redis` below plays Redis' part (the lease field it would hold for this instance) by
/// applying the operations the ledger sends, granting against `others`' leases.
struct LeaseLedgerTests {
    /// This instance's field in a Redis that applies what the ledger sends, in order.
    struct FakeField {
        var value = 0
        /// Leases other instances hold.
        var others = 0

        /// Applies the ledger's queued operations, granting acquires under their ceiling;
        /// the verdicts, in order.
        mutating func apply(_ ledger: inout LeaseLedger) -> [(SessionTicket, Int, Bool, Int)] {
            var verdicts: [(SessionTicket, Int, Bool, Int)] = []
            for operation in ledger.takePending() {
                switch operation {
                case .acquire(let ticket, let ceiling):
                    let granted = value + others < ceiling
                    if granted { value += 1 }
                    verdicts.append((ticket, ceiling, granted, value + others))
                case .release:
                    value -= 1
                }
            }
            return verdicts
        }
    }

    static func tickets(_ count: Int) throws -> [SessionTicket] {
        try SessionLeaseBookTests.tickets("org_ledger", count)
    }

    /// Asks for each ticket's lease, lets `redis` decide, and hands the ledger the verdicts.
    static func lease(_ tickets: [SessionTicket], ceiling: Int = 5, _ ledger: inout LeaseLedger, _ redis: inout FakeField) {
        for ticket in tickets { _ = ledger.ask(ticket, ceiling: ceiling) }
        for (ticket, ceiling, granted, total) in redis.apply(&ledger) {
            _ = ledger.verdict(ticket, ceiling: ceiling, granted: granted, total: total)
        }
    }

    @Test func grantedThenReleased_leavesNothingCounted() throws {
        var ledger = LeaseLedger()
        var redis = FakeField()
        let tickets = try Self.tickets(3)
        Self.lease(tickets, &ledger, &redis)
        #expect(redis.value == 3)
        #expect(ledger.book.count(tickets[0].org) == 3)
        for ticket in tickets { _ = ledger.release(ticket) }
        _ = redis.apply(&ledger)
        #expect(redis.value == 0)
        #expect(ledger.countsToWrite.isEmpty)
    }

    /// A session that ends before Redis' verdict on its lease: its release waits for the
    /// verdict, and a late grant is given straight back; a late refusal sends nothing (a
    /// release then would take another session's lease off Redis' count).
    @Test func releaseBeforeTheVerdict_waitsForIt() throws {
        var ledger = LeaseLedger()
        var redis = FakeField(others: 4)
        let (granted, refused) = (try Self.tickets(2)[0], try Self.tickets(2)[1])
        _ = ledger.ask(granted, ceiling: 5)
        _ = ledger.ask(refused, ceiling: 5)
        #expect(ledger.release(granted) == false, "no release queued before the verdict")
        #expect(ledger.release(refused) == false)
        let verdicts = redis.apply(&ledger)
        #expect(verdicts.map(\.2) == [true, false])
        #expect(ledger.verdict(verdicts[0].0, ceiling: 5, granted: true, total: verdicts[0].3) == (.giveBack, true))
        #expect(ledger.verdict(verdicts[1].0, ceiling: 5, granted: false, total: verdicts[1].3) == (.none, false))
        _ = redis.apply(&ledger)
        #expect(redis.value == 0, "the late grant was given back, nothing else taken off")
        #expect(ledger.book.count(granted.org) == 0)
    }

    /// A heartbeat between a release and its trip to Redis writes the lease still counted
    /// (the queued release takes it off after), so Redis ends at the truth.
    @Test func heartbeatBetweenAReleaseAndItsTrip_countsTheLeaseOnce() throws {
        var ledger = LeaseLedger()
        var redis = FakeField()
        let tickets = try Self.tickets(2)
        Self.lease(tickets, &ledger, &redis)
        _ = ledger.release(tickets[0])
        redis.value = ledger.countsToWrite[tickets[0].org] ?? 0  // the heartbeat's HSET
        _ = redis.apply(&ledger)
        #expect(redis.value == 1)
        #expect(ledger.book.count(tickets[0].org) == 1)
    }

    /// Redis quiet: the share grants provisionally; the heartbeat leaves that grant to the
    /// acquire on its way; Redis' refusal revokes it, once, and the session's release then
    /// sends nothing.
    @Test func provisionalGrant_refusedByRedis_isRevoked() throws {
        var ledger = LeaseLedger()
        var redis = FakeField(others: 5)
        let ticket = try Self.tickets(1)[0]
        _ = ledger.ask(ticket, ceiling: 5)
        #expect(ledger.decideByShare(ticket, ceiling: 5, liveInstances: 3, provisional: true) == .granted(open: 1, shared: false))
        #expect(ledger.countsToWrite.isEmpty, "not written by a heartbeat: its acquire adds it")
        let verdict = try #require(redis.apply(&ledger).first)
        #expect(verdict.2 == false)
        let revocation = LeaseRevocation(ticket: ticket, open: 5, ceiling: 5)
        #expect(ledger.verdict(ticket, ceiling: 5, granted: false, total: verdict.3) == (.revoke(revocation), false))
        #expect(ledger.book.count(ticket.org) == 0)
        #expect(ledger.takeRevocation(ticket) == revocation)
        #expect(ledger.takeRevocation(ticket) == nil, "taken once")
        #expect(ledger.release(ticket) == false)
        _ = redis.apply(&ledger)
        #expect(redis.value == 0)
    }

    @Test func provisionalGrant_grantedByRedis_stands() throws {
        var ledger = LeaseLedger()
        var redis = FakeField(others: 1)
        let ticket = try Self.tickets(1)[0]
        _ = ledger.ask(ticket, ceiling: 5)
        _ = ledger.decideByShare(ticket, ceiling: 5, liveInstances: 3, provisional: true)
        let verdict = try #require(redis.apply(&ledger).first)
        #expect(ledger.verdict(ticket, ceiling: 5, granted: verdict.2, total: verdict.3) == (.none, false))
        #expect(ledger.countsToWrite[ticket.org] == 1)
        #expect(redis.value == 1)
    }

    /// Redis unreachable: no verdict will come; what the share granted stands and is
    /// written by the next heartbeat.
    @Test func noVerdict_theShareStands_andTheHeartbeatWritesIt() throws {
        var ledger = LeaseLedger()
        let ticket = try Self.tickets(1)[0]
        _ = ledger.ask(ticket, ceiling: 5)
        _ = ledger.decideByShare(ticket, ceiling: 5, liveInstances: 3, provisional: true)
        _ = ledger.takePending()  // the pipeline that failed
        ledger.noVerdict(ticket)
        #expect(ledger.countsToWrite[ticket.org] == 1)
        #expect(ledger.release(ticket) == true, "its release goes to Redis like any other")
    }

    @Test func aDowngradeClaims_onlyLeasesRedisCounts() throws {
        var ledger = LeaseLedger()
        var redis = FakeField()
        let tickets = try Self.tickets(3)
        Self.lease(Array(tickets.prefix(2)), &ledger, &redis)
        _ = ledger.ask(tickets[2], ceiling: 5)
        _ = ledger.decideByShare(tickets[2], ceiling: 5, liveInstances: 1, provisional: true)
        #expect(ledger.claimable(org: tickets[0].org, candidates: tickets.map(\.id).reversed()) == [tickets[1].id, tickets[0].id])
    }

    /// Asked again before Redis answered (the share refused it, a login gave way, it tries
    /// again): one request, one lease in Redis, and the verdict decides the second try.
    @Test func askedAgainBeforeTheVerdict_isOneRequest() throws {
        var ledger = LeaseLedger()
        var redis = FakeField()
        let ticket = try Self.tickets(1)[0]
        _ = ledger.ask(ticket, ceiling: 5)
        #expect(ledger.decideByShare(ticket, ceiling: 1, liveInstances: 3, provisional: true) == .granted(open: 1, shared: false))
        _ = ledger.release(ticket)  // refused, say, and gave back its place
        #expect(ledger.ask(ticket, ceiling: 5) == false)
        #expect(ledger.pending.count == 1)
        for (ticket, ceiling, granted, total) in redis.apply(&ledger) {
            #expect(ledger.verdict(ticket, ceiling: ceiling, granted: granted, total: total) == (.none, false))
        }
        #expect(redis.value == 1)
        #expect(ledger.countsToWrite[ticket.org] == 1)
    }

    @Test func oneDrainIsScheduled_perBatch() throws {
        var ledger = LeaseLedger()
        let tickets = try Self.tickets(3)
        #expect(ledger.ask(tickets[0], ceiling: 5) == true)
        #expect(ledger.ask(tickets[1], ceiling: 5) == false)
        #expect(ledger.takePending().count == 2)
        #expect(ledger.ask(tickets[2], ceiling: 5) == true)
    }
}
