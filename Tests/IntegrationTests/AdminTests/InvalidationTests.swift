import Foundation
import Logging
import PostgresClient
import Synchronization
import Testing
import TierModel
import TierStore

/// INVALIDATE reaches every cache and every instance, and a lookup that began
/// before a change never writes the old tier back.
@Suite(.serialized)
struct InvalidationTests {
    static func workMem(_ port: Int, _ org: String) throws -> String {
        let session = try PostgresConnection(conninfo: conninfo(port: port, user: "app.\(org)"))
        return try session.query("show work_mem").rows.first?.first.flatMap { $0 } ?? "?"
    }

    @Test func tierChangedInMongo_invalidate_nextConnectionSeesNewCeilingAndSettings() throws {
        let org = TestOrgs.unique("org_inval")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let (proxy, socket) = try AdminProxy.start()
        let admin = try AdminSocketClient(path: socket)
        #expect(try Self.workMem(proxy.port, org) == "4MB")

        // Billing writes the upgrade; the caches still say FREE until told.
        try TestOrgs.put(org, tier: "PRO", updatedAt: Date().addingTimeInterval(1))
        #expect(try Self.workMem(proxy.port, org) == "4MB", "cached FREE before INVALIDATE")

        let start = ContinuousClock.now
        let reply = try admin.command("INVALIDATE \(org)")
        let replied = ContinuousClock.now - start
        let seen = try Self.workMem(proxy.port, org)
        let elapsed = ContinuousClock.now - start
        print("[measure] INVALIDATE reply \(replied); command to first connection with PRO settings: \(elapsed)")
        #expect(seen == "64MB")
        #expect(reply["ok"] as? Bool == true, "\(reply)")
        #expect((reply["old"] as? [String: Any])?["tier"] as? String == "FREE")
        #expect((reply["new"] as? [String: Any])?["tier"] as? String == "PRO")
        #expect((reply["new"] as? [String: Any])?["maxConnections"] as? Int == 50)

        // The new ceiling: FREE's 5 would refuse the sixth; PRO admits it.
        let open = try (0..<6).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        #expect(open.count == 6)
        let shown = try admin.command("SHOW ORG \(org)")
        #expect(shown["tier"] as? String == "PRO")
        #expect(shown["openSessions"] as? Int == 6)
    }

    @Test func twoProxies_invalidateOnOne_theOtherDropsItsCopy() throws {
        let org = TestOrgs.unique("org_two")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let (a, socketA) = try AdminProxy.start()
        let (b, _) = try AdminProxy.start()
        #expect(try Self.workMem(a.port, org) == "4MB")
        #expect(try Self.workMem(b.port, org) == "4MB")

        try TestOrgs.put(org, tier: "STARTER", updatedAt: Date().addingTimeInterval(1))
        let reply = try AdminSocketClient(path: socketA).command("INVALIDATE \(org)")
        #expect(reply["ok"] as? Bool == true)
        #expect((reply["announcedTo"] as? Int ?? 0) >= 2, "\(reply)")
        let start = ContinuousClock.now
        let applied = try eventually(timeout: 5) { try Self.workMem(b.port, org) == "16MB" }
        print("[measure] other instance serves the new tier \(ContinuousClock.now - start) after the INVALIDATE reply")
        #expect(applied, "proxy B still serves FREE:\n\(b.log)")
        #expect(b.log.contains("tier invalidation announced"))
    }

    /// The classic race, held open deterministically: a lookup reads MongoDB (FREE), is
    /// paused before its Redis write, the tier changes and is invalidated, the lookup resumes.
    @Test(arguments: [true, false])
    func lookupBegunBeforeChange_neverWritesOldTierBack(invalidatorRereads: Bool) throws {
        let org = TestOrgs.unique("org_race")
        let orgId = try OrgId(org)
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let redis = try RedisConnection(url: Stack.redisURL)
        _ = try redis.del(RedisKey.tier(orgId))

        let paused = DispatchSemaphore(value: 0)
        let resume = DispatchSemaphore(value: 0)
        let armed = Atomic<Bool>(true)
        var configuration = TierResolver.Configuration(redis: try RedisURL(parsing: Stack.redisURL))
        configuration.afterSourceRead = { seen in
            guard seen == orgId, armed.exchange(false, ordering: .relaxed) else { return }
            paused.signal()
            resume.wait()
        }
        let slow = TierResolver(source: MongoOrgSource(collection: TestOrgs.collection), matrix: .builtIn,
                                configuration: configuration, logger: Logger(label: "test.slow"))
        let admin = TierResolver(source: MongoOrgSource(collection: TestOrgs.collection), matrix: .builtIn,
                                 configuration: TierResolver.Configuration(redis: try RedisURL(parsing: Stack.redisURL)),
                                 logger: Logger(label: "test.admin"))

        let done = DispatchSemaphore(value: 0)
        let slowResult = Mutex<OrgTier?>(nil)
        slow.resolve(orgId) { result in
            slowResult.withLock { $0 = try? result.get() }
            done.signal()
        }
        #expect(paused.wait(timeout: .now() + 10) == .success, "lookup never reached its Redis write")

        // The change and its invalidation happen while the FREE lookup is held.
        try TestOrgs.put(org, tier: "PRO", updatedAt: Date().addingTimeInterval(1))
        if invalidatorRereads {
            #expect(try admin.reload(orgId).new.get().tier == .pro)
        } else {
            admin.invalidate(orgId)  // drop only: the key stays empty, the classic window
        }
        slow.dropLocal(orgId)        // what the announcement does on the slow instance

        resume.signal()
        #expect(done.wait(timeout: .now() + 10) == .success)
        #expect(slowResult.withLock { $0?.tier } == .free, "the held lookup itself began before the change")

        let stored = try redis.get(RedisKey.tier(orgId))
        if invalidatorRereads {
            #expect(stored.map { try? OrgTier(redisValue: $0, org: orgId) }??.tier == .pro, "\(stored ?? "nil")")
        } else {
            #expect(stored == nil, "old tier written back into the emptied key: \(stored ?? "")")
        }
        #expect(slow.cachedValue(orgId) == nil, "old tier kept in process after the invalidation")
        #expect(try slow.resolveNow(orgId).get().tier == .pro)
    }
}
