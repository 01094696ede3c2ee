import Foundation
import PostgresClient
import PostgresWire
import Testing

/// The proxy keeps time itself: a statement that outlives its tier's timeout is cancelled
/// whatever the session's settings say, a vanished client's statement is cancelled upstream,
/// and only client statements count as activity for the idle timeout.
@Suite(.serialized)
struct ProxyTimeoutTests {
    /// FREE with a 2 s statement timeout and a 3 s idle timeout, so the tests are quick.
    static func proxy(org: String) throws -> TierGateProcess {
        // `postgres` (trusted on loopback) lets a raw client log in without SCRAM.
        try TestOrgs.put(org, tier: "FREE", burst: nil, roles: ["app", "postgres"])
        let tiers = try TierFile.write(#"{"FREE": {"postgres": {"queryTimeout": 2000}, "lifecycle": {"idleTimeout": 3000}}}"#)
        return try ConnectionCeilingTests.proxy(["--tiers", tiers])
    }

    /// A logged-in session of a protocol-level client, as the trusted role on loopback (no
    /// password exchange to script).
    static func rawSession(_ proxy: TierGateProcess, org: String) throws -> RawConnection {
        let client = try RawConnection(port: proxy.port)
        client.send(StartupMessage(parameters: [("user", "postgres.\(org)"), ("database", "tiergate_test")]).encoded())
        #expect(client.readUntilReadyForQuery())
        return client
    }

    @Test func statementTimeoutSwitchedOffByAFunction_isStillEnforcedByTheProxy() throws {
        let org = TestOrgs.unique("org_clock")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy(org: org)
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        // The one path nothing checks: a plain SELECT of a function that changes the setting
        // (its definition is followed by a settings check, each call is not). The server's own
        // timeout is off from here on.
        _ = try session.execute("create function pg_temp.no_timeout() returns text language sql "
            + "as $$ select set_config('statement_timeout', '0', false) $$")
        _ = try session.query("select pg_temp.no_timeout()")
        #expect(try session.query("show statement_timeout").rows == [["0"]])
        let started = Date()
        let error = expectQueryError(session, "select pg_sleep(30)")
        let took = Date().timeIntervalSince(started)
        #expect(error?.sqlState == "57014")
        #expect(error?.message == "canceling statement due to statement timeout", "\(String(describing: error))")
        #expect(error?.hint?.contains("Upgrade") == true, "\(String(describing: error?.hint))")
        #expect(took < 20, "cancelled by the proxy after its 2 s (+1 s grace), not after the query's 30 s: \(took) s")
        // The session goes on, as after the server's own timeout.
        #expect(try session.query("select 1").rows == [["1"]])
        #expect(proxy.log.contains("statement cancelled by TierGate"))
    }

    @Test func clientThatVanishesMidStatement_hasItsStatementCancelledUpstream() throws {
        let org = TestOrgs.unique("org_vanish")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy(org: org)
        let client = try Self.rawSession(proxy, org: org)
        client.send(Query(text: "select pg_sleep(25) /* vanishing */").encoded())
        let observer = try PostgresConnection(conninfo: conninfo(port: Stack.postgresPort, user: "postgres", database: "postgres"))
        let running = "select count(*) from pg_stat_activity where query like '%vanishing%' and state = 'active' and pid <> pg_backend_pid()"
        #expect(try eventually(timeout: 5) { try observer.query(running).rows == [["1"]] })
        client.reset()  // RST: gone mid-statement
        #expect(try eventually(timeout: 3) { try observer.query(running).rows == [["0"]] },
                "the statement still runs without its client")
    }

    @Test func flushesAndHalfMessages_doNotKeepASessionPastItsIdleTimeout() throws {
        let org = TestOrgs.unique("org_flush")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy(org: org)
        let client = try Self.rawSession(proxy, org: org)
        let started = Date()
        let flush: [UInt8] = [UInt8(ascii: "H"), 0, 0, 0, 4]
        for _ in 0..<4 {
            client.send(flush)
            Thread.sleep(forTimeInterval: 0.5)
        }
        client.send(Array(Query(text: "select 1").encoded().prefix(7)))  // half a query, never finished
        let errors = ReceivedMessages.errors(client.readToEnd())
        #expect(errors.last?[.sqlState] == "57P05", "\(errors)")
        #expect(Date().timeIntervalSince(started) < 10)
    }
}
