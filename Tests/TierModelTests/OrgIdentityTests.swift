import Testing
import TierModel

@Suite struct OrgIdTests {
    @Test(arguments: ["org_acme", "ORG-42", "a", "x_y-Z9", String(repeating: "a", count: 63)])
    func validIds_areAccepted(raw: String) throws {
        #expect(try OrgId(raw).rawValue == raw)
    }

    @Test func empty_isRefused() {
        #expect(throws: OrgIdError(value: "", reason: .empty)) { try OrgId("") }
    }

    @Test func longerThan63Bytes_isRefused() {
        let long = String(repeating: "a", count: 64)
        #expect(throws: OrgIdError(value: long, reason: .tooLong(bytes: 64))) { try OrgId(long) }
    }

    @Test(arguments: ["org acme", "org:acme", "org.acme", "org=1", "org\nx", "orgé", "org'x", "org\"x", "org/x"])
    func charactersUnsafeInKeysOrConfig_areRefused(raw: String) {
        #expect(throws: OrgIdError.self) { try OrgId(raw) }
    }

    @Test func error_namesTheCharacterAndTheAllowedSet() {
        do {
            _ = try OrgId("org:acme")
            Issue.record("accepted")
        } catch {
            #expect(error.description == #"org id "org:acme" contains ":"; only letters, digits, '_' and '-' are allowed"#)
        }
    }
}

@Suite struct OrgIdentityTests {
    @Test func roleAndOrg_splitAtTheDot() throws {
        let id = try OrgIdentity(startupUser: "app.org_acme")
        #expect(id.role == "app")
        #expect(id.org.rawValue == "org_acme")
        #expect(id.description == "app.org_acme")
    }

    @Test func dottedRole_splitsAtTheLastDot() throws {
        let id = try OrgIdentity(startupUser: "my.role.org_x")
        #expect(id.role == "my.role")
        #expect(id.org.rawValue == "org_x")
    }

    @Test func noDot_isRefusedShowingTheExpectedForm() {
        #expect(throws: OrgIdentityError(user: "postgres", reason: .missingDot)) {
            try OrgIdentity(startupUser: "postgres")
        }
        let text = OrgIdentityError(user: "postgres", reason: .missingDot).description
        #expect(text == #"user name "postgres" must have the form <role>.<orgId> (for example app.org_acme)"#)
    }

    @Test func emptyRole_isRefused() {
        #expect(throws: OrgIdentityError(user: ".org_acme", reason: .emptyRole)) {
            try OrgIdentity(startupUser: ".org_acme")
        }
    }

    @Test func emptyOrg_isRefused() {
        #expect(throws: OrgIdentityError(user: "app.", reason: .emptyOrg)) { try OrgIdentity(startupUser: "app.") }
        #expect(throws: OrgIdentityError(user: ".", reason: .emptyRole)) { try OrgIdentity(startupUser: ".") }
    }

    @Test func invalidOrg_isRefusedWithTheOrgIdReason() {
        do {
            _ = try OrgIdentity(startupUser: "app.org acme")
            Issue.record("accepted")
        } catch {
            guard case .invalidOrg = error.reason else { Issue.record("\(error)"); return }
            #expect(error.description.contains("<role>.<orgId>"))
            #expect(error.description.contains("only letters, digits"))
        }
    }

    @Test func empty_isRefused() {
        #expect(throws: OrgIdentityError.self) { try OrgIdentity(startupUser: "") }
    }
}

@Suite struct RedisKeyTests {
    @Test func keys_followTheDesign() throws {
        let acme = try OrgId("org_acme")
        #expect(RedisKey.tier(acme) == "tier:org_acme")
        #expect(RedisKey.rejections(acme) == "rejections:org_acme")
        #expect(RedisKey.burst(acme) == "burst:org_acme")
        #expect(RedisKey.burstCooldown(acme) == "burst:cooldown:org_acme")
        #expect(RedisKey.tierTTLSeconds == 300)
        #expect(RedisKey.rejectionsTTLSeconds == 60)
    }
}
