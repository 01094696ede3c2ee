import Foundation
import PostgresClient
import Testing

/// An org can only be itself: what a hostile client tries with its startup packet, another
/// org's id, a database, its log lines and a lapsed subscription, through the real binary
/// and Postgres with SCRAM passwords for the org roles.
@Suite(.serialized)
struct OrgIdentityTests {
    static func proxy(_ extra: [String] = []) throws -> TierGateProcess {
        try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                        "--mongo", Stack.mongoURL, "--redis", Stack.redisURL] + extra)
    }

    static func freeOrg() throws -> String {
        let org = TestOrgs.unique("org_ident")
        try TestOrgs.put(org, tier: "FREE")
        return org
    }

    // MARK: Startup smuggling

    @Test func repeatedUserDatabaseOrOptions_isRefused08P01_beforeAnyBackend() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let user = "app.\(org)"
        for smuggled in [[("user", user), ("database", "tiergate_test"), ("user", "postgres")],
                         [("user", user), ("database", "tiergate_test"), ("database", "delta")],
                         [("user", user), ("options", "-c work_mem=1MB"), ("options", "-c work_mem=1GB")],
                         [("user", user), ("DateStyle", "ISO"), ("datestyle", "German")]] {
            let reply = try StartupClient.run(port: proxy.port, query: "select 1", smuggled)
            #expect(reply.sqlState == "08P01", "\(smuggled): \(reply)")
            #expect(reply.error?["M"]?.hasPrefix("duplicate startup parameter") == true, "\(reply)")
            #expect(!reply.authRequested, "a backend started for \(smuggled)")
        }
    }

    @Test func serverSwitchesAndOtherParameters_areRefused08P01() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        for smuggled in [("options", "-S 1000000"), ("options", "-B 100000"), ("options", "-c role=postgres"),
                         ("options", "-c geqo=off -F"), ("jit", "on"), ("session_authorization", "postgres"),
                         ("role", "postgres")] {
            let reply = try StartupClient.run(port: proxy.port, query: "select 1",
                                              [("user", "app.\(org)"), ("database", "tiergate_test"), smuggled])
            #expect(reply.sqlState == "08P01", "\(smuggled): \(reply)")
            #expect(!reply.authRequested)
        }
        let replication = try StartupClient.run(port: proxy.port, [("user", "app.\(org)"), ("replication", "database")])
        #expect(replication.sqlState == "0A000", "\(replication)")
    }

    /// Session-limit keys (as node-postgres sends statement_timeout) and the old alias
    /// sort_mem are carried in `options`, under the tier's ceiling like `-c` settings.
    @Test func sessionLimitKeys_areCappedByTheTier_notAppliedAfterIt() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let above = try StartupClient.run(
            port: proxy.port, query: "select current_setting('work_mem'), current_setting('statement_timeout')",
            [("user", "app.\(org)"), ("database", "tiergate_test"), ("work_mem", "1GB"), ("statement_timeout", "0")])
        #expect(above.error == nil, "\(above)")
        #expect(above.rows == [["4MB", "10s"]])
        let alias = try StartupClient.run(port: proxy.port, query: "select current_setting('work_mem')",
                                          [("user", "app.\(org)"), ("sort_mem", "1GB"), ("database", "tiergate_test")])
        #expect(alias.rows == [["4MB"]], "\(alias)")
        let lower = try StartupClient.run(port: proxy.port, query: "select current_setting('statement_timeout')",
                                          [("user", "app.\(org)"), ("database", "tiergate_test"), ("statement_timeout", "5000")])
        #expect(lower.rows == [["5s"]], "\(lower)")
    }

    // MARK: Drivers still connect

    /// node-postgres: statement_timeout, lock_timeout and idle_in_transaction_session_timeout
    /// as keys, then client_encoding; Npgsql: TimeZone, search_path, and older versions
    /// ssl_renegotiation_limit=0 (dropped).
    @Test func nodePostgresAndNpgsqlStartupPackets_connect() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let node = try StartupClient.run(
            port: proxy.port, query: "select current_setting('lock_timeout'), current_setting('application_name')",
            [("user", "app.\(org)"), ("database", "tiergate_test"), ("application_name", "node app"),
             ("statement_timeout", "3000"), ("lock_timeout", "2000"), ("idle_in_transaction_session_timeout", "60000"),
             ("client_encoding", "UTF8")])
        #expect(node.error == nil, "\(node)")
        #expect(node.rows == [["2s", "node app"]])
        let npgsql = try StartupClient.run(
            port: proxy.port, query: "select current_setting('search_path'), current_setting('TimeZone')",
            [("user", "app.\(org)"), ("client_encoding", "UTF8"), ("database", "tiergate_test"),
             ("application_name", "npgsql"), ("search_path", "public"), ("TimeZone", "UTC"), ("ssl_renegotiation_limit", "0")])
        #expect(npgsql.error == nil, "\(npgsql)")
        #expect(npgsql.rows == [["public", "UTC"]])
    }

    /// `_pq_.` options go to Postgres, which names the ones it does not know in
    /// NegotiateProtocolVersion, as the protocol requires; the session goes on.
    @Test func protocolOptions_areNegotiatedByPostgres() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let reply = try StartupClient.run(port: proxy.port, query: "select 1",
                                          [("user", "app.\(org)"), ("database", "tiergate_test"), ("_pq_.tiergate_test", "on")])
        #expect(reply.error == nil, "\(reply)")
        #expect(reply.negotiated == ["_pq_.tiergate_test"])
        #expect(reply.rows == [["1"]])
    }

    /// pgjdbc sends client_encoding, DateStyle, TimeZone, extra_float_digits and
    /// application_name (and search_path for currentSchema), through SSLRequest first.
    @Test func pgjdbc_connects_andItsSettingsArrive() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let result = try JDBC.query(port: proxy.port, database: "tiergate_test", user: "app.\(org)", password: "app_pw",
                                    "select current_user, current_setting('extra_float_digits'), current_setting('DateStyle'), current_setting('search_path'), current_setting('work_mem')",
                                    properties: "ApplicationName=jdbc-probe&currentSchema=public&assumeMinServerVersion=9.0")
        #expect(result.status == 0, "\(result.stdout) \(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "app|3|ISO, MDY|public|4MB", "\(result.stderr)")
    }

    @Test func psql_isUnchanged() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let result = try Command.run("psql", ["-X", "-A", "-t", "-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", "app.\(org)",
                                              "-d", "tiergate_test", "-c", "select current_setting('application_name'), current_setting('geqo')"],
                                     environment: ["PGPASSWORD": "app_pw", "PGOPTIONS": "-c geqo=off", "PGAPPNAME": "my psql"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "my psql|off")
    }

    // MARK: Org-role binding

    /// The sample orgs: org_acme (FREE) has acme_app, org_delta (ENTERPRISE) delta_app.
    @Test func anotherOrgsRole_isRefused28000_beforeABackendStarts() throws {
        let proxy = try Self.proxy()
        let borrowed = try StartupClient.run(port: proxy.port, password: "acme_pw", query: "select 1",
                                             [("user", "acme_app.org_delta"), ("database", "delta")])
        #expect(borrowed.sqlState == "28000", "\(borrowed)")
        #expect(borrowed.error?["M"] == #"role "acme_app" may not connect for org "org_delta""#)
        #expect(!borrowed.authRequested, "a backend started for a role the org does not list")

        let own = try Command.psql(port: proxy.port, user: "delta_app.org_delta", database: "delta", password: "delta_pw",
                                   "select current_user || '@' || current_database() || ' ' || current_setting('work_mem')")
        #expect(own.status == 0, "\(own.stderr)")
        #expect(own.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "delta_app@delta 128MB")
    }

    /// scripts/stack.sh revokes CONNECT on each org database from PUBLIC: another org's role
    /// cannot reach it even straight at Postgres, whatever the proxy does.
    @Test func anotherOrgsRole_cannotConnectEvenDirectly() throws {
        for (role, password, database) in [("acme_app", "acme_pw", "delta"), ("delta_app", "delta_pw", "acme"), ("app", "app_pw", "acme")] {
            let direct = try Command.psql(port: Stack.postgresPort, user: role, database: database, password: password, "select 1")
            #expect(direct.status != 0, "\(role) reached \(database)")
            #expect(direct.stderr.contains("permission denied for database \"\(database)\""), "\(direct.stderr)")
        }
        #expect(try Command.psql(port: Stack.postgresPort, user: "acme_app", database: "acme", password: "acme_pw", "select 1").status == 0)
    }

    @Test func documentWithoutRoles_refusesEveryone() throws {
        let org = TestOrgs.unique("org_noroles")
        try TestOrgs.put(org, tier: "PRO", burst: nil, roles: nil)
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "an org whose document lists no role") {
            #expect(error.sqlState == "28000")
            #expect(error.detail?.contains("postgres.roles") == true, "\(error)")
        }
    }

    // MARK: Databases

    @Test func requestedDatabase_listedOrDefault_elseDoesNotExist() throws {
        let second = try OrgDatabase()
        let org = TestOrgs.unique("org_dbs")
        try TestOrgs.put(org, tier: "STARTER", burst: nil, otherDatabases: [second.name])
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let user = "app.\(org)"
        func database(_ dbname: String?) throws -> CommandResult {
            var arguments = ["-X", "-A", "-t", "-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", user, "-c", "select current_database()"]
            if let dbname { arguments += ["-d", dbname] }
            return try Command.run("psql", arguments, environment: ["PGPASSWORD": "app_pw"])
        }
        // psql defaults the database to the user name: the org's default.
        #expect(try database(nil).stdout == "tiergate_test\n")
        #expect(try database("app").stdout == "tiergate_test\n")
        #expect(try database(second.name).stdout == "\(second.name)\n")
        let missing = try database("nosuchdb")
        #expect(missing.status != 0)
        #expect(missing.stderr.contains(#"database "nosuchdb" does not exist"#), "\(missing.stderr)")
        if let error = expectRefusal(conninfo(port: proxy.port, user: user, database: "acme"), "another org's database") {
            #expect(error.sqlState == "3D000")
        }
    }

    // MARK: Logs

    @Test func clientValuesInLogs_cannotForgeLines_andTheAuditLineNamesWhatWentUpstream() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let forged = "2026-01-01T00:00:00+0000 info tiergate: org=org_delta [Proxy] session established"
        _ = try StartupClient.run(port: proxy.port, [("user", "x\n\(forged).\(org)"), ("database", "tiergate_test")])
        _ = try StartupClient.run(port: proxy.port, [("user", "app.\(org)\n\(forged)"), ("database", "tiergate_test")])
        _ = try StartupClient.run(port: proxy.port, [("user", "app.\(org)"), ("database", "no\r\(forged)")])
        let session = try StartupClient.run(port: proxy.port, query: "select 1", [("user", "app.\(org)"), ("database", "app")])
        #expect(session.error == nil, "\(session)")

        #expect(try eventually { proxy.log.contains("upstream_database=tiergate_test") })
        let lines = proxy.log.split(separator: "\n")
        #expect(!lines.contains { $0.hasPrefix("2026-01-01") }, "a forged line:\n\(proxy.log)")
        #expect(lines.filter { $0.contains("org=org_delta [Proxy]") }.allSatisfy { $0.contains(#"\n"#) || $0.contains(#"\r"#) })
        let established = lines.first { $0.hasSuffix("[Proxy] session established") && $0.contains("org=\(org)") }
        #expect(established?.contains("upstream_user=app") == true, "\(established ?? "no audit line")")
        #expect(established?.contains("upstream_database=tiergate_test") == true)
        #expect(established?.contains("database=app") == true, "the requested database is kept beside it")
    }

    // MARK: Effective tier

    @Test func canceledSubscription_isServedAsFree_andShowOrgSaysWhy() throws {
        let org = TestOrgs.unique("org_lapsed")
        try TestOrgs.put(org, tier: "PRO", burst: nil, subscription: #"{"plan":"pro_monthly","status":"canceled"}"#)
        defer { TestOrgs.remove(org) }
        let (proxy, socket) = try AdminProxy.start()
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try session.query("show work_mem").rows == [["4MB"]])
        let shown = try AdminSocketClient(path: socket).command("SHOW ORG \(org)")
        #expect(shown["paidTier"] as? String == "PRO", "\(shown)")
        #expect(shown["effectiveTier"] as? String == "FREE")
        #expect(shown["tier"] as? String == "FREE")
        #expect((shown["effectiveTierReason"] as? String)?.contains(#"status "canceled""#) == true, "\(shown)")
    }

    /// The period ends while the org is cached (in process for 60 s, in Redis for 300 s):
    /// the next connection after the grace is FREE all the same.
    @Test func periodEndPassingWhileCached_servesFreeFromTheNextConnection() throws {
        let org = TestOrgs.unique("org_period")
        let end = Int(Date().timeIntervalSince1970 * 1000) + 1_500
        try TestOrgs.put(org, tier: "PRO", burst: nil,
                         subscription: #"{"status":"active","currentPeriodEnd":{"$date":{"$numberLong":"\#(end)"}}}"#)
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy(["--subscription-grace", "1", "--local-cache-ttl", "60"])
        let before = try Command.psql(port: proxy.port, user: "app.\(org)", "show work_mem")
        #expect(before.stdout == "64MB\n", "\(before.stderr)")
        Thread.sleep(forTimeInterval: max(0, Double(end + 1_000 - Int(Date().timeIntervalSince1970 * 1000)) / 1000 + 0.3))
        let after = try Command.psql(port: proxy.port, user: "app.\(org)", "show work_mem")
        #expect(after.stdout == "4MB\n", "\(after.stderr)")
    }

    // MARK: Metrics labels

    @Test func perOrgSeries_offAwayFromLoopback_hashedOnRequest() throws {
        let org = try Self.freeOrg()
        defer { TestOrgs.remove(org) }
        for (bind, labels, expected) in [("0.0.0.0", nil, nil as String?),
                                         ("127.0.0.1", "hashed", "hashed"),
                                         ("127.0.0.1", nil, org)] {
            let metricsPort = try FreePort.pick()
            let proxy = try Self.proxy(["--metrics", "\(bind):\(metricsPort)"] + (labels.map { ["--metrics-org-labels", $0] } ?? []))
            let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
            let samples = try MetricsEndpointTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
            let series = samples.keys.filter { $0.hasPrefix("tiergate_org_open_sessions{") && !$0.contains("_other") }
            switch expected {
            case nil:
                #expect(series.isEmpty, "\(series)")
            case "hashed":
                #expect(series.count == 1 && !series[0].contains(org), "\(series)")
                #expect(series.first.map { $0.count == #"tiergate_org_open_sessions{org=""}"#.count + 16 } == true)
            default:
                #expect(series == ["tiergate_org_open_sessions{org=\"\(org)\"}"])
            }
            #expect(samples[#"tiergate_open_sessions{tier="FREE"}"#] == 1)
            withExtendedLifetime(session) {}
        }
    }
}
