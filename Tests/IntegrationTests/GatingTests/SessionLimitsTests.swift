import Foundation
import PostgresClient
import Testing

/// Settings injected per tier, a client cannot raise them, the timeout hint, idle close.
@Suite(.serialized)
struct SessionLimitsTests {
    /// Every tier setting as SHOW prints it. PRO and ENTERPRISE set no
    /// idle_in_transaction_session_timeout: the stack's server default (0) shows.
    static let expected: [String: [String: String]] = [
        "FREE": ["statement_timeout": "10s", "work_mem": "4MB", "temp_buffers": "8MB", "max_parallel_workers_per_gather": "2",
                 "hash_mem_multiplier": "1", "maintenance_work_mem": "32MB", "max_parallel_maintenance_workers": "1",
                 "temp_file_limit": "1GB", "idle_in_transaction_session_timeout": "1min"],
        "STARTER": ["statement_timeout": "30s", "work_mem": "16MB", "temp_buffers": "16MB", "max_parallel_workers_per_gather": "4",
                    "hash_mem_multiplier": "1.5", "maintenance_work_mem": "64MB", "max_parallel_maintenance_workers": "2",
                    "temp_file_limit": "4GB", "idle_in_transaction_session_timeout": "3min"],
        "PRO": ["statement_timeout": "1min", "work_mem": "64MB", "temp_buffers": "32MB", "max_parallel_workers_per_gather": "8",
                "hash_mem_multiplier": "2", "maintenance_work_mem": "128MB", "max_parallel_maintenance_workers": "4",
                "temp_file_limit": "16GB", "idle_in_transaction_session_timeout": "0"],
        "ENTERPRISE": ["statement_timeout": "2min", "work_mem": "128MB", "temp_buffers": "64MB", "max_parallel_workers_per_gather": "16",
                       "hash_mem_multiplier": "2", "maintenance_work_mem": "256MB", "max_parallel_maintenance_workers": "8",
                       "temp_file_limit": "32GB", "idle_in_transaction_session_timeout": "0"],
    ]

    @Test(arguments: ["FREE", "STARTER", "PRO", "ENTERPRISE"])
    func everyTier_startsWithItsSettingsInForce(tier: String) throws {
        let org = TestOrgs.unique("org_show")
        try TestOrgs.put(org, tier: tier)
        defer { TestOrgs.remove(org) }
        let proxy = try ConnectionCeilingTests.proxy()
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        for (name, value) in Self.expected[tier]! {
            #expect(try session.query("show \(name)").rows == [[value]], "\(tier) \(name)")
        }
        // RESET returns to the tier's value, not the server default.
        _ = try session.execute("reset all")
        #expect(try session.query("show work_mem").rows == [[Self.expected[tier]!["work_mem"]!]])
    }

    @Test func freeClient_cannotRaiseItsSettings_butMayLowerThem() throws {
        let org = TestOrgs.unique("org_raise")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try ConnectionCeilingTests.proxy()
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        let attempts = ["set statement_timeout = 0", "set work_mem = '1GB'", "set session work_mem to '64MB'",
                        "set local temp_buffers = '1GB'", "set max_parallel_workers_per_gather = 8",
                        "select set_config('work_mem', '1GB', false)",
                        "update pg_settings set setting = '1GB' where name = 'work_mem'"]
        for attempt in attempts {
            if let error = expectQueryError(session, attempt) {
                #expect(error.sqlState == "42501", "\(attempt): \(error)")
                #expect(error.hint != nil, "\(attempt)")
            }
        }
        #expect(try session.query("show work_mem").rows == [["4MB"]])
        #expect(try session.query("show statement_timeout").rows == [["10s"]])
        _ = try session.execute("set work_mem = '2MB'")
        #expect(try session.query("show work_mem").rows == [["2MB"]])
    }

    @Test func queryKilledByTierTimeout_carriesUpgradeHint() throws {
        let org = TestOrgs.unique("org_slow")
        try TestOrgs.put(org, tier: "STARTER")
        defer { TestOrgs.remove(org) }
        let tiers = try TierFile.write(#"{"STARTER": {"postgres": {"queryTimeout": 1000}}}"#)
        let proxy = try ConnectionCeilingTests.proxy(["--tiers", tiers])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        if let error = expectQueryError(session, "select pg_sleep(5)") {
            #expect(error.sqlState == "57014")
            #expect(error.hint == "Upgrade to PRO for 60s timeout or optimize query", "\(error)")
        }
        // A cancel by the user is a 57014 too, and gets no hint.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { try? session.cancel() }
        if let error = expectQueryError(session, "select pg_sleep(0.9)") {
            #expect(error.sqlState == "57014")
            #expect(error.hint == nil)
        }
    }

    @Test func idleFreeSession_isClosedAfterTierIdleTimeout() throws {
        let org = TestOrgs.unique("org_idle")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let tiers = try TierFile.write(#"{"FREE": {"lifecycle": {"idleTimeout": 1000}}}"#)
        let proxy = try ConnectionCeilingTests.proxy(["--tiers", tiers])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try session.query("select 1").rows == [["1"]])
        Thread.sleep(forTimeInterval: 2.5)
        #expect(throws: PostgresError.self) { try session.query("select 1") }
        #expect(proxy.log.contains("57P05"))
    }
}
