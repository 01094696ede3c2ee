@testable import Gate
import Testing
import TierModel

func settingsGuard(_ tier: Tier, matrix: TierMatrix = .builtIn) -> SettingsGuard {
    SettingsGuard(tier: tier, settings: SessionSettings(limits: matrix[tier]), matrix: matrix)
}

@Suite struct SettingsGuardTests {
    let free = settingsGuard(.free)

    func refused(_ sql: String, by g: SettingsGuard? = nil) -> SettingsViolation? {
        (g ?? free).check(sql: sql)
    }

    // MARK: SET

    @Test(arguments: [
        "SET work_mem = '1GB'", "set work_mem to '1GB'", "SET SESSION work_mem = '1GB'",
        "SET LOCAL work_mem TO '1GB'", "SET Work_Mem = '1GB'", #"SET "WORK_MEM" = '1GB'"#,
        "SET work_mem = E'1GB'", #"SET work_mem = E'\x31GB'"#, "SET work_mem = 1048576",
        "SET work_mem = '4097kB'", "SET work_mem = 4097", "SET work_mem = 04097",
        "SET work_mem = 0x1001", "SET work_mem = 4_097", "SET work_mem = 4.1e3", "SET work_mem = +4097",
        #"SET work_mem = "1GB""#, "  \n\tSET\nwork_mem\n=\n'1GB'\n", "SET/**/work_mem/* x */=--c\n'1GB'",
        "SET work_mem = U&'1GB'",
    ])
    func set_workMemAboveFree_isRefused(sql: String) throws {
        let v = try #require(refused(sql))
        #expect(v.parameter == .workMem)
        #expect(v.tier == .free)
        #expect(v.maximum == "4MB")
    }

    @Test(arguments: [
        "SET work_mem = '4MB'", "SET work_mem = '1MB'", "SET work_mem = 4096", "SET work_mem = '64kB'",
        "SET work_mem TO DEFAULT", "SET work_mem = default", "SET LOCAL work_mem = DEFAULT",
        "SET work_mem = 04000", "SET work_mem = '3.5MB'",
    ])
    func set_workMemAtOrBelowFree_passes(sql: String) {
        #expect(refused(sql) == nil)
    }

    @Test func set_1GBWorkMem_messageHintDetailAndSQLState() throws {
        let v = try #require(refused("SET work_mem = '1GB'"))
        #expect(v.sqlState == .insufficientPrivilege)
        #expect(v.reason == .aboveLimit)
        #expect(v.requested == "1GB")
        #expect(v.message == #"permission denied to set parameter "work_mem" to '1GB': the FREE tier allows at most 4MB"#)
        #expect(v.hint == "Upgrade to STARTER for 16MB work_mem")
        #expect(v.detail == #"{"error":"setting_limit_exceeded","tier":"FREE","parameter":"work_mem","requested":"1GB","max":"4MB","suggestion":"Upgrade to STARTER for 16MB work_mem"}"#)
        #expect(v.description == v.message)
    }

    @Test(arguments: ["SET statement_timeout = 0", "SET statement_timeout = '0'", "SET statement_timeout TO '0ms'"])
    func statementTimeoutZero_isRefusedAsNoTimeout(sql: String) throws {
        let v = try #require(refused(sql))
        #expect(v.parameter == .statementTimeout)
        #expect(v.message.hasSuffix("(no timeout): the FREE tier allows at most 10s"))
        #expect(v.hint == "Upgrade to STARTER for 30s timeout or optimize query")
    }

    @Test func statementTimeoutZero_messageExactly() throws {
        let v = try #require(refused("SET statement_timeout = 0"))
        #expect(v.message == #"permission denied to set parameter "statement_timeout" to '0' (no timeout): the FREE tier allows at most 10s"#)
    }

    @Test func statementTimeout_aboveRefusedAtOrBelowPasses() {
        #expect(refused("SET statement_timeout = '11s'") != nil)
        #expect(refused("SET statement_timeout = 10001") != nil)
        #expect(refused("SET statement_timeout = '1min'") != nil)
        #expect(refused("SET statement_timeout = '10s'") == nil)
        #expect(refused("SET statement_timeout = 5000") == nil)
        #expect(refused("SET statement_timeout = '500ms'") == nil)
    }

