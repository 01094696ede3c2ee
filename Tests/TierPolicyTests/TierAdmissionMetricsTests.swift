import Admin
import Foundation
import MetricsTestKit
import PostgresWire
import Proxy
import Telemetry
import Testing
import TierModel
import TierStore
@testable import TierPolicy

/// The admission decision points move the counters, with no socket and no services:
/// the org source is a file, the metrics backend MetricsTestKit.
struct TierAdmissionMetricsTests {
    typealias Name = TierGateMetrics.Name

    static let orgsJSON = """
    [{"orgId": "org_free", "tier": "FREE", "tierUpdatedAt": "2025-11-21T20:00:00Z",
      "subscription": {"stripeSubscriptionId": "sub_f", "plan": "free", "status": "active",
                       "currentPeriodEnd": "2030-01-01T00:00:00Z"},
      "addons": [], "postgres": {"database": "free", "roles": ["app"]}}]
    """

    static func admission(_ test: TestMetrics, orgLabels: OrgLabelMode = .plain) throws -> TierAdmission {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tiergate-metrics-\(UUID().uuidString).json").path
        try Data(orgsJSON.utf8).write(to: URL(fileURLWithPath: path))
        return Admissions.tierAdmission(source: try FileOrgSource(path: path),
                                        metrics: TierGateMetrics(factory: test, orgLabels: orgLabels))
    }

    static func admit(_ admission: TierAdmission, user: String) -> AdmissionOutcome {
        Admissions.admit(admission, user: user)
    }

    @Test func sixthFreeConnection_movesRefusedAndLimitHits_notAdmitted() throws {
        let test = TestMetrics()
        let admission = try Self.admission(test)
        var sessions: [AdmittedSession] = []
        for _ in 0..<5 {
            guard case .admitted(let session) = Self.admit(admission, user: "app.org_free") else {
                Issue.record("refused within the ceiling")
                return
            }
            sessions.append(session)
        }
        guard case .refused = Self.admit(admission, user: "app.org_free") else {
            Issue.record("sixth FREE connection admitted")
            return
        }
        #expect(try test.expectCounter(Name.admitted, [("tier", "FREE")]).totalValue == 5)
        #expect(try test.expectCounter(Name.refused, [("tier", "FREE"), ("reason", "connection_limit")]).totalValue == 1)
        #expect(try test.expectCounter(Name.connectionLimitHits, [("tier", "FREE")]).totalValue == 1)
        #expect(try test.expectMeter(Name.openSessions, [("tier", "FREE")]).lastValue == 5)
        #expect(try test.expectMeter(Name.orgOpenSessions, [("org", "org_free")]).lastValue == 5)
        #expect(try test.expectTimer(Name.lookupDuration).values.count == 6)
        // One MongoDB-layer read, then the in-process cache answers.
        #expect(try test.expectCounter(Name.cacheLookups, [("layer", "mongodb"), ("result", "read")]).totalValue == 1)
        #expect(try test.expectCounter(Name.cacheLookups, [("layer", "in_process"), ("result", "hit")]).totalValue == 5)

        for session in sessions { session.onEnd() }
        sessions[0].onEnd()  // a second end releases nothing and counts nothing
        #expect(try test.expectMeter(Name.openSessions, [("tier", "FREE")]).lastValue == 0)
        #expect((try? test.expectMeter(Name.orgOpenSessions, [("org", "org_free")])) == nil)
    }

    @Test func unknownOrgAndMissingOrg_areRefusedWithTierNone() throws {
        let test = TestMetrics()
        let admission = try Self.admission(test)
        _ = Self.admit(admission, user: "app.org_nobody")
        _ = Self.admit(admission, user: "app")
        #expect(try test.expectCounter(Name.refused, [("tier", "none"), ("reason", "unknown_org")]).totalValue == 1)
        #expect(try test.expectCounter(Name.refused, [("tier", "none"), ("reason", "no_org")]).totalValue == 1)
        #expect(test.counterTotal(label: Name.admitted) == 0)
    }

