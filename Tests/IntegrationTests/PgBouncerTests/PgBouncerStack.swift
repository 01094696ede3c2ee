import Foundation
import PgBouncerConfig
import PostgresClient
import TierModel
import TierStore

/// The stack's PgBouncer for the pool tests: its `%include`d databases file, its admin
/// console, and a MongoDB collection of the test's own orgs.
enum PgBouncerStack {
    static var databasesFile: String { Stack.repoRoot.appendingPathComponent(".stack/pgbouncer/databases.ini").path }
    static var adminConninfo: String { "host=\(Stack.host) port=\(Stack.pgbouncerPort) user=postgres dbname=pgbouncer" }
    static var endpoint: String { "\(Stack.host):\(Stack.pgbouncerPort)" }
    static var postgres: String { "\(Stack.host):\(Stack.postgresPort)" }

    /// Runs `body` with the stack's databases file free to regenerate, then puts the file
    /// back byte for byte (owner and mode kept) and RELOADs, so the `*` catch-all the other
    /// tests and the benchmark use is back. Generated files keep a `*` entry too
    /// (`--catch-all`), so a concurrent user of the stack is not cut off meanwhile.
    static func withDatabasesFile<T>(_ body: () throws -> T) throws -> T {
        let original = try String(contentsOfFile: databasesFile, encoding: .utf8)
        defer {
            do {
                try AtomicFileWriter().write(original, to: databasesFile)
                _ = try PgBouncerAdminConsole(conninfo: adminConninfo).reload()
            } catch {
                FileHandle.standardError.write(Data("could not restore \(databasesFile): \(error)\n".utf8))
            }
        }
        return try body()
    }

    /// `tiergate pgbouncer-config` from `collection` into the stack's databases file, then RELOAD.
    @discardableResult
    static func regenerate(collection: TestCollection, extra: [String] = []) throws -> String {
        let result = try Command.run(TierGateBinary.url.path, [
            "pgbouncer-config", "--mongo", Stack.mongoURL, "--mongo-collection", collection.name,
            "--output", databasesFile, "--upstream", postgres, "--catch-all", postgres,
            "--reload-admin", adminConninfo] + extra, timeout: 60)
        guard result.status == 0 else {
            throw TestFailure("pgbouncer-config exited \(result.status): \(result.stderr)\(result.stdout)")
        }
        return result.stdout
    }

    static func databases() throws -> [String: PgBouncerDatabaseStatus] {
        let rows = try PgBouncerAdminConsole(conninfo: adminConninfo).databases()
        return Dictionary(rows.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    /// A client straight to PgBouncer, on the org's pool.
    /// A client of the org's pool. Right after a RELOAD PgBouncer may refuse the first logins
    /// of a new pool for its `server_login_retry` (1 s on the stack) when a server login it
    /// tried in the background failed (seen about once in ten full runs, with no reason in
    /// either log); that window is PgBouncer's, so the login is tried again for up to 3 s.
    static func directClient(org: String) throws -> PostgresConnection {
        let deadline = Date().addingTimeInterval(3)
        while true {
            do {
                return try PostgresConnection(conninfo: conninfo(port: Stack.pgbouncerPort, database: org))
            } catch {
                let text = "\(error)"
                let retryable = text.contains("server_login_retry") || text.contains("closed the connection unexpectedly")
                guard retryable, Date() < deadline else { throw error }
                usleep(250_000)
            }
        }
    }
}

/// A MongoDB collection of one test's orgs, so a regeneration sees exactly those.
final class TestCollection {
    let name = "pgbouncer_\(UUID().uuidString.prefix(8).lowercased())"
    let collection: OrganizationCollection
    private var orgs: Set<String> = []

    init() throws {
        collection = try OrganizationCollection(uri: Stack.mongoURL, collection: name)
    }

    func put(_ orgId: String, tier: String, database: String = "tiergate_test") throws {
        let json = """
        {"orgId":"\(orgId)","tier":"\(tier)","tierUpdatedAt":{"$date":{"$numberLong":"\(Int(Date().timeIntervalSince1970 * 1000))"}},
         "addons":[],"postgres":{"database":"\(database)","roles":["app"]}}
        """
        _ = try collection.replaceOrganization(orgId: orgId, json: json, upsert: true)
        orgs.insert(orgId)
    }

    deinit {
        for org in orgs { _ = try? collection.deleteOrganization(orgId: org) }
    }
}