    @Test func tempBuffers_aboveRefusedWithWorkMemoryHint() throws {
        let v = try #require(refused("SET temp_buffers = '16MB'"))
        #expect(v.parameter == .tempBuffers)
        #expect(v.maximum == "8MB")
        #expect(v.hint == "Upgrade to STARTER for 16MB work_mem")
        #expect(refused("SET temp_buffers = '8MB'") == nil)
        #expect(refused("SET temp_buffers = 1024") == nil)
        #expect(refused("SET temp_buffers = 1025") != nil)
    }

    @Test func parallelWorkers_aboveRefusedWithParallelHint() throws {
        let v = try #require(refused("SET max_parallel_workers_per_gather = 3"))
        #expect(v.parameter == .maxParallelWorkersPerGather)
        #expect(v.maximum == "2")
        #expect(v.hint == "Upgrade to STARTER for up to 4 parallel workers per gather")
        #expect(v.message == #"permission denied to set parameter "max_parallel_workers_per_gather" to '3': the FREE tier allows at most 2"#)
        #expect(refused("SET max_parallel_workers_per_gather = 2") == nil)
        #expect(refused("SET max_parallel_workers_per_gather TO '0'") == nil)
    }

    @Test(arguments: [
        "SET work_mem = 'lots'", "SET work_mem = '1gb'", "SET work_mem = $1", "SET work_mem = '1' 'GB'",
        "SET work_mem = 1GB", "SET work_mem = '1MB', '2MB'", "SET work_mem = -1", "SET work_mem = B'1'",
        "SET max_parallel_workers_per_gather = '1kB'", "SET statement_timeout = lots",
        "SET work_mem = '1'\n'GB'",
    ])
    func set_unreadableValue_isRefusedNotGuessed(sql: String) throws {
        let v = try #require(refused(sql))
        #expect(v.reason == .unreadableValue)
        #expect(v.message.contains("TierGate cannot read that value"))
    }

    @Test func unreadableValue_hintShowsALiteralAtTheLimit() throws {
        let v = try #require(refused("SET work_mem = $1"))
        #expect(v.requested == "$1")
        #expect(v.hint == "Write the value as a constant, e.g. SET work_mem = '4MB'")
        #expect(v.detail.hasPrefix(#"{"error":"setting_value_unchecked","tier":"FREE","parameter":"work_mem","requested":"$1""#))
    }

    // MARK: RESET, DISCARD, other GUCs

    @Test(arguments: [
        "RESET work_mem", "RESET ALL", "DISCARD ALL", "RESET statement_timeout", "reset temp_buffers",
        "SET search_path = public, '$user'", "SET application_name = 'SET work_mem = 1GB'",
        "SET TIME ZONE 'UTC'", "SET SESSION AUTHORIZATION alice", "SET ROLE admin", "SET ROLE NONE",
        "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", "SET effective_cache_size = '1GB'",
        "SET myapp.work_mem = '1GB'", "SET work_mem.x = '1GB'", "SET LOCAL search_path TO DEFAULT",
        "SHOW work_mem", "SELECT current_setting('work_mem')", "UPDATE settings SET work_mem = '1GB'",
        "", ";;", "  -- only a comment", "BEGIN; SET LOCAL work_mem = '2MB'; COMMIT",
    ])
    func allowedStatements_pass(sql: String) {
        #expect(refused(sql) == nil)
    }

    // MARK: set_config

    @Test(arguments: [
        "select set_config('work_mem','1GB',false)", "SELECT pg_catalog.set_config('work_mem', '1GB', true)",
        #"SELECT "set_config"('WORK_MEM', '1GB', false)"#, "SELECT SET_CONFIG ( 'work_mem' , '1GB' , false )",
        "SELECT set_config('work_mem'::text, '1GB'::text, false)",
        "SELECT set_config(setting_name => 'work_mem', new_value => '1GB', is_local => false)",
        "SELECT set_config(new_value => '1GB', setting_name => 'work_mem', is_local => false)",
        "SELECT 1 FROM t WHERE set_config('work_mem', E'1\\x47B', false) IS NOT NULL",
        "WITH x AS (SELECT set_config('work_mem', '1GB', false)) SELECT * FROM x",
        "PREPARE p AS SELECT set_config('work_mem', '1GB', false)",
        "SELECT set_config('search_path', 'x', false), set_config('work_mem', '1GB', false)",
    ])
    func setConfig_workMemAboveFree_isRefused(sql: String) throws {
        let v = try #require(refused(sql))
        #expect(v.parameter == .workMem)
        #expect(v.reason == .aboveLimit)
    }

