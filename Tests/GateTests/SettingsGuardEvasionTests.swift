@testable import Gate
import PostgresWire
import Testing
import TierModel

/// Ways to name a tier GUC, and texts in encodings other than UTF-8, each of which once
/// reached Postgres unjudged through the proxy.
@Suite struct SettingsGuardEvasionTests {
    let free = settingsGuard(.free)

    // MARK: Unicode escapes

    @Test(arguments: [
        #"SET U&"statement!005ftimeout" UESCAPE '!' TO 0"#, #"SET LOCAL U&"statement!005ftimeout" UESCAPE '!' = 0"#,
        #"SET SESSION U&"statement#005Ftimeout" UESCAPE '#' TO '0'"#, #"SET statement_timeout = U&'!0030' UESCAPE '!'"#,
        #"SELECT set_config(U&'statement!005ftimeout' UESCAPE '!', '0', false)"#,
        #"ALTER FUNCTION f() SET U&"statement!005ftimeout" UESCAPE '!' = 0"#,
        #"CREATE FUNCTION f() RETURNS int SET U&"statement!005ftimeout" UESCAPE '!' TO 0 LANGUAGE sql AS 'select 1'"#,
        #"SET U&"\0073tatement_timeout" = 0"#,
    ])
    func unicodeEscapedName_isItsGUC(sql: String) throws {
        let v = try #require(free.check(sql: sql))
        #expect(v.parameter == .statementTimeout)
        #expect(v.message.contains("(no timeout)"))
    }

    @Test func unicodeEscapedValue_isReadWithItsEscapeCharacter() throws {
        let v = try #require(free.check(sql: #"SET work_mem = U&'!0031GB' UESCAPE '!'"#))
        #expect(v.requested == "1GB")
        #expect(free.check(sql: #"SET work_mem = U&'!0032MB' UESCAPE '!'"#) == nil)
        #expect(free.check(sql: #"SET U&"search!005fpath" UESCAPE '!' = 'x'"#) == nil)
    }

    @Test func badUESCAPE_isRefusedNotGuessed() throws {
        // Postgres: syntax error; the name could be anything, so it is not let through.
        let v = try #require(free.check(sql: #"SET U&"work!005fmem" UESCAPE 'a' = '1GB'"#))
        #expect(v.reason == .unnamedParameter)
    }

    // MARK: Old names

    @Test(arguments: [
        "SET sort_mem = '1GB'", "SET SORT_MEM TO '1GB'", #"SET "Sort_Mem" = '1GB'"#, "SET LOCAL sort_mem = '1GB'",
        "SELECT set_config('sort_mem', '1GB', false)", "ALTER FUNCTION f() SET sort_mem = '1GB'",
        "CREATE PROCEDURE p() SET sort_mem TO '1GB' LANGUAGE sql AS 'select 1'",
        #"SET U&"sort!005fmem" UESCAPE '!' = '1GB'"#,
    ])
    func sortMem_isWorkMem(sql: String) throws {
        let v = try #require(free.check(sql: sql))
        #expect(v.parameter == .workMem)
        #expect(v.reason == .aboveLimit)
    }

    @Test func sortMem_withinTheTier_passes_andPooledResetIsRefused() {
        #expect(free.check(sql: "SET sort_mem = '1MB'") == nil)
        let pooled = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]),
                                   matrix: .builtIn, pooled: true)
        #expect(pooled.check(sql: "RESET sort_mem")?.reason == .sessionChangeWhilePooled)
        #expect(pooled.check(sql: "SET sort_mem = '1MB'")?.reason == .sessionChangeWhilePooled)
        #expect(pooled.check(sql: "SET LOCAL sort_mem = '1MB'") == nil)
    }

    // MARK: Encodings

    /// LATIN1: é is one byte, 0xE9, not UTF-8. The text used to pass unread.
    @Test func latin1Text_isJudged() {
        let text = Array("SET work_mem = '1GB'; SELECT 'caf".utf8) + [0xE9, 0x27]
        #expect(free.check(query: text[...])?.parameter == .workMem)
        let harmless = Array("SET application_name = 'caf".utf8) + [0xE9, 0x27]
        #expect(free.check(query: harmless[...]) == nil)
        #expect(free.check(query: (Array("SET work_mem = '".utf8) + [0xE9, 0x27])[...])?.reason == .unreadableValue)
    }

    /// Valid UTF-8 ("ā" is C4 81) that SJIS splits differently (81 5C is one character), so
    /// the backslash escaping the quote disappears and the SET is a statement of its own.
    @Test func sjisReading_findsTheSetThatUTF8HidesInAString() throws {
        let text = Array("SELECT E'".utf8) + [0xC4, 0x81] + Array(#"\'; SET work_mem = '1GB'; -- '"#.utf8)
        #expect(SQLLexer.statements(in: text).count == 1)
        #expect(free.check(query: text[...])?.parameter == .workMem)
        let parse = RawParse(statementName: [], query: text[...], parameterTypes: [])
        guard case .refuse(let v) = free.check(parse: parse) else {
            Issue.record("Parse not refused")
            return
        }
        #expect(v.parameter == .workMem)
    }

    /// BIG5 (also GBK, UHC): A5 5C is one character.
    @Test func big5Reading_findsTheSetToo() {
        let text = Array("SELECT E'".utf8) + [0xA5] + Array(#"\'; SET statement_timeout = 0; -- '"#.utf8)
        #expect(free.check(query: text[...])?.parameter == .statementTimeout)
    }

    @Test func refusalOfNonASCIIText_isASCIIOnly() throws {
        let v = try #require(free.check(query: (Array("SET work_mem = '1GB".utf8) + [0xE9, 0x27])[...]))
        #expect(v.requested == "'1GB?'")
        #expect(free.refusalStatement(for: v).utf8.allSatisfy { $0 < 0x80 })
    }
}
