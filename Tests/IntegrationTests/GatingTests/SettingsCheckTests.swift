import Foundation
import PostgresClient
import Testing

/// After a statement the guard cannot judge from its text, the proxy checks the tier's
/// settings at the next idle point and puts back what was raised, before the client's next
/// statement runs.
@Suite(.serialized)
struct SettingsCheckTests {
    /// A FREE org of its own, a proxy (with `extra` options) and one session through it.
    struct FreeSession {
        let org: String
        let proxy: TierGateProcess
        let session: PostgresConnection

        init(_ prefix: String, extra: [String] = []) throws {
            org = TestOrgs.unique(prefix)
            try TestOrgs.put(org, tier: "FREE")
            proxy = try ConnectionCeilingTests.proxy(extra)
            session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        }

        func show(_ name: String) throws -> [[String?]] { try session.query("show \(name)").rows }
    }

    @Test(arguments: [
        ("do $$ begin perform set_config('work_mem', '1GB', false); end $$", "work_mem", "4MB"),
        ("do $$ begin execute 'SE' || 'T statement_timeout = 0'; end $$", "statement_timeout", "10s"),
        ("do $$ begin perform set_config('max_parallel_workers_per_gather', '64', false); end $$",
         "max_parallel_workers_per_gather", "2"),
    ])
    func settingRaisedUnseen_isBackAtTheTiersValue_forTheNextStatement(sql: String, name: String, tierValue: String) throws {
        let metricsPort = try FreePort.pick()
        let free = try FreeSession("org_unseen", extra: ["--metrics", "127.0.0.1:\(metricsPort)"])
        defer { TestOrgs.remove(free.org) }
        _ = try free.session.execute(sql)
        #expect(try free.show(name) == [[tierValue]], "\(sql)")
        #expect(free.proxy.log.contains("settings raised unseen were restored"))
        let metrics = try MetricsEndpointTests.scrape("http://127.0.0.1:\(metricsPort)/metrics")
        #expect(metrics["tiergate_settings_restored_total{tier=\"FREE\"}"] == 1)
    }

    @Test func settingLoweredUnseen_staysLowered() throws {
        let free = try FreeSession("org_lower")
        defer { TestOrgs.remove(free.org) }
        _ = try free.session.execute("do $$ begin perform set_config('work_mem', '2MB', false); end $$")
        #expect(try free.show("work_mem") == [["2MB"]])
        #expect(!free.proxy.log.contains("settings raised unseen were restored"))
    }

    /// UPDATE on pg_settings is set_config by another name; the stack revokes it from
    /// PUBLIC (as the README tells operators to), so a view over it changes nothing either.
    @Test func updatingPgSettingsThroughAView_isDeniedByPostgres() throws {
        let free = try FreeSession("org_view")
        defer { TestOrgs.remove(free.org) }
        _ = try free.session.execute("create temporary view s as select name, setting from pg_settings")
        if let error = expectQueryError(free.session, "update s set setting = '0' where name = 'statement_timeout'") {
            #expect(error.sqlState == "42501", "\(error)")
        }
        #expect(try free.show("statement_timeout") == [["10s"]])
    }
}
