@testable import Gate
import Testing
import TierModel

/// Through PgBouncer's transaction pool the tier's values are session values set by
/// the pool's connect_query, so changes that outlive the transaction are refused.
@Suite struct SettingsGuardPooledTests {
    let pooled = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]),
                               matrix: .builtIn, pooled: true)

    @Test(arguments: [
        "SET work_mem = '1MB'", "SET SESSION work_mem = '1MB'", "set statement_timeout to '5s'",
        "RESET work_mem", "RESET statement_timeout", "RESET ALL", "DISCARD ALL",
        "SET work_mem TO DEFAULT", "SET LOCAL work_mem TO DEFAULT",
        "SELECT set_config('work_mem', '1MB', false)", "SELECT set_config('work_mem', '1MB', is_local => false)",
        "SELECT set_config('work_mem', NULL, true)", "SELECT set_config('work_mem', '1MB', $1)",
        "BEGIN; SET work_mem = '1MB'; COMMIT",
    ])
    func sessionLevelChangeOfATierSetting_isRefused(sql: String) throws {
        let v = try #require(pooled.check(sql: sql), "\(sql)")
        #expect(v.reason == .sessionChangeWhilePooled)
        #expect(v.sqlState == .insufficientPrivilege)
        #expect(v.hint.contains("SET LOCAL"))
    }

    @Test(arguments: [
        "SET LOCAL work_mem = '1MB'", "SELECT set_config('work_mem', '1MB', true)",
        "SET search_path = public", "RESET search_path", "DISCARD PLANS", "SELECT 1",
        "SET LOCAL statement_timeout = '5s'",
    ])
    func transactionScopedOrUnrelated_passes(sql: String) {
        #expect(pooled.check(sql: sql) == nil, "\(sql)")
    }

    @Test func setLocalAboveTheTier_isStillRefusedAsAboveLimit() throws {
        let v = try #require(pooled.check(sql: "SET LOCAL work_mem = '1GB'"))
        #expect(v.reason == .aboveLimit)
    }

    @Test func withoutPooling_resetAndLowerSessionSet_pass() {
        let direct = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]), matrix: .builtIn)
        for sql in ["RESET ALL", "DISCARD ALL", "SET work_mem = '1MB'", "SET work_mem TO DEFAULT"] {
            #expect(direct.check(sql: sql) == nil, "\(sql)")
        }
    }

    @Test func message_namesTheParameterAndThePool() throws {
        let v = try #require(pooled.check(sql: "RESET work_mem"))
        #expect(v.message.contains("\"work_mem\""))
        #expect(v.message.contains("PgBouncer"))
        #expect(v.hint.contains("at most 4MB"))
        #expect(v.detail.contains("setting_session_change_pooled"))
    }
}
