import Foundation
import Logging
import Testing
import TierModel
import TierStore

/// The Redis key and TTL of docs/design.md#redis-keys, staleness, coalescing.
@Suite(.serialized)
struct ResolverTests {
    static func resolver(freshness: Duration = .seconds(5), redis: String = Stack.redisURL) throws -> TierResolver {
        var configuration = TierResolver.Configuration(redis: try RedisURL(parsing: redis))
        configuration.inProcessFreshness = freshness
        return TierResolver(source: MongoOrgSource(collection: TestOrgs.collection), matrix: .builtIn,
                            configuration: configuration, logger: Logger(label: "test"))
    }

    static let redis = { try! RedisConnection(url: Stack.redisURL) }()

    @Test func cacheMiss_fillsRedisWithTierKeyAndTTL_thenRedisHit() throws {
        let org = TestOrgs.unique("org_miss")
        try TestOrgs.put(org, tier: "STARTER")
        defer { TestOrgs.remove(org) }
        _ = try Self.redis.del("tier:\(org)")

        let first = try Self.resolver()
        let resolved = try first.resolveNow(OrgId(org)).get()
        #expect(resolved.tier == .starter)
        #expect(first.stats.sourceLookups == 1)
        #expect(first.stats.redisMisses == 1)

        let stored = try #require(try Self.redis.get("tier:\(org)"))
        let json = try JSONSerialization.jsonObject(with: Data(stored.utf8)) as? [String: Any]
        #expect(json?["tier"] as? String == "STARTER")
        #expect(json?["maxConnections"] as? Int == 10)
        #expect(json?["queryTimeout"] as? Int == 30000)
        #expect((json?["cachedAt"] as? Int).map { abs($0 - Int(Date().timeIntervalSince1970 * 1000)) < 60_000 } == true)
        let ttl = try Self.redis.ttl("tier:\(org)")
        #expect((290...300).contains(ttl), "TTL \(ttl)")

        // Same org again from a process that has not seen it: Redis answers, MongoDB is not asked.
        let second = try Self.resolver()
        #expect(try second.resolveNow(OrgId(org)).get().tier == .starter)
        #expect(second.stats.redisHits == 1)
        #expect(second.stats.sourceLookups == 0)
        // And in the same process the in-process cache answers, with no network at all.
        _ = second.resolveNow(try OrgId(org))
        #expect(second.stats.inProcessHits == 1)
    }

    @Test func redisValueOlderThanFiveMinutes_isRefreshedFromMongo() throws {
        let org = TestOrgs.unique("org_stale")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        // A PRO value cached 6 minutes ago, still within its Redis TTL (the stale case of docs/design.md#tier-source:
        // the customer downgraded and nobody invalidated).
        let old = OrgTier(orgId: try OrgId(org), tier: .pro, limits: TierMatrix.builtIn[.pro], burst: nil,
                          route: PostgresRoute(database: "tiergate_test"), tierUpdatedAt: 0,
                          cachedAt: Int(Date().timeIntervalSince1970 * 1000) - 6 * 60 * 1000)
        try Self.redis.setex("tier:\(org)", seconds: 300, value: old.redisValue)

        let resolver = try Self.resolver()
        #expect(try resolver.resolveNow(OrgId(org)).get().tier == .free)
        #expect(resolver.stats.redisStale == 1)
        #expect(resolver.stats.sourceLookups == 1)
        let refreshed = try #require(try Self.redis.get("tier:\(org)"))
        #expect(refreshed.contains("\"FREE\""))
    }

    @Test func twoHundredConcurrentFirstLookups_causeOneMongoQuery() throws {
        let org = TestOrgs.unique("org_storm")
        try TestOrgs.put(org, tier: "PRO")
        defer { TestOrgs.remove(org) }
        _ = try Self.redis.del("tier:\(org)")
        let resolver = try Self.resolver()
        let id = try OrgId(org)
        let group = DispatchGroup()
        let tiers = LockedList<Tier>()
        for _ in 0..<200 {
            group.enter()
            DispatchQueue.global().async {
                resolver.resolve(id) { result in
                    if case .success(let value) = result { tiers.append(value.tier) }
                    group.leave()
                }
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(tiers.items.count == 200)
        #expect(tiers.items.allSatisfy { $0 == .pro })
        #expect(resolver.stats.sourceLookups == 1)
    }

    @Test func unknownOrg_isUnknown_andNothingIsGuessed() throws {
        let resolver = try Self.resolver()
        let org = try OrgId(TestOrgs.unique("org_nobody"))
        #expect(resolver.resolveNow(org) == .failure(.unknownOrg(org)))
    }

    @Test func redisUnreachable_lookupsGoToMongo() throws {
        let org = TestOrgs.unique("org_noredis")
        try TestOrgs.put(org, tier: "ENTERPRISE")
        defer { TestOrgs.remove(org) }
        let closed = try FreePort.pick()
        let resolver = try Self.resolver(freshness: .zero, redis: "redis://127.0.0.1:\(closed)")
        for _ in 0..<3 {
            #expect(try resolver.resolveNow(OrgId(org)).get().tier == .enterprise)
        }
        #expect(resolver.stats.sourceLookups == 3)
        #expect(resolver.stats.redisHits == 0)
    }
}

final class LockedList<T>: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [T] = []
    func append(_ item: T) { lock.withLock { storage.append(item) } }
    var items: [T] { lock.withLock { storage } }
}
