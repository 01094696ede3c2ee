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

    @Test func raisingParse_isReplacedKeepingItsParameterCount() throws {
        let parse = Parse(statementName: "s1", query: "SELECT set_config('statement_timeout', '0', false), $1 || $2",
                          parameterTypes: [25])
        let verdict = try Self.rules(.pro).filterFrontend(id: FrontendMessageID.parse.rawValue, payload: Self.payload(parse.encoded()))
        guard case .replace(let message) = verdict, let replaced = Parse.decode(payload: message[5...]) else {
            Issue.record("not replaced")
            return
        }
        #expect(replaced.statementName == "s1")
        #expect(replaced.query.contains("42501"))
        // The client's Bind carries two values: the replacement takes two, so it fits.
        #expect(replaced.parameterTypes == [25, 25])
    }

    // MARK: Bound set_config

    static func bind(_ statement: String, _ values: [String?]) -> [UInt8] {
        Bind(statement: Array(statement.utf8)[...], parameters: BoundValues(values: values.map { $0.map { Array($0.utf8)[...] } }))
            .encoded()
    }

    static func boundSetConfigRules(_ tier: Tier) throws -> TierSessionRules {
        let rules = try Self.rules(tier)
        let parse = Parse(statementName: "S_1", query: "select set_config($1, $2, false)", parameterTypes: [1043, 1043])
        guard case .forward = rules.filterFrontend(id: FrontendMessageID.parse.rawValue, payload: Self.payload(parse.encoded())) else {
            Issue.record("the Parse of a bound set_config was not forwarded")
            return rules
        }
        return rules
    }

    @Test func bindOfBoundSetConfig_ofAnotherGUC_isForwarded() throws {
        let rules = try Self.boundSetConfigRules(.free)
        for values in [["application_name", "app"], ["default_transaction_isolation", "serializable"], ["work_mem", "2MB"]] {
            guard case .forward = rules.filterFrontend(id: FrontendMessageID.bind.rawValue, payload: Self.payload(Self.bind("S_1", values))) else {
                Issue.record("\(values) not forwarded")
                continue
            }
        }
    }

    @Test func bindRaisingATierGUC_becomesABindTheServerRefuses_whoseErrorComesBackAsTheRefusal() throws {
        let rules = try Self.boundSetConfigRules(.free)
        let verdict = rules.filterFrontend(id: FrontendMessageID.bind.rawValue, payload: Self.payload(Self.bind("S_1", ["work_mem", "1GB"])))
        guard case .replace(let message) = verdict, let replaced = Bind.decode(payload: message[5...]) else {
            Issue.record("not replaced: \(verdict)")
            return
        }
        #expect(Array(replaced.statement) == Array("S_1".utf8))
        #expect(replaced.parameters.count == 0)
        var serverError = ErrorResponse(severity: .error, sqlState: .protocolViolation,
                                        message: #"bind message supplies 0 parameters, but prepared statement "S_1" requires 2"#)
        serverError[.routine] = "exec_bind_message"
        let seen = rules.decorate(error: serverError)
        #expect(seen.sqlState == .insufficientPrivilege)
        #expect(seen.message == #"permission denied to set parameter "work_mem" to '1GB': the FREE tier allows at most 4MB"#)
        #expect(seen[.hint] == "Upgrade to STARTER for 16MB work_mem")
        // Answered once: the client's own protocol errors stay its own.
        #expect(rules.decorate(error: serverError) == serverError)
    }

    @Test func boundSetConfig_isStillJudgedUnderTheRulesOfANewTier() throws {
        let rules = try Self.boundSetConfigRules(.free)
        let org = OrgTier(orgId: try OrgId("org_t"), tier: .starter, limits: TierMatrix.builtIn[.starter], burst: nil,
                          route: PostgresRoute(database: "t"), tierUpdatedAt: 0, cachedAt: 0)
        let upgraded = TierSessionRules(org: org, matrix: .builtIn).with(memory: rules.memory)
        guard case .replace = upgraded.filterFrontend(id: FrontendMessageID.bind.rawValue,
                                                      payload: Self.payload(Self.bind("S_1", ["work_mem", "1GB"]))) else {
            Issue.record("a Bind after the tier change was not judged")
            return
        }
        guard case .forward = upgraded.filterFrontend(id: FrontendMessageID.bind.rawValue,
                                                      payload: Self.payload(Self.bind("S_1", ["work_mem", "16MB"]))) else {
            Issue.record("the new tier's limit was not applied")
            return
        }
    }

    @Test func functionCallOfSetConfig_raising_isReplacedByTheRefusalQuery() throws {
        let call = FunctionCall(functionOID: 2078, arguments: BoundValues(formatCodes: [0, 0, 1],
                                values: [Array("statement_timeout".utf8)[...], Array("0".utf8)[...], [0]]))
        let verdict = try Self.rules(.free).filterFrontend(id: FrontendMessageID.functionCall.rawValue, payload: Self.payload(call.encoded()))
        guard case .replace(let message) = verdict, message.first == FrontendMessageID.query.rawValue,
              let query = Query.decode(payload: message[5...]) else {
            Issue.record("not replaced by a Query: \(verdict)")
            return
        }
        #expect(query.text.contains("statement_timeout"))
    }

    @Test func refusalRaisedByTheServer_reachesTheClientWithoutPLpgSQLContext() throws {
        let rules = try Self.rules(.free)
        let violation = try #require(rules.settingsGuard.check(sql: "SET work_mem = '1GB'"))
        var raised = ErrorResponse(severity: .error, sqlState: .insufficientPrivilege, message: violation.message,
                                   detail: violation.detail, hint: violation.hint)
        raised[.context] = "PL/pgSQL function inline_code_block line 1 at RAISE"
        let seen = rules.decorate(error: raised)
        #expect(seen[.context] == nil)
        #expect(seen[.hint] == violation.hint)
        var other = ErrorResponse(severity: .error, sqlState: .insufficientPrivilege, message: "permission denied for table t")
        other[.context] = "SQL function \"f\""
        #expect(rules.decorate(error: other) == other)
    }

    @Test func statementTimeoutCancel_getsTheUpgradeHint_otherCancelsDoNot() throws {
        let rules = try Self.rules(.starter)
        let timeout = ErrorResponse(severity: .error, sqlState: .queryCanceled, message: "canceling statement due to statement timeout")
        #expect(rules.decorate(error: timeout)[.hint] == "Upgrade to PRO for 60s timeout or optimize query")
        let userCancel = ErrorResponse(severity: .error, sqlState: .queryCanceled, message: "canceling statement due to user request")
        #expect(rules.decorate(error: userCancel) == userCancel)
        let other = ErrorResponse(severity: .error, sqlState: SQLState(rawValue: "42P01")!, message: "relation does not exist")
        #expect(rules.decorate(error: other) == other)
    }
}

/// The memory of a session's bound set_config statements outlives a tier change: the rules
/// the change brings are the session's own.
struct SessionGuardMemoryTests {
    @Test func tierChange_bringsRulesWithTheSessionsOwnMemory() throws {
        let org = try OrgId("org_memory")
        let source = SwitchableOrgSource()
        source.set(org, tier: .free, updatedAt: 1_000)
        let admission = Admissions.tierAdmission(source: source)
        let sessions = try #require(Admissions.admitted(admission, user: "app.org_memory", count: 2))
        let received = sessions.map { ReceivedCommands(attachingTo: $0.mailbox) }
        source.set(org, tier: .starter, updatedAt: 2_000)
        _ = admission.invalidate(org)
        for (session, commands) in zip(sessions, received) {
            let before = try #require(session.rules as? TierSessionRules)
            let after = try #require(commands.updates.last?.rules as? TierSessionRules)
            #expect(after.tier == .starter)
            #expect(after.memory === before.memory)
        }
        let memories = try sessions.map { try #require($0.rules as? TierSessionRules).memory }
        #expect(memories[0] !== memories[1])
    }
}
