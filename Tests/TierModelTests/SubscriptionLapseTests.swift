import Foundation
import Testing
import TierModel

/// The effective tier: FREE while billing does not pay for the document's tier.
@Suite struct SubscriptionLapseTests {
    static let day = 86_400_000
    static let grace = 3 * day
    static let now = Date(timeIntervalSince1970: 1_800_000_000)
    static var nowMs: Int { 1_800_000_000_000 }

    static func pro(_ subscription: OrgDocument.Subscription?, burst: Bool = false, tier: String = "PRO") throws -> OrgTier {
        let doc = OrgDocument(orgId: org("org_x"), tier: tier, subscription: subscription,
                              addons: burst ? [.burstScaling(.init(enabled: true, burstTier: "ENTERPRISE"))] : [],
                              postgres: .init(database: "x", roles: ["app"]))
        return try OrgTier.resolve(document: doc, matrix: .builtIn, now: now)
    }

    static func served(_ t: OrgTier, at now: Date = now) -> OrgTier {
        t.effective(at: now, graceMilliseconds: grace, matrix: .builtIn)
    }

    @Test(arguments: ["active", "trialing", "Active"])
    func payingStatus_keepsThePaidTier(_ status: String) throws {
        let t = try Self.pro(.init(status: status, currentPeriodEnd: Self.nowMs + Self.day))
        #expect(Self.served(t) == t)
    }

    @Test(arguments: ["canceled", "past_due", "unpaid", "incomplete", "incomplete_expired", "paused"])
    func otherStatus_isServedAsFree_sayingWhy(_ status: String) throws {
        let served = Self.served(try Self.pro(.init(status: status, currentPeriodEnd: Self.nowMs + Self.day), burst: true))
        #expect(served.tier == .free)
        #expect(served.limits == TierMatrix.builtIn[.free])
        #expect(served.burst == nil)
        #expect(served.paidTier == .pro)
        #expect(served.lapse == SubscriptionLapse(paidTier: .pro, cause: .status(status)))
        #expect(served.lapse?.description == "subscription status \"\(status)\" is neither active nor trialing")
    }

    @Test func subscriptionWithoutStatus_isServedAsFree() throws {
        #expect(Self.served(try Self.pro(.init(plan: "pro_monthly"))).tier == .free)
    }

    @Test func noSubscription_keepsTheTier() throws {
        let t = try Self.pro(nil)
        #expect(Self.served(t) == t)
    }

    @Test func periodEnd_withinTheGrace_keepsTheTier_pastIt_isFree() throws {
        let end = Self.nowMs - Self.grace
        let t = try Self.pro(.init(status: "active", currentPeriodEnd: end))
        #expect(Self.served(t).tier == .pro)  // exactly at the grace's end
        let later = Self.now.addingTimeInterval(0.001)
        #expect(Self.served(t, at: later).tier == .free)
        #expect(Self.served(t, at: later).lapse?.description
                == "subscription period ended at 2027-01-12T08:00:00Z, more than the grace of 3 days ago")
    }

    /// The cached value is the same; only the clock moved: no cache can keep the paid tier.
    @Test func aCachedValue_followsTheClock() throws {
        let t = try Self.pro(.init(status: "active", currentPeriodEnd: Self.nowMs + 10_000))
        let cached = try OrgTier(redisValue: t.redisValue, org: org("org_x"))
        #expect(Self.served(cached).tier == .pro)
        #expect(Self.served(cached, at: Self.now.addingTimeInterval(10 + 3 * 86_400 + 1)).tier == .free)
    }

    @Test func freeOrg_staysAsItIs_unlessItHasABurstAddon() throws {
        let free = try Self.pro(.init(status: "canceled"), tier: "FREE")
        #expect(Self.served(free) == free)
        let bursting = try Self.pro(.init(status: "canceled"), burst: true, tier: "FREE")
        #expect(Self.served(bursting).burst == nil)
        #expect(Self.served(bursting).lapse?.paidTier == .free)
    }

    @Test func servingTwice_changesNothingMore() throws {
        let once = Self.served(try Self.pro(.init(status: "canceled")))
        #expect(Self.served(once) == once)
    }

    @Test func graceDescriptions() {
        #expect(SubscriptionLapse(paidTier: .pro, cause: .periodEnded(atMilliseconds: 0, graceMilliseconds: 2000)).description
                == "subscription period ended at 1970-01-01T00:00:00Z, more than the grace of 2 s ago")
        #expect(SubscriptionLapse(paidTier: .pro, cause: .status(nil)).description
                == "the subscription has no status (active or trialing keeps PRO)")
    }
}

