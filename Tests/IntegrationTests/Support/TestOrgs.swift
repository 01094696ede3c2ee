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

    /// Upserts an org shaped like seed 2.1 with routing to `database`.
    static func put(_ orgId: String, tier: String, database: String = "tiergate_test",
                    updatedAt: Date = Date(), burst: Bool = false) throws {
        let millis = Int(updatedAt.timeIntervalSince1970 * 1000)
        let addons = burst
            ? #"[{"type":"burst_scaling","enabled":true,"burstTier":"ENTERPRISE","maxBurstDurationMinutes":15,"cooldownMinutes":60,"costPerMinute":0.25,"autoTrigger":true}]"#
            : "[]"
        let json = """
        {"orgId":"\(orgId)","tier":"\(tier)","tierUpdatedAt":{"$date":{"$numberLong":"\(millis)"}},
         "subscription":{"plan":"\(tier.lowercased())_monthly","status":"active"},
         "addons":\(addons),"postgres":{"database":"\(database)"}}
        """
        try collection.replaceOrganization(orgId: orgId, json: json, upsert: true)
    }

    static func remove(_ orgId: String) {
        _ = try? collection.deleteOrganization(orgId: orgId)
    }
}

/// `scripts/stack.sh` for outage tests: stop and start one service of the shared stack.
enum StackControl {
    static func run(_ verb: String, _ service: String) throws {
        let result = try Command.run("bash", [Stack.repoRoot.appendingPathComponent("scripts/stack.sh").path, verb, service])
        guard result.status == 0 else { throw TestFailure("stack.sh \(verb) \(service): \(result.stderr)") }
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
