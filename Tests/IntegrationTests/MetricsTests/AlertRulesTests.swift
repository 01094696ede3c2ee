import Foundation
import PostgresClient
import Telemetry
import Testing

/// The alert rules in alerts/: Prometheus' own checker accepts them, their unit tests
/// (each alert fires on the series that should raise it, stays silent just below) pass, and
/// every metric they name is one TierGate exports. promtool comes with Debian's prometheus
/// package, which scripts/stack.sh installs.
@Suite struct AlertRulesTests {
    static var alerts: URL { Stack.repoRoot.appendingPathComponent("alerts") }

    @Test func promtool_checkRules_acceptsTheRules() throws {
        let result = try Command.run("promtool", ["check", "rules", Self.alerts.appendingPathComponent("tiergate-rules.yml").path],
                                     timeout: 60)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS: 7 rules found"), "\(result.stdout)")
    }

    @Test func promtool_testRules_everyAlertFiresWhenItShouldAndOnlyThen() throws {
        let result = try Command.run("promtool", ["test", "rules", Self.alerts.appendingPathComponent("tiergate-rules.test.yml").path],
                                     timeout: 60)
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout.contains("SUCCESS"), "\(result.stdout)")
    }

    /// The two series only the alerts need: statements (the timeout rate's denominator)
    /// count a tier's Query messages, and an INVALIDATE that cannot reach Redis counts as a
    /// failure at the `redis` and `announce` stages.
    @Test func statementsAndInvalidationFailures_moveAsTheAlertsExpect() throws {
        let org = TestOrgs.unique("org_alertseries")
        try TestOrgs.put(org, tier: "STARTER")
        defer { TestOrgs.remove(org) }
        let metricsPort = try FreePort.pick()
        let url = "http://127.0.0.1:\(metricsPort)/metrics"
        let socket = AdminProxy.socketPath()
        let proxy = try TierGateProcess(arguments: [
            "--upstream", "127.0.0.1:\(Stack.postgresPort)", "--mongo", Stack.mongoURL,
            "--redis", "redis://127.0.0.1:\(try FreePort.pick())",  // nothing listens there
            "--metrics", "127.0.0.1:\(metricsPort)", "--admin-socket", socket])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        for _ in 0..<3 { _ = try session.query("select 1") }
        let admin = try AdminSocketClient(path: socket)
        _ = try admin.command("INVALIDATE \(org)")
        let samples = try MetricsEndpointTests.scrape(url)
        // At least the three queries (a driver may send statements of its own).
        #expect((samples[#"tiergate_statements_total{tier="STARTER"}"#] ?? 0) >= 3, "\(samples.filter { $0.key.contains("statements") })")
        #expect(samples[#"tiergate_invalidation_failures_total{stage="redis"}"#] == 1)
        #expect(samples[#"tiergate_invalidation_failures_total{stage="announce"}"#] == 1)
        #expect(samples[#"tiergate_invalidation_failures_total{stage="source"}"#] == 0)
        _ = proxy
    }

    @Test func everyMetricTheRulesName_isOneTierGateExports() throws {
        let rules = try String(contentsOf: Self.alerts.appendingPathComponent("tiergate-rules.yml"), encoding: .utf8)
        let names = Set(rules.matches(of: /tiergate_[a-z_]+/).map { String($0.output) })
        #expect(names.count >= 7, "\(names)")
        let exported = Set(TierGateMetrics.Name.all)
        // Histograms add _bucket, _count and _sum.
        let unknown = names.filter { name in
            !exported.contains(name) && !["_bucket", "_count", "_sum"].contains { name.hasSuffix($0) && exported.contains(String(name.dropLast($0.count))) }
        }
        #expect(unknown.isEmpty, "\(unknown.sorted())")
    }
}
