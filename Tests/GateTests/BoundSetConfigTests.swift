@testable import Gate
import PostgresWire
import Testing
import TierModel

/// `select set_config($1, $2, false)` with bound parameters, as JDBC and psycopg send it:
/// remembered at Parse, judged at each Bind by its values.
@Suite struct BoundSetConfigTests {
    let free = settingsGuard(.free)

    static func parse(_ sql: String, name: String = "", types: [Int32] = []) -> RawParse {
        RawParse(statementName: Array(name.utf8)[...], query: Array(sql.utf8)[...], parameterTypes: types)
    }

    static func values(_ values: [String?], formats: [Int16] = []) -> BoundValues {
        BoundValues(formatCodes: formats, values: values.map { $0.map { Array($0.utf8)[...] } })
    }

    func remembered(_ sql: String, types: [Int32] = [], by g: SettingsGuard? = nil) throws -> BoundSetConfig {
        let verdict = (g ?? free).check(parse: Self.parse(sql, types: types))
        guard case .remember(let statement) = verdict else {
            Issue.record("\(sql): \(verdict)")
            throw CancellationError()
        }
        return statement
    }

    @Test func parse_ofBoundSetConfig_isRemembered() throws {
        let statement = try remembered("select set_config($1, $2, false)")
        #expect(statement.parameterCount == 2)
        #expect(statement.calls == [SetConfigCall(name: .parameter(1), value: .parameter(2), isLocal: .text("false"))])
    }

    @Test(arguments: [["application_name", "psql"], ["default_transaction_isolation", "serializable"],
                      ["work_mem", "2MB"], ["WORK_MEM", "4MB"], ["work_mem", nil], ["statement_timeout", "5s"]])
    func bind_withinTheTierOrOfOtherGUCs_passes(values: [String?]) throws {
        let statement = try remembered("select set_config($1, $2, false)")
        #expect(free.check(bind: Self.values(values), against: statement) == nil)
    }

    @Test(arguments: [["work_mem", "1GB"], ["Work_Mem", "1GB"], ["sort_mem", "1GB"], ["statement_timeout", "0"],
                      ["max_parallel_workers_per_gather", "64"], ["temp_buffers", "1GB"]])
    func bind_raisingATierGUC_isRefused(values: [String?]) throws {
        let statement = try remembered("select set_config($1, $2, false)")
        let v = try #require(free.check(bind: Self.values(values), against: statement))
        #expect(v.reason == .aboveLimit)
        #expect(v.hint.hasPrefix("Upgrade to STARTER"))
    }

    @Test func bind_inBinaryFormat_isReadToo() throws {
        let statement = try remembered("select set_config($1, $2, $3)", types: [1043, 1043, 16])
        let raising = BoundValues(formatCodes: [1], values: [Array("work_mem".utf8)[...], Array("1GB".utf8)[...], [0]])
        #expect(free.check(bind: raising, against: statement)?.parameter == .workMem)
        let lower = BoundValues(formatCodes: [1], values: [Array("work_mem".utf8)[...], Array("1MB".utf8)[...], [1]])
        #expect(free.check(bind: lower, against: statement) == nil)
    }

    @Test func bind_valueThatIsNotASCII_orOfAnotherType_isUnreadable() throws {
        let statement = try remembered("select set_config($1, $2, false)")
        let latin1 = BoundValues(values: [Array("work_mem".utf8)[...], (Array("1GB".utf8) + [0xE9])[...]])
        #expect(free.check(bind: latin1, against: statement)?.reason == .unreadableValue)
        let typed = try remembered("select set_config($1::text, $2, false)", types: [23])
        #expect(free.check(bind: Self.values(["1", "1GB"]), against: typed)?.reason == .unnamedParameter)
    }

    @Test func bind_thatTheServerRefuses_isLeftToIt() throws {
        let statement = try remembered("select set_config($1, $2, false)")
        #expect(free.check(bind: Self.values(["work_mem"]), against: statement) == nil)  // 1 value for 2
        #expect(free.check(bind: Self.values(["work_mem", "1GB"], formats: [0, 0, 0]), against: statement) == nil)
    }

    @Test func constantTierName_withBoundValue_isJudgedAtBind() throws {
        let statement = try remembered("SELECT pg_catalog.set_config('work_mem', $1::text, false)")
        #expect(free.check(bind: Self.values(["1GB"]), against: statement)?.parameter == .workMem)
        #expect(free.check(bind: Self.values(["1MB"]), against: statement) == nil)
    }

    @Test func otherGUCWithBoundValue_isJustForwarded() {
        #expect(free.check(parse: Self.parse("select set_config('application_name', $1, false)")) == .forward)
        #expect(free.check(parse: Self.parse("select $1::int")) == .forward)
    }

    @Test(arguments: ["PREPARE p AS select set_config($1, $2, false)",
                      "CREATE FUNCTION f(text) RETURNS text BEGIN ATOMIC SELECT set_config($1, '1GB', false); END",
                      "select set_config('work_mem', '1GB', false), $1"])
    func parse_whoseParametersAreNotTheBinds_orThatRaises_isRefused(sql: String) throws {
        guard case .refuse = free.check(parse: Self.parse(sql)) else {
            Issue.record("\(sql) not refused")
            return
        }
    }

