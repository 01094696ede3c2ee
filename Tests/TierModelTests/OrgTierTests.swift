import Foundation
import Testing
import TierModel

@Suite struct OrgTierResolveTests {
    let now = Date(timeIntervalSince1970: 1_700_599_500)  // the design's example cachedAt

    @Test func resolve_takesLimitsFromTheMatrix_andStampsCachedAt() throws {
        let t = try OrgTier.resolve(document: OrgDocument.decode(json: acmeEJSON), matrix: .builtIn, now: now)
        #expect(t.orgId == org("org_acme"))
        #expect(t.tier == .pro)
        #expect(t.limits == TierMatrix.builtIn[.pro])
        #expect(t.route == PostgresRoute(database: "acme", host: "pg-1", port: 5432))
        #expect(t.tierUpdatedAt == tierChangeMillis)
        #expect(t.cachedAt == 1_700_599_500_000)
        #expect(t.sessionSettings[.statementTimeout]?.value == "1min")
    }

    @Test func resolve_burstAddon_appliesTheDefaults() throws {
        let t = try OrgTier.resolve(document: OrgDocument.decode(json: acmeEJSON), matrix: .builtIn, now: now)
        #expect(t.burst == OrgTier.BurstConfig(burstTier: .enterprise, maxBurstDurationMinutes: 15, cooldownMinutes: 60,
                                               costPerMinute: 0, autoTrigger: true, notifyOnBurst: true))
    }

    @Test func resolve_burstDuration_isCappedAtTheHardLimit() throws {
        let doc = OrgDocument(orgId: org("o"), tier: "PRO",
                              addons: [.burstScaling(.init(enabled: true, burstTier: "ENTERPRISE", maxBurstDurationMinutes: 90))],
                              postgres: .init(database: "d"))
        #expect(try OrgTier.resolve(document: doc, matrix: .builtIn, now: now).burst?.maxBurstDurationMinutes == 15)
    }

    @Test func resolve_disabledOrPointlessBurst_grantsNothing() throws {
        let disabled = OrgDocument(orgId: org("o"), tier: "PRO",
                                   addons: [.burstScaling(.init(enabled: false, burstTier: "ENTERPRISE"))],
                                   postgres: .init(database: "d"))
        #expect(try OrgTier.resolve(document: disabled, matrix: .builtIn, now: now).burst == nil)
        // Upgraded to ENTERPRISE, add-on still says "burst to ENTERPRISE".
        let upgraded = OrgDocument(orgId: org("o"), tier: "ENTERPRISE",
                                   addons: [.burstScaling(.init(enabled: true, burstTier: "ENTERPRISE"))],
                                   postgres: .init(database: "d"))
        #expect(try OrgTier.resolve(document: upgraded, matrix: .builtIn, now: now).burst == nil)
    }

    @Test func resolve_unknownTier_isAnErrorNamingOrgAndTier() {
        let doc = OrgDocument(orgId: org("org_acme"), tier: "pro", postgres: .init(database: "d"))
        do {
            _ = try OrgTier.resolve(document: doc, matrix: .builtIn, now: now)
            Issue.record("resolved")
        } catch {
            #expect(error == OrgTierError(org: org("org_acme"), problem: .unknownTier(TierParseError(name: "pro"))))
            #expect(error.description.hasPrefix(#"org "org_acme" has unknown tier "pro""#))
        }
    }

    @Test func resolve_burstToUnknownTier_orWithoutTier_isAnError() {
        let unknown = OrgDocument(orgId: org("o"), tier: "PRO",
                                  addons: [.burstScaling(.init(enabled: true, burstTier: "PLATINUM"))],
                                  postgres: .init(database: "d"))
        #expect(throws: OrgTierError(org: org("o"), problem: .unknownBurstTier(TierParseError(name: "PLATINUM")))) {
            try OrgTier.resolve(document: unknown, matrix: .builtIn, now: now)
        }
        let none = OrgDocument(orgId: org("o"), tier: "PRO", addons: [.burstScaling(.init(enabled: true))],
                               postgres: .init(database: "d"))
        #expect(throws: OrgTierError(org: org("o"), problem: .burstWithoutTier)) {
            try OrgTier.resolve(document: none, matrix: .builtIn, now: now)
        }
    }

    @Test func resolve_withoutTierUpdatedAt_isVersionZero() throws {
        let doc = OrgDocument(orgId: org("o"), tier: "FREE", postgres: .init(database: "d"))
        #expect(try OrgTier.resolve(document: doc, matrix: .builtIn, now: now).tierUpdatedAt == 0)
    }

    @Test func isStale_afterFiveMinutesByCachedAt() throws {
        let t = try OrgTier.resolve(document: OrgDocument.decode(json: acmeEJSON), matrix: .builtIn, now: now)
        #expect(!t.isStale(now: now))
        #expect(!t.isStale(now: now.addingTimeInterval(300)))
        #expect(t.isStale(now: now.addingTimeInterval(300.001)))
        #expect(OrgTier.cacheTTLSeconds == 300)
    }

    @Test func isNewer_ordersByTierChangeThenByReadTime() throws {
        let doc = try OrgDocument.decode(json: acmeEJSON)
        let read1 = try OrgTier.resolve(document: doc, matrix: .builtIn, now: now)
        let read2 = try OrgTier.resolve(document: doc, matrix: .builtIn, now: now.addingTimeInterval(1))
        var upgraded = doc
        upgraded.tier = "ENTERPRISE"
        upgraded.tierUpdatedAt = doc.tierUpdatedAt! + 1
        let afterUpgrade = try OrgTier.resolve(document: upgraded, matrix: .builtIn, now: now)
        #expect(read2.isNewer(than: read1) && !read1.isNewer(than: read2))
        #expect(afterUpgrade.isNewer(than: read2))  // even though read earlier
        #expect(!read1.isNewer(than: read1))
    }

    @Test func applying_anotherMatrix_keepsTierAndSwapsLimits() throws {
        var shrunk = TierMatrix.builtIn
        shrunk[.pro].postgres.queryTimeout = 2000
        let t = try OrgTier.resolve(document: OrgDocument.decode(json: acmeEJSON), matrix: .builtIn, now: now)
        #expect(t.applying(shrunk).limits.postgres.queryTimeout == 2000)
        #expect(t.applying(shrunk).tier == .pro)
    }
}

