import PostgresWire
import Testing
import TierModel

@Suite struct SessionSettingsTests {
    @Test func free_injectsTheMatrixValues_inOrder_thenTheResourceSettings() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.free])
        #expect(s.settings.map(\.name) == ["statement_timeout", "work_mem", "temp_buffers",
                                           "max_parallel_workers_per_gather", "hash_mem_multiplier",
                                           "maintenance_work_mem", "max_parallel_maintenance_workers",
                                           "temp_file_limit", "idle_in_transaction_session_timeout"])
        #expect(s.settings.map(\.value) == ["10s", "4MB", "8MB", "2", "1", "32MB", "1", "1GB", "1min"])
        #expect(s.settings.prefix(4).map(\.sql) == ["SET statement_timeout = '10s'", "SET work_mem = '4MB'",
                                                     "SET temp_buffers = '8MB'", "SET max_parallel_workers_per_gather = '2'"])
        #expect(s.settings.last?.sql == "SET idle_in_transaction_session_timeout = '1min'")
    }

    @Test func starter_hashMemMultiplier_isAReal() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.starter])
        #expect(s[.hashMemMultiplier]?.value == "1.5")
        #expect(s[.hashMemMultiplier]?.sql == "SET hash_mem_multiplier = '1.5'")
        #expect(s.settings.map(\.value) == ["30s", "16MB", "16MB", "4", "1.5", "64MB", "2", "4GB", "3min"])
    }

    @Test func enterprise_injectsTheMatrixValues_asShowPrintsThem() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.enterprise])
        // The design writes '120s'; SHOW statement_timeout prints 120000 ms as 2min.
        #expect(s.settings.map(\.value) == ["2min", "128MB", "64MB", "16", "2", "256MB", "8", "32GB"])
    }

    @Test func proAndEnterprise_leaveIdleInTransactionTimeoutUnset() {
        for tier in [Tier.pro, .enterprise] {
            let s = SessionSettings(limits: TierMatrix.builtIn[tier])
            #expect(s[.idleInTransactionSessionTimeout] == nil)
            #expect(!s.settings.map(\.name).contains("idle_in_transaction_session_timeout"))
            #expect(s.parameter(named: "idle_in_transaction_session_timeout") == nil)
            #expect(s.limit(forGUC: "idle_in_transaction_session_timeout") == nil)
        }
        let free = SessionSettings(limits: TierMatrix.builtIn[.free])
        #expect(free.parameter(named: "Idle_In_Transaction_Session_Timeout") == .idleInTransactionSessionTimeout)
    }

    @Test func aTierWithoutATempFileLimit_doesNotInjectOne() {
        var limits = TierMatrix.builtIn[.free]
        limits.postgres.tempFileLimit = nil
        #expect(SessionSettings(limits: limits)[.tempFileLimit] == nil)
    }

    @Test func baseValues_areInEachGUCsOwnUnit() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.pro])
        #expect(s[.statementTimeout]?.baseValue == 60_000)  // ms
        #expect(s[.workMem]?.baseValue == 65_536)           // kB
        #expect(s[.tempBuffers]?.baseValue == 4096)         // 8 kB blocks
        #expect(s[.maxParallelWorkersPerGather]?.baseValue == 8)
        #expect(s[.hashMemMultiplier]?.baseValue == 2)
        #expect(s[.maintenanceWorkMem]?.baseValue == 131_072)  // kB
        #expect(s[.maxParallelMaintenanceWorkers]?.baseValue == 4)
        #expect(s[.tempFileLimit]?.baseValue == 16_777_216)    // kB
        #expect(SessionSettings(limits: TierMatrix.builtIn[.starter])[.idleInTransactionSessionTimeout]?.baseValue
                == 180_000)  // ms
    }

    @Test(arguments: [
        (10_000, "10s"), (1500, "1500ms"), (60_000, "1min"), (90_000, "90s"), (3_600_000, "1h"),
        (86_400_000, "1d"), (2000, "2s"), (1, "1ms"), (0, "0"),
    ])
    func time_rendersLargestExactUnit(milliseconds: Int, expected: String) {
        #expect(PostgresUnits.time(milliseconds: milliseconds) == expected)
    }

    @Test(arguments: [
        (4_194_304, "4MB"), (1_073_741_824, "1GB"), (8192, "8kB"), (1024, "1kB"), (1_049_600, "1025kB"),
        (1 << 40, "1TB"), (3 << 29, "1536MB"), (16_777_216, "16MB"),
    ])
    func memory_rendersLargestExactUnit(bytes: Int, expected: String) {
        #expect(PostgresUnits.memory(bytes: bytes) == expected)
    }

    @Test func tempBuffers_rendersBlocksAsBytes() {
        #expect(SessionSettings.Parameter.tempBuffers.render(100) == "800kB")
        #expect(SessionSettings.Parameter.tempBuffers.render(1024) == "8MB")
        #expect(SessionSettings.Parameter.workMem.render(65_536) == "64MB")
    }

    @Test func gucNames_areCaseInsensitive_likePostgres() {
        #expect(SessionSettings.Parameter(gucName: "Work_Mem") == .workMem)
        #expect(SessionSettings.Parameter(gucName: "STATEMENT_TIMEOUT") == .statementTimeout)
        #expect(SessionSettings.Parameter(gucName: "Maintenance_Work_Mem") == .maintenanceWorkMem)
        #expect(SessionSettings.Parameter(gucName: "sort_mem") == .workMem, "an old name is its current one")
        // Only ASCII letters fold, as in guc_name_compare: a Kelvin sign is not a k.
        #expect(SessionSettings.Parameter(gucName: "wor\u{212A}_mem") == nil)
        let s = SessionSettings(limits: TierMatrix.builtIn[.free])
        #expect(s.limit(forGUC: "WORK_MEM") == .init(parameter: .workMem, maximum: 4096))
        #expect(s.limit(forGUC: "search_path") == nil)
    }

    @Test func oldGUCNames_areTheirCurrentOnes_likePostgresFindOption() {
        #expect(SessionSettings.Parameter(gucName: "sort_mem") == .workMem)
        #expect(SessionSettings.Parameter(gucName: "SORT_MEM") == .workMem)
        #expect(SessionSettings.Parameter(gucName: "vacuum_mem") == SessionSettings.Parameter(gucName: "maintenance_work_mem"))
        #expect(GUCName.oldNames["vacuum_mem"] == "maintenance_work_mem")
        #expect(SessionSettings(limits: TierMatrix.builtIn[.free]).limit(forGUC: "sort_mem") == .init(parameter: .workMem, maximum: 4096))
    }

    @Test func gucNames_foldASCIILettersOnly() {
        // A Kelvin sign is no `k` to Postgres (`guc_name_compare`).
        #expect(SessionSettings.Parameter(gucName: "max_parallel_wor\u{212A}ers_per_gather") == nil)
    }
}