    @Test func anotherRole_andAnotherDatabase_areRefusedAndCountedUnderTheirReasons() throws {
        let test = TestMetrics()
        let admission = try Self.admission(test)
        guard case .refused(let role) = Self.admit(admission, user: "intruder.org_free") else {
            Issue.record("a role the org does not list was admitted")
            return
        }
        #expect(role.sqlState == .invalidAuthorizationSpecification)
        #expect(role.message == #"role "intruder" may not connect for org "org_free""#)
        guard case .refused(let database) = Admissions.admit(admission, user: "app.org_free", database: "postgres") else {
            Issue.record("a database the org does not list was admitted")
            return
        }
        #expect(database.sqlState == .invalidCatalogName)
        #expect(database.message == #"database "postgres" does not exist"#)
        #expect(try test.expectCounter(Name.refused, [("tier", "FREE"), ("reason", "role_not_allowed")]).totalValue == 1)
        #expect(try test.expectCounter(Name.refused, [("tier", "FREE"), ("reason", "unknown_database")]).totalValue == 1)
        // Neither took a slot: five sessions still fit under the ceiling.
        #expect(Admissions.admitted(admission, user: "app.org_free", count: 5) != nil)
    }

    @Test func admittedSession_logsTheRoleAndDatabaseSentUpstream() throws {
        let admission = try Self.admission(TestMetrics())
        guard case .admitted(let session) = Admissions.admit(admission, user: "app.org_free", database: "app.org_free") else {
            Issue.record("refused")
            return
        }
        #expect(session.startup.user == "app")
        #expect(session.startup["database"] == "free")
        #expect(session.logMetadata["upstream_user"] == "app")
        #expect(session.logMetadata["upstream_database"] == "free")
        session.onEnd()
    }

