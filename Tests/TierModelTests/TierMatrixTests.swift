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
        #expect(l.lifecycle == .init(idleTimeout: 300_000, scaleToZero: true, coldStart: "2-5s"))
        #expect(l.priority == .low)
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

    @Test func builtIn_equalsAppendixATranscribedAsAFile() throws {
        #expect(try TierMatrix.load(json: Data(appendixAJSON.utf8), path: "appendix-a.json") == .builtIn)
    }

    @Test func builtIn_passesItsOwnValidation() throws {
        try TierMatrix.builtIn.validate(path: "<built-in>")
    }

    @Test func json_isAFileTheLoaderReadsBack() throws {
        let text = TierMatrix.builtIn.json
        #expect(text.hasPrefix(#"{"FREE":{"postgres":{"maxConnections":5,"poolMin":2,"#))
        #expect(text.contains(#""keyTTLMin":null"#))
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

    @Test func tempBuffers_whenGiven_overridesTheSeedDefault() throws {
        let matrix = try TierMatrix.load(json: appendixA(setting: "PRO.postgres.tempBuffers", to: .integer(1 << 20)),
                                         path: path)
        #expect(matrix[.pro].postgres.tempBuffers == 1 << 20)
        #expect(matrix[.starter].postgres.tempBuffers == 16 << 20)
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
        #expect(text.contains(#""postgres":{"connectionTimeout":15000,"maxConnections":50"#))
        #expect(text.contains(#""maxParallelWorkers":8"#))
        #expect(text.contains(#""tempBuffers":33554432"#))
        #expect(text.contains(#""keyTTLMin":null"#))
        #expect(text.contains(#""idleTimeout":null"#))
        #expect(text.contains(#""priority":"high""#))
    }

    @Test func roundTrip_preservesEveryField() throws {
        for tier in Tier.allCases {
            let limits = TierMatrix.builtIn[tier]
            let decoded = try JSONDecoder().decode(TierLimits.self, from: JSONEncoder().encode(limits))
            #expect(decoded == limits)
        }
    }

    @Test func decoding_withoutTempBuffers_usesPostgresDefault() throws {
        let free = try JSONValue(parsing: appendixAJSON).objectValue!["ENTERPRISE"]!
        let limits = try JSONDecoder().decode(TierLimits.self, from: Data(free.serialized.utf8))
        #expect(limits.postgres.tempBuffers == 8 << 20)
        #expect(limits.postgres.maxConnections == 100)
    }
}
