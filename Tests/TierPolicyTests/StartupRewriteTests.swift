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
        #expect(rewritten["options"] == "-c statement_timeout=10s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2 -c hash_mem_multiplier=1 -c maintenance_work_mem=32MB -c max_parallel_maintenance_workers=1 -c temp_file_limit=1GB -c idle_in_transaction_session_timeout=1min")
    }

    @Test func clientOptionsAboveTheTier_areReplaced_lowerOnesKept_othersPassed() {
        let options = StartupRewrite.options(
            client: "-c work_mem=1GB -cstatement_timeout=5s --search_path=app -c geqo=off", settings: Self.free)
        #expect(options == "-c search_path=app -c geqo=off -c statement_timeout=5s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2 -c hash_mem_multiplier=1 -c maintenance_work_mem=32MB -c max_parallel_maintenance_workers=1 -c temp_file_limit=1GB -c idle_in_transaction_session_timeout=1min")
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
        #expect(options == #"-c application_name=my\ app -c statement_timeout=10s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2 -c hash_mem_multiplier=1 -c maintenance_work_mem=32MB -c max_parallel_maintenance_workers=1 -c temp_file_limit=1GB -c idle_in_transaction_session_timeout=1min"#)
    }

    @Test func clientResourceSettings_areKeptOnlyWhenLower() {
        let options = StartupRewrite.options(
            client: "-c maintenance_work_mem=1GB -c temp_file_limit=-1 -c hash_mem_multiplier=1 "
                + "-c idle_in_transaction_session_timeout=0 --max-parallel-maintenance-workers=0",
            settings: Self.free)
        #expect(options == "-c statement_timeout=10s -c work_mem=4MB -c temp_buffers=8MB -c max_parallel_workers_per_gather=2 -c hash_mem_multiplier=1 -c maintenance_work_mem=32MB -c max_parallel_maintenance_workers=0 -c temp_file_limit=1GB -c idle_in_transaction_session_timeout=1min")
    }

    @Test func aSettingTheTierLeavesUnset_isTheClients() {
        let pro = SessionSettings(limits: TierMatrix.builtIn[.pro])
        let options = StartupRewrite.options(client: "-c idle_in_transaction_session_timeout=0", settings: pro)
        #expect(options == "-c idle_in_transaction_session_timeout=0 -c statement_timeout=1min -c work_mem=64MB -c temp_buffers=32MB -c max_parallel_workers_per_gather=8 -c hash_mem_multiplier=2 -c maintenance_work_mem=128MB -c max_parallel_maintenance_workers=4 -c temp_file_limit=16GB")
    }

}