    @Test(arguments: [OrgLabelMode.off, .hashed])
    func orgSeries_followTheLabelMode(_ mode: OrgLabelMode) throws {
        let test = TestMetrics()
        let admission = try Self.admission(test, orgLabels: mode)
        guard case .admitted(let session) = Self.admit(admission, user: "app.org_free") else {
            Issue.record("refused")
            return
        }
        #expect((try? test.expectMeter(Name.orgOpenSessions, [("org", "org_free")])) == nil)
        let hashed = try? test.expectMeter(Name.orgOpenSessions, [("org", OrgLabelMode.hashedLabel(try OrgId("org_free")))])
        #expect((hashed?.lastValue == 1) == (mode == .hashed))
        #expect(admission.orgStatus(try OrgId("org_free")).json["metricsLabel"]
                == (mode == .hashed ? .string(OrgLabelMode.hashedLabel(try OrgId("org_free"))) : .null))
        session.onEnd()
    }

    @Test func raisingASetting_andAStatementTimeout_areCountedByTier() throws {
        let test = TestMetrics()
        let metrics = TierGateMetrics(factory: test)
        let org = OrgTier(orgId: try OrgId("org_t"), tier: .starter, limits: TierMatrix.builtIn[.starter], burst: nil,
                          route: PostgresRoute(database: "t"), tierUpdatedAt: 0, cachedAt: 0)
        let rules = TierSessionRules(org: org, matrix: .builtIn, metrics: metrics)
        _ = rules.filterFrontend(id: FrontendMessageID.query.rawValue,
                                 payload: Query(text: "set work_mem = '1GB'").encoded()[5...])
        _ = rules.decorate(error: ErrorResponse(severity: .error, sqlState: .queryCanceled,
                                                message: "canceling statement due to statement timeout"))
        #expect(try test.expectCounter(Name.settingsRefusals, [("tier", "STARTER")]).totalValue == 1)
        #expect(try test.expectCounter(Name.statementTimeouts, [("tier", "STARTER")]).totalValue == 1)
    }

    /// The proxy reports a failed upstream through the admitted session; the tier it was
    /// admitted under labels the count.
    @Test func unreachableUpstream_isCountedUnderTheAdmittedTier() throws {
        let test = TestMetrics()
        let admission = try Self.admission(test)
        guard case .admitted(let session) = Self.admit(admission, user: "app.org_free") else {
            Issue.record("refused")
            return
        }
        session.onUpstreamFailure?(.unreachable)
        session.onUpstreamFailure?(.authenticationTimeout)
        #expect(try test.expectCounter(Name.upstreamFailures, [("tier", "FREE"), ("reason", "upstream_unreachable")]).totalValue == 1)
        #expect(try test.expectCounter(Name.upstreamFailures, [("tier", "FREE"), ("reason", "authentication_timeout")]).totalValue == 1)
        session.onEnd()
    }

    /// Refusals before admission have no tier, with or without tier gating.
    @Test func refusalsBeforeAdmission_areCountedWithTierNone() throws {
        let test = TestMetrics()
        let observer = SessionMetrics(TierGateMetrics(factory: test))
        observer.refusedBeforeAdmission(.protocolViolation)
        observer.refusedBeforeAdmission(.loginTimeout)
        observer.refusedBeforeAdmission(.loginTimeout)
        #expect(try test.expectCounter(Name.refused, [("tier", "none"), ("reason", "protocol")]).totalValue == 1)
        #expect(try test.expectCounter(Name.refused, [("tier", "none"), ("reason", "login_timeout")]).totalValue == 2)
    }

    /// SHOW STATS reads the counters /metrics exports, under the same reason names: a
    /// refusal by the gate and the proxy's own refusals before admission alike.
    @Test func showStatsRefusals_areTheMetricsRefusals_byTheSameReasonNames() throws {
        let test = TestMetrics()
        let admission = try Self.admission(test)
        var sessions: [AdmittedSession] = []
        for _ in 0..<5 {
            if case .admitted(let session) = Self.admit(admission, user: "app.org_free") { sessions.append(session) }
        }
        #expect(sessions.count == 5)
        guard case .refused = Self.admit(admission, user: "app.org_free") else {
            Issue.record("sixth FREE connection admitted")
            return
        }
        guard case .refused = Self.admit(admission, user: "app") else {
            Issue.record("a user naming no org admitted")
            return
        }
        let observer = SessionMetrics(admission.metrics)
        observer.refusedBeforeAdmission(.protocolViolation)
        observer.refusedBeforeAdmission(.loginTimeout)
        observer.refusedBeforeAdmission(.loginTimeout)

        let refused = admission.statistics().json["connections"]?.objectValue?["refused"]?.objectValue
        let shown = Dictionary(uniqueKeysWithValues: (refused?.members ?? []).map { ($0.key, $0.value) })
        #expect(shown == ["connection_limit": .integer(1), "no_org": .integer(1), "protocol": .integer(1),
                          "login_timeout": .integer(2)])
        for (reason, value) in shown {
            #expect(RefusalReason(rawValue: reason) != nil, "\(reason) is a metrics reason")
            let tier = reason == "connection_limit" ? "FREE" : "none"
            #expect(try .integer(Int(test.expectCounter(Name.refused, [("tier", tier), ("reason", reason)]).totalValue)) == value)
        }
        for session in sessions { session.onEnd() }
    }

    /// SHOW ORG's limits and SHOW ORGS' rows come from the org's typed values: the limits
    /// are those the Redis value stores, the row's ceiling the tier's.
    @Test func showOrgAndShowOrgs_renderTheTypedLimits() throws {
        let admission = try Self.admission(TestMetrics())
        guard case .admitted(let session) = Self.admit(admission, user: "app.org_free") else {
            Issue.record("refused within the ceiling")
            return
        }
        let org = try OrgId("org_free")
        let status = admission.orgStatus(org).json
        let limits = try #require(status["limits"])
        let cached = try #require(admission.resolver.cachedValue(org))
        #expect(limits == (try JSONValue(parsing: cached.redisValue)).objectValue?["limits"])
        #expect(limits.objectValue?["postgres"]?.objectValue?["maxConnections"] == .integer(5))
        let rows = admission.orgsOverview().map(\.json)
        #expect(rows.count == 1)
        #expect(rows.first.map { JSONValue.object($0).serialized }
                == #"{"org":"org_free","tier":"FREE","burstingTo":null,"maxConnections":5,"openSessions":1,"pendingEnforcement":false}"#)
        session.onEnd()
    }
}
