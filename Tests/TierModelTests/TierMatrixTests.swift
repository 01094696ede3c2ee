import Foundation
import Testing
@testable import TierModel

@Suite struct BuiltInMatrixTests {
    let m = TierMatrix.builtIn

    @Test func free_matchesAppendixA() {
        let l = m[.free]
        #expect(l.postgres.maxConnections == 5)
        #expect((l.postgres.poolMin, l.postgres.poolMax) == (2, 5))
        #expect(l.postgres.queryTimeout == 10_000)
        #expect(l.postgres.connectionTimeout == 5_000)
        #expect(l.postgres.statementMemory == 64 << 20)
        #expect(l.postgres.workMemory == 4 << 20)
        #expect(l.postgres.sharedBuffers == 128 << 20)
        #expect(l.postgres.maxParallelWorkers == 2)
        #expect(l.postgres.tempBuffers == 8 << 20)
        #expect(l.redis == .init(maxMemory: 64 << 20, maxKeys: 10_000, maxConnections: 5, keyTTLMin: 3_600_000))
        #expect(l.mongodb == .init(maxConnections: 5, maxQueryTime: 10_000, maxMemory: 128 << 20, maxDocsPerQuery: 100))
        #expect(l.compute == .init(cpuLimit: 0.25, memoryLimit: 512 << 20))
        #expect(l.lifecycle == .init(idleTimeout: 300_000, scaleToZero: true, coldStart: "2-5s",
                                     idleInTransactionTimeout: 60_000))
        #expect(l.priority == .low)
    }

    static let resourceSettings: [(Tier, Double, Int, Int, Int, Int?)] = [
        (.free, 1.0, 32 << 20, 1, 1 << 30, 60_000),
        (.starter, 1.5, 64 << 20, 2, 4 << 30, 180_000),
        (.pro, 2.0, 128 << 20, 4, 16 << 30, nil),
        (.enterprise, 2.0, 256 << 20, 8, 32 << 30, nil),
    ]

    /// The resource settings TierGate adds, per tier (see `TierMatrix.builtIn`'s reasons).
    @Test(arguments: resourceSettings)
    func resourceSettings_scaleWithTheTier(tier: Tier, hash: Double, maintenance: Int, workers: Int,
                                          tempFiles: Int, idleInTransaction: Int?) {
        let l = m[tier]
        #expect(l.postgres.hashMemoryMultiplier == hash)
        #expect(l.postgres.maintenanceWorkMemory == maintenance)
        #expect(l.postgres.maxParallelMaintenanceWorkers == workers)
        #expect(l.postgres.tempFileLimit == tempFiles)
        #expect(l.lifecycle.idleInTransactionTimeout == idleInTransaction)
        // The reasons, as arithmetic: hash tables and maintenance within half the statement
        // memory, half the gather workers, temp files 256 x work_mem.
        #expect(Double(l.postgres.workMemory) * hash <= Double(l.postgres.statementMemory / 2))
        #expect(maintenance == l.postgres.statementMemory / 2)
        #expect(workers == l.postgres.maxParallelWorkers / 2)
        #expect(tempFiles == 256 * l.postgres.workMemory)
        #expect(idleInTransaction == l.lifecycle.idleTimeout.map { $0 / 5 })
    }

    @Test func starter_matchesAppendixA() {
        let l = m[.starter]
        #expect(l.postgres.maxConnections == 10)
        #expect((l.postgres.poolMin, l.postgres.poolMax) == (5, 10))
        #expect(l.postgres.queryTimeout == 30_000)
        #expect(l.postgres.connectionTimeout == 10_000)
        #expect(l.postgres.workMemory == 16 << 20)
        #expect(l.postgres.maxParallelWorkers == 4)
        #expect(l.postgres.tempBuffers == 16 << 20)
        #expect(l.redis.maxKeys == 100_000)
        #expect(l.mongodb.maxDocsPerQuery == 1000)
        #expect(l.compute.cpuLimit == 0.5)
        #expect(l.lifecycle.idleTimeout == 900_000)
        #expect(l.priority == .medium)
    }

    @Test func pro_matchesAppendixA() {
        let l = m[.pro]
        #expect(l.postgres.maxConnections == 50)
        #expect((l.postgres.poolMin, l.postgres.poolMax) == (10, 50))
        #expect(l.postgres.queryTimeout == 60_000)
        #expect(l.postgres.connectionTimeout == 15_000)
        #expect(l.postgres.statementMemory == 256 << 20)
        #expect(l.postgres.workMemory == 64 << 20)
        #expect(l.postgres.sharedBuffers == 512 << 20)
        #expect(l.postgres.maxParallelWorkers == 8)
        #expect(l.postgres.tempBuffers == 32 << 20)
        #expect(l.redis.keyTTLMin == nil)
        #expect(l.mongodb.maxMemory == 2 << 30)
        #expect(l.compute == .init(cpuLimit: 2, memoryLimit: 4 << 30))
        #expect(l.lifecycle == .init(idleTimeout: nil, scaleToZero: false, coldStart: "N/A"))
        #expect(l.priority == .high)
    }

    @Test func enterprise_matchesAppendixA() {
        let l = m[.enterprise]
        #expect(l.postgres.maxConnections == 100)
        #expect((l.postgres.poolMin, l.postgres.poolMax) == (20, 100))
        #expect(l.postgres.queryTimeout == 120_000)
        #expect(l.postgres.connectionTimeout == 30_000)
        #expect(l.postgres.workMemory == 128 << 20)
        #expect(l.postgres.sharedBuffers == 1 << 30)
        #expect(l.postgres.maxParallelWorkers == 16)
        #expect(l.postgres.tempBuffers == 64 << 20)
        #expect(l.redis.maxMemory == 4 << 30)
        #expect(l.redis.maxKeys == 10_000_000)
        #expect(l.mongodb.maxMemory == 8 << 30)
        #expect(l.compute.memoryLimit == 8 << 30)
        #expect(l.lifecycle.idleTimeout == nil)
        #expect(l.priority == .critical)
    }

    @Test func appendixAFile_withoutTheAddedFields_getsTheBuiltInValuesPerTier() throws {
        // The design's matrix has none of tempBuffers, hashMemoryMultiplier, maintenanceWorkMemory,
        // maxParallelMaintenanceWorkers, tempFileLimit, idleInTransactionTimeout.
        #expect(!appendixAJSON.contains("hashMemoryMultiplier"))
        let matrix = try TierMatrix.load(json: Data(appendixAJSON.utf8), path: "appendix-a.json")
        #expect(matrix[.free].postgres.tempFileLimit == 1 << 30)
        #expect(matrix[.starter].lifecycle.idleInTransactionTimeout == 180_000)
        #expect(matrix[.pro].lifecycle.idleInTransactionTimeout == nil)
    }

    @Test func builtIn_equalsAppendixATranscribedAsAFile() throws {
        #expect(try TierMatrix.load(json: Data(appendixAJSON.utf8), path: "appendix-a.json") == .builtIn)
    }

    @Test func builtIn_overloadControl_rateIsTheCeilingPerSecond_reserveFollowsQueuePriority() {
        let expected: [(Tier, Double, Int, Int)] = [(.free, 5, 10, 30), (.starter, 10, 20, 20),
                                                    (.pro, 50, 100, 10), (.enterprise, 100, 200, 0)]
        for (tier, rate, burst, reserve) in expected {
            #expect(m[tier].postgres.connectRate == rate)
            #expect(m[tier].postgres.connectBurst == burst)
            #expect(m[tier].postgres.capacityReserve == reserve)
        }
    }

    @Test func builtIn_passesItsOwnValidation() throws {
        try TierMatrix.builtIn.validate(path: "<built-in>")
    }

    @Test func json_isAFileTheLoaderReadsBack() throws {
        let text = TierMatrix.builtIn.json
        #expect(text.hasPrefix(#"{"FREE":{"postgres":{"maxConnections":5,"poolMin":2,"#))
        #expect(text.contains(#""keyTTLMin":null"#))
        #expect(text.contains(#""tempBuffers":8388608,"hashMemoryMultiplier":1.0,"maintenanceWorkMemory":33554432,"maxParallelMaintenanceWorkers":1,"tempFileLimit":1073741824,"connectRate":5.0,"connectBurst":10,"capacityReserve":30}"#))
        #expect(text.contains(#""coldStart":"2-5s","idleInTransactionTimeout":60000}"#))
        #expect(text.contains(#""coldStart":"N/A","idleInTransactionTimeout":null}"#))
        #expect(try TierMatrix.load(json: Data(text.utf8), path: "x") == .builtIn)
    }
}