@Suite struct ClientValueParsingTests {
    typealias P = SessionSettings.Parameter

    @Test(arguments: [
        ("'64MB'", 65_536), ("64MB", 65_536), ("65536", 65_536), ("'65536'", 65_536), ("\"64MB\"", 65_536),
        ("'64 MB'", 65_536), ("' 64MB '", 65_536), ("1GB", 1_048_576), ("4096kB", 4096), ("1048576B", 1024),
        ("1TB", 1_073_741_824), ("0.5MB", 512), (".5MB", 512), ("1.5GB", 1_572_864), ("0x100", 256),
        ("0100", 64), ("+64", 64), ("1e3", 1000), ("1e3kB", 1000),
    ])
    func workMem_parsesLikePostgres(text: String, kilobytes: Int) {
        #expect(P.workMem.parse(clientValue: text) == Double(kilobytes))
    }

    @Test(arguments: [
        "'64mb'", "'64 Mb'", "64 MBs", "64MB x", "abc", "", "''", "'-.5MB'", "' .5MB'", "08", "1KB",
        "'1.5e'", "NaN", "inf", "64 M B",
        "32kB",          // below work_mem's 64kB minimum
        "-1",            // below the minimum
        "3000000000",    // beyond int
    ])
    func workMem_refusesWhatPostgresRefuses(text: String) {
        #expect(P.workMem.parse(clientValue: text) == nil)
    }

