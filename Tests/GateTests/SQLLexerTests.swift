@testable import Gate
import Testing

@Suite struct SQLLexerTests {
    func kinds(_ sql: String, scs: Bool = true) -> [SQLToken.Kind] {
        SQLLexer.tokens(in: sql, standardConformingStrings: scs).map(\.kind)
    }

    func values(_ sql: String, scs: Bool = true) -> [String?] {
        SQLLexer.tokens(in: sql, standardConformingStrings: scs).map(\.value)
    }

    @Test func unquotedWords_areFoldedToASCIILowercase() {
        #expect(values("SET Work_Mem") == ["set", "work_mem"])
        #expect(values(#""Work_Mem""#) == ["Work_Mem"])
    }

    @Test func standardStrings_doubleQuotesOnly_backslashIsData() {
        #expect(values(#"'it''s' 'a\'"#) == ["it's", #"a\"#])
    }

    @Test func withStandardConformingStringsOff_backslashEscapes() {
        #expect(values(#"'a\'b'"#, scs: false) == ["a'b"])
    }

    @Test func escapeStrings_decodeBackslashEscapes() {
        #expect(values(#"E'\x31\107B' e'\u0031\n\t\q'"#) == ["1GB", "1\n\tq"])
        #expect(values(#"E'\0'"#) == [nil])
    }

    @Test func unicodeStrings_decodeDefaultEscapes() {
        #expect(values(#"U&'\0031GB' U&"work\005fmem""#) == ["1GB", "work_mem"])
        #expect(values(#"U&'a\\b' U&'\+01F600' U&'\D83D\DE00'"#) == [#"a\b"#, "😀", "😀"])
    }

    @Test func unicodeStrings_withUESCAPE_decodeWithThatCharacter_asOneToken() {
        #expect(values(#"U&'!0031GB' UESCAPE '!'"#) == ["1GB"])
        #expect(values(#"SET U&"statement!005ftimeout" UESCAPE '!' TO 0"#) == ["set", "statement_timeout", "to", "0"])
        #expect(values("U&'!0031GB' /* c */ uescape -- c\n '!'") == ["1GB"])
        #expect(values(#"U&'a!!b\0031' UESCAPE '!'"#) == [#"a!b\0031"#])
        #expect(values(#"U&'#0031' UESCAPE E'#' U&'#0031' UESCAPE $$#$$"#) == ["1", "1"])
        #expect(kinds(#"U&"x" UESCAPE '!' = 1"#) == [.quotedIdentifier, .symbol, .number])
    }

    /// Postgres refuses these (a syntax error): the value is unknown, so the guard refuses.
    @Test(arguments: [
        #"U&'!0031' UESCAPE 'a'"#, #"U&'!0031' UESCAPE '+'"#, #"U&'!0031' UESCAPE ' '"#, #"U&'!0031' UESCAPE '!!'"#,
        #"U&'!0031' UESCAPE U&'!'"#, #"U&'!0031' UESCAPE N'!'"#, #"U&'!0031' UESCAPE x"#, #"U&'!0031' UESCAPE"#,
        #"U&'\0000'"#, #"U&'\D83D'"#, #"U&'\DE00'"#, #"U&'\D83Dx'"#, #"U&'\+110000'"#, #"U&'\00'"#, #"U&'\x'"#,
    ])
    func unicodeEscapes_thatPostgresRefuses_haveNoValue(sql: String) {
        #expect(values(sql).first == .some(nil))
    }

    /// Found by the settings-guard fuzz target: the token before any `uescape` lost its
    /// value, so `set_config(uescape, ...)` was no longer a call.
    @Test func uescapeAfterAnythingButAUnicodeConstant_isAnOrdinaryName() {
        #expect(values("f(uescape, 'a' uescape) x uescape") == ["f", "(", "uescape", ",", "a", "uescape", ")", "x", "uescape"])
    }

    @Test func parameters_carryTheirNumber() {
        #expect(values("$1 $10 $007") == ["1", "10", "7"])
    }

    @Test func dollarQuotes_areOpaqueUntilTheSameTag() {
        #expect(kinds("$a$ $$ ; $b$ $a$ ;") == [.dollarQuoted, .symbol])
        #expect(values("$$x$$") == ["x"])
        #expect(kinds("$1 $ a$b$c") == [.parameter, .symbol, .word])
        #expect(values("$x$ never closed; SET") == [nil])
    }

    @Test func comments_lineAndNestedBlock_areSkipped() {
        #expect(values("a -- b ; c\r d /* e /* f */ g */ h") == ["a", "d", "h"])
        #expect(values("=--x\n1") == ["=", "1"])
    }

    @Test func numbers_integersAreDecimalAsTheParserPassesThem() {
        #expect(values("010 0x10 0o10 0b10 1_000 1.5 .5 1e3 1.5e-3") ==
                ["10", "16", "8", "2", "1000", "1.5", ".5", "1e3", "1.5e-3"])
        #expect(values("1GB") == ["1", "gb"])
    }

    @Test func multiCharacterSymbols() {
        #expect(values("a::text x => 1 y := 2") == ["a", "::", "text", "x", "=>", "1", "y", ":=", "2"])
    }

    @Test func statements_splitAtSemicolonsOutsideQuotesAndComments() {
        let statements = SQLLexer.statements(in: "SELECT ';'; SELECT $$;$$ -- ;\n; ; SELECT \";\"")
        #expect(statements.count == 3)
        #expect(statements.map(\.count) == [2, 2, 2])
    }

    @Test func unterminatedString_hasNoValue() {
        #expect(values("'abc") == [nil])
        #expect(kinds("B'101' X'1f'") == [.bitString, .bitString])
    }
}
