import Foundation
import Testing
import TierModel

/// As libmongoc's bson_as_relaxed_extended_json prints the design's example document.
let acmeEJSON = """
{ "_id" : { "$oid" : "6560f1c2a1b2c3d4e5f60718" }, "orgId" : "org_acme", "tier" : "PRO",
  "tierUpdatedAt" : { "$date" : "2025-11-21T20:00:00Z" },
  "subscription" : { "stripeSubscriptionId" : "sub_abc123", "plan" : "pro_monthly", "status" : "active",
                     "currentPeriodEnd" : { "$date" : "2025-12-21T20:00:00Z" } },
  "addons" : [ { "type" : "burst_scaling", "enabled" : true, "maxBurstTier" : "ENTERPRISE",
                 "burstDurationMinutes" : 15 } ],
  "resourceUsage" : { "currentConnections" : 23, "lastQueryAt" : { "$date" : "2025-11-21T20:55:00Z" },
                      "queriesThisMonth" : 45230, "storageGB" : 2.2999999999999998224 },
  "postgres" : { "database" : "acme", "host" : "pg-1", "port" : 5432 } }
"""

/// 2025-11-21T20:00:00Z.
let tierChangeMillis = 1_763_755_200_000

@Suite struct OrgDocumentEJSONTests {
    @Test func designExampleDocument_decodesFromRelaxedExtendedJSON() throws {
        let doc = try OrgDocument.decode(json: acmeEJSON)
        #expect(doc.id == "6560f1c2a1b2c3d4e5f60718")
        #expect(doc.orgId == org("org_acme"))
        #expect(doc.tier == "PRO")
        #expect(doc.tierUpdatedAt == tierChangeMillis)
        #expect(doc.subscription == .init(stripeSubscriptionId: "sub_abc123", plan: "pro_monthly", status: "active",
                                          currentPeriodEnd: tierChangeMillis + 30 * 86_400_000))
        #expect(doc.addons == [.burstScaling(.init(enabled: true, burstTier: "ENTERPRISE", maxBurstDurationMinutes: 15))])
        #expect(doc.postgres == PostgresRoute(database: "acme", host: "pg-1", port: 5432))
    }

    @Test func dateAsNumberLong_isEpochMilliseconds() throws {
        let doc = try OrgDocument.decode(json: """
            {"orgId":"o1","tier":"FREE","tierUpdatedAt":{"$date":{"$numberLong":"1700000000000"}},
             "postgres":{"database":"d"}}
            """)
        #expect(doc.tierUpdatedAt == 1_700_000_000_000)
    }

    @Test func dateWithMilliseconds_keepsThem() throws {
        let doc = try OrgDocument.decode(json: """
            {"orgId":"o1","tier":"FREE","tierUpdatedAt":{"$date":"2025-11-21T20:00:00.123Z"},"postgres":{"database":"d"}}
            """)
        #expect(doc.tierUpdatedAt == tierChangeMillis + 123)
    }

    @Test func wrappedNumbers_areRead() throws {
        let doc = try OrgDocument.decode(json: """
            {"orgId":"o1","tier":"PRO","postgres":{"database":"d","port":{"$numberInt":"6432"}},
             "addons":[{"type":"burst_scaling","enabled":true,"burstTier":"ENTERPRISE",
                        "maxBurstDurationMinutes":{"$numberLong":"10"},"cooldownMinutes":{"$numberInt":"30"},
                        "costPerMinute":{"$numberDouble":"0.25"}}]}
            """)
        #expect(doc.postgres.port == 6432)
        guard case .burstScaling(let burst) = doc.addons.first else { Issue.record("no burst"); return }
        #expect(burst.maxBurstDurationMinutes == 10)
        #expect(burst.cooldownMinutes == 30)
        #expect(burst.costPerMinute == 0.25)
    }

    @Test func burstMinutes_mayBeFractional_butNotZeroOrNegative() throws {
        func burst(_ fields: String) throws -> OrgDocument {
            try OrgDocument.decode(json: """
                {"orgId":"o1","tier":"PRO","postgres":{"database":"d"},
                 "addons":[{"type":"burst_scaling","enabled":true,"burstTier":"ENTERPRISE",\(fields)}]}
                """)
        }
        let short = try burst(#""maxBurstDurationMinutes":0.05,"cooldownMinutes":0.5"#)
        guard case .burstScaling(let addon) = short.addons.first else { Issue.record("no burst"); return }
        #expect(addon.maxBurstDurationMinutes == 0.05)
        #expect(addon.cooldownMinutes == 0.5)
        for (fields, field) in [(#""maxBurstDurationMinutes":0"#, "addons[0].maxBurstDurationMinutes"),
                                (#""burstDurationMinutes":-1"#, "addons[0].burstDurationMinutes"),
                                (#""cooldownMinutes":-5"#, "addons[0].cooldownMinutes"),
                                (#""costPerMinute":-0.25"#, "addons[0].costPerMinute")] {
            do {
                _ = try burst(fields)
                Issue.record("\(fields) accepted")
            } catch {
                #expect("\(error)".contains(field), "\(error)")
            }
        }
    }

    @Test func burstTierSpelling_ofBurstAddon_isRead() throws {
        let doc = try OrgDocument.decode(json: """
            {"orgId":"o1","tier":"PRO","postgres":{"database":"d"},
             "addons":[{"type":"burst_scaling","enabled":true,"baseTier":"PRO","burstTier":"ENTERPRISE",
                        "maxBurstDurationMinutes":15,"cooldownMinutes":60,"costPerMinute":0.25,
                        "autoTrigger":true,"notifyOnBurst":false}]}
            """)
        #expect(doc.addons == [.burstScaling(.init(enabled: true, baseTier: "PRO", burstTier: "ENTERPRISE",
                                                   maxBurstDurationMinutes: 15, cooldownMinutes: 60,
                                                   costPerMinute: 0.25, autoTrigger: true, notifyOnBurst: false))])
    }

    @Test func unknownAddonTypes_areKeptByNameAndIgnored() throws {
        let doc = try OrgDocument.decode(json: """
            {"orgId":"o1","tier":"ENTERPRISE","postgres":{"database":"d"},
             "addons":[{"type":"scale_to_zero_override","enabled":true,"idleTimeout":3600000},
                       {"type":"extended_timeout","maxTimeout":"600s"}]}
            """)
        #expect(doc.addons == [.other(type: "scale_to_zero_override"), .other(type: "extended_timeout")])
    }

    @Test func unknownTierName_isNotADecodeError() throws {
        #expect(try OrgDocument.decode(json: #"{"orgId":"o1","tier":"GOLD","postgres":{"database":"d"}}"#).tier == "GOLD")
    }

    @Test func optionalParts_mayBeAbsentOrNull() throws {
        let doc = try OrgDocument.decode(json: """
            {"orgId":"o1","tier":"FREE","tierUpdatedAt":null,"subscription":null,"postgres":{"database":"d"}}
            """)
        #expect(doc.tierUpdatedAt == nil && doc.subscription == nil && doc.addons.isEmpty && doc.id == nil)
        #expect(doc.postgres.host == nil && doc.postgres.port == nil)
    }
}

