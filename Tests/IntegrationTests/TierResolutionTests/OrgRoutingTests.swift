import Foundation
import PostgresClient
import Testing
import TierStore

/// Identity from the user name, routing from the org document, and
/// behaviour when Redis or MongoDB go away.
@Suite(.serialized)
struct OrgRoutingTests {
    static func proxy(_ extra: [String] = [], redis: String = Stack.redisURL, mongo: String = Stack.mongoURL) throws -> TierGateProcess {
        try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                        "--mongo", mongo, "--redis", redis] + extra)
    }

    @Test func roleDotOrg_reachesOrgDatabaseAsRole() throws {
        let database = try OrgDatabase()
        let org = TestOrgs.unique("org_route")
        try TestOrgs.put(org, tier: "PRO", database: database.name)
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        // libpq's default database is the user name, which means the org's default database.
        let result = try Command.psql(port: proxy.port, user: "app.\(org)", database: "app.\(org)",
                                      "select current_user || '@' || current_database()")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "app@\(database.name)")
    }

    @Test func userWithoutOrg_gets28000ShowingExpectedForm() throws {
        let proxy = try Self.proxy()
        let result = try Command.psql(port: proxy.port, user: "app", "select 1")
        #expect(result.status != 0)
        #expect(result.stderr.contains("<role>.<orgId>"), "\(result.stderr)")
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app"), "a user name without org") {
            #expect(error.sqlState == "28000")
        }
    }

    @Test func unknownOrg_gets28000() throws {
        let proxy = try Self.proxy()
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.org_does_not_exist"), "an unknown org") {
            #expect(error.sqlState == "28000")
            #expect(error.message.contains("org_does_not_exist"))
        }
    }

    @Test func unknownTierInMongo_isRefusedWithClearMessage() throws {
        let org = TestOrgs.unique("org_gold")
        try TestOrgs.put(org, tier: "GOLD")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "an org with an unknown tier") {
            #expect(error.message.contains(org))
            #expect(error.detail?.contains("GOLD") == true, "\(error)")
        }
        #expect(proxy.log.contains(org))
    }

    @Test func redisStoppedMidTest_knownOrgStillConnects_andCachingResumes() throws {
        let org = TestOrgs.unique("org_redisdown")
        try TestOrgs.put(org, tier: "STARTER")
        defer { TestOrgs.remove(org) }
        let link = try FaultyLink(toPort: Stack.redisPort)
        defer { link.stop() }
        let proxy = try Self.proxy(["--local-cache-ttl", "0"], redis: link.url(scheme: "redis"))
        #expect(try Command.psql(port: proxy.port, user: "app.\(org)", "select 1").status == 0)

        link.cut()  // Redis stopped, for this proxy
        for _ in 0..<3 {
            let result = try Command.psql(port: proxy.port, user: "app.\(org)", "select 1")
            #expect(result.status == 0, "\(result.stderr)")
        }
        let outageLines = proxy.log.split(separator: "\n").filter { $0.contains("redis unavailable") }
        #expect(outageLines.count == 1, "one log line per outage, got \(outageLines.count)")

        try link.restore()
        Thread.sleep(forTimeInterval: 1.2)  // past the reconnect interval
        let redis = try RedisConnection(url: Stack.redisURL)
        _ = try redis.del("tier:\(org)")
        #expect(try Command.psql(port: proxy.port, user: "app.\(org)", "select 1").status == 0)
        #expect(try redis.get("tier:\(org)") != nil, "caching did not resume")
    }

    @Test func mongoStopped_cachedOrgConnects_uncachedOrgGets57P03() throws {
        let known = TestOrgs.unique("org_known")
        let unknown = TestOrgs.unique("org_late")
        try TestOrgs.put(known, tier: "PRO")
        try TestOrgs.put(unknown, tier: "PRO")
        defer { TestOrgs.remove(known); TestOrgs.remove(unknown) }
        let link = try FaultyLink(toPort: Stack.mongoPort)
        defer { link.stop() }
        let proxy = try Self.proxy(mongo: link.url(scheme: "mongodb"))
        #expect(try Command.psql(port: proxy.port, user: "app.\(known)", "select 1").status == 0)

        link.cut()  // MongoDB stopped, for this proxy
        let again = try Command.psql(port: proxy.port, user: "app.\(known)", "select 1")
        #expect(again.status == 0, "\(again.stderr)")
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(unknown)"),
                                     "an org no cache knows, while MongoDB was down") {
            #expect(error.sqlState == "57P03", "\(error)")
        }
    }
}
