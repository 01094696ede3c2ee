import Foundation
import Testing
import TierStore

extension StoreTests {
    /// `OrganizationCollection` against the stack's MongoDB-compatible server (SecantusDB,
    /// scripts/stack.sh up mongo), in a database of its own so the demo seed is untouched.
    struct OrganizationCollectionTests {
        static let database = "tiergate_store_tests"

        /// One pool for the whole suite, as in the server: destroying a pool joins libmongoc's
        /// monitor threads, which takes about half a second.
        private static let shared = Result { () throws(MongoStoreError) in
            try OrganizationCollection(uri: Stack.mongoURL, database: database)
        }

        private func collection() throws -> OrganizationCollection {
            try Self.shared.get()
        }

        private func uniqueOrgId() -> String { "org_test_\(UUID().uuidString.prefix(8).lowercased())" }

        /// The org document's shape (docs/design.md#tier-source), with dates, nested documents, arrays and a double.
        private func organizationJSON(orgId: String, tier: String = "PRO") -> String {
            """
            {
              "orgId": "\(orgId)",
              "tier": "\(tier)",
              "tierUpdatedAt": {"$date": "2025-11-21T20:00:00Z"},
              "subscription": {"stripeSubscriptionId": "sub_abc123", "plan": "pro_monthly",
                               "status": "active", "currentPeriodEnd": {"$date": "2025-12-21T20:00:00Z"}},
              "addons": [{"type": "burst_scaling", "enabled": true, "maxBurstTier": "ENTERPRISE",
                          "burstDurationMinutes": 15}],
              "resourceUsage": {"currentConnections": 23, "queriesThisMonth": 45230, "storageGB": 2.3}
            }
            """
        }

        private func object(_ json: String?) throws -> [String: Any] {
            let data = try #require(json?.data(using: .utf8))
            return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        }

        @Test func ping_succeeds() throws {
            try collection().ping()
        }

        @Test func insertedOrganization_isFoundByOrgId_withFieldsIntact() throws {
            let organizations = try collection()
            let orgId = uniqueOrgId()
            try organizations.insertOrganization(json: organizationJSON(orgId: orgId))
            defer { _ = try? organizations.deleteOrganization(orgId: orgId) }

            let document = try object(organizations.findOrganization(orgId: orgId))
            #expect(document["orgId"] as? String == orgId)
            #expect(document["tier"] as? String == "PRO")
            // Relaxed extended JSON: _id as {"$oid"}, dates as {"$date": ISO-8601}, numbers plain.
            #expect((document["_id"] as? [String: Any])?["$oid"] is String)
            let updatedAt = document["tierUpdatedAt"] as? [String: Any]
            #expect(updatedAt?["$date"] as? String == "2025-11-21T20:00:00Z")
            let subscription = document["subscription"] as? [String: Any]
            #expect(subscription?["status"] as? String == "active")
            #expect(subscription?["plan"] as? String == "pro_monthly")
            let addons = document["addons"] as? [[String: Any]]
            #expect(addons?.first?["maxBurstTier"] as? String == "ENTERPRISE")
            #expect(addons?.first?["enabled"] as? Bool == true)
            #expect(addons?.first?["burstDurationMinutes"] as? Int == 15)
            let usage = document["resourceUsage"] as? [String: Any]
            #expect(usage?["storageGB"] as? Double == 2.3)
            #expect(usage?["queriesThisMonth"] as? Int == 45230)
        }

        @Test func missingOrganization_isNil() throws {
            #expect(try collection().findOrganization(orgId: uniqueOrgId()) == nil)
        }

        @Test func replace_changesTier_andUpsertInsertsMissing() throws {
            let organizations = try collection()
            let orgId = uniqueOrgId()
            defer { _ = try? organizations.deleteOrganization(orgId: orgId) }
            #expect(try organizations.replaceOrganization(orgId: orgId, json: organizationJSON(orgId: orgId, tier: "FREE"),
                                                         upsert: false) == false)
            #expect(try organizations.findOrganization(orgId: orgId) == nil)

            #expect(try organizations.replaceOrganization(orgId: orgId, json: organizationJSON(orgId: orgId, tier: "FREE")))
            #expect(try object(organizations.findOrganization(orgId: orgId))["tier"] as? String == "FREE")

            #expect(try organizations.replaceOrganization(orgId: orgId, json: organizationJSON(orgId: orgId, tier: "ENTERPRISE")))
            #expect(try object(organizations.findOrganization(orgId: orgId))["tier"] as? String == "ENTERPRISE")
            #expect(try organizations.allOrganizations().filter { $0.contains(orgId) }.count == 1)
        }

        @Test func delete_removesOrganization() throws {
            let organizations = try collection()
            let orgId = uniqueOrgId()
            try organizations.insertOrganization(json: organizationJSON(orgId: orgId))
            #expect(try organizations.deleteOrganization(orgId: orgId))
            #expect(try organizations.findOrganization(orgId: orgId) == nil)
            #expect(try organizations.deleteOrganization(orgId: orgId) == false)
        }

        @Test func allOrganizations_listsInsertedDocuments() throws {
            let organizations = try collection()
            let orgIds = [uniqueOrgId(), uniqueOrgId()]
            for orgId in orgIds { try organizations.insertOrganization(json: organizationJSON(orgId: orgId)) }
            defer { for orgId in orgIds { _ = try? organizations.deleteOrganization(orgId: orgId) } }
            let listed = try organizations.allOrganizations().compactMap { try? object($0)["orgId"] as? String }
            #expect(Set(orgIds).isSubset(of: Set(listed)))
        }

        @Test func concurrentLookups_shareOnePool() throws {
            let organizations = try collection()
            let orgId = uniqueOrgId()
            try organizations.insertOrganization(json: organizationJSON(orgId: orgId))
            defer { _ = try? organizations.deleteOrganization(orgId: orgId) }
            let found = LockedBox(0)
            DispatchQueue.concurrentPerform(iterations: 32) { _ in
                if (try? organizations.findOrganization(orgId: orgId)) != nil { found.mutate { $0 += 1 } }
            }
            #expect(found.value == 32)
        }

        @Test func duplicateId_isServerError11000() throws {
            let organizations = try collection()
            let orgId = uniqueOrgId()
            let json = #"{"_id": "\#(orgId)", "orgId": "\#(orgId)", "tier": "FREE"}"#
            try organizations.insertOrganization(json: json)
            defer { _ = try? organizations.deleteOrganization(orgId: orgId) }
            #expect {
                try organizations.insertOrganization(json: json)
            } throws: { error in
                (error as? MongoStoreError)?.isDuplicateKey == true
            }
        }

        @Test func invalidJSON_isRejectedBeforeReachingTheServer() throws {
            #expect {
                try collection().insertOrganization(json: "{not json")
            } throws: { error in
                guard case .invalidJSON = error as? MongoStoreError else { return false }
                return true
            }
        }

        @Test func invalidURI_isRejected() {
            #expect {
                try OrganizationCollection(uri: "mongodb://")
            } throws: { error in
                guard case .invalidURI = error as? MongoStoreError else { return false }
                return true
            }
        }

        @Test func closedPort_failsWithinSecondsAsUnavailable() throws {
            let organizations = try OrganizationCollection(uri: "mongodb://127.0.0.1:\(try FreePort.pick())",
                                                           database: Self.database)
            let started = ContinuousClock.now
            #expect {
                try organizations.findOrganization(orgId: "org_any")
            } throws: { error in
                guard case let .unavailable(message) = error as? MongoStoreError else { return false }
                return !message.isEmpty
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(throws: MongoStoreError.self) { try organizations.ping() }
        }
    }
}