    @Test func setConfig_statementTimeoutZero_isRefused() throws {
        let v = try #require(refused("SELECT set_config('statement_timeout', '0', false)"))
        #expect(v.message.contains("(no timeout)"))
    }

    @Test(arguments: [
        "SELECT set_config('work_mem', '2MB', false)", "SELECT set_config('search_path', 'public', false)",
        "SELECT set_config('search_path', $1, false)", "SELECT set_config('application_name', name, false) FROM t",
        "SELECT set_config('work_mem', NULL, false)", "SELECT set_config FROM t",
        "SELECT 'set_config(''work_mem'', ''1GB'', false)'",
    ])
    func setConfig_withinTierOrOtherGUC_passes(sql: String) {
        #expect(refused(sql) == nil)
    }

    @Test(arguments: [
        "SELECT set_config($1, $2, false)", "SELECT set_config(name, '1GB', false) FROM t",
        "SELECT set_config('work' || '_mem', '1GB', false)", "SELECT set_config(lower('WORK_MEM'), '1GB', false)",
    ])
    func setConfig_nameNotAConstant_isRefused(sql: String) throws {
        let v = try #require(refused(sql))
        #expect(v.reason == .unnamedParameter)
        #expect(v.parameter == nil)
        #expect(v.hint == "Name the parameter with a string constant, e.g. set_config('search_path', $1, false)")
        #expect(v.detail.contains(#""parameter":null"#))
    }

    /// `uescape` is an ordinary column or parameter name outside `U&` constants; reading the
    /// token before it as nothing once hid these from the guard (checked on the stack: both
    /// raise work_mem to 1GB).
    @Test func setConfigOnAColumnNamedUescape_isRefused() throws {
        let v = try #require(refused("SELECT set_config(uescape, '1GB', false) FROM (SELECT 'work_mem' AS uescape) s"))
        #expect(v.reason == .unnamedParameter)
    }

    @Test func functionWithAParameterNamedUescape_setClauseIsStillChecked() throws {
        let sql = "CREATE FUNCTION f(uescape int) RETURNS int SET work_mem = '1GB' LANGUAGE sql AS 'select 1'"
        #expect(refused(sql)?.parameter == .workMem)
    }

    @Test func setConfig_nameNotAConstant_message() throws {
        let v = try #require(refused("SELECT set_config($1, $2, false)"))
        #expect(v.message == "permission denied to call set_config with a parameter name that is not a string constant ($1): the FREE tier limits statement_timeout, work_mem, temp_buffers, max_parallel_workers_per_gather, hash_mem_multiplier, maintenance_work_mem, max_parallel_maintenance_workers, temp_file_limit and idle_in_transaction_session_timeout")
    }

    @Test(arguments: [
        "SELECT set_config('work_mem', $1, false)", "SELECT set_config('work_mem', v, false) FROM t",
        "SELECT set_config('work_mem', '1' || 'GB', false)",
    ])
    func setConfig_tierGUCWithComputedValue_isRefused(sql: String) throws {
        let v = try #require(refused(sql))
        #expect(v.reason == .unreadableValue)
        #expect(v.parameter == .workMem)
    }

    // MARK: Function SET clauses

    @Test func createFunction_setClauseAboveTier_isRefused() throws {
        let sql = "CREATE OR REPLACE FUNCTION f() RETURNS int SET work_mem = '1GB' LANGUAGE sql AS $$ SELECT 1 $$"
        #expect(refused(sql)?.parameter == .workMem)
        #expect(refused("ALTER FUNCTION f(int) SET statement_timeout TO 0")?.parameter == .statementTimeout)
        #expect(refused("CREATE PROCEDURE p() SET work_mem TO '2MB' LANGUAGE sql AS 'select 1'") == nil)
        #expect(refused("ALTER FUNCTION f() SET work_mem FROM CURRENT") == nil)
    }

    // MARK: Every tier

    @Test(arguments: Tier.allCases)
    func everyTier_atLimitPassesAboveIsRefused(tier: Tier) throws {
        let g = settingsGuard(tier)
        let settings = SessionSettings(limits: TierMatrix.builtIn[tier])
        for setting in settings.settings {
            #expect(g.check(sql: "SET \(setting.name) = '\(setting.value)'") == nil)
            let above = setting.parameter.render(setting.baseValue + 1)
            let v = try #require(g.check(sql: "SET \(setting.name) = '\(above)'"))
            #expect(v.parameter == setting.parameter)
            #expect(v.maximum == setting.value)
            #expect(v.tier == tier)
        }
    }