@Suite struct TierMatrixLoaderTests {
    let path = "/etc/tiergate/tiers.json"

    func loadError(_ data: Data) -> TierMatrixError? {
        do {
            _ = try TierMatrix.load(json: data, path: path)
            return nil
        } catch {
            return error
        }
    }

    func loadError(setting field: String, to value: JSONValue?) -> TierMatrixError? {
        loadError(appendixA(setting: field, to: value))
    }

    @Test func shrunkTimeouts_ofAFewSeconds_areValid() throws {
        var data = appendixA(setting: "FREE.postgres.queryTimeout", to: .integer(2000))
        var value = try JSONValue(parsing: data)
        value = value.setting(["FREE", "postgres", "connectionTimeout"], to: .integer(1500))
        value = value.setting(["FREE", "lifecycle", "idleTimeout"], to: .integer(3000))
        data = Data(value.serialized.utf8)
        let matrix = try TierMatrix.load(json: data, path: path)
        #expect(matrix[.free].postgres.queryTimeout == 2000)
        #expect(matrix[.free].postgres.connectionTimeout == 1500)
        #expect(matrix[.free].lifecycle.idleTimeout == 3000)
        #expect(matrix[.pro] == TierMatrix.builtIn[.pro])
    }

    @Test func tempBuffers_whenGiven_overridesTheDefault() throws {
        let matrix = try TierMatrix.load(json: appendixA(setting: "PRO.postgres.tempBuffers", to: .integer(1 << 20)),
                                         path: path)
        #expect(matrix[.pro].postgres.tempBuffers == 1 << 20)
        #expect(matrix[.starter].postgres.tempBuffers == 16 << 20)
    }

