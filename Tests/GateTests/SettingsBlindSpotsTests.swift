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
