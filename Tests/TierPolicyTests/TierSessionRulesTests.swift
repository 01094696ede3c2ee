import PostgresWire
import Testing
import TierModel
@testable import TierPolicy

struct TierSessionRulesTests {
    static func rules(_ tier: Tier) throws -> TierSessionRules {
        let org = OrgTier(orgId: try OrgId("org_t"), tier: tier, limits: TierMatrix.builtIn[tier], burst: nil,
                          route: PostgresRoute(database: "t"), tierUpdatedAt: 0, cachedAt: 0)
        return TierSessionRules(org: org, matrix: .builtIn)
    }

    static func payload(_ message: [UInt8]) -> ArraySlice<UInt8> { message[5...] }

    @Test func raisingQuery_isReplacedByAStatementThatRaises42501() throws {
        let verdict = try Self.rules(.free).filterFrontend(
            id: FrontendMessageID.query.rawValue, payload: Self.payload(Query(text: "set work_mem = '1GB'").encoded()))
        guard case .replace(let message) = verdict, let query = Query.decode(payload: message[5...]) else {
            Issue.record("not replaced: \(verdict)")
            return
        }
        #expect(query.text.hasPrefix("DO $tiergate$"))
        #expect(query.text.contains("42501"))
    }

    @Test func loweringQuery_isForwarded() throws {
        let verdict = try Self.rules(.free).filterFrontend(
            id: FrontendMessageID.query.rawValue, payload: Self.payload(Query(text: "set work_mem = '1MB'").encoded()))
        guard case .forward = verdict else {
            Issue.record("a lower value was not forwarded")
            return
        }
    }

    @Test func raisingParse_isReplacedWithoutParameterTypes() throws {
        let parse = Parse(statementName: "s1", query: "SET statement_timeout = 0", parameterTypes: [])
        let verdict = try Self.rules(.pro).filterFrontend(id: FrontendMessageID.parse.rawValue, payload: Self.payload(parse.encoded()))
        guard case .replace(let message) = verdict, let replaced = Parse.decode(payload: message[5...]) else {
            Issue.record("not replaced")
            return
        }
        #expect(replaced.statementName == "s1")
        #expect(replaced.query.contains("42501"))
    }

    @Test func statementTimeoutCancel_getsTheSeedHint_otherCancelsDoNot() throws {
        let rules = try Self.rules(.starter)
        let timeout = ErrorResponse(severity: .error, sqlState: "57014", message: "canceling statement due to statement timeout")
        #expect(rules.decorate(error: timeout)[.hint] == "Upgrade to PRO for 60s timeout or optimize query")
        let userCancel = ErrorResponse(severity: .error, sqlState: "57014", message: "canceling statement due to user request")
        #expect(rules.decorate(error: userCancel) == userCancel)
        let other = ErrorResponse(severity: .error, sqlState: "42P01", message: "relation does not exist")
        #expect(rules.decorate(error: other) == other)
    }
}