    @Test func enterprise_hintsOfferNoUpgrade() throws {
        let g = settingsGuard(.enterprise)
        #expect(g.check(sql: "SET work_mem = '256MB'")?.hint
                == "Reduce the query's memory use: 128MB work_mem is the ENTERPRISE limit")
        #expect(g.check(sql: "SET statement_timeout = '1h'")?.hint == "Optimize the query: 120s is the ENTERPRISE limit")
        #expect(g.check(sql: "SET max_parallel_workers_per_gather = 17")?.hint
                == "Use at most 16 parallel workers per gather: that is the ENTERPRISE limit")
        #expect(g.check(sql: "SET statement_timeout = '1h'")?.maximum == "2min")
        #expect(g.check(sql: "SET work_mem = '128MB'") == nil)
    }

    @Test func starterAndPro_hintsPointToTheNextTier() {
        #expect(settingsGuard(.starter).check(sql: "SET work_mem = '1GB'")?.hint == "Upgrade to PRO for 64MB work_mem")
        #expect(settingsGuard(.pro).check(sql: "SET max_parallel_workers_per_gather = 9")?.hint
                == "Upgrade to ENTERPRISE for up to 16 parallel workers per gather")
        #expect(settingsGuard(.pro).check(sql: "SET statement_timeout = '61s'")?.hint
                == "Upgrade to ENTERPRISE for 120s timeout or optimize query")
    }

    @Test func parallelHint_whenNoTierRaisesIt_saysSo() {
        var matrix = TierMatrix.builtIn
        for tier in Tier.allCases { matrix[tier].postgres.maxParallelWorkers = 2 }
        #expect(settingsGuard(.starter, matrix: matrix).check(sql: "SET max_parallel_workers_per_gather = 3")?.hint
                == "Use at most 2 parallel workers per gather: no tier offers more")
    }

    // MARK: Lexing that must not fool the guard

    @Test(arguments: [
        "SELECT 'SET work_mem = 1GB'", "SELECT 'x; SET work_mem = ''1GB''; --'",
        #"SELECT E'\'; SET work_mem = ''1GB''; --'"#,
        #"SELECT "SET work_mem = '1GB'""#, #"SELECT 1 AS "a;SET work_mem='1GB'""#,
        "DO $$BEGIN SET work_mem = '1GB'; END$$", "DO $x$ BEGIN PERFORM set_config('work_mem','1GB',false); END $x$",
        "SELECT $tag$ $$ ; SET work_mem = '1GB'; $$ $tag$", "-- SET work_mem = '1GB'\nSELECT 1",
        "/* SET work_mem = '1GB' */ SELECT 1", "/* outer /* inner */ SET work_mem = '1GB'; */ SELECT 1",
        "SELECT 1 -- ; SET work_mem = '1GB'", "SELECT a$b$c FROM t",
    ])
    func textThatOnlyLooksLikeASet_passes(sql: String) {
        #expect(refused(sql) == nil)
    }

    @Test(arguments: [
        "SELECT 1; SET work_mem = '1GB'", "SELECT 'a;b'; SET work_mem = '1GB'",
        "SELECT $$;$$; SET work_mem = '1GB'", "/* a /* b */ c */ SET work_mem = '1GB'",
        "SELECT 1 -- comment\n; SET work_mem = '1GB'", #"SELECT E'it\'s'; SET work_mem = '1GB'"#,
        "SELECT a$b$c; SET work_mem = '1GB'", "SELECT $1; SET work_mem = '1GB'",
        // Read with standard_conforming_strings off, the SET is outside the string.
        #"SELECT 'a\''; SET work_mem = '1GB'; -- '"#,
    ])
    func aSetAfterTrickyText_isStillFound(sql: String) {
        #expect(refused(sql)?.parameter == .workMem)
    }

    // MARK: Refusal statement

    @Test func refusalStatement_raisesThePostgresErrorWithEscapedTexts() throws {
        let v = try #require(refused("SET work_mem = '1GB'"))
        let sql = free.refusalStatement(for: v)
        #expect(sql == "DO $tiergate$BEGIN RAISE EXCEPTION USING ERRCODE = E'42501', "
                + #"MESSAGE = E'permission denied to set parameter "work_mem" to ''1GB'': the FREE tier allows at most 4MB', "#
                + #"DETAIL = E'{"error":"setting_limit_exceeded","tier":"FREE","parameter":"work_mem","requested":"1GB","max":"4MB","suggestion":"Upgrade to STARTER for 16MB work_mem"}', "#
                + "HINT = E'Upgrade to STARTER for 16MB work_mem'; END$tiergate$")
    }

    @Test func refusalStatement_isOneStatementItselfAndEscapesBackslashes() throws {
        let v = try #require(refused(#"SET work_mem = E'1GB\\ $tiergate$ '';DROP TABLE x;--'"#))
        let sql = free.refusalStatement(for: v)
        #expect(sql.hasPrefix("DO $tiergate1$"))
        #expect(sql.hasSuffix("$tiergate1$"))
        let statements = SQLLexer.statements(in: sql)
        #expect(statements.count == 1)
        #expect(statements.first?.count == 2)
        #expect(statements.first?.last?.kind == .dollarQuoted)
        #expect(sql.contains(#"\\\\"#))
    }
}