@Suite struct PostgresRouteTests {
    static func route(_ postgres: String) throws -> PostgresRoute {
        try OrgDocument.decode(json: #"{"orgId":"o","tier":"FREE","postgres":\#(postgres)}"#).postgres
    }

    static func problem(_ postgres: String) -> OrgDocumentError? {
        do {
            _ = try OrgDocument.decode(json: #"{"orgId":"o","tier":"FREE","postgres":\#(postgres)}"#)
            return nil
        } catch {
            return error
        }
    }

    @Test func databasesAndRoles_areRead_theFirstDatabaseIsTheDefault() throws {
        let r = try Self.route(#"{"databases":["main","reports"],"roles":["app","reader"]}"#)
        #expect(r == PostgresRoute(databases: ["main", "reports"], roles: ["app", "reader"]))
        #expect(r.database == "main")
    }

    @Test func theOneDatabaseForm_isAOneElementList() throws {
        #expect(try Self.route(#"{"database":"main","roles":["app"]}"#).databases == ["main"])
        #expect(try Self.route(#"{"database":"main","databases":["main","x"],"roles":["app"]}"#).databases == ["main", "x"])
    }

    @Test func withoutRoles_noRoleIsAdmitted() throws {
        let r = try Self.route(#"{"database":"main"}"#)
        #expect(r.roles.isEmpty)
        #expect(!r.admits(role: "app"))
    }

    @Test func badLists_areRefusedNamingTheField() {
        #expect(Self.problem(#"{"databases":[]}"#)?.field == "postgres.databases")
        #expect(Self.problem(#"{"databases":["a", 1]}"#)?.field == "postgres.databases[1]")
        #expect(Self.problem(#"{"databases":["a"],"roles":["r","r"]}"#)?.field == "postgres.roles[1]")
        #expect(Self.problem(#"{"databases":["a"],"roles":"r"}"#)?.field == "postgres.roles")
        #expect(Self.problem(#"{"databases":["a"],"roles":[""]}"#)?.field == "postgres.roles[0]")
        #expect(Self.problem(#"{"database":"b","databases":["a","b"]}"#)?.field == "postgres.database")
        #expect(Self.problem(#"{"roles":["r"]}"#) == OrgDocumentError(index: nil, orgId: "o", field: "postgres.database", problem: .missing))
    }

    @Test func requestedDatabase_defaultForNoneTheRoleOrTheUser_listedAsNamed_otherwiseNone() {
        let r = PostgresRoute(databases: ["main", "reports"], roles: ["app"])
        #expect(r.database(requested: nil, startupUser: "app.org_x", role: "app") == "main")
        #expect(r.database(requested: "", startupUser: "app.org_x", role: "app") == "main")
        #expect(r.database(requested: "app", startupUser: "app.org_x", role: "app") == "main")
        #expect(r.database(requested: "app.org_x", startupUser: "app.org_x", role: "app") == "main")
        #expect(r.database(requested: "reports", startupUser: "app.org_x", role: "app") == "reports")
        #expect(r.database(requested: "Reports", startupUser: "app.org_x", role: "app") == nil)
        #expect(r.database(requested: "postgres", startupUser: "app.org_x", role: "app") == nil)
    }
}
