import Foundation
import PostgresClient
import Testing
import TierStore

/// Org documents written straight into the stack's MongoDB, each test with its own org ids
/// so tests never see each other's tier changes.
enum TestOrgs {
    static let collection: OrganizationCollection = {
        try! OrganizationCollection(uri: Stack.mongoURL)
    }()

    static func unique(_ prefix: String) -> String {
        "\(prefix)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// Upserts an org document (docs/design.md#tier-source) with routing to `database`, for the stack's test
    /// role `app` (which owns tiergate_test).
    static func put(_ orgId: String, tier: String, database: String = "tiergate_test",
                    updatedAt: Date = Date(), burst: Bool = false) throws {
        try put(orgId, tier: tier, database: database, updatedAt: updatedAt, burst: burst ? BurstAddon() : nil)
    }

    /// A `burst_scaling` add-on as billing would store it (docs/design.md#bursts); minutes may be
    /// fractional so a test burst lasts seconds.
    struct BurstAddon {
        var enabled = true
        var burstTier = "ENTERPRISE"
        var minutes: Double = 15
        var cooldownMinutes: Double = 60
        var costPerMinute = 0.25
        var autoTrigger = true

        var json: String {
            #"{"type":"burst_scaling","enabled":\#(enabled),"baseTier":"PRO","burstTier":"\#(burstTier)","maxBurstDurationMinutes":\#(minutes),"cooldownMinutes":\#(cooldownMinutes),"costPerMinute":\#(costPerMinute),"autoTrigger":\#(autoTrigger),"notifyOnBurst":true}"#
        }
    }

    /// - Parameters:
    ///   - roles: `postgres.roles`, nil for a document without it.
    ///   - otherDatabases: listed after `database` (the default) in `postgres.databases`.
    ///   - subscription: the `subscription` object as JSON (default: active, no period end).
    static func put(_ orgId: String, tier: String, database: String = "tiergate_test",
                    updatedAt: Date = Date(), burst: BurstAddon?, roles: [String]? = ["app"],
                    otherDatabases: [String] = [], subscription: String? = nil) throws {
        let millis = Int(updatedAt.timeIntervalSince1970 * 1000)
        let addons = burst.map { "[\($0.json)]" } ?? "[]"
        let databases = ([database] + otherDatabases).map { "\"\($0)\"" }.joined(separator: ",")
        let rolesMember = roles.map { ",\"roles\":[" + $0.map { "\"\($0)\"" }.joined(separator: ",") + "]" } ?? ""
        let subscriptionJSON = subscription ?? "{\"plan\":\"\(tier.lowercased())_monthly\",\"status\":\"active\"}"
        let json = """
        {"orgId":"\(orgId)","tier":"\(tier)","tierUpdatedAt":{"$date":{"$numberLong":"\(millis)"}},
         "subscription":\(subscriptionJSON),
         "addons":\(addons),"postgres":{"databases":[\(databases)]\(rolesMember)}}
        """
        try collection.replaceOrganization(orgId: orgId, json: json, upsert: true)
    }

    static func remove(_ orgId: String) {
        _ = try? collection.deleteOrganization(orgId: orgId)
    }

    /// Removes an org and every trace of its bursts from Redis (state, cooldown or kill
    /// switch, record, billed minutes).
    static func removeWithBursts(_ orgId: String, redisDatabase: Int = 0) {
        remove(orgId)
        _ = try? Command.run("redis-cli", ["-h", Stack.host, "-p", "\(Stack.redisPort)", "-n", "\(redisDatabase)", "eval",
                                           "redis.call('DEL', KEYS[1], KEYS[2]); redis.call('HDEL', KEYS[3], ARGV[1]); return redis.call('HDEL', KEYS[4], ARGV[1])",
                                           "4", "burst:\(orgId)", "burst:cooldown:\(orgId)", "tiergate:bursts", "tiergate:burst-minutes", orgId])
    }
}

/// Connects expecting the proxy (or Postgres) to refuse; records an issue and returns nil
/// if the connection was admitted instead.
func expectRefusal(_ conninfo: String, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) -> PostgresError? {
    do {
        _ = try PostgresConnection(conninfo: conninfo)
        Issue.record("\(what) was admitted", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

/// Runs a query expecting an error; records an issue and returns nil if it succeeded.
func expectQueryError(_ session: PostgresConnection, _ sql: String,
                      sourceLocation: SourceLocation = #_sourceLocation) -> PostgresError? {
    do {
        _ = try session.query(sql)
        Issue.record("\(sql) succeeded", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}
