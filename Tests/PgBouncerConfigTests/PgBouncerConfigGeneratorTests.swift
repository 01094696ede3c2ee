import Foundation
import Testing
import TierModel
@testable import PgBouncerConfig

@Suite struct PgBouncerConfigGeneratorTests {
    @Test func seedOrgs_databasesFile_matchesGolden() throws {
        let text = try Fixtures.generator().generate(orgs: Fixtures.seedOrgs)
        Fixtures.updateGoldenIfAsked("databases.ini", text)
        #expect(text == Fixtures.golden("databases.ini"))
    }

    @Test func seedOrgs_withTemplateAndCatchAll_wholeFileMatchesGolden() throws {
        let template = try PgBouncerTemplate(path: "pgbouncer/example.ini", text: Self.renderedTemplate)
        let text = try Fixtures.generator(template: template, catchAll: .init(host: "127.0.0.1", port: 55432))
            .generate(orgs: Fixtures.seedOrgs)
        Fixtures.updateGoldenIfAsked("pgbouncer.ini", text)
        #expect(text == Fixtures.golden("pgbouncer.ini"))
    }

    @Test func sameOrgsInAnyOrder_giveTheSameBytes() throws {
        let generator = Fixtures.generator()
        let first = try generator.generate(orgs: Fixtures.seedOrgs)
        for _ in 0..<5 {
            #expect(try generator.generate(orgs: Fixtures.seedOrgs.shuffled()) == first)
        }
    }

    @Test func entry_takesPoolSizesFromTheTier_andDefaultsToTheUpstream() throws {
        let entries = try Fixtures.generator().databases(for: Fixtures.seedOrgs)
        #expect(entries.map(\.alias) == ["org_acme", "org_beta", "org_delta", "org_gamma"])
        let acme = entries[0]
        #expect((acme.host, acme.port, acme.dbname) == ("127.0.0.1", 55432, "acme"))
        #expect((acme.poolSize, acme.minPoolSize, acme.maxDBConnections) == (5, 2, 5))
        let delta = entries[2]
        #expect((delta.host, delta.port) == ("db-2.internal", 5433))
        #expect((delta.poolSize, delta.maxDBConnections) == (100, 100))
    }

    @Test func connectQuery_isQuotedTheWayPgBouncerUnquotes() {
        #expect(PgBouncerSyntax.quote("SET a = 'x'") == "'SET a = ''x'''")
        let settings = SessionSettings(limits: TierMatrix.builtIn[.free])
        #expect(PgBouncerDatabase.connectQuery(for: settings)
            == "SET statement_timeout = '10s'; SET work_mem = '4MB'; SET temp_buffers = '8MB'; SET max_parallel_workers_per_gather = '2'; "
                + "SET hash_mem_multiplier = '1'; SET maintenance_work_mem = '32MB'; SET max_parallel_maintenance_workers = '1'; "
                + "SET temp_file_limit = '1GB'; SET idle_in_transaction_session_timeout = '1min'")
    }

    @Test(arguments: [
        ("acme db", "a space"), ("acme'db", "a single quote"), ("acme\"db", "a double quote"),
        ("acme=db", "'='"), ("acme\ndb", "a newline"), ("acmé", "U+E9"), ("acme;db", "';'"),
        (String(repeating: "a", count: 64), "64 bytes"),
    ])
    func hostileDatabase_isRefusedNamingOrgAndField(database: String, reason: String) {
        let orgs = Fixtures.seedOrgs + [Fixtures.org("org_evil", tier: "FREE", database: database)]
        #expect {
            _ = try Fixtures.generator().generate(orgs: orgs)
        } throws: { error in
            let text = "\(error)"
            return text.contains("org \"org_evil\"") && text.contains("postgres.database") && text.contains(reason)
        }
    }

    @Test(arguments: ["db host", "db\nhost", "h=1", "höst", "h'x"])
    func hostileHost_isRefused(host: String) {
        let orgs = [Fixtures.org("org_evil", tier: "PRO", host: host)]
        #expect {
            _ = try Fixtures.generator().generate(orgs: orgs)
        } throws: { error in
            "\(error)".contains("org \"org_evil\": postgres.host")
        }
    }

    @Test func badPort_unknownTier_duplicate_areRefused() {
        #expect(throws: PgBouncerConfigError.unsafeValue(org: "org_x", field: "postgres.port", value: "70000",
                                                         reason: "not a TCP port (1-65535)")) {
            try Fixtures.generator().generate(orgs: [Fixtures.org("org_x", tier: "FREE", host: "h", port: 70000)])
        }
        #expect(throws: PgBouncerConfigError.unknownTier(org: "org_x", value: "pro")) {
            try Fixtures.generator().generate(orgs: [Fixtures.org("org_x", tier: "pro")])
        }
        #expect(throws: PgBouncerConfigError.duplicateOrg("org_x")) {
            try Fixtures.generator().generate(orgs: [Fixtures.org("org_x", tier: "FREE"), Fixtures.org("org_x", tier: "PRO")])
        }
    }

    @Test func hostileOrgId_neverReachesTheGenerator() {
        // Org ids are checked when the document is read (OrgId): the generation never starts.
        for id in ["org acme", "org=acme", "org'acme", "org\nacme", "orgé"] {
            #expect(throws: OrgIdError.self) { try OrgId(id) }
        }
    }

    @Test func template_withUnfilledPlaceholder_isRefused() {
        #expect {
            _ = try PgBouncerTemplate(path: "pgbouncer/pgbouncer.base.ini", text: "[pgbouncer]\nlisten_port = @LISTEN_PORT@\n")
        } throws: { error in
            "\(error)".contains("@LISTEN_PORT@")
        }
    }

    @Test func template_keepsOnlyThePgbouncerSection_withoutIncludes() throws {
        let template = try PgBouncerTemplate(path: "t.ini", text: Self.renderedTemplate)
        #expect(template.section.first == "[pgbouncer]")
        #expect(!template.section.contains { $0.contains("%include") || $0.contains("[databases]") || $0.contains("old_entry") })
    }

    static let renderedTemplate = """
        ;; An operator's template, already rendered.
        [pgbouncer]
        listen_addr = 127.0.0.1
        listen_port = 6432
        ;; Who may log in.
        auth_type = hba
        pool_mode = transaction

        [databases]
        old_entry = host=elsewhere

        [pgbouncer]
        ignore_startup_parameters = extra_float_digits,options
        %include /etc/pgbouncer/databases.ini

        """
}
