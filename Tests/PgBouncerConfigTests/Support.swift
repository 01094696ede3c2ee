import Foundation
import TierModel
@testable import PgBouncerConfig
import PostgresWire

enum Fixtures {
    static func org(_ id: String, tier: String, database: String = "tiergate_test", host: String? = nil,
                    port: Int? = nil) -> OrgDocument {
        OrgDocument(orgId: try! OrgId(id), tier: tier, postgres: PostgresRoute(database: database, host: host, port: port))
    }

    static func generator(template: PgBouncerTemplate? = nil, catchAll: Endpoint? = nil)
        -> PgBouncerConfigGenerator {
        PgBouncerConfigGenerator(
            matrix: .builtIn, upstream: .init(host: "127.0.0.1", port: 55432), template: template, catchAll: catchAll,
            provenance: .init(orgSource: "MongoDB dynabase.organizations", tierMatrix: "built-in (seed Appendix A)"))
    }

    /// Four orgs, one per tier, in a scrambled order, one on its own host.
    static let seedOrgs = [
        org("org_gamma", tier: "PRO", database: "gamma"),
        org("org_acme", tier: "FREE", database: "acme"),
        org("org_delta", tier: "ENTERPRISE", database: "delta", host: "db-2.internal", port: 5433),
        org("org_beta", tier: "STARTER", database: "beta"),
    ]

    static let goldenDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Golden")

    /// Compares with `Golden/<name>`; `TIERGATE_UPDATE_GOLDEN=1` rewrites the file instead.
    static func golden(_ name: String) -> String {
        (try? String(contentsOf: goldenDirectory.appendingPathComponent(name), encoding: .utf8)) ?? "<missing \(name)>"
    }

    static func updateGoldenIfAsked(_ name: String, _ text: String) {
        guard ProcessInfo.processInfo.environment["TIERGATE_UPDATE_GOLDEN"] == "1" else { return }
        try? text.write(to: goldenDirectory.appendingPathComponent(name), atomically: true, encoding: .utf8)
    }

    static func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("pgbconf-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}