    @Test func refusalParse_keepsTheClientsParameterCount() throws {
        let parse = Self.parse("select set_config('work_mem', '1GB', false), $1, $3", types: [23])
        guard case .refuse(let violation) = free.check(parse: parse) else {
            Issue.record("not refused")
            return
        }
        let refusal = free.refusalParse(for: parse, violation: violation)
        #expect(refusal.parameterTypes == [23, 25, 25])
        #expect(String(decoding: refusal.query, as: UTF8.self).hasPrefix("DO $tiergate$"))
    }

    @Test func pooled_boundSetConfig_mustBeLocal() throws {
        let pooled = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]),
                                   matrix: .builtIn, pooled: true)
        let statement = try remembered("select set_config($1, $2, $3)", by: pooled)
        #expect(pooled.check(bind: Self.values(["work_mem", "1MB", "false"]), against: statement)?.reason
                == .sessionChangeWhilePooled)
        #expect(pooled.check(bind: Self.values(["work_mem", "1MB", "true"]), against: statement) == nil)
        #expect(pooled.check(bind: Self.values(["work_mem", "1MB", "on"]), against: statement) == nil)
        #expect(pooled.check(bind: Self.values(["work_mem", nil, "true"]), against: statement)?.reason
                == .sessionChangeWhilePooled)
        #expect(pooled.check(bind: Self.values(["search_path", "x", "false"]), against: statement) == nil)
    }

    // MARK: FunctionCall

    @Test func functionCall_ofSetConfig_isJudgedByItsArguments() {
        func call(_ name: String, _ value: String, oid: UInt32 = 2078) -> FunctionCall {
            FunctionCall(functionOID: oid, arguments: BoundValues(formatCodes: [0, 0, 1],
                                                                  values: [Array(name.utf8)[...], Array(value.utf8)[...], [0]]))
        }
        #expect(free.check(functionCall: call("work_mem", "1GB"))?.parameter == .workMem)
        #expect(free.check(functionCall: call("statement_timeout", "0"))?.parameter == .statementTimeout)
        #expect(free.check(functionCall: call("application_name", "x")) == nil)
        #expect(free.check(functionCall: call("work_mem", "1GB", oid: 954)) == nil)  // loread
    }

    // MARK: EXECUTE and memory

    @Test func executeOfARememberedStatement_isJudgedByItsArguments() throws {
        var prepared = PreparedSetConfigs()
        let kept = prepared.remember(try remembered("select set_config($1, $2, false)"), named: Array("s1".utf8))
        #expect(kept)
        #expect(free.check(query: Array("EXECUTE s1('work_mem', '1GB')".utf8)[...], prepared: prepared)?.parameter == .workMem)
        #expect(free.check(query: Array("explain analyze execute S1('statement_timeout', '0')".utf8)[...], prepared: prepared)?
                    .parameter == .statementTimeout)
        #expect(free.check(query: Array("EXECUTE s1('application_name', 'x')".utf8)[...], prepared: prepared) == nil)
        #expect(free.check(query: Array("EXECUTE s2('work_mem', '1GB')".utf8)[...], prepared: prepared) == nil)
        // In a Parse, EXECUTE's arguments may be parameters: their values cannot be judged.
        guard case .refuse = free.check(parse: Self.parse("EXECUTE s1($1, $2)"), prepared: prepared) else {
            Issue.record("EXECUTE with bound arguments was not refused")
            return
        }
        // Without the memory, a text without `set` is not even lexed.
        #expect(!SettingsGuard.mightChangeSettings("EXECUTE s1('work_mem', '1GB')"))
    }

    @Test func preparedSetConfigs_keepEveryStatementEverNamed_upToTheLimits() throws {
        var prepared = PreparedSetConfigs()
        let first = try remembered("select set_config($1, $2, false)")
        let second = try remembered("select set_config($2, $1, true)")
        var kept = [prepared.remember(first, named: []), prepared.remember(second, named: []), prepared.remember(first, named: [])]
        #expect(kept == [true, true, true])
        #expect(prepared.templates(named: []) == [first, second])
        kept = (1..<PreparedSetConfigs.nameLimit).map { prepared.remember(first, named: Array("s\($0)".utf8)) }
        #expect(kept.allSatisfy { $0 })
        kept = [prepared.remember(first, named: Array("one too many".utf8)), prepared.remember(second, named: Array("s1".utf8))]
        #expect(kept == [false, true])
    }

    @Test func statementNames_areComparedOnTheirFirst63Bytes_asByTheServer() {
        var prepared = PreparedSetConfigs()
        let statement = BoundSetConfig(calls: [SetConfigCall(name: .parameter(1), value: .parameter(2), isLocal: nil)],
                                       parameterCount: 2, parameterTypes: [])
        let long = String(repeating: "s", count: 63)
        let kept = prepared.remember(statement, named: Array((long + "A").utf8))
        #expect(kept)
        #expect(prepared.templates(named: Array((long + "B").utf8)) == [statement])
        #expect(prepared.templates(named: Array(long.dropLast().utf8)).isEmpty)
    }
}
