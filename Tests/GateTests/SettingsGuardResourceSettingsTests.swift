@testable import Gate
import Testing
import TierModel

/// The resource settings beyond the matrix file's four (hash_mem_multiplier, maintenance_work_mem,
/// max_parallel_maintenance_workers, temp_file_limit, idle_in_transaction_session_timeout):
/// refused when raised exactly like the four, each in its own unit and order.
@Suite struct SettingsGuardResourceSettingsTests {
    let free = settingsGuard(.free)

    @Test(arguments: [
        ("SET maintenance_work_mem = '1GB'", SessionSettings.Parameter.maintenanceWorkMem, "32MB"),
        ("SET maintenance_work_mem = 32769", .maintenanceWorkMem, "32MB"),
        ("SELECT set_config('maintenance_work_mem', '64MB', false)", .maintenanceWorkMem, "32MB"),
        ("SET hash_mem_multiplier = 1.5", .hashMemMultiplier, "1"),
        ("SET hash_mem_multiplier TO '1.0001'", .hashMemMultiplier, "1"),
        ("SET max_parallel_maintenance_workers = 2", .maxParallelMaintenanceWorkers, "1"),
        ("SET temp_file_limit = -1", .tempFileLimit, "1GB"),
        ("SET temp_file_limit = '2GB'", .tempFileLimit, "1GB"),
        ("SET idle_in_transaction_session_timeout = 0", .idleInTransactionSessionTimeout, "1min"),
        ("SET idle_in_transaction_session_timeout = '61s'", .idleInTransactionSessionTimeout, "1min"),
        ("CREATE FUNCTION f() RETURNS int SET maintenance_work_mem = '1GB' LANGUAGE sql AS 'select 1'",
         .maintenanceWorkMem, "32MB"),
        (#"SET "Temp_File_Limit" = -1"#, .tempFileLimit, "1GB"),
    ])
    func raisingAResourceSetting_isRefused(sql: String, parameter: SessionSettings.Parameter, maximum: String) throws {
        let v = try #require(free.check(sql: sql), "\(sql)")
        #expect(v.parameter == parameter)
        #expect(v.maximum == maximum)
        #expect(v.sqlState == .insufficientPrivilege)
    }

    @Test(arguments: [
        "SET maintenance_work_mem = '16MB'", "SET hash_mem_multiplier = 1", "SET hash_mem_multiplier = '1.0'",
        "SET max_parallel_maintenance_workers = 0", "SET temp_file_limit = '512MB'", "SET temp_file_limit = 0",
        "SET idle_in_transaction_session_timeout = '30s'", "SET temp_file_limit TO DEFAULT",
        "RESET idle_in_transaction_session_timeout",
    ])
    func loweringOrResetting_passes(sql: String) {
        #expect(free.check(sql: sql) == nil, "\(sql)")
    }

    @Test(arguments: ["SET hash_mem_multiplier = '0x1'", "SET hash_mem_multiplier = 'inf'", "SET temp_file_limit = 'lots'"])
    func unreadableValues_areRefused(sql: String) throws {
        #expect(try #require(free.check(sql: sql)).reason == .unreadableValue)
    }

    @Test func idleInTransactionZero_readsAsNoTimeout_andPointsToTheNextTier() throws {
        let v = try #require(free.check(sql: "SET idle_in_transaction_session_timeout = 0"))
        #expect(v.message == #"permission denied to set parameter "idle_in_transaction_session_timeout" to '0' (no timeout): the FREE tier allows at most 1min"#)
        #expect(v.hint == "Upgrade to STARTER for up to 3min idle_in_transaction_session_timeout")
        #expect(settingsGuard(.starter).check(sql: "SET idle_in_transaction_session_timeout = 0")?.hint
                == "Upgrade to PRO for no idle_in_transaction_session_timeout limit")
    }

    @Test func hints_nameTheCheapestTierThatRaisesTheSetting() {
        #expect(free.check(sql: "SET maintenance_work_mem = '1GB'")?.hint
                == "Upgrade to STARTER for up to 64MB maintenance_work_mem")
        #expect(free.check(sql: "SET hash_mem_multiplier = 2")?.hint == "Upgrade to STARTER for up to 1.5 hash_mem_multiplier")
        #expect(settingsGuard(.pro).check(sql: "SET hash_mem_multiplier = 3")?.hint
                == "Use at most 2 hash_mem_multiplier: no tier offers more")
        #expect(settingsGuard(.enterprise).check(sql: "SET temp_file_limit = -1")?.hint
                == "Use at most 32GB temp_file_limit: that is the ENTERPRISE limit")
        #expect(free.check(sql: "SET max_parallel_maintenance_workers = 8")?.detail
                == #"{"error":"setting_limit_exceeded","tier":"FREE","parameter":"max_parallel_maintenance_workers","requested":"8","max":"1","suggestion":"Upgrade to STARTER for up to 2 max_parallel_maintenance_workers"}"#)
    }

    @Test func aTierThatLeavesASettingUnset_doesNotLimitIt() {
        for tier in [Tier.pro, .enterprise] {
            let g = settingsGuard(tier)
            for sql in ["SET idle_in_transaction_session_timeout = 0", "SET idle_in_transaction_session_timeout = '1h'",
                        "SELECT set_config('idle_in_transaction_session_timeout', '0', false)",
                        "SET idle_in_transaction_session_timeout = 'lots'"] {
                #expect(g.check(sql: sql) == nil, "\(tier): \(sql)")
            }
        }
        var matrix = TierMatrix.builtIn
        matrix[.free].postgres.tempFileLimit = nil
        #expect(settingsGuard(.free, matrix: matrix).check(sql: "SET temp_file_limit = -1") == nil)
    }

    @Test func pooled_sessionChangeOfAResourceSetting_isRefused_butNotOfOneTheTierLeavesUnset() throws {
        let pooledFree = SettingsGuard(tier: .free, settings: SessionSettings(limits: TierMatrix.builtIn[.free]),
                                       matrix: .builtIn, pooled: true)
        #expect(try #require(pooledFree.check(sql: "RESET maintenance_work_mem")).reason == .sessionChangeWhilePooled)
        #expect(try #require(pooledFree.check(sql: "SET temp_file_limit = '1MB'")).reason == .sessionChangeWhilePooled)
        #expect(pooledFree.check(sql: "SET LOCAL temp_file_limit = '1MB'") == nil)
        let pooledPro = SettingsGuard(tier: .pro, settings: SessionSettings(limits: TierMatrix.builtIn[.pro]),
                                      matrix: .builtIn, pooled: true)
        #expect(pooledPro.check(sql: "SET idle_in_transaction_session_timeout = '10s'") == nil)
        #expect(pooledPro.check(sql: "RESET idle_in_transaction_session_timeout") == nil)
        #expect(pooledPro.check(sql: "RESET hash_mem_multiplier")?.reason == .sessionChangeWhilePooled)
    }
}