@Suite struct OrgDocumentErrorTests {
    func error(_ json: String) -> OrgDocumentError? {
        do {
            _ = try OrgDocument.decode(json: json)
            return nil
        } catch {
            return error
        }
    }

    @Test func missingTier_isAClearError() {
        let e = error(#"{"orgId":"org_acme","postgres":{"database":"d"}}"#)
        #expect(e == OrgDocumentError(index: nil, orgId: "org_acme", field: "tier", problem: .missing))
        #expect(e?.description == #"org document (org "org_acme"): tier: missing"#)
    }

    @Test func missingDatabase_isAnErrorNamingTheOrg_routingMustBeExplicit() {
        #expect(error(#"{"orgId":"org_acme","tier":"PRO","postgres":{"host":"h"}}"#)
                == OrgDocumentError(index: nil, orgId: "org_acme", field: "postgres.database", problem: .missing))
        #expect(error(#"{"orgId":"org_acme","tier":"PRO"}"#)
                == OrgDocumentError(index: nil, orgId: "org_acme", field: "postgres", problem: .missing))
        #expect(error(#"{"orgId":"org_acme","tier":"PRO","postgres":{"database":""}}"#)?.field == "postgres.database")
    }

    @Test func missingOrgId_isReportedWithoutAnOrg() {
        #expect(error(#"{"tier":"PRO","postgres":{"database":"d"}}"#)
                == OrgDocumentError(index: nil, orgId: nil, field: "orgId", problem: .missing))
    }

    @Test func invalidOrgId_isRefused() {
        let e = error(#"{"orgId":"org acme","tier":"PRO","postgres":{"database":"d"}}"#)
        #expect(e?.field == "orgId")
        #expect(e?.description.contains("only letters, digits") == true)
    }

    @Test func wrongTypes_areNamed() {
        #expect(error(#"{"orgId":"o","tier":5,"postgres":{"database":"d"}}"#)?.problem
                == .wrongType(expected: "a string", found: "an integer"))
        #expect(error(#"{"orgId":"o","tier":"PRO","postgres":{"database":"d","port":"5432"}}"#)?.field == "postgres.port")
        #expect(error(#"{"orgId":"o","tier":"PRO","postgres":{"database":"d","port":70000}}"#)?.problem
                == .outOfRange(got: "70000", allowed: "1...65535"))
        #expect(error(#"{"orgId":"o","tier":"PRO","tierUpdatedAt":"yesterday","postgres":{"database":"d"}}"#)?.field
                == "tierUpdatedAt")
    }

    @Test func malformedBurstAddon_namesTheAddonIndexAndField() {
        let e = error("""
            {"orgId":"o","tier":"PRO","postgres":{"database":"d"},
             "addons":[{"type":"other"},{"type":"burst_scaling","enabled":"yes"}]}
            """)
        #expect(e == OrgDocumentError(index: nil, orgId: "o", field: "addons[1].enabled",
                                      problem: .wrongType(expected: "a boolean", found: "a string")))
        #expect(error(#"{"orgId":"o","tier":"PRO","postgres":{"database":"d"},"addons":[{"enabled":true}]}"#)?.field
                == "addons[0].type")
    }

    @Test func notJSON_isAnError() {
        #expect(error("{orgId: 1}")?.problem == .invalidJSON(JSONSyntaxError(offset: 1, reason: "expected a member name in quotes")))
    }
}

