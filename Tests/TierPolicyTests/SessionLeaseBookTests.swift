import Gate
import Testing
import TierModel
@testable import TierPolicy

/// This instance's leases, and what it may admit alone while Redis is unreachable.
struct SessionLeaseBookTests {
    static func tickets(_ org: String, _ count: Int, tier: Tier = .free) throws -> [SessionTicket] {
        var gate = ConnectionGate()
        let limits = TierMatrix.builtIn[tier]
        return try (0..<count).map { _ in
            guard let ticket = gate.beginLogin(org: try OrgId(org), tier: tier, limits: limits, address: "a").ticket else {
                throw LeaseTestFailure()
            }
            return ticket
        }
    }

    struct LeaseTestFailure: Error {}

    @Test func theShareIsTheCeilingDividedByTheLiveInstances_roundedDown_butAtLeastOne() {
        #expect(FallbackShare.ceiling(5, liveInstances: 1) == 5)
        #expect(FallbackShare.ceiling(5, liveInstances: 3) == 1)
        #expect(FallbackShare.ceiling(10, liveInstances: 3) == 3)
        #expect(FallbackShare.ceiling(100, liveInstances: 4) == 25)
        #expect(FallbackShare.ceiling(2, liveInstances: 5) == 1, "never locked out by an outage")
        #expect(FallbackShare.ceiling(5, liveInstances: 0) == 5)
        #expect(FallbackShare.ceiling(0, liveInstances: 2) == 0)
    }

    @Test func localDecisions_holdAnInstanceToItsShare() throws {
        var book = LeaseBook()
        let tickets = try Self.tickets("org_a", 5)
        // STARTER-sized ceiling of 10 over 3 instances: 3 here.
        let answers = tickets.map { book.decideLocally($0, ceiling: 10, liveInstances: 3) }
        #expect(answers == [.granted(open: 1, shared: false), .granted(open: 2, shared: false), .granted(open: 3, shared: false),
                            .refused(open: 3, max: 3, shared: false), .refused(open: 3, max: 3, shared: false)])
        #expect(book.count(try OrgId("org_a")) == 3)
        // A ticket already holding a lease is not counted twice.
        let held = book.decideLocally(tickets[0], ceiling: 10, liveInstances: 3)
        #expect(held == .granted(open: 3, shared: false))
        book.remove(tickets[0])
        let freed = book.decideLocally(tickets[3], ceiling: 10, liveInstances: 3)
        #expect(freed == .granted(open: 3, shared: false))
    }

    @Test func theBook_countsPerOrg_andForgetsOrgsWithoutLeases() throws {
        var book = LeaseBook()
        let a = try Self.tickets("org_a", 2)
        let b = try Self.tickets("org_b", 1)
        for ticket in a + b {
            let inserted = book.insert(ticket)
            #expect(inserted)
        }
        let again = book.insert(a[0])
        #expect(!again)
        #expect(book.total == 3)
        #expect(book.counts() == [try OrgId("org_a"): 2, try OrgId("org_b"): 1])
        let first = book.remove(b[0])
        let second = book.remove(b[0])
        #expect(first && !second, "releasing twice frees once")
        book.remove(org: a[1].org, id: a[1].id)
        #expect(book.counts() == [try OrgId("org_a"): 1])
        #expect(book.holds(a[0]) && !book.holds(a[1]))
    }

    @Test func aSharedCancelKeyEntry_readsBackAsItsTarget() {
        let value = "db.internal\t5432\t4242\t0a0bff00"
        let target = RedisCancelKeys.target(value)
        #expect(target?.upstream.host == "db.internal")
        #expect(target?.upstream.port == 5432)
        #expect(target?.backend.processID == 4242)
        #expect(target?.backend.secretKey == [0x0a, 0x0b, 0xff, 0x00])
        #expect(RedisCancelKeys.target("db\t5432\t1\tabc") == nil, "an odd hex secret")
        #expect(RedisCancelKeys.target("db\t99999\t1\tab") == nil)
        #expect(RedisCancelKeys.field(.init(processID: -1, secretKey: [1, 255])) == "ffffffff:01ff")
    }
}
