import Foundation
import PostgresClient
import Testing

/// `serve --metrics` exposes Prometheus text that a real parser (prometheus_client
/// from PyPI, installed into .venv by scripts/stack.sh) accepts, and its counters move as
/// connections are admitted and refused.
@Suite(.serialized)
struct MetricsEndpointTests {
    /// Fetches the URL and parses it with prometheus_client; prints one line per sample,
    /// `name{k="v",...} value` with labels sorted, or `status N` for a non-200 reply.
    static let parser = #"""
    import sys, urllib.request, urllib.error
    from prometheus_client.parser import text_string_to_metric_families
    try:
        body = urllib.request.urlopen(sys.argv[1], timeout=10).read().decode()
    except urllib.error.HTTPError as e:
        print("status", e.code); sys.exit(0)
    for family in text_string_to_metric_families(body):
        for s in family.samples:
            labels = ",".join('%s="%s"' % (k, v) for k, v in sorted(s.labels.items()))
            print("%s{%s} %r" % (s.name, labels, float(s.value)))
    """#

    static func scrape(_ url: String) throws -> [String: Double] {
        let python = Stack.repoRoot.appendingPathComponent(".venv/bin/python").path
        let result = try Command.run(python, ["-c", parser, url], timeout: 60)
        guard result.status == 0 else { throw TestFailure("parser failed (\(result.status)): \(result.stderr)") }
        var samples: [String: Double] = [:]
        for line in result.stdout.split(separator: "\n") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            samples[String(line[..<space])] = value
        }
        return samples
    }

    @Test func metrics_parseAsPrometheusText_andCountersMoveOnAdmitAndRefuse() throws {
        let org = TestOrgs.unique("org_metrics")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let metricsPort = try FreePort.pick()
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL, "--redis", Stack.redisURL,
            "--metrics", "127.0.0.1:\(metricsPort)"])
        let url = "http://127.0.0.1:\(metricsPort)/metrics"
        let before = try Self.scrape(url)
        #expect(before[#"tiergate_connections_admitted_total{tier="FREE"}"#] == 0, "\(before.keys.sorted())")

        var open = try (0..<5).map { _ in try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)")) }
        _ = expectRefusal(conninfo(port: proxy.port, user: "app.\(org)"), "6th FREE connection")
        _ = expectRefusal(conninfo(port: proxy.port, user: "app.org_nobody_\(UUID().uuidString.prefix(8).lowercased())"), "unknown org")
        _ = expectRefusal(conninfo(port: proxy.port, user: "app"), "user without org")

        let after = try Self.scrape(url)
        func moved(_ key: String) -> Double { (after[key] ?? .nan) - (before[key] ?? 0) }
        #expect(moved(#"tiergate_connections_admitted_total{tier="FREE"}"#) == 5)
        #expect(moved(#"tiergate_connections_refused_total{reason="connection_limit",tier="FREE"}"#) == 1)
        #expect(moved(#"tiergate_connection_limit_hits_total{tier="FREE"}"#) == 1)
        #expect(moved(#"tiergate_connections_refused_total{reason="unknown_org",tier="none"}"#) == 1)
        #expect(moved(#"tiergate_connections_refused_total{reason="no_org",tier="none"}"#) == 1)
        #expect(after[#"tiergate_open_sessions{tier="FREE"}"#] == 5)
        #expect(after["tiergate_org_open_sessions{org=\"\(org)\"}"] == 5)
        #expect(moved(#"tiergate_tier_cache_lookups_total{layer="in_process",result="hit"}"#) >= 4)
        #expect(moved(#"tiergate_tier_cache_lookups_total{layer="mongodb",result="read"}"#) >= 1)
        #expect((after["tiergate_tier_lookup_duration_seconds_count{}"] ?? 0) >= 7)

        // The org's series goes away with its last session (connections close in deinit).
        open.removeAll()
        var gone = false
        for _ in 0..<20 where !gone {
            Thread.sleep(forTimeInterval: 0.1)
            gone = try Self.scrape(url)["tiergate_org_open_sessions{org=\"\(org)\"}"] == nil
        }
        #expect(gone, "tiergate_org_open_sessions still has the org after its sessions closed")
    }

    @Test func otherPaths_are404() throws {
        let metricsPort = try FreePort.pick()
        let proxy = try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)", "--metrics", "127.0.0.1:\(metricsPort)"])
        defer { withExtendedLifetime(proxy) {} }
        let result = try Command.run(Stack.repoRoot.appendingPathComponent(".venv/bin/python").path,
                                     ["-c", Self.parser, "http://127.0.0.1:\(metricsPort)/"], timeout: 60)
        #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "status 404", "\(result.stdout) \(result.stderr)")
    }
}