/// `UPDATE pg_settings` sets parameters like set_config: found through the proxy, where a
/// FREE session raised work_mem to 1GB with it before this rule.
struct SettingsViewUpdateTests {
    static let free = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]),
                                    matrix: .builtIn)

    @Test(arguments: [
        "update pg_settings set setting = '1GB' where name = 'work_mem'",
        "UPDATE pg_catalog.pg_settings SET setting = '0' WHERE name = 'statement_timeout'",
        "with x as (update \"pg_settings\" set setting = '1GB' where name = 'work_mem' returning 1) select * from x",
        "select 1; update pg_settings set setting = '1GB' where name = 'work_mem'",
    ])
    func updatingPgSettings_isRefused(sql: String) throws {
        let violation = try #require(Self.free.check(sql: sql))
        #expect(violation.reason == .settingsViewUpdate)
        #expect(violation.sqlState == .insufficientPrivilege)
        #expect(violation.message.contains("pg_settings"))
    }

    @Test func readingPgSettings_andUpdatingOtherTables_pass() {
        #expect(Self.free.check(sql: "select name, setting from pg_settings where name = 'work_mem'") == nil)
        #expect(Self.free.check(sql: "update accounts set balance = 0 where id = 1") == nil)
        #expect(Self.free.check(sql: "select 'update pg_settings' as text") == nil)
    }
}

/// The byte pre-check that lets ordinary queries skip the lexer must never skip a query a
/// rule would refuse.
struct SettingsPrecheckTests {
    @Test(arguments: ["SET work_mem = '1GB'", "reset all", "select SET_CONFIG('work_mem','1GB',false)",
                      "DISCARD ALL", "UPDATE pg_settings SET setting='1' WHERE name='x'",
                      #"select U&"\0073et_config"('work_mem', '1GB', false)"#, "sEt statement_timeout = 0"])
    func textThatCouldChangeSettings_isAlwaysLexed(sql: String) {
        #expect(SettingsGuard.mightChangeSettings(sql))
    }

    @Test(arguments: ["select 1", "SELECT abalance FROM pgbench_accounts WHERE aid = $1",
                      "insert into t values (1, 'x')", "BEGIN", "COMMIT", "select 'é' || 'ü'"])
    func ordinaryQueries_skipTheLexer(sql: String) {
        #expect(!SettingsGuard.mightChangeSettings(sql))
    }

    @Test func unicodeEscapedSetConfig_isStillRefused() {
        let free = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]), matrix: .builtIn)
        // Postgres runs this as set_config (checked on the stack: work_mem became 1GB).
        let sql = #"select U&"\0073et_config"('work_mem', '1GB', false)"#
        #expect(free.check(sql: sql)?.parameter == .workMem)
    }
}

/// Found by the settings-guard fuzz target: the shown request was bounded before its
/// non-ASCII characters were replaced, so a text of many multi-scalar characters came out
/// longer than the bound.
@Test func refusalsRequestedText_staysWithinItsBound_whateverTheCharacters() {
    let text = String(repeating: "\r\n", count: 80)
    let violation = SettingsViolation(reason: .settingsViewUpdate, parameter: nil, requested: text, tier: .free,
                                      limit: nil, matrix: .builtIn)
    #expect(violation.requested.count <= 103)
    #expect(violation.requested.allSatisfy { $0.isASCII })
}
