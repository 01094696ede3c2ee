import Foundation
import Testing

/// With `--tls-org-domain`, a TLS client's SNI server name `<orgId>.<domain>` names its org:
/// the user name may then be the role alone; naming another org there is refused (28000).
@Suite(.serialized)
struct ServerNameOrgTests {
    static let domain = "db.tiergate.test"

    static func proxy() throws -> TierGateProcess {
        let certificates = try ClientTLSTests.certificates.get()
        return try TierGateProcess(arguments: ["--upstream", "127.0.0.1:\(Stack.postgresPort)",
                                               "--mongo", Stack.mongoURL, "--redis", Stack.redisURL,
                                               "--tls-cert", certificates.serverCertificate,
                                               "--tls-key", certificates.serverKey, "--tls-org-domain", domain])
    }

    @Test func serverNameOrg_letsTheUserNameOmitTheOrg_agreeingIsFine_differingIs28000() throws {
        let org = TestOrgs.unique("org_sni"), other = TestOrgs.unique("org_sni")
        try TestOrgs.put(org, tier: "FREE")
        try TestOrgs.put(other, tier: "FREE")
        defer { TestOrgs.remove(org); TestOrgs.remove(other) }
        let proxy = try Self.proxy()
        let tls = StartupClient.TLS(serverName: "\(org).\(Self.domain)")
        let query = "select current_user, current_setting('work_mem')"

        let roleOnly = try StartupClient.run(port: proxy.port, query: query, tls: tls,
                                             [("user", "app"), ("database", "tiergate_test")])
        #expect(roleOnly.error == nil, "\(roleOnly)")
        #expect(roleOnly.rows == [["app", "4MB"]], "served as the org's FREE tier: \(roleOnly)")

        let both = try StartupClient.run(port: proxy.port, query: query, tls: tls,
                                         [("user", "app.\(org)"), ("database", "tiergate_test")])
        #expect(both.rows == [["app", "4MB"]], "\(both)")

        let differing = try StartupClient.run(port: proxy.port, query: query, tls: tls,
                                              [("user", "app.\(other)"), ("database", "tiergate_test")])
        #expect(differing.sqlState == "28000", "\(differing)")
        #expect(!differing.authRequested, "a backend started for a conflicting org")
        #expect(differing.error?["M"]?.contains(org) == true, "\(differing)")
    }

    @Test func serverNameOutsideTheDomain_orNone_leavesTheUserNameToSay() throws {
        let org = TestOrgs.unique("org_sni")
        try TestOrgs.put(org, tier: "FREE")
        defer { TestOrgs.remove(org) }
        let proxy = try Self.proxy()
        let plainHost = try StartupClient.run(port: proxy.port, query: "select 1", tls: .init(serverName: "localhost"),
                                              [("user", "app"), ("database", "tiergate_test")])
        #expect(plainHost.sqlState == "28000", "no org anywhere: \(plainHost)")
        let named = try StartupClient.run(port: proxy.port, query: "select 1", tls: .init(serverName: "localhost"),
                                          [("user", "app.\(org)"), ("database", "tiergate_test")])
        #expect(named.rows == [["1"]], "\(named)")
        let plainText = try StartupClient.run(port: proxy.port, query: "select 1",
                                              [("user", "app"), ("database", "tiergate_test")])
        #expect(plainText.sqlState == "28000", "\(plainText)")
    }
}
