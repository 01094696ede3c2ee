import Foundation
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
