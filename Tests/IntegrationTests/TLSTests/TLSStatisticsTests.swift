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
}
