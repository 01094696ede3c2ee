import PostgresWire
import Testing
import TierModel
@testable import TierPolicy

struct StartupRewriteTests {
    static let free = SessionSettings(limits: TierMatrix.builtIn[.free])

    @Test func rewrite_setsRoleDatabaseAndTierOptions_keepingOtherParameters() throws {
        let startup = StartupMessage(parameters: [("user", "app.org_acme"), ("database", "ignored"),
                                                  ("application_name", "psql"), ("client_encoding", "UTF8")])
        let identity = try OrgIdentity(startupUser: "app.org_acme")
        let rewritten = StartupRewrite.rewrite(startup, identity: identity, route: PostgresRoute(database: "acme"),
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

    /// Postgres applies these after `options`: they would override the tier's values.
    @Test func tierGUCsAsStartupParameters_aboveTheTier_becomeTheTiersValues() throws {
        let startup = StartupMessage(parameters: [("user", "app.org_acme"), ("work_mem", "1GB"), ("SORT_MEM", "2GB"),
                                                  ("statement_timeout", "5s"), ("max_parallel_workers_per_gather", "x")])
        let rewritten = StartupRewrite.rewrite(startup, identity: try OrgIdentity(startupUser: "app.org_acme"),
                                               route: PostgresRoute(database: "acme"), settings: Self.free)
        #expect(rewritten["work_mem"] == "4MB")
        #expect(rewritten["SORT_MEM"] == "4MB")
        #expect(rewritten["statement_timeout"] == "5s")
        #expect(rewritten["max_parallel_workers_per_gather"] == "2")
    }

    @Test func oldNamesInOptions_areTheirGUCs() {
        let options = StartupRewrite.options(client: "-c sort_mem=1GB", settings: Self.free)
        #expect(!options.contains("sort_mem"))
    }

    @Test func clientStatementTimeoutZero_isNotKept() {
        let options = StartupRewrite.options(client: "-c statement_timeout=0", settings: Self.free)
        #expect(options.hasPrefix("-c statement_timeout=10s"))
    }

    @Test func escapedSpacesInOptions_surviveTheRoundTrip() {
        #expect(OptionWords.split(#"-c application_name=my\ app  -c x=1"#) == ["-c", "application_name=my app", "-c", "x=1"])
        #expect(OptionWords.escape("my app") == #"my\ app"#)
    }
}