@Suite struct OrgTierRedisValueTests {
    let now = Date(timeIntervalSince1970: 1_700_599_500)

    func acme() throws -> OrgTier {
        try OrgTier.resolve(document: OrgDocument.decode(json: acmeEJSON), matrix: .builtIn, now: now)
    }

    @Test func value_startsWithTheDesignsCacheFields_inOrder() throws {
        let text = try acme().redisValue
        #expect(text.hasPrefix(
            #"{"tier":"PRO","maxConnections":50,"queryTimeout":60000,"addons":{"burstScaling":true,"burstTier":"ENTERPRISE","#))
        #expect(text.contains(#","cachedAt":1700599500000,"orgId":"org_acme","tierUpdatedAt":1763755200000,"limits":{"postgres":{"maxConnections":50"#))
        #expect(text.contains(#""postgres":{"databases":["acme"],"roles":[],"host":"pg-1","port":5432}"#))
        #expect(text.hasSuffix(
            #""subscription":{"stripeSubscriptionId":"sub_abc123","plan":"pro_monthly","status":"active","currentPeriodEnd":1766347200000}}"#))
    }

    @Test func value_withoutBurst_saysBurstScalingFalse() throws {
        let doc = OrgDocument(orgId: org("o"), tier: "FREE", postgres: .init(database: "d"))
        let text = try OrgTier.resolve(document: doc, matrix: .builtIn, now: now).redisValue
        #expect(text.contains(#""addons":{"burstScaling":false}"#))
        #expect(text.contains(#""postgres":{"databases":["d"],"roles":[]}"#))
        #expect(text.contains(#""subscription":null"#))
    }

    @Test func value_roundTrips() throws {
        let t = try acme()
        #expect(try OrgTier(redisValue: t.redisValue, org: org("org_acme")) == t)
        let plain = try OrgTier.resolve(document: OrgDocument(orgId: org("o"), tier: "STARTER", postgres: .init(database: "d")),
                                        matrix: .builtIn, now: now)
        #expect(try OrgTier(redisValue: plain.redisValue, org: org("o")) == plain)
    }

    @Test func valueForAnotherOrg_isRefused() throws {
        #expect(throws: CachedOrgTierError.self) { try OrgTier(redisValue: acme().redisValue, org: org("org_other")) }
    }

    @Test func summaryDisagreeingWithLimits_isRefused() throws {
        let tampered = try acme().redisValue.replacing(#""maxConnections":50,"queryTimeout""#,
                                                       with: #""maxConnections":500,"queryTimeout""#)
        do {
            _ = try OrgTier(redisValue: tampered, org: org("org_acme"))
            Issue.record("accepted")
        } catch {
            #expect(error.field == "maxConnections")
            #expect(error.description.hasPrefix("cached value tier:org_acme: maxConnections:"))
        }
    }

    @Test func garbageOrPartialValue_isRefused() {
        #expect(throws: CachedOrgTierError.self) { try OrgTier(redisValue: "not json", org: org("o")) }
        #expect(throws: CachedOrgTierError.self) {
            // The design's minimal cache value lacks limits and routing: not enough to gate with.
            try OrgTier(redisValue: #"{"tier":"PRO","maxConnections":50,"queryTimeout":60000,"addons":{"burstScaling":false},"cachedAt":1}"#,
                        org: org("o"))
        }
    }

    /// Values written before roles were bound have none: read as a miss, not as "no role".
    @Test func valueWithoutRoles_isRefused() throws {
        let old = try acme().redisValue.replacing(#""roles":[],"#, with: "")
        #expect(throws: CachedOrgTierError.self) { try OrgTier(redisValue: old, org: org("org_acme")) }
    }

    @Test func value_keepsRolesDatabasesAndSubscription() throws {
        let doc = OrgDocument(orgId: org("o"), tier: "PRO",
                              subscription: .init(status: "canceled", currentPeriodEnd: 5),
                              postgres: .init(databases: ["d", "d2"], roles: ["r1", "r2"]))
        let t = try OrgTier.resolve(document: doc, matrix: .builtIn, now: now)
        let read = try OrgTier(redisValue: t.redisValue, org: org("o"))
        #expect(read == t)
        #expect(read.route.roles == ["r1", "r2"] && read.route.databases == ["d", "d2"])
        #expect(read.subscription?.status == "canceled")
    }

    @Test func unknownExtraFields_areTolerated() throws {
        let t = try acme()
        let extended = String(t.redisValue.dropLast()) + #","writtenBy":"tiergate 2.0"}"#
        #expect(try OrgTier(redisValue: extended, org: org("org_acme")) == t)
    }
}
