import Foundation
import PostgresClient
import Testing

/// After a statement the guard cannot judge from its text, the proxy checks the tier's
/// settings at the next idle point and puts back what was raised, before the client's next
/// statement runs.
@Suite(.serialized)
struct SettingsCheckTests {
    @Test(arguments: [
        ("do $$ begin perform set_config('work_mem', '1GB', false); end $$", "work_mem", "4MB"),
        ("do $$ begin execute 'SE' || 'T statement_timeout = 0'; end $$", "statement_timeout", "10s"),
        ("do $$ begin perform set_config('max_parallel_workers_per_gather', '64', false); end $$",
         "max_parallel_workers_per_gather", "2"),
    ])
    func settingRaisedUnseen_isBackAtTheTiersValue_forTheNextStatement(sql: String, name: String, tierValue: String) throws {
        let org = TestOrgs.unique("org_unseen")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let metricsPort = try FreePort.pick()
        let proxy = try ConnectionCeilingTests.proxy(["--metrics", "127.0.0.1:\(metricsPort)"])
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        _ = try session.execute(sql)
        #expect(try session.query("show \(name)").rows == [[tierValue]], "\(sql)")
        #expect(proxy.log.contains("settings raised unseen were restored"))
        let metrics = try MetricsEndpointTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(metrics["tiergate_settings_restored_total{tier=\"FREE\"}"] == 1)
    }

    @Test func settingLoweredUnseen_staysLowered() throws {
        let org = TestOrgs.unique("org_lower")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try ConnectionCeilingTests.proxy()
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        _ = try session.execute("do $$ begin perform set_config('work_mem', '2MB', false); end $$")
        #expect(try session.query("show work_mem").rows == [["2MB"]])
        #expect(!proxy.log.contains("settings raised unseen were restored"))
    }
}
