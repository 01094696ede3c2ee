import Foundation
import PostgresClient
import Testing

/// TLS handshakes, failures by reason and open TLS sessions, in SHOW STATS and /metrics.
@Suite(.serialized)
struct TLSStatisticsTests {
    @Test func handshakesFailuresAndOpenTLSSessions_areInShowStatsAndMetrics() throws {
        let org = TestOrgs.unique("org_tlsstats")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let certificates = try ClientTLSTests.certificates.get()
        let metricsPort = try FreePort.pick()
        let socketPath = FileManager.default.temporaryDirectory.appendingPathComponent("tls-stats-\(UUID().uuidString.prefix(8)).sock").path
        defer { try? FileManager.default.removeItem(atPath: socketPath) }
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL, "--redis", Stack.redisURL,
            "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey,
            "--metrics", "127.0.0.1:\(metricsPort)", "--admin-socket", socketPath])

        let open = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)") + " sslmode=require")
        let direct = try StartupClient.run(port: proxy.port, query: "select 1", tls: .init(direct: true),
                                           [("user", "app.\(org)"), ("database", "tiergate_test")])
        #expect(direct.rows == [["1"]], "\(direct)")
        // Plain text where the handshake should be: fails as not_tls.
        let garbage = try RawConnection(port: proxy.port)
        garbage.send([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
        #expect(garbage.readExactly(1) == [UInt8(ascii: "S")])
        garbage.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
        _ = garbage.readToEnd()
        // A plain session is not counted.
        let plain = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)") + " sslmode=disable")

        let admin = try AdminSocketClient(path: socketPath)
        let stats = try admin.command("SHOW STATS")
        let tls = stats["tls"] as? [String: Any] ?? [:]
        #expect(tls["sessions"] as? Int == 1, "\(stats)")
        #expect(tls["handshakes"] as? Int == 2, "\(stats)")
        #expect(tls["directHandshakes"] as? Int == 1, "\(stats)")
        #expect((tls["handshakeFailuresByReason"] as? [String: Any])?["not_tls"] as? Int == 1, "\(stats)")

        let metrics = try MetricsEndpointTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(metrics[#"tiergate_tls_handshakes_total{kind="negotiated"}"#] == 1, "\(metrics.filter { $0.key.contains("tls") })")
        #expect(metrics[#"tiergate_tls_handshakes_total{kind="direct"}"#] == 1)
        #expect(metrics[#"tiergate_tls_handshake_failures_total{reason="not_tls"}"#] == 1)
        #expect(metrics["tiergate_tls_sessions{}"] == 1, "\(metrics.filter { $0.key.contains("tls") })")
        _ = open
        _ = plain
    }

    static func descriptors(_ pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
    }

    /// Handshakes that fail every way, and TLS sessions that end abruptly, leave no
    /// descriptor and no TLS session counted behind.
    @Test func failedHandshakesAndAbortedTLSSessions_leaveNothingTaken() throws {
        let certificates = try ClientTLSTests.certificates.get()
        let socketPath = FileManager.default.temporaryDirectory.appendingPathComponent("tls-leak-\(UUID().uuidString.prefix(8)).sock").path
        defer { try? FileManager.default.removeItem(atPath: socketPath) }
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--admin-socket", socketPath,
            "--tls-cert", certificates.serverCertificate, "--tls-key", certificates.serverKey])
        // The baseline is taken after one round of the same work has ended: Dispatch opens
        // some descriptors of its own lazily (a timerfd at the first timer of a kind), and
        // those are not the sessions' to give back.
        let admin = try AdminSocketClient(path: socketPath)
        var baseline = -1
        for round in 0..<6 {
            if round == 1 {
                _ = try Self.waitUntilNoTLSSessions(admin, proxy.pid, atMost: Int.max)
                baseline = Self.descriptors(proxy.pid)
            }
            let garbage = try RawConnection(port: proxy.port)
            garbage.send([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
            _ = garbage.readExactly(1)
            garbage.send(Array("not a client hello, round \(round)".utf8))
            _ = garbage.readToEnd()
            let halfHello = try RawConnection(port: proxy.port)
            halfHello.send([0x16, 0x03, 0x01, 0x00, 0x40, 0x01])
            halfHello.reset()
            let noALPN = try StartupClient.run(port: proxy.port, tls: .init(direct: true, alpn: ""), [("user", "app")])
            #expect(noALPN.sqlState == "08P01")
            _ = try Self.sClient(port: proxy.port)
            // A whole TLS session whose client vanishes while a statement runs.
            let script = Stack.repoRoot.appendingPathComponent("Tests/IntegrationTests/Clients/startup_client.py").path
            let running = try ChildProcess(["python3", script, "--port", "\(proxy.port)", "--password", "app_pw", "--tls", "request",
                                            "--query", "select pg_sleep(5)", "user=app", "database=tiergate_test"],
                                           environment: ProcessInfo.processInfo.environment, stdout: "/dev/null", stderr: "/dev/null")
            usleep(700_000)
            running.signal(SIGKILL)
            _ = running.wait(timeout: 10)
        }
        let tls = try Self.waitUntilNoTLSSessions(admin, proxy.pid, atMost: baseline)
        #expect(tls["sessions"] as? Int == 0, "\(tls)")
        #expect(Self.descriptors(proxy.pid) <= baseline, "descriptors \(Self.descriptors(proxy.pid)), baseline \(baseline)")
        #expect(tls["handshakes"] as? Int == 6, "the six sessions that ran a statement: \(tls)")
        #expect(tls["handshakeFailures"] as? Int ?? 0 >= 18, "\(tls)")
        #expect(proxy.log.components(separatedBy: "tls=true").count - 1 >= 6, "\(proxy.log)")
    }

    /// SHOW STATS' `tls` once no TLS session is open and the proxy holds at most `descriptors`
    /// (or after 10 s, whatever it then says).
    static func waitUntilNoTLSSessions(_ admin: AdminSocketClient, _ pid: Int32, atMost descriptors: Int) throws -> [String: Any] {
        let deadline = Date().addingTimeInterval(10)
        var tls: [String: Any] = [:]
        repeat {
            tls = try admin.command("SHOW STATS")["tls"] as? [String: Any] ?? [:]
            if tls["sessions"] as? Int == 0, Self.descriptors(pid) <= descriptors { break }
            usleep(100_000)
        } while Date() < deadline
        return tls
    }

    static func sClient(port: Int) throws -> CommandResult {
        try Command.run("bash", ["-c", "openssl s_client -starttls postgres -connect 127.0.0.1:\(port) -tls1_1 -cipher 'DEFAULT@SECLEVEL=0' </dev/null 2>&1"],
                        timeout: 30)
    }
}
