import Testing
import TierModel

@Suite struct SessionSettingsTests {
    @Test func free_injectsSeed31Values_inSeedOrder() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.free])
        #expect(s.settings.map(\.name) == ["statement_timeout", "work_mem", "temp_buffers",
                                           "max_parallel_workers_per_gather"])
        #expect(s.settings.map(\.value) == ["10s", "4MB", "8MB", "2"])
        #expect(s.settings.map(\.sql) == ["SET statement_timeout = '10s'", "SET work_mem = '4MB'",
                                          "SET temp_buffers = '8MB'", "SET max_parallel_workers_per_gather = '2'"])
    }

    @Test func enterprise_injectsSeed31Values_asShowPrintsThem() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.enterprise])
        // Seed 3.1 writes '120s'; SHOW statement_timeout prints 120000 ms as 2min.
        #expect(s.settings.map(\.value) == ["2min", "128MB", "64MB", "16"])
    }

    @Test func baseValues_areInEachGUCsOwnUnit() {
        let s = SessionSettings(limits: TierMatrix.builtIn[.pro])
        #expect(s[.statementTimeout].baseValue == 60_000)  // ms
        #expect(s[.workMem].baseValue == 65_536)           // kB
        #expect(s[.tempBuffers].baseValue == 4096)         // 8 kB blocks
        #expect(s[.maxParallelWorkersPerGather].baseValue == 8)
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
        #expect(SessionSettings.Parameter(gucName: "maintenance_work_mem") == nil)
        let s = SessionSettings(limits: TierMatrix.builtIn[.free])
        #expect(s.limit(forGUC: "WORK_MEM") == .init(parameter: .workMem, maximum: 4096))
        #expect(s.limit(forGUC: "search_path") == nil)
    }

    @Test func oldGUCNames_areTheirCurrentOnes_likePostgresFindOption() {
        #expect(SessionSettings.Parameter(gucName: "sort_mem") == .workMem)
        #expect(SessionSettings.Parameter(gucName: "SORT_MEM") == .workMem)
        #expect(SessionSettings.Parameter(gucName: "vacuum_mem") == SessionSettings.Parameter(gucName: "maintenance_work_mem"))
        #expect(SessionSettings.Parameter.oldNames["vacuum_mem"] == "maintenance_work_mem")
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
        #expect(P.workMem.parse(clientValue: text) == kilobytes)
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
        #expect(P.statementTimeout.parse(clientValue: text) == milliseconds)
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

@Suite struct ClientValueLimitTests {
    let free = SessionSettings(limits: TierMatrix.builtIn[.free])

    @Test func workMem_atOrBelowTheTier_isAllowed() {
        let limit = free[.workMem].limit
        #expect(limit.allows(clientValue: "'4MB'") == true)
        #expect(limit.allows(clientValue: "4096") == true)
        #expect(limit.allows(clientValue: "'1MB'") == true)
    }

    @Test func workMem_aboveTheTier_isNotAllowed() {
        let limit = free[.workMem].limit
        #expect(limit.allows(clientValue: "'64MB'") == false)
        #expect(limit.allows(clientValue: "'65536'") == false)
        #expect(limit.allows(clientValue: "'4097kB'") == false)
    }

    @Test func statementTimeout_zero_disablesTheTimeout_soItIsAboveAnyLimit() {
        let limit = SessionSettings(limits: TierMatrix.builtIn[.enterprise])[.statementTimeout].limit
        #expect(limit.allows(clientValue: "0") == false)
        #expect(limit.allows(clientValue: "'0.4ms'") == false)  // rounds to 0
        #expect(limit.allows(clientValue: "'2min'") == true)
        #expect(limit.allows(clientValue: "'121s'") == false)
    }

    @Test func statementTimeout_lowerThanTheTier_isAllowed() {
        let limit = free[.statementTimeout].limit
        #expect(limit.allows(clientValue: "'1min'") == false)
        #expect(limit.allows(clientValue: "'5s'") == true)
        #expect(limit.allows(clientValue: "10000") == true)
        #expect(limit.allows(clientValue: "10001") == false)
    }

    @Test func unparseableValue_isNil_soTheCallerRefuses() {
        #expect(free[.workMem].limit.allows(clientValue: "'lots'") == nil)
        #expect(free[.statementTimeout].limit.allows(clientValue: "'-5'") == nil)
    }
}
