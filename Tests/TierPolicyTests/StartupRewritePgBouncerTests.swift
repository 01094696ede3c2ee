import PostgresWire
import Testing
import TierModel
@testable import TierPolicy

/// Through PgBouncer, the startup message names the org's pool.
struct StartupRewritePgBouncerTests {
    @Test func rewriteForPgBouncer_usesTheOrgAlias_andDropsOptions() throws {
        let startup = StartupMessage(parameters: [("user", "app.org_acme"), ("database", "whatever"),
                                                  ("options", "-c work_mem=1GB"), ("application_name", "psql")])
        let rewritten = StartupRewrite.rewriteForPgBouncer(startup, identity: try OrgIdentity(startupUser: "app.org_acme"))
        #expect(rewritten["user"] == "app")
        #expect(rewritten["database"] == "org_acme")
        #expect(rewritten["options"] == nil)
        #expect(rewritten["application_name"] == "psql")
    }
}
