import Testing
import TierModel

/// The org a TLS server name names, and how it combines with the user name's.
struct OrgIdentityServerNameTests {
    static let domain = ServerNameOrgDomain("db.example.com")!

    @Test func firstLabelUnderTheDomain_isTheOrg_otherNamesAreNot() throws {
        #expect(Self.domain.org(inServerName: "org_acme.db.example.com") == (try OrgId("org_acme")))
        #expect(Self.domain.org(inServerName: "org_acme.DB.Example.com.") == (try OrgId("org_acme")))
        #expect(Self.domain.org(inServerName: "db.example.com") == nil)
        #expect(Self.domain.org(inServerName: "a.org_acme.db.example.com") == nil, "one label only")
        #expect(Self.domain.org(inServerName: "org_acme.db.example.org") == nil)
        #expect(Self.domain.org(inServerName: "localhost") == nil)
        #expect(Self.domain.org(inServerName: "bad!name.db.example.com") == nil)
        #expect(ServerNameOrgDomain("") == nil)
        #expect(ServerNameOrgDomain("a..b") == nil)
    }

    @Test func roleAlone_takesTheServerNamesOrg_sameOrgIsFine_anotherIsRefused() throws {
        let acme = try OrgId("org_acme")
        let alone = try OrgIdentity(startupUser: "acme_app", serverNameOrg: acme)
        #expect(alone.role == "acme_app" && alone.org == acme)
        let both = try OrgIdentity(startupUser: "acme_app.org_acme", serverNameOrg: acme)
        #expect(both.role == "acme_app" && both.org == acme)
        #expect(throws: OrgIdentityError(user: "acme_app.org_beta", reason: .serverNameNamesAnotherOrg(acme))) {
            try OrgIdentity(startupUser: "acme_app.org_beta", serverNameOrg: acme)
        }
        let without = try OrgIdentity(startupUser: "acme_app.org_beta", serverNameOrg: nil)
        #expect(without.org == (try OrgId("org_beta")))
    }
}