    @Test(arguments: [
        ("'10s'", 10_000), ("10000", 10_000), ("'1min'", 60_000), ("'1.5min'", 90_000), ("'2h'", 7_200_000),
        ("'1d'", 86_400_000), ("'500ms'", 500), ("'1500us'", 2), ("0", 0), ("'0'", 0), ("'0.5ms'", 0),
        ("'100us'", 0), ("'10 s'", 10_000), ("1.5", 2), ("2.5", 2),
    ])
    func statementTimeout_parsesLikePostgres(text: String, milliseconds: Int) {
        #expect(P.statementTimeout.parse(clientValue: text) == Double(milliseconds))
    }

    @Test(arguments: ["'10S'", "'10sec'", "'1m'", "'-1'", "'10 seconds'", "'5 minutes'"])
    func statementTimeout_refusesUnknownUnitsAndNegatives(text: String) {
        #expect(P.statementTimeout.parse(clientValue: text) == nil)
    }

    @Test func tempBuffers_plainNumber_isIn8kBBlocks() {
        #expect(P.tempBuffers.parse(clientValue: "1024") == 1024)      // 8MB
        #expect(P.tempBuffers.parse(clientValue: "'8MB'") == 1024)
        #expect(P.tempBuffers.parse(clientValue: "'800kB'") == 100)
        #expect(P.tempBuffers.parse(clientValue: "'804kB'") == 100)    // 100.5 blocks: half to even
        #expect(P.tempBuffers.parse(clientValue: "'812kB'") == 102)    // 101.5 blocks: half to even
        #expect(P.tempBuffers.parse(clientValue: "99") == nil)          // below 100 blocks
    }

    @Test func parallelWorkers_acceptsNoUnit() {
        #expect(P.maxParallelWorkersPerGather.parse(clientValue: "4") == 4)
        #expect(P.maxParallelWorkersPerGather.parse(clientValue: "'0'") == 0)
        #expect(P.maxParallelWorkersPerGather.parse(clientValue: "4kB") == nil)
        #expect(P.maxParallelWorkersPerGather.parse(clientValue: "1025") == nil)
    }
}

extension ClientValueParsingTests {
    @Test(arguments: [
        ("1.5", 1.5), ("'1.5'", 1.5), ("2", 2), ("'2.0'", 2), ("' 3 '", 3), ("1e1", 10), ("010", 10),
        ("1000", 1000), (".5e1", 5),
    ])
    func hashMemMultiplier_parsesLikeParseReal(text: String, value: Double) {
        // strtod, not strtol: "010" is ten, not octal.
        #expect(P.hashMemMultiplier.parse(clientValue: text) == value)
    }

    @Test(arguments: ["0.5", "1000.5", "'2x'", "'2 kB'", "NaN", "inf", "0x10", "''", "abc", "-2"])
    func hashMemMultiplier_refusesWhatPostgresRefusesOrTierGateCannotRead(text: String) {
        #expect(P.hashMemMultiplier.parse(clientValue: text) == nil)
    }

    @Test func maintenanceWorkMem_isInKilobytes_atLeast1MB() {
        #expect(P.maintenanceWorkMem.parse(clientValue: "'1GB'") == 1_048_576)
        #expect(P.maintenanceWorkMem.parse(clientValue: "2048") == 2048)
        #expect(P.maintenanceWorkMem.parse(clientValue: "'512kB'") == nil)
    }

    @Test func tempFileLimit_minusOneIsUnlimited_belowIsRefused() {
        #expect(P.tempFileLimit.parse(clientValue: "-1") == -1)
        #expect(P.tempFileLimit.parse(clientValue: "'1GB'") == 1_048_576)
        #expect(P.tempFileLimit.parse(clientValue: "0") == 0)
        #expect(P.tempFileLimit.parse(clientValue: "-2") == nil)
        #expect(P.tempFileLimit.render(-1) == "-1")
    }

    @Test func idleInTransactionTimeout_isInMilliseconds() {
        #expect(P.idleInTransactionSessionTimeout.parse(clientValue: "'1min'") == 60_000)
        #expect(P.idleInTransactionSessionTimeout.parse(clientValue: "0") == 0)
        #expect(P.idleInTransactionSessionTimeout.parse(clientValue: "'-1'") == nil)
    }