    @Test func resourceSettings_whenGiven_overrideTheBuiltIn() throws {
        var value = try JSONValue(parsing: appendixAJSON)
        value = value.setting(["FREE", "postgres", "hashMemoryMultiplier"], to: .double(1.25))
        value = value.setting(["FREE", "postgres", "maintenanceWorkMemory"], to: .integer(16 << 20))
        value = value.setting(["FREE", "postgres", "maxParallelMaintenanceWorkers"], to: .integer(0))
        value = value.setting(["FREE", "postgres", "tempFileLimit"], to: .integer(512 << 20))
        value = value.setting(["FREE", "lifecycle", "idleInTransactionTimeout"], to: .integer(5000))
        value = value.setting(["PRO", "lifecycle", "idleInTransactionTimeout"], to: .integer(600_000))
        let matrix = try TierMatrix.load(json: Data(value.serialized.utf8), path: path)
        #expect(matrix[.free].postgres.hashMemoryMultiplier == 1.25)
        #expect(matrix[.free].postgres.maintenanceWorkMemory == 16 << 20)
        #expect(matrix[.free].postgres.maxParallelMaintenanceWorkers == 0)
        #expect(matrix[.free].postgres.tempFileLimit == 512 << 20)
        #expect(matrix[.free].lifecycle.idleInTransactionTimeout == 5000)
        #expect(matrix[.pro].lifecycle.idleInTransactionTimeout == 600_000)
        #expect(matrix[.starter] == TierMatrix.builtIn[.starter])
    }

