import Foundation
import PostgresClient
import PostgresWire
import Testing
import TierModel

/// The connection ceiling, its error, and slot release.
@Suite(.serialized)
struct ConnectionCeilingTests {
    static func proxy(_ extra: [String] = []) throws -> TierGateProcess {
        try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                        "--mongo", Stack.mongoURL, "--redis", Stack.redisURL] + extra)
    }

    @Test func sixthFreeConnection_isRefusedWithUpgradeHint_andSlotFreesOnClose() throws {
        let org = TestOrgs.unique("org_free")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        var open = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "6th FREE connection") {
            #expect(error.sqlState == "53300")
            #expect(error.message == "connection limit exceeded for org \"\(org)\": 5 of 5 (tier FREE)")
            #expect(error.detail == #"{"error":"connection_limit_exceeded","tier":"FREE","current":5,"max":5,"suggestion":"Upgrade to STARTER for 10 connections"}"#)
            #expect(error.hint == "Upgrade to STARTER for 10 connections")
        }
        // psql prints all three fields.
        // psql prints all three (the SQLSTATE only at VERBOSITY verbose, which it cannot
        // apply before connecting; libpq above checked it).
        let psql = try Command.psql(port: proxy.port, user: "app.\(org)", "select 1")
        #expect(psql.stderr.contains("FATAL:  connection limit exceeded for org"), "\(psql.stderr)")
        #expect(psql.stderr.contains("DETAIL:  {\"error\":\"connection_limit_exceeded\""), "\(psql.stderr)")
        #expect(psql.stderr.contains("HINT:  Upgrade to STARTER for 10 connections"), "\(psql.stderr)")

        open.removeLast()
        Thread.sleep(forTimeInterval: 0.3)
        let again = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try again.query("select 1").rows == [["1"]])
        _ = open
    }

    @Test func fiftyClientsRacing_forFiveSlots_getExactlyFiveSessions() throws {
        let org = TestOrgs.unique("org_race")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let sessions = LockedList<PostgresConnection>()
        let refusals = LockedList<String>()
        let group = DispatchGroup()
        for _ in 0..<50 {
            group.enter()
            Thread.detachNewThread {
                do {
                    sessions.append(try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")))
                } catch {
                    refusals.append((error as? PostgresError)?.sqlState ?? "?")
                }
                group.leave()
            }
        }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(sessions.items.count == 5)
        #expect(refusals.items.count == 45)
        #expect(refusals.items.allSatisfy { $0 == "53300" })
    }

    @Test func enterpriseRefusal_hintFitsTheTopTier() throws {
        let org = TestOrgs.unique("org_top")
        try TestOrgs.put(org, tier: "ENTERPRISE")
        defer { TestOrgs.remove(org) }
        let tiers = try TierFile.write(#"{"ENTERPRISE": {"postgres": {"maxConnections": 1}}}"#)
        let proxy = try Self.proxy(["--tiers", tiers])
        let first = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "a second connection at a ceiling of 1") {
            #expect(error.sqlState == "53300")
            #expect(error.hint?.contains("Upgrade to") == false, "\(error.hint ?? "")")
        }
        _ = first
    }

    @Test func killedClient_releasesItsSlot() throws {
        let org = TestOrgs.unique("org_kill")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        var held = try (0..<4).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        let psql = try ChildProcess(
            ["psql", "-X", "-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", "app.\(org)", "-d", "tiergate_test", "-c", "select pg_sleep(60)"],
            environment: ProcessInfo.processInfo.environment.merging(["PGPASSWORD": "app_pw"]) { $1 },
            stdout: "/dev/null", stderr: "/dev/null")
        Thread.sleep(forTimeInterval: 1.0)
        #expect(throws: PostgresError.self) {
            try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        }
        psql.signal(SIGKILL)
        #expect(psql.wait(timeout: 10) == 128 + SIGKILL)
        Thread.sleep(forTimeInterval: 0.5)
        held.append(try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")))
        #expect(held.count == 5)
    }

    /// The ceiling counts authenticated sessions. Five sockets that never answer the password
    /// request do not refuse the real user (a newer login from their address displaces the
    /// oldest of them), and they are closed at the tier's connection timeout.
    @Test func silentLogins_neverRefuseTheRealUser_andExpireAtTheConnectionTimeout() throws {
        let org = TestOrgs.unique("org_squat")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let tiers = try TierFile.write(#"{"FREE": {"postgres": {"connectionTimeout": 2000}}}"#)
        let proxy = try Self.proxy(["--tiers", tiers])
        let startup = StartupMessage(parameters: [("user", "app.\(org)"), ("database", "tiergate_test")]).encoded()
        let squatters = try (0..<5).map { _ in
            let connection = try RawConnection(port: proxy.port)
            connection.send(startup)  // then never answer the password request
            // Admitted and connected upstream once Postgres asks for the password ('R').
            let header = connection.readExactly(5)
            #expect(header.first == UInt8(ascii: "R"), "\(header)")
            if header.count == 5 {
                let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
                _ = connection.readExactly(length - 4)  // the rest of the authentication request
            }
            return connection
        }
        // The real user gets in while all five wait...
        let user = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        #expect(try user.query("select 1").rows == [["1"]])
        // ...the oldest squatter made room (53300), the others end at the connection timeout.
        let endings = squatters.map { ReceivedMessages.errors($0.readToEnd()).last?[.sqlState] ?? "none" }
        #expect(endings.sorted() == ["08P01", "08P01", "08P01", "08P01", "53300"], "\(endings)")
        // The ceiling is still five authenticated sessions.
        let more = try (0..<4).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        #expect(more.count == 4)
        if let error = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "a 6th authenticated connection") {
            #expect(error.sqlState == "53300")
        }
    }

    @Test func failedAuthentication_releasesItsSlot() throws {
        let org = TestOrgs.unique("org_badpw")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        // Thirteen logins at once: more than FREE's connect burst, which is not what this tests.
        let tiers = try TierFile.write(#"{"FREE": {"postgres": {"connectBurst": 20}}}"#)
        let proxy = try Self.proxy(["--tiers", tiers])
        for _ in 0..<8 {
            #expect(throws: PostgresError.self) {
                try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)", password: "wrong"))
            }
        }
        let sessions = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        #expect(sessions.count == 5)
    }
}

/// Test-sized tier matrices: the built-in matrix with some fields replaced.
enum TierFile {
    /// `overrides` is a partial matrix-file object, merged over the built-in values.
    static func write(_ overrides: String) throws -> String {
        let builtIn = try JSONSerialization.jsonObject(with: Data(TierMatrix.builtIn.json.utf8)) as! [String: Any]
        let patch = try JSONSerialization.jsonObject(with: Data(overrides.utf8)) as! [String: Any]
        let merged = merge(builtIn, patch)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("tiers-\(UUID().uuidString).json")
        try JSONSerialization.data(withJSONObject: merged, options: [.sortedKeys]).write(to: url)
        return url.path
    }

    private static func merge(_ base: [String: Any], _ patch: [String: Any]) -> [String: Any] {
        var result = base
        for (key, value) in patch {
            if let inner = value as? [String: Any], let existing = base[key] as? [String: Any] {
                result[key] = merge(existing, inner)
            } else {
                result[key] = value
            }
        }
        return result
    }
}