    @Test func maintenanceWorkers_acceptNoUnit() {
        #expect(P.maxParallelMaintenanceWorkers.parse(clientValue: "3") == 3)
        #expect(P.maxParallelMaintenanceWorkers.parse(clientValue: "1.5") == 2)  // parse_int rounds
        #expect(P.maxParallelMaintenanceWorkers.parse(clientValue: "'2MB'") == nil)
    }
}

@Suite struct ClientValueLimitTests {
    typealias Limit = SessionSettings.Limit
    let free = SessionSettings(limits: TierMatrix.builtIn[.free])

    @Test func workMem_atOrBelowTheTier_isAllowed() {
        let limit = free[.workMem]!.limit
        #expect(limit.allows(clientValue: "'4MB'") == true)
        #expect(limit.allows(clientValue: "4096") == true)
        #expect(limit.allows(clientValue: "'1MB'") == true)
    }

    @Test func workMem_aboveTheTier_isNotAllowed() {
        let limit = free[.workMem]!.limit
        #expect(limit.allows(clientValue: "'64MB'") == false)
        #expect(limit.allows(clientValue: "'65536'") == false)
        #expect(limit.allows(clientValue: "'4097kB'") == false)
    }

    @Test func statementTimeout_zero_disablesTheTimeout_soItIsAboveAnyLimit() {
        let limit = SessionSettings(limits: TierMatrix.builtIn[.enterprise])[.statementTimeout]!.limit
        #expect(limit.allows(clientValue: "0") == false)
        #expect(limit.allows(clientValue: "'0.4ms'") == false)  // rounds to 0
        #expect(limit.allows(clientValue: "'2min'") == true)
        #expect(limit.allows(clientValue: "'121s'") == false)
    }

    @Test func statementTimeout_lowerThanTheTier_isAllowed() {
        let limit = free[.statementTimeout]!.limit
        #expect(limit.allows(clientValue: "'1min'") == false)
        #expect(limit.allows(clientValue: "'5s'") == true)
        #expect(limit.allows(clientValue: "10000") == true)
        #expect(limit.allows(clientValue: "10001") == false)
    }

    @Test func hashMemMultiplier_aboveTheTier_evenByAFraction_isNotAllowed() {
        let limit = SessionSettings(limits: TierMatrix.builtIn[.starter])[.hashMemMultiplier]!.limit
        #expect(limit.allows(clientValue: "1.5") == true)
        #expect(limit.allows(clientValue: "1.25") == true)
        #expect(limit.allows(clientValue: "'1.5000001'") == false)
        #expect(limit.allows(clientValue: "2") == false)
    }

    @Test func tempFileLimit_unlimited_isAboveAnyLimit_zeroIsBelow() {
        let limit = free[.tempFileLimit]!.limit
        #expect(limit.allows(clientValue: "-1") == false)
        #expect(limit.allows(clientValue: "'2GB'") == false)
        #expect(limit.allows(clientValue: "'1GB'") == true)
        #expect(limit.allows(clientValue: "0") == true)  // no temporary files at all
        #expect(Limit(parameter: .tempFileLimit, maximum: -1).allows(value: -1))
        #expect(Limit(parameter: .tempFileLimit, maximum: -1).allows(value: 100))
    }

    @Test func idleInTransactionTimeout_zero_disablesIt_soItIsAboveTheLimit() {
        let limit = free[.idleInTransactionSessionTimeout]!.limit
        #expect(limit.allows(clientValue: "0") == false)
        #expect(limit.allows(clientValue: "'2min'") == false)
        #expect(limit.allows(clientValue: "'30s'") == true)
    }

    @Test func maintenanceWorkMem_andWorkers_largerIsRaising() {
        #expect(free[.maintenanceWorkMem]!.limit.allows(clientValue: "'1GB'") == false)
        #expect(free[.maintenanceWorkMem]!.limit.allows(clientValue: "'16MB'") == true)
        #expect(free[.maxParallelMaintenanceWorkers]!.limit.allows(clientValue: "2") == false)
        #expect(free[.maxParallelMaintenanceWorkers]!.limit.allows(clientValue: "0") == true)
    }

    @Test func unparseableValue_isNil_soTheCallerRefuses() {
        #expect(free[.workMem]!.limit.allows(clientValue: "'lots'") == nil)
        #expect(free[.statementTimeout]!.limit.allows(clientValue: "'-5'") == nil)
    }
}
