import PostgresWire
import Testing
import TierModel
@testable import TierPolicy

struct StartupRewriteTests {
    static let free = SessionSettings(limits: TierMatrix.builtIn[.free])

    @Test func rewrite_setsRoleDatabaseAndTierOptions_keepingOtherParameters() throws {
        let startup = StartupMessage(parameters: [("user", "app.org_acme"), ("database", "app.org_acme"),
                                                  ("application_name", "psql"), ("client_encoding", "UTF8")])
        let identity = try OrgIdentity(startupUser: "app.org_acme")
        let rewritten = StartupRewrite.rewrite(startup, identity: identity, route: PostgresRoute(database: "acme", roles: ["app"]),
                                               settings: Self.free)
        #expect(rewritten["user"] == "app")
        #expect(rewritten["database"] == "acme")
        #expect(rewritten["application_name"] == "psql")
        #expect(rewritten["client_encoding"] == "UTF8")
        #expect(rewritten["options"] == "-c statement_timeout=10s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2")
    }

    @Test func clientOptionsAboveTheTier_areReplaced_lowerOnesKept_othersPassed() {
        let options = StartupRewrite.options(
            client: "-c work_mem=1GB -cstatement_timeout=5s --search_path=app -c geqo=off", settings: Self.free)
        #expect(options == "-c search_path=app -c geqo=off -c statement_timeout=5s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2")
    }

    @Test func clientStatementTimeoutZero_isNotKept() {
        let options = StartupRewrite.options(client: "-c statement_timeout=0", settings: Self.free)
        #expect(options.hasPrefix("-c statement_timeout=10s"))
    }

    @Test func aListedDatabase_isKept_noneOrTheRoleMeansTheDefault() throws {
        let identity = try OrgIdentity(startupUser: "app.org_acme")
        let route = PostgresRoute(databases: ["acme", "acme_reports"], roles: ["app"])
        let cases: [(String?, String)] = [("acme_reports", "acme_reports"), ("app", "acme"), ("app.org_acme", "acme"), (nil, "acme")]
        for (requested, expected) in cases {
            let startup = StartupMessage(parameters: [("user", "app.org_acme")] + (requested.map { [("database", $0)] } ?? []))
            #expect(StartupRewrite.rewrite(startup, identity: identity, route: route, settings: Self.free)["database"] == expected)
        }
    }

    @Test func clientSettingsWithEscapes_keepThem_tierSettingsAboveTheTierAreCapped() {
        let options = StartupRewrite.options(client: "-c work_mem=1GB -c application_name=my\\ app", settings: Self.free)
        #expect(options == #"-c application_name=my\ app -c statement_timeout=10s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2"#)
    }
}
