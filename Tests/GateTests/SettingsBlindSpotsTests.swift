import Gate
import Testing

/// Which SQL the guard cannot judge from its text, so the proxy checks the settings after it.
struct SettingsBlindSpotsTests {
    @Test(arguments: [
        "DO $$ BEGIN PERFORM set_config('work_mem', '1GB', false); END $$",
        "do $$ begin execute 'SE' || 'T statement_timeout = 0'; end $$",
        "CALL raise_my_limits()",
        "EXECUTE prepared_thing",
        "CREATE OR REPLACE FUNCTION f() RETURNS void LANGUAGE sql AS 'select 1'",
        "ALTER FUNCTION f() SET work_mem = '1GB'",
        "ALTER PROCEDURE p() RESET ALL",
        "select set_config($1, $2, false)",
        "select 1; DO $$ begin null; end $$",
        "/* hidden */ do $$ begin null; end $$",
    ])
    func codeTheTextDoesNotShow_isFlagged(sql: String) {
        #expect(SettingsBlindSpots.mayChangeSettings(sql: sql), "\(sql)")
    }

    @Test(arguments: [
        "SELECT 1",
        "select double_value, document, random() from t",
        "SELECT 'do $$ call execute $$'",
        "INSERT INTO pgbench_history VALUES (1, 2, 3, 4, now())",
        "SET work_mem = '2MB'",
        "BEGIN",
    ])
    func ordinarySQL_isNot(sql: String) {
        #expect(!SettingsBlindSpots.mayChangeSettings(sql: sql), "\(sql)")
    }
}

/// Text in another client_encoding is read as the server may read it, not skipped.
struct SettingsBlindSpotsEncodingTests {
    @Test func aDOBlockThatUTF8ReadsInsideAString_isFlaggedUnderSJIS() {
        // "ā" is C4 81 in UTF-8; in SJIS 81 5C is one character and the backslash is gone.
        let text = Array("SELECT E'".utf8) + [0xC4, 0x81]
            + Array(#"\'; DO $$ BEGIN PERFORM set_config('work_mem', '1GB', false); END $$; -- '"#.utf8)
        #expect(!SettingsBlindSpots.mayChangeSettings(sql: String(decoding: text, as: UTF8.self).replacing("ā", with: "a")))
        #expect(SettingsBlindSpots.mayChangeSettings(text: text[...]))
    }

    @Test func latin1TextWithoutBlindSpots_isNotFlagged() {
        #expect(!SettingsBlindSpots.mayChangeSettings(text: (Array("SELECT 'caf".utf8) + [0xE9, 0x27])[...]))
    }
}