    @Test func overloadFields_absentGetTheBuiltIn_givenOverride_invalidAreRefused() throws {
        var value = try JSONValue(parsing: appendixAJSON)
        value = value.setting(["FREE", "postgres", "connectRate"], to: .double(0.5))
        value = value.setting(["FREE", "postgres", "connectBurst"], to: .integer(3))
        value = value.setting(["PRO", "postgres", "capacityReserve"], to: .integer(25))
        let matrix = try TierMatrix.load(json: Data(value.serialized.utf8), path: path)
        #expect(matrix[.free].postgres.connectRate == 0.5)
        #expect(matrix[.free].postgres.connectBurst == 3)
        #expect(matrix[.free].postgres.capacityReserve == 30)
        #expect(matrix[.pro].postgres.capacityReserve == 25)
        #expect(matrix[.enterprise].postgres.connectRate == 100)
        #expect(loadError(setting: "FREE.postgres.connectRate", to: .integer(0))?.field == "FREE.postgres.connectRate")
        #expect(loadError(setting: "FREE.postgres.connectBurst", to: .integer(0))?.field == "FREE.postgres.connectBurst")
        #expect(loadError(setting: "STARTER.postgres.capacityReserve", to: .integer(100))?.problem
                == .outOfRange(got: "100", allowed: "a percent, 0...99"))
        #expect(loadError(setting: "STARTER.postgres.capacityReserve", to: .integer(-1))?.field
                == "STARTER.postgres.capacityReserve")
    }

    @Test func nullTempFileLimitOrIdleInTransactionTimeout_meansNotSet_absentMeansBuiltIn() throws {
        var value = try JSONValue(parsing: appendixAJSON)
        value = value.setting(["FREE", "postgres", "tempFileLimit"], to: .null)
        value = value.setting(["STARTER", "lifecycle", "idleInTransactionTimeout"], to: .null)
        let matrix = try TierMatrix.load(json: Data(value.serialized.utf8), path: path)
        #expect(matrix[.free].postgres.tempFileLimit == nil)
        #expect(matrix[.starter].lifecycle.idleInTransactionTimeout == nil)
        #expect(matrix[.starter].postgres.tempFileLimit == 4 << 30)
        #expect(matrix[.free].lifecycle.idleInTransactionTimeout == 60_000)
    }

    @Test func resourceSettingsPostgresWouldRefuse_areRefusedWithFieldAndReason() {
        let refusals: [(String, JSONValue, FieldProblem)] = [
            ("FREE.postgres.hashMemoryMultiplier", .double(0.5),
             .outOfRange(got: "0.5", allowed: "hash_mem_multiplier accepts 1...1000")),
            ("FREE.postgres.hashMemoryMultiplier", .string("2"), .wrongType(expected: "a number", found: "a string")),
            ("FREE.postgres.maintenanceWorkMemory", .integer(1_000_000), .mustBeMultiple(of: 1024, got: 1_000_000)),
            ("FREE.postgres.maintenanceWorkMemory", .integer(512 << 10),
             .outOfRange(got: "524288", allowed: "maintenance_work_mem accepts 1048576...2199023254528 bytes")),
            ("FREE.postgres.maxParallelMaintenanceWorkers", .integer(-1), .mustNotBeNegative(got: "-1")),
            ("FREE.postgres.maxParallelMaintenanceWorkers", .integer(1025),
             .outOfRange(got: "1025", allowed: "max_parallel_maintenance_workers accepts 0...1024")),
            ("STARTER.postgres.tempFileLimit", .integer(-1), .mustBePositive(got: "-1")),
            ("STARTER.postgres.tempFileLimit", .integer(1000), .mustBeMultiple(of: 1024, got: 1000)),
            ("FREE.lifecycle.idleInTransactionTimeout", .integer(0), .mustBePositive(got: "0")),
            ("FREE.lifecycle.idleInTransactionTimeout", .integer(3_000_000_000),
             .outOfRange(got: "3000000000", allowed: "idle_in_transaction_session_timeout accepts 0...2147483647")),
            ("FREE.lifecycle.idleInTransactionTimeout", .string("1min"), .wrongType(expected: "an integer", found: "a string")),
            ("PRO.postgres.tempFileLimits", .integer(1024), .unknownField),
        ]
        for (field, value, problem) in refusals {
            #expect(loadError(setting: field, to: value) == TierMatrixError(path: path, field: field, problem: problem),
                    "\(field) = \(value.serialized)")
        }
    }

    @Test func error_description_namesPathFieldAndReason() {
        let error = loadError(setting: "PRO.postgres.maxConnections", to: .integer(0))
        #expect(error == TierMatrixError(path: path, field: "PRO.postgres.maxConnections",
                                         problem: .mustBePositive(got: "0")))
        #expect(error?.description
                == "tier matrix /etc/tiergate/tiers.json: PRO.postgres.maxConnections: must be positive, got 0")
    }

    @Test func missingField_isNamed() {
        #expect(loadError(setting: "STARTER.postgres.workMemory", to: nil)
                == TierMatrixError(path: path, field: "STARTER.postgres.workMemory", problem: .missing))
        #expect(loadError(setting: "FREE.lifecycle", to: nil)
                == TierMatrixError(path: path, field: "FREE.lifecycle", problem: .missing))
    }

    @Test func nullableField_mustStillBePresent() {
        #expect(loadError(setting: "PRO.lifecycle.idleTimeout", to: nil)
                == TierMatrixError(path: path, field: "PRO.lifecycle.idleTimeout", problem: .missing))
    }

    @Test func wrongType_isNamedWithWhatWasFound() {
        #expect(loadError(setting: "PRO.postgres.maxConnections", to: .string("50"))
                == TierMatrixError(path: path, field: "PRO.postgres.maxConnections",
                                   problem: .wrongType(expected: "an integer", found: "a string")))
        #expect(loadError(setting: "PRO.postgres.maxConnections", to: .bool(true))
                == TierMatrixError(path: path, field: "PRO.postgres.maxConnections",
                                   problem: .wrongType(expected: "an integer", found: "a boolean")))
        #expect(loadError(setting: "FREE.postgres.queryTimeout", to: .double(1.5))
                == TierMatrixError(path: path, field: "FREE.postgres.queryTimeout",
                                   problem: .wrongType(expected: "an integer", found: "1.5")))
        #expect(loadError(setting: "FREE.lifecycle.scaleToZero", to: .string("yes"))
                == TierMatrixError(path: path, field: "FREE.lifecycle.scaleToZero",
                                   problem: .wrongType(expected: "a boolean", found: "a string")))
        #expect(loadError(setting: "ENTERPRISE.postgres", to: .array([]))
                == TierMatrixError(path: path, field: "ENTERPRISE.postgres",
                                   problem: .wrongType(expected: "an object", found: "an array")))
    }

    @Test func integralNumberWrittenWithFraction_isAccepted() throws {
        let matrix = try TierMatrix.load(json: appendixA(setting: "FREE.postgres.maxConnections", to: .double(6)),
                                         path: path)
        #expect(matrix[.free].postgres.maxConnections == 6)
    }

    @Test func zeroOrNegativeCeilings_areRefused() {
        #expect(loadError(setting: "FREE.postgres.queryTimeout", to: .integer(0))?.problem == .mustBePositive(got: "0"))
        #expect(loadError(setting: "FREE.postgres.connectionTimeout", to: .integer(-5))?.problem
                == .mustBePositive(got: "-5"))
        #expect(loadError(setting: "STARTER.postgres.poolMin", to: .integer(-1))
                == TierMatrixError(path: path, field: "STARTER.postgres.poolMin", problem: .mustNotBeNegative(got: "-1")))
        #expect(loadError(setting: "PRO.lifecycle.idleTimeout", to: .integer(0))
                == TierMatrixError(path: path, field: "PRO.lifecycle.idleTimeout", problem: .mustBePositive(got: "0")))
        #expect(loadError(setting: "PRO.redis.keyTTLMin", to: .integer(-1))?.field == "PRO.redis.keyTTLMin")
        #expect(loadError(setting: "FREE.compute.cpuLimit", to: .integer(0))
                == TierMatrixError(path: path, field: "FREE.compute.cpuLimit", problem: .mustBePositive(got: "0.0")))
        #expect(loadError(setting: "FREE.postgres.maxParallelWorkers", to: .integer(-1))?.problem
                == .mustNotBeNegative(got: "-1"))
    }

    @Test func zeroParallelWorkersAndZeroPoolMin_areAllowed() throws {
        var value = try JSONValue(parsing: appendixAJSON)
        value = value.setting(["FREE", "postgres", "maxParallelWorkers"], to: .integer(0))
        value = value.setting(["FREE", "postgres", "poolMin"], to: .integer(0))
        let matrix = try TierMatrix.load(json: Data(value.serialized.utf8), path: path)
        #expect(matrix[.free].postgres.maxParallelWorkers == 0)
        #expect(matrix[.free].postgres.poolMin == 0)
    }

    @Test func poolMinAbovePoolMax_isRefused() {
        #expect(loadError(setting: "PRO.postgres.poolMin", to: .integer(60))
                == TierMatrixError(path: path, field: "PRO.postgres.poolMin",
                                   problem: .poolMinAbovePoolMax(poolMin: 60, poolMax: 50)))
        #expect(loadError(setting: "PRO.postgres.poolMin", to: .integer(60))?.description
                .hasSuffix("PRO.postgres.poolMin: poolMin 60 is greater than poolMax 50") == true)
    }

    @Test func workMemory_mustBeWholeKilobytes() {
        #expect(loadError(setting: "FREE.postgres.workMemory", to: .integer(4_000_000))
                == TierMatrixError(path: path, field: "FREE.postgres.workMemory",
                                   problem: .mustBeMultiple(of: 1024, got: 4_000_000)))
    }

    @Test func tempBuffers_mustBeWhole8kBBlocks() {
        #expect(loadError(setting: "FREE.postgres.tempBuffers", to: .integer(1_049_600))  // 1025 kB
                == TierMatrixError(path: path, field: "FREE.postgres.tempBuffers",
                                   problem: .mustBeMultiple(of: 8192, got: 1_049_600)))
    }

    @Test func gucValuesPostgresWouldRefuse_areRefusedAtLoad() {
        // work_mem below Postgres' 64kB minimum: SET would fail after admission.
        let tiny = loadError(setting: "FREE.postgres.workMemory", to: .integer(32 * 1024))
        #expect(tiny?.field == "FREE.postgres.workMemory")
        #expect(tiny?.description.contains("work_mem accepts 65536...") == true)
        #expect(loadError(setting: "FREE.postgres.tempBuffers", to: .integer(8192))?.field == "FREE.postgres.tempBuffers")
        #expect(loadError(setting: "FREE.postgres.queryTimeout", to: .integer(3_000_000_000))?.field
                == "FREE.postgres.queryTimeout")
        #expect(loadError(setting: "FREE.postgres.maxParallelWorkers", to: .integer(2000))?.field
                == "FREE.postgres.maxParallelWorkers")
    }

    @Test func unknownTierName_isRefused() {
        let error = loadError(setting: "GOLD", to: appendixAValue(.pro))
        #expect(error == TierMatrixError(path: path, field: "GOLD", problem: .unknownTier("GOLD")))
        #expect(loadError(setting: "Pro", to: appendixAValue(.pro))?.description.contains("did you mean PRO?") == true)
    }

    @Test func missingTier_isRefused_allFourMustBePresent() {
        let error = loadError(setting: "ENTERPRISE", to: nil)
        #expect(error == TierMatrixError(path: path, field: "ENTERPRISE", problem: .missingTier))
        #expect(error?.description.contains("all of FREE, STARTER, PRO, ENTERPRISE must be present") == true)
    }

    @Test func unknownField_isRefusedAsALikelyTypo() {
        #expect(loadError(setting: "PRO.postgres.tempBuffer", to: .integer(8192))
                == TierMatrixError(path: path, field: "PRO.postgres.tempBuffer", problem: .unknownField))
    }

    @Test func unknownPriority_isRefused() {
        let error = loadError(setting: "FREE.priority", to: .string("urgent"))
        #expect(error?.field == "FREE.priority")
        #expect(error?.description.contains("\"urgent\" is not one of low, medium, high, critical") == true)
    }

    @Test func invalidJSON_namesThePathAndOffset() {
        let error = loadError(Data("{\"FREE\": ".utf8))
        #expect(error?.path == path)
        #expect(error?.field == nil)
        #expect(error?.description.hasPrefix("tier matrix /etc/tiergate/tiers.json: invalid JSON at byte 9") == true)
    }

    @Test func topLevelArray_isRefused() {
        #expect(loadError(Data("[]".utf8)) == TierMatrixError(
            path: path, field: nil,
            problem: .wrongType(expected: "an object mapping tier names to limits", found: "an array")))
    }

    private func appendixAValue(_ tier: Tier) -> JSONValue {
        try! JSONValue(parsing: appendixAJSON).objectValue![tier.rawValue]!
    }
}

