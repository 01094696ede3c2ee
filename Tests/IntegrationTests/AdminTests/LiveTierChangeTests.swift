import Foundation
import PostgresClient
import Testing

/// A tier change reaches sessions that are already open.
@Suite(.serialized)
struct LiveTierChangeTests {
    static func connect(_ port: Int, _ org: String) throws -> PostgresConnection {
        try PostgresConnection(conninfo: conninfo(port: port, user: "app.\(org)"))
    }

    static func show(_ session: PostgresConnection, _ name: String = "work_mem") throws -> String? {
        try session.query("show \(name)").rows.first?.first ?? nil
    }

    @Test func upgrade_openSessionGetsNewSettingsAfterItsTransaction_notDuring() throws {
        let org = TestOrgs.unique("org_up")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let (proxy, socket) = try AdminProxy.start()
        let inTransaction = try Self.connect(proxy.port, org)
        let idle = try Self.connect(proxy.port, org)
        #expect(try Self.show(inTransaction) == "4MB")
        #expect(try Self.show(idle) == "4MB")

        _ = try inTransaction.execute("begin")
        #expect(try Self.show(inTransaction) == "4MB")
        try TestOrgs.put(org, tier: "PRO", updatedAt: Date().addingTimeInterval(1))
        #expect(try AdminSocketClient(path: socket).command("INVALIDATE \(org)")["ok"] as? Bool == true)

        #expect(try Self.show(inTransaction) == "4MB", "the open transaction keeps the old settings")
        #expect(try Self.show(idle) == "64MB", "an idle session gets them at once")
        #expect(try Self.show(idle, "statement_timeout") == "1min")
        _ = try inTransaction.execute("commit")
        #expect(try Self.show(inTransaction) == "64MB", "applied at the end of the transaction")
        #expect(try Self.show(inTransaction, "max_parallel_workers_per_gather") == "8")

        // RESET would return to the startup (FREE) value; the proxy sets PRO's again.
        _ = try inTransaction.execute("reset work_mem")
        #expect(try Self.show(inTransaction) == "64MB")
        // The rules follow the tier too: 32MB is above FREE's 4MB but within PRO.
        _ = try idle.execute("set work_mem = '32MB'")
        #expect(try Self.show(idle) == "32MB")
        #expect(proxy.log.contains("tier settings sent at idle point"))
    }

    @Test func downgradeWithinLimits_lowersSettingsOfOpenSessions() throws {
        let org = TestOrgs.unique("org_down")
        try TestOrgs.put(org, tier: "PRO")
        defer { TestOrgs.remove(org) }
        let (proxy, socket) = try AdminProxy.start()
        let session = try Self.connect(proxy.port, org)
        #expect(try Self.show(session) == "64MB")
        try TestOrgs.put(org, tier: "FREE", updatedAt: Date().addingTimeInterval(1))
        #expect(try AdminSocketClient(path: socket).command("INVALIDATE \(org)")["ok"] as? Bool == true)
        #expect(try Self.show(session) == "4MB")
        if let error = expectQueryError(session, "set work_mem = '64MB'") {
            #expect(error.sqlState == "42501")
        }
        // The startup values (PRO's) are still the session's reset values: every way back to
        // them lands on FREE's instead.
        for reset in ["reset work_mem", "reset all", "discard all", "set work_mem to default",
                      "select set_config('work_mem', null, false)"] {
            _ = try session.execute(reset)
            #expect(try Self.show(session) == "4MB", "after \(reset)")
            #expect(try Self.show(session, "statement_timeout") == "10s", "after \(reset)")
        }
    }

    @Test func downgradeBelowUse_newConnectionsHeldAtOnce_newestExcessClosedAfterGrace() throws {
        let org = TestOrgs.unique("org_excess")
        try TestOrgs.put(org, tier: "STARTER")
        defer { TestOrgs.remove(org) }
        let (proxy, socket) = try AdminProxy.start(extra: ["--downgrade-grace", "2"])
        let admin = try AdminSocketClient(path: socket)
        let sessions = try (0..<7).map { _ in try Self.connect(proxy.port, org) }

        try TestOrgs.put(org, tier: "FREE", updatedAt: Date().addingTimeInterval(1))
        #expect(try admin.command("INVALIDATE \(org)")["ok"] as? Bool == true)
        let shown = try admin.command("SHOW ORG \(org)")
        let pending = shown["pendingEnforcement"] as? [String: Any]
        #expect(pending?["ceiling"] as? Int == 5, "\(shown)")
        #expect(pending?["excess"] as? Int == 2)
        #expect(pending?["at"] is String)
        #expect(shown["openSessions"] as? Int == 7)

        // New connections are held to FREE's ceiling at once; the open ones keep working.
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "8th session after the downgrade") {
            #expect(error.sqlState == "53300")
        }
        for session in sessions { #expect(try session.query("select 1").rows == [["1"]]) }

        Thread.sleep(forTimeInterval: 3)
        // Exactly the two newest are closed, with a FATAL that says why and the ceiling.
        for (index, session) in sessions.enumerated() {
            if index < 5 {
                #expect(try session.query("select 1").rows == [["1"]], "session \(index) keeps working")
            } else {
                _ = expectQueryError(session, "select 1")
            }
        }
        // The FATAL went out before the close; an idle libpq client usually loses it to the
        // RST its next query provokes (as with Postgres' own idle timeouts), so the proxy's
        // log is where the test reads it.
        // As the log writes the outcome: quoted, its own quotes escaped (Telemetry.LogText).
        let closes = proxy.log.components(separatedBy: #"53300: terminating connection: org \"\#(org)\" was downgraded to FREE, whose ceiling is 5 connections"#)
        #expect(closes.count - 1 == 2, "\(proxy.log)")
        let after = try admin.command("SHOW ORG \(org)")
        #expect(after["openSessions"] as? Int == 5)
        #expect(after["pendingEnforcement"] is NSNull)
    }
}