@Suite struct OrgListTests {
    @Test func orgsFile_plainJSON_withIsoAndMillisecondDates() throws {
        let docs = try OrgDocument.decodeList(json: Data("""
            [
              {"orgId":"org_free","tier":"FREE","tierUpdatedAt":"2025-11-21T20:00:00Z","postgres":{"database":"free_db"}},
              {"orgId":"org_pro","tier":"PRO","tierUpdatedAt":1763755200000,"postgres":{"database":"pro_db","port":5433}},
              {"orgId":"org_ent","tier":"ENTERPRISE","tierUpdatedAt":"2025-11-21T21:00:00+01:00",
               "postgres":{"database":"ent_db"}}
            ]
            """.utf8))
        #expect(docs.map(\.orgId.rawValue) == ["org_free", "org_pro", "org_ent"])
        #expect(docs.map(\.tierUpdatedAt) == [tierChangeMillis, tierChangeMillis, tierChangeMillis])
        #expect(docs[1].postgres.port == 5433)
    }

    @Test func errors_nameTheIndexTheOrgAndTheField() {
        do {
            _ = try OrgDocument.decodeList(json: Data("""
                [{"orgId":"a","tier":"FREE","postgres":{"database":"a"}},
                 {"orgId":"b","tier":"FREE","postgres":{}}]
                """.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error == OrgDocumentError(index: 1, orgId: "b", field: "postgres.database", problem: .missing))
            #expect(error.description == #"orgs[1] (org "b"): postgres.database: missing"#)
        }
    }

    @Test func duplicateOrg_isRefused() {
        #expect(throws: OrgDocumentError(index: 1, orgId: "a", field: "orgId", problem: .invalid("duplicate of orgs[0]"))) {
            try OrgDocument.decodeList(json: Data("""
                [{"orgId":"a","tier":"FREE","postgres":{"database":"a"}},
                 {"orgId":"a","tier":"PRO","postgres":{"database":"a"}}]
                """.utf8))
        }
    }

    @Test func nonArray_isRefused() {
        #expect(throws: OrgDocumentError(index: nil, orgId: nil, field: nil,
                                         problem: .wrongType(expected: "an array of org documents", found: "an object"))) {
            try OrgDocument.decodeList(json: Data("{}".utf8))
        }
    }

    @Test func nonObjectEntry_isRefusedByIndex() {
        #expect(throws: OrgDocumentError(index: 0, orgId: nil, field: nil,
                                         problem: .wrongType(expected: "an object", found: "a string"))) {
            try OrgDocument.decodeList(json: Data(#"["org_a"]"#.utf8))
        }
    }
}

@Suite struct SampleOrgsContractTests {
    /// scripts/sample-orgs.json seeds MongoDB for the stack and serves as a `--orgs` file;
    /// it must stay readable by the decoder and resolvable with the built-in matrix.
    @Test func stackSampleOrgs_decodeAndResolve() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/sample-orgs.json")
        guard let data = try? Data(contentsOf: file) else { return }  // not in this checkout
        let docs = try OrgDocument.decodeList(json: data)
        #expect(!docs.isEmpty)
        for doc in docs {
            let resolved = try OrgTier.resolve(document: doc, matrix: .builtIn, now: Date(timeIntervalSince1970: 0))
            #expect(!resolved.route.database.isEmpty)
            // One role per org, never shared: an org's role cannot reach another's database.
            #expect(resolved.route.roles.count == 1)
        }
        let roles = docs.flatMap(\.postgres.roles)
        #expect(Set(roles).count == roles.count)
    }
}
