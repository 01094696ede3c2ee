import Foundation
import PostgresClient
import Testing

/// The resource settings beyond the matrix file's four, through the real binary against the stack's
/// Postgres: in force from the first query, not raisable, lowerable, and (FREE/STARTER) the
/// idle-in-transaction timeout ending a forgotten transaction.
@Suite(.serialized)
struct ResourceSettingsTests {
    /// Runs `body` on a session of a new org of `tier`, through a proxy started with `arguments`.
    private func withSession(_ tier: String, proxy arguments: [String] = [], options: String = "",
                             _ body: (PostgresConnection) throws -> Void) throws {
        let org = TestOrgs.unique("org_resources")
        try TestOrgs.put(org, tier: tier)
        defer { TestOrgs.remove(org) }
        let proxy = try ConnectionCeilingTests.proxy(arguments)
        try body(try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)") + " " + options))
    }

    @Test func freeSession_startsWithTheResourceSettings_andCannotRaiseThem() throws {
        try withSession("FREE") { (session) throws in
            for (name, value) in [("hash_mem_multiplier", "1"), ("maintenance_work_mem", "32MB"),
                                  ("max_parallel_maintenance_workers", "1"), ("temp_file_limit", "1GB"),
                                  ("idle_in_transaction_session_timeout", "1min")] {
                #expect(try session.query("show \(name)").rows == [[value]], "\(name)")
            }
            if let error = expectQueryError(session, "set maintenance_work_mem = '1GB'") {
                #expect(error.sqlState == "42501", "\(error)")
                #expect(error.hint == "Upgrade to STARTER for up to 64MB maintenance_work_mem", "\(error)")
            }
            for attempt in ["set hash_mem_multiplier = 1.5", "set max_parallel_maintenance_workers = 4",
                            "set temp_file_limit = -1", "set idle_in_transaction_session_timeout = 0",
                            "select set_config('temp_file_limit', '10GB', false)",
                            "update pg_settings set setting = '1GB' where name = 'maintenance_work_mem'"] {
                if let error = expectQueryError(session, attempt) {
                    #expect(error.sqlState == "42501", "\(attempt): \(error)")
                }
            }
            #expect(try session.query("show maintenance_work_mem").rows == [["32MB"]])
            #expect(try session.query("show temp_file_limit").rows == [["1GB"]])
            // Lower is fine, and RESET returns to the tier's value (the startup packet's).
            _ = try session.execute("set maintenance_work_mem = '8MB'")
            #expect(try session.query("show maintenance_work_mem").rows == [["8MB"]])
            _ = try session.execute("set temp_file_limit = '100MB'")
            #expect(try session.query("show temp_file_limit").rows == [["100MB"]])
            _ = try session.execute("reset all")
            #expect(try session.query("show temp_file_limit").rows == [["1GB"]])
        }
    }

    @Test func showOrg_listsEverySettingTheTierSets() throws {
        let (free, pro) = (TestOrgs.unique("org_show_free"), TestOrgs.unique("org_show_pro"))
        try TestOrgs.put(free, tier: "FREE")
        try TestOrgs.put(pro, tier: "PRO")
        defer { TestOrgs.remove(free); TestOrgs.remove(pro) }
        let (proxy, socket) = try AdminProxy.start()
        let sessions = try [free, pro].map { try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\($0)")) }
        let admin = try AdminSocketClient(path: socket)
        let freeSettings = try admin.command("SHOW ORG \(free)")["settings"] as? [String: String]
        #expect(freeSettings == SessionLimitsTests.expected["FREE"], "\(String(describing: freeSettings))")
        let proSettings = try admin.command("SHOW ORG \(pro)")["settings"] as? [String: String]
        #expect(proSettings?["maintenance_work_mem"] == "128MB")
        #expect(proSettings?["temp_file_limit"] == "16GB")
        #expect(proSettings?.keys.contains("idle_in_transaction_session_timeout") == false, "PRO leaves it unset")
        _ = sessions
    }

    @Test func clientOptions_mayLowerAResourceSetting_notRaiseIt() throws {
        let options = #"options='-c maintenance_work_mem=16MB -c temp_file_limit=-1 -c hash_mem_multiplier=2'"#
        try withSession("FREE", options: options) { (session) throws in
            #expect(try session.query("show maintenance_work_mem").rows == [["16MB"]])
            #expect(try session.query("show temp_file_limit").rows == [["1GB"]])
            #expect(try session.query("show hash_mem_multiplier").rows == [["1"]])
        }
    }

    @Test func proSession_setsItsOwnIdleInTransactionTimeout() throws {
        try withSession("PRO") { (session) throws in
            _ = try session.execute("set idle_in_transaction_session_timeout = '1h'")
            #expect(try session.query("show idle_in_transaction_session_timeout").rows == [["1h"]])
            if let error = expectQueryError(session, "set maintenance_work_mem = '1GB'") {
                #expect(error.hint == "Upgrade to ENTERPRISE for up to 256MB maintenance_work_mem", "\(error)")
            }
        }
    }

    @Test func freeTransactionLeftIdle_isEndedByPostgres() throws {
        let tiers = try TierFile.write(#"{"FREE": {"lifecycle": {"idleInTransactionTimeout": 500}}}"#)
        try withSession("FREE", proxy: ["--tiers", tiers]) { (session) throws in
            #expect(try session.query("show idle_in_transaction_session_timeout").rows == [["500ms"]])
            _ = try session.execute("begin")
            _ = try session.query("select 1")
            Thread.sleep(forTimeInterval: 1.5)
            // Postgres ends the session: FATAL 25P03 idle_in_transaction_session_timeout.
            #expect(throws: PostgresError.self) { try session.query("select 1") }
        }
    }
}