@Suite struct TierLimitsCodableTests {
    @Test func encoding_usesAppendixAKeyNames_andWritesNullForNever() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = String(decoding: try encoder.encode(TierMatrix.builtIn[.pro]), as: UTF8.self)
        #expect(text.contains(#""postgres":{"capacityReserve":10,"connectBurst":100,"connectRate":50,"connectionTimeout":15000,"hashMemoryMultiplier":2,"#))
        #expect(text.contains(#""maxConnections":50"#))
        #expect(text.contains(#""maxParallelWorkers":8"#))
        #expect(text.contains(#""tempBuffers":33554432"#))
        #expect(text.contains(#""keyTTLMin":null"#))
        #expect(text.contains(#""idleTimeout":null"#))
        #expect(text.contains(#""idleInTransactionTimeout":null"#))
        #expect(text.contains(#""hashMemoryMultiplier":2"#))
        #expect(text.contains(#""tempFileLimit":17179869184"#))
        #expect(text.contains(#""priority":"high""#))
    }

    @Test func roundTrip_preservesEveryField() throws {
        for tier in Tier.allCases {
            let limits = TierMatrix.builtIn[tier]
            let decoded = try JSONDecoder().decode(TierLimits.self, from: JSONEncoder().encode(limits))
            #expect(decoded == limits)
        }
    }

    @Test func decoding_withoutTheAddedFields_usesPostgresDefaults() throws {
        let free = try JSONValue(parsing: appendixAJSON).objectValue!["ENTERPRISE"]!
        let limits = try JSONDecoder().decode(TierLimits.self, from: Data(free.serialized.utf8))
        #expect(limits.postgres.tempBuffers == 8 << 20)
        #expect(limits.postgres.hashMemoryMultiplier == 2)
        #expect(limits.postgres.maintenanceWorkMemory == 64 << 20)
        #expect(limits.postgres.maxParallelMaintenanceWorkers == 2)
        #expect(limits.postgres.tempFileLimit == nil)
        #expect(limits.lifecycle.idleInTransactionTimeout == nil)
        #expect(limits.postgres.maxConnections == 100)
    }
}
