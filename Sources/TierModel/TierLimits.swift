/// Everything a tier grants, in the shape of the matrix file (docs/design.md#matrix-file).
///
/// Units follow the matrix file: durations in milliseconds, sizes in bytes. TierGate enforces the
/// `postgres` and `lifecycle` parts; the rest is carried so the matrix file, the Redis cache
/// value and the admin views stay one complete document. Coding keys are the matrix file's names.
public struct TierLimits: Sendable, Equatable, Codable {
    public var postgres: Postgres
    public var redis: Redis
    public var mongodb: MongoDB
    public var compute: Compute
    public var lifecycle: Lifecycle
    public var priority: Priority

    public init(postgres: Postgres, redis: Redis, mongodb: MongoDB, compute: Compute,
                lifecycle: Lifecycle, priority: Priority) {
        self.postgres = postgres
        self.redis = redis
        self.mongodb = mongodb
        self.compute = compute
        self.lifecycle = lifecycle
        self.priority = priority
    }

    public struct Postgres: Sendable, Equatable, Codable {
        /// Concurrent client sessions per org: the connection gate's ceiling (docs/design.md#ceiling).
        public var maxConnections: Int
        /// PgBouncer pool bounds (docs/design.md#pgbouncer-layer).
        public var poolMin: Int
        public var poolMax: Int
        /// Milliseconds; becomes `statement_timeout`.
        public var queryTimeout: Int
        /// Milliseconds a client has to finish startup and authentication.
        public var connectionTimeout: Int
        /// Bytes.
        public var statementMemory: Int
        /// Bytes, a multiple of 1024; becomes `work_mem`.
        public var workMemory: Int
        /// Bytes (server-wide in Postgres; informational per org).
        public var sharedBuffers: Int
        /// Becomes `max_parallel_workers_per_gather`.
        public var maxParallelWorkers: Int
        /// Bytes, a multiple of 8192; becomes `temp_buffers`. The design sets it per tier but
        /// the matrix file has no field of its own for it, so it is optional in JSON.
        public var tempBuffers: Int
        /// Becomes `hash_mem_multiplier` (1...1000, a real): a hash table may use
        /// `workMemory` times this. Optional in JSON, like every field below.
        public var hashMemoryMultiplier: Double
        /// Bytes, a multiple of 1024; becomes `maintenance_work_mem`.
        public var maintenanceWorkMemory: Int
        /// Becomes `max_parallel_maintenance_workers`.
        public var maxParallelMaintenanceWorkers: Int
        /// Bytes, a multiple of 1024; becomes `temp_file_limit` (per process). nil (`null`) =
        /// not set: the server's own value applies, which a role without
        /// `SET` on the parameter cannot change.
        public var tempFileLimit: Int?
        /// New connections per second the org may open (a token bucket refilled at this
        /// rate): each one forks a Postgres backend, so a connect storm of one org slows every
        /// org. A real > 0. Optional in JSON (absent = the tier's built-in value).
        public var connectRate: Double
        /// Connections the org may open at once before `connectRate` applies (the bucket's size).
        public var connectBurst: Int
        /// Percent of the upstream's capacity kept free from this tier's sessions: as the
        /// upstream fills, the tier with the largest reserve is refused first, so the last
        /// connections go to the tiers that pay for priority (0 = may use the last one).
        public var capacityReserve: Int

        public init(maxConnections: Int, poolMin: Int, poolMax: Int, queryTimeout: Int,
                    connectionTimeout: Int, statementMemory: Int, workMemory: Int,
                    sharedBuffers: Int, maxParallelWorkers: Int, tempBuffers: Int,
                    hashMemoryMultiplier: Double = Self.postgresDefault.hashMemoryMultiplier,
                    maintenanceWorkMemory: Int = Self.postgresDefault.maintenanceWorkMemory,
                    maxParallelMaintenanceWorkers: Int = Self.postgresDefault.maxParallelMaintenanceWorkers,
                    tempFileLimit: Int? = nil, connectRate: Double? = nil, connectBurst: Int? = nil,
                    capacityReserve: Int = 0) {
            self.maxConnections = maxConnections
            self.poolMin = poolMin
            self.poolMax = poolMax
            self.queryTimeout = queryTimeout
            self.connectionTimeout = connectionTimeout
            self.statementMemory = statementMemory
            self.workMemory = workMemory
            self.sharedBuffers = sharedBuffers
            self.maxParallelWorkers = maxParallelWorkers
            self.tempBuffers = tempBuffers
            self.hashMemoryMultiplier = hashMemoryMultiplier
            self.maintenanceWorkMemory = maintenanceWorkMemory
            self.maxParallelMaintenanceWorkers = maxParallelMaintenanceWorkers
            self.tempFileLimit = tempFileLimit
            self.connectRate = connectRate ?? Self.defaultConnectRate(maxConnections: maxConnections)
            self.connectBurst = connectBurst ?? Self.defaultConnectBurst(maxConnections: maxConnections)
            self.capacityReserve = capacityReserve
        }

        /// Without a tier to take it from: the ceiling's worth of connections per second.
        public static func defaultConnectRate(maxConnections: Int) -> Double { Double(maxConnections) }

        /// Without a tier to take it from: twice the ceiling, so a pool can (re)open all its
        /// connections at once.
        public static func defaultConnectBurst(maxConnections: Int) -> Int { 2 * maxConnections }

        /// temp_buffers per tier (docs/design.md#session-settings): FREE 8MB,
        /// ENTERPRISE 64MB, STARTER and PRO doubling in between.
        public static func defaultTempBuffers(for tier: Tier) -> Int {
            switch tier {
            case .free: 8 << 20
            case .starter: 16 << 20
            case .pro: 32 << 20
            case .enterprise: 64 << 20
            }
        }

        /// Postgres' own temp_buffers default (8MB), used when a bare `TierLimits` is decoded
        /// without knowing its tier. The matrix loader knows the tier and uses
        /// `defaultTempBuffers(for:)` instead.
        public static let postgresDefaultTempBuffers = 8 << 20

        /// Postgres 15's own defaults for the optional fields (hash_mem_multiplier 2,
        /// maintenance_work_mem 64MB, 2 maintenance workers, temp_file_limit unset), for a
        /// bare `TierLimits` decoded without knowing its tier. The matrix loader knows the
        /// tier and takes an absent field from `TierMatrix.builtIn` instead.
        public static let postgresDefault = (hashMemoryMultiplier: 2.0, maintenanceWorkMemory: 64 << 20,
                                             maxParallelMaintenanceWorkers: 2)

        private enum CodingKeys: String, CodingKey {
            case maxConnections, poolMin, poolMax, queryTimeout, connectionTimeout, statementMemory,
                 workMemory, sharedBuffers, maxParallelWorkers, tempBuffers, hashMemoryMultiplier,
                 maintenanceWorkMemory, maxParallelMaintenanceWorkers, tempFileLimit,
                 connectRate, connectBurst, capacityReserve
        }

        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            maxConnections = try c.decode(Int.self, forKey: .maxConnections)
            poolMin = try c.decode(Int.self, forKey: .poolMin)
            poolMax = try c.decode(Int.self, forKey: .poolMax)
            queryTimeout = try c.decode(Int.self, forKey: .queryTimeout)
            connectionTimeout = try c.decode(Int.self, forKey: .connectionTimeout)
            statementMemory = try c.decode(Int.self, forKey: .statementMemory)
            workMemory = try c.decode(Int.self, forKey: .workMemory)
            sharedBuffers = try c.decode(Int.self, forKey: .sharedBuffers)
            maxParallelWorkers = try c.decode(Int.self, forKey: .maxParallelWorkers)
            tempBuffers = try c.decodeIfPresent(Int.self, forKey: .tempBuffers) ?? Self.postgresDefaultTempBuffers
            hashMemoryMultiplier = try c.decodeIfPresent(Double.self, forKey: .hashMemoryMultiplier)
                ?? Self.postgresDefault.hashMemoryMultiplier
            maintenanceWorkMemory = try c.decodeIfPresent(Int.self, forKey: .maintenanceWorkMemory)
                ?? Self.postgresDefault.maintenanceWorkMemory
            maxParallelMaintenanceWorkers = try c.decodeIfPresent(Int.self, forKey: .maxParallelMaintenanceWorkers)
                ?? Self.postgresDefault.maxParallelMaintenanceWorkers
            tempFileLimit = try c.decodeIfPresent(Int.self, forKey: .tempFileLimit)
            connectRate = try c.decodeIfPresent(Double.self, forKey: .connectRate)
                ?? Self.defaultConnectRate(maxConnections: maxConnections)
            connectBurst = try c.decodeIfPresent(Int.self, forKey: .connectBurst)
                ?? Self.defaultConnectBurst(maxConnections: maxConnections)
            capacityReserve = try c.decodeIfPresent(Int.self, forKey: .capacityReserve) ?? 0
        }

        /// Writes `tempFileLimit: null` rather than omitting it: absent means "the tier's
        /// default" to the matrix loader, null means "not set".
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(maxConnections, forKey: .maxConnections)
            try c.encode(poolMin, forKey: .poolMin)
            try c.encode(poolMax, forKey: .poolMax)
            try c.encode(queryTimeout, forKey: .queryTimeout)
            try c.encode(connectionTimeout, forKey: .connectionTimeout)
            try c.encode(statementMemory, forKey: .statementMemory)
            try c.encode(workMemory, forKey: .workMemory)
            try c.encode(sharedBuffers, forKey: .sharedBuffers)
            try c.encode(maxParallelWorkers, forKey: .maxParallelWorkers)
            try c.encode(tempBuffers, forKey: .tempBuffers)
            try c.encode(hashMemoryMultiplier, forKey: .hashMemoryMultiplier)
            try c.encode(maintenanceWorkMemory, forKey: .maintenanceWorkMemory)
            try c.encode(maxParallelMaintenanceWorkers, forKey: .maxParallelMaintenanceWorkers)
            try c.encode(tempFileLimit, forKey: .tempFileLimit)
            try c.encode(connectRate, forKey: .connectRate)
            try c.encode(connectBurst, forKey: .connectBurst)
            try c.encode(capacityReserve, forKey: .capacityReserve)
        }
    }

    public struct Redis: Sendable, Equatable, Codable {
        public var maxMemory: Int
        public var maxKeys: Int
        public var maxConnections: Int
        /// Milliseconds; nil = no minimum TTL (`null` in the matrix file).
        public var keyTTLMin: Int?

        public init(maxMemory: Int, maxKeys: Int, maxConnections: Int, keyTTLMin: Int?) {
            self.maxMemory = maxMemory
            self.maxKeys = maxKeys
            self.maxConnections = maxConnections
            self.keyTTLMin = keyTTLMin
        }

        /// Writes `keyTTLMin: null` rather than omitting it, as the matrix file does.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(maxMemory, forKey: .maxMemory)
            try c.encode(maxKeys, forKey: .maxKeys)
            try c.encode(maxConnections, forKey: .maxConnections)
            try c.encode(keyTTLMin, forKey: .keyTTLMin)
        }
    }

    public struct MongoDB: Sendable, Equatable, Codable {
        public var maxConnections: Int
        /// Milliseconds.
        public var maxQueryTime: Int
        public var maxMemory: Int
        public var maxDocsPerQuery: Int

        public init(maxConnections: Int, maxQueryTime: Int, maxMemory: Int, maxDocsPerQuery: Int) {
            self.maxConnections = maxConnections
            self.maxQueryTime = maxQueryTime
            self.maxMemory = maxMemory
            self.maxDocsPerQuery = maxDocsPerQuery
        }
    }

    public struct Compute: Sendable, Equatable, Codable {
        /// vCPUs, fractional (0.25).
        public var cpuLimit: Double
        /// Bytes.
        public var memoryLimit: Int

        public init(cpuLimit: Double, memoryLimit: Int) {
            self.cpuLimit = cpuLimit
            self.memoryLimit = memoryLimit
        }
    }

    public struct Lifecycle: Sendable, Equatable, Codable {
        /// Milliseconds of inactivity before a session is closed; nil = never (PRO and up).
        public var idleTimeout: Int?
        public var scaleToZero: Bool
        /// Informational ("2-5s", "N/A").
        public var coldStart: String
        /// Milliseconds a session may sit idle inside a transaction before Postgres ends it;
        /// becomes `idle_in_transaction_session_timeout`. nil = not set (PRO and up).
        /// Optional in JSON (absent = the tier's built-in value).
        public var idleInTransactionTimeout: Int?

        public init(idleTimeout: Int?, scaleToZero: Bool, coldStart: String, idleInTransactionTimeout: Int? = nil) {
            self.idleTimeout = idleTimeout
            self.scaleToZero = scaleToZero
            self.coldStart = coldStart
            self.idleInTransactionTimeout = idleInTransactionTimeout
        }

        /// Writes `idleTimeout: null` rather than omitting it, as the matrix file does.
        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(idleTimeout, forKey: .idleTimeout)
            try c.encode(scaleToZero, forKey: .scaleToZero)
            try c.encode(coldStart, forKey: .coldStart)
            try c.encode(idleInTransactionTimeout, forKey: .idleInTransactionTimeout)
        }
    }

    /// Queue priority (docs/design.md#tier-matrix: P4 low ... P1 critical).
    public enum Priority: String, Sendable, Equatable, Codable, CaseIterable {
        case low, medium, high, critical
    }
}

// MARK: - The matrix file's JSON shape

extension TierLimits {
    /// The matrix file's shape, keys in its order, the fields TierGate adds after its own.
    public var jsonValue: JSONValue {
        let pg = postgres
        return .object([
            "postgres": .object([
                "maxConnections": .integer(pg.maxConnections),
                "poolMin": .integer(pg.poolMin),
                "poolMax": .integer(pg.poolMax),
                "queryTimeout": .integer(pg.queryTimeout),
                "connectionTimeout": .integer(pg.connectionTimeout),
                "statementMemory": .integer(pg.statementMemory),
                "workMemory": .integer(pg.workMemory),
                "sharedBuffers": .integer(pg.sharedBuffers),
                "maxParallelWorkers": .integer(pg.maxParallelWorkers),
                "tempBuffers": .integer(pg.tempBuffers),
                "hashMemoryMultiplier": .double(pg.hashMemoryMultiplier),
                "maintenanceWorkMemory": .integer(pg.maintenanceWorkMemory),
                "maxParallelMaintenanceWorkers": .integer(pg.maxParallelMaintenanceWorkers),
                "tempFileLimit": pg.tempFileLimit.map(JSONValue.integer) ?? .null,
                "connectRate": .double(pg.connectRate),
                "connectBurst": .integer(pg.connectBurst),
                "capacityReserve": .integer(pg.capacityReserve),
            ]),
            "redis": .object([
                "maxMemory": .integer(redis.maxMemory),
                "maxKeys": .integer(redis.maxKeys),
                "maxConnections": .integer(redis.maxConnections),
                "keyTTLMin": redis.keyTTLMin.map(JSONValue.integer) ?? .null,
            ]),
            "mongodb": .object([
                "maxConnections": .integer(mongodb.maxConnections),
                "maxQueryTime": .integer(mongodb.maxQueryTime),
                "maxMemory": .integer(mongodb.maxMemory),
                "maxDocsPerQuery": .integer(mongodb.maxDocsPerQuery),
            ]),
            "compute": .object([
                "cpuLimit": .double(compute.cpuLimit),
                "memoryLimit": .integer(compute.memoryLimit),
            ]),
            "lifecycle": .object([
                "idleTimeout": lifecycle.idleTimeout.map(JSONValue.integer) ?? .null,
                "scaleToZero": .bool(lifecycle.scaleToZero),
                "coldStart": .string(lifecycle.coldStart),
                "idleInTransactionTimeout": lifecycle.idleInTransactionTimeout.map(JSONValue.integer) ?? .null,
            ]),
            "priority": .string(priority.rawValue),
        ])
    }

    /// Reads the matrix file's shape: every field present (nullable ones as `null`) and of the
    /// right type. `strict` also refuses unknown fields, for files people edit; a cached Redis
    /// value written by a newer TierGate may carry fields this one does not know.
    /// Values are checked by `firstInvalidField`.
    ///
    /// The fields TierGate adds (`tempBuffers`, `hashMemoryMultiplier`,
    /// `maintenanceWorkMemory`, `maxParallelMaintenanceWorkers`, `tempFileLimit`,
    /// `lifecycle.idleInTransactionTimeout`) may be absent: then `tier`'s built-in value
    /// applies (Postgres' own default without a tier). `null` is "not set" for the two that
    /// allow it (`tempFileLimit`, `idleInTransactionTimeout`), and absent is not `null`.
    init(reading value: JSONValue, path: String, tier: Tier?, strict: Bool = true) throws(FieldFailure) {
        let root = try FieldReader(value, path: path, strict: strict)
        try root.rejectUnknown(["postgres", "redis", "mongodb", "compute", "lifecycle", "priority"])
        let builtIn = tier.map { TierMatrix.builtIn[$0] }
        let defaults = Postgres.postgresDefault

        let pg = try root.nested("postgres")
        try pg.rejectUnknown(["maxConnections", "poolMin", "poolMax", "queryTimeout", "connectionTimeout",
                              "statementMemory", "workMemory", "sharedBuffers", "maxParallelWorkers",
                              "tempBuffers", "hashMemoryMultiplier", "maintenanceWorkMemory",
                              "maxParallelMaintenanceWorkers", "tempFileLimit", "connectRate", "connectBurst",
                              "capacityReserve"])
        let maxConnections = try pg.integer("maxConnections")
        postgres = Postgres(
            maxConnections: maxConnections,
            poolMin: try pg.integer("poolMin"),
            poolMax: try pg.integer("poolMax"),
            queryTimeout: try pg.integer("queryTimeout"),
            connectionTimeout: try pg.integer("connectionTimeout"),
            statementMemory: try pg.integer("statementMemory"),
            workMemory: try pg.integer("workMemory"),
            sharedBuffers: try pg.integer("sharedBuffers"),
            maxParallelWorkers: try pg.integer("maxParallelWorkers"),
            tempBuffers: try pg.optionalInteger("tempBuffers")
                ?? tier.map(Postgres.defaultTempBuffers(for:)) ?? Postgres.postgresDefaultTempBuffers,
            hashMemoryMultiplier: try pg.optionalNumber("hashMemoryMultiplier")
                ?? builtIn?.postgres.hashMemoryMultiplier ?? defaults.hashMemoryMultiplier,
            maintenanceWorkMemory: try pg.optionalInteger("maintenanceWorkMemory")
                ?? builtIn?.postgres.maintenanceWorkMemory ?? defaults.maintenanceWorkMemory,
            maxParallelMaintenanceWorkers: try pg.optionalInteger("maxParallelMaintenanceWorkers")
                ?? builtIn?.postgres.maxParallelMaintenanceWorkers ?? defaults.maxParallelMaintenanceWorkers,
            tempFileLimit: try pg.nullableInteger("tempFileLimit", absent: builtIn?.postgres.tempFileLimit),
            connectRate: try pg.optionalNumber("connectRate")
                ?? builtIn?.postgres.connectRate ?? Postgres.defaultConnectRate(maxConnections: maxConnections),
            connectBurst: try pg.optionalInteger("connectBurst")
                ?? builtIn?.postgres.connectBurst ?? Postgres.defaultConnectBurst(maxConnections: maxConnections),
            capacityReserve: try pg.optionalInteger("capacityReserve") ?? builtIn?.postgres.capacityReserve ?? 0)

        let rd = try root.nested("redis")
        try rd.rejectUnknown(["maxMemory", "maxKeys", "maxConnections", "keyTTLMin"])
        redis = Redis(maxMemory: try rd.integer("maxMemory"), maxKeys: try rd.integer("maxKeys"),
                      maxConnections: try rd.integer("maxConnections"),
                      keyTTLMin: try rd.nullableInteger("keyTTLMin"))

        let mg = try root.nested("mongodb")
        try mg.rejectUnknown(["maxConnections", "maxQueryTime", "maxMemory", "maxDocsPerQuery"])
        mongodb = MongoDB(maxConnections: try mg.integer("maxConnections"),
                          maxQueryTime: try mg.integer("maxQueryTime"),
                          maxMemory: try mg.integer("maxMemory"),
                          maxDocsPerQuery: try mg.integer("maxDocsPerQuery"))

        let cp = try root.nested("compute")
        try cp.rejectUnknown(["cpuLimit", "memoryLimit"])
        compute = Compute(cpuLimit: try cp.number("cpuLimit"), memoryLimit: try cp.integer("memoryLimit"))

        let lc = try root.nested("lifecycle")
        try lc.rejectUnknown(["idleTimeout", "scaleToZero", "coldStart", "idleInTransactionTimeout"])
        lifecycle = Lifecycle(idleTimeout: try lc.nullableInteger("idleTimeout"),
                              scaleToZero: try lc.bool("scaleToZero"),
                              coldStart: try lc.string("coldStart"),
                              idleInTransactionTimeout: try lc.nullableInteger(
                                  "idleInTransactionTimeout", absent: builtIn?.lifecycle.idleInTransactionTimeout))

        let priorityName = try root.string("priority")
        guard let priority = Priority(rawValue: priorityName) else {
            let allowed = Priority.allCases.map(\.rawValue).joined(separator: ", ")
            throw FieldFailure(field: root.field("priority"),
                               problem: .invalid("\"\(priorityName)\" is not one of \(allowed)"))
        }
        self.priority = priority
    }

    /// The first value that TierGate cannot enforce or Postgres would refuse, in field order.
    ///
    /// Ceilings must be positive: a zero statement_timeout would disable the timeout and a zero
    /// connection limit would lock the org out (worker counts may be 0: no parallel workers).
    /// Memory GUCs must be whole kB (work_mem, maintenance_work_mem, temp_file_limit) or
    /// 8 kB blocks (temp_buffers), and every GUC inside Postgres' range, so that `SET` cannot
    /// fail after the client was admitted. Small values are fine: tests shrink timeouts to
    /// seconds.
    func firstInvalidField(path: String) -> FieldFailure? {
        func f(_ name: String) -> String { path.isEmpty ? name : "\(path).\(name)" }
        let pg = postgres
        // Evaluated in order; nil values are `null` where null is allowed.
        let checks: [(String, FieldProblem?)] = [
            ("postgres.maxConnections", Check.positive.problem(pg.maxConnections)),
            ("postgres.poolMin", Check.nonNegative.problem(pg.poolMin)),
            ("postgres.poolMax", Check.positive.problem(pg.poolMax)
                ?? (pg.poolMin > pg.poolMax ? .poolMinAbovePoolMax(poolMin: pg.poolMin, poolMax: pg.poolMax) : nil)),
            ("postgres.queryTimeout", Check.guc(.statementTimeout, bytes: nil).problem(pg.queryTimeout)),
            ("postgres.connectionTimeout", Check.positive.problem(pg.connectionTimeout)),
            ("postgres.statementMemory", Check.positive.problem(pg.statementMemory)),
            ("postgres.workMemory", Check.guc(.workMem, bytes: 1024).problem(pg.workMemory)),
            ("postgres.sharedBuffers", Check.positive.problem(pg.sharedBuffers)),
            ("postgres.maxParallelWorkers", Check.guc(.maxParallelWorkersPerGather, bytes: nil).problem(pg.maxParallelWorkers)),
            ("postgres.tempBuffers", Check.guc(.tempBuffers, bytes: 8192).problem(pg.tempBuffers)),
            ("postgres.hashMemoryMultiplier", Check.real(.hashMemMultiplier, pg.hashMemoryMultiplier)),
            ("postgres.maintenanceWorkMemory", Check.guc(.maintenanceWorkMem, bytes: 1024).problem(pg.maintenanceWorkMemory)),
            ("postgres.maxParallelMaintenanceWorkers",
             Check.guc(.maxParallelMaintenanceWorkers, bytes: nil).problem(pg.maxParallelMaintenanceWorkers)),
            ("postgres.tempFileLimit", pg.tempFileLimit.flatMap(Check.guc(.tempFileLimit, bytes: 1024).problem)),
            ("postgres.connectRate", pg.connectRate > 0 && pg.connectRate.isFinite
                ? nil : .mustBePositive(got: "\(pg.connectRate)")),
            ("postgres.connectBurst", Check.positive.problem(pg.connectBurst)),
            ("postgres.capacityReserve", (0...99).contains(pg.capacityReserve)
                ? nil : .outOfRange(got: String(pg.capacityReserve), allowed: "a percent, 0...99")),
            ("redis.maxMemory", Check.positive.problem(redis.maxMemory)),
            ("redis.maxKeys", Check.positive.problem(redis.maxKeys)),
            ("redis.maxConnections", Check.positive.problem(redis.maxConnections)),
            ("redis.keyTTLMin", redis.keyTTLMin.flatMap(Check.positive.problem)),
            ("mongodb.maxConnections", Check.positive.problem(mongodb.maxConnections)),
            ("mongodb.maxQueryTime", Check.positive.problem(mongodb.maxQueryTime)),
            ("mongodb.maxMemory", Check.positive.problem(mongodb.maxMemory)),
            ("mongodb.maxDocsPerQuery", Check.positive.problem(mongodb.maxDocsPerQuery)),
            ("compute.cpuLimit", compute.cpuLimit > 0 && compute.cpuLimit.isFinite
                ? nil : .mustBePositive(got: "\(compute.cpuLimit)")),
            ("compute.memoryLimit", Check.positive.problem(compute.memoryLimit)),
            ("lifecycle.idleTimeout", lifecycle.idleTimeout.flatMap(Check.positive.problem)),
            ("lifecycle.idleInTransactionTimeout",
             lifecycle.idleInTransactionTimeout.flatMap(Check.guc(.idleInTransactionSessionTimeout, bytes: nil).problem)),
        ]
        for (name, problem) in checks {
            guard let problem else { continue }
            // poolMin is the field to fix when it exceeds a valid poolMax.
            let field = if case .poolMinAbovePoolMax = problem { "postgres.poolMin" } else { name }
            return FieldFailure(field: f(field), problem: problem)
        }
        return nil
    }

    private enum Check {
        case positive
        case nonNegative
        /// A value that becomes an integer GUC: an exact multiple of the GUC's unit in bytes,
        /// inside the GUC's range, and positive (a count of workers may be 0).
        case guc(SessionSettings.Parameter, bytes: Int?)

        func problem(_ value: Int) -> FieldProblem? {
            switch self {
            case .positive:
                return value > 0 ? nil : .mustBePositive(got: String(value))
            case .nonNegative:
                return value >= 0 ? nil : .mustNotBeNegative(got: String(value))
            case .guc(let parameter, let bytes):
                if parameter.unit == .none {
                    if value < 0 { return .mustNotBeNegative(got: String(value)) }
                } else if value <= 0 {
                    return .mustBePositive(got: String(value))
                }
                var base = value
                if let bytes {
                    guard value % bytes == 0 else { return .mustBeMultiple(of: bytes, got: value) }
                    base = value / bytes
                }
                guard parameter.validRange.contains(Double(base)) else {
                    let range = parameter.validRange
                    let scale = bytes ?? 1
                    let (low, high) = (Int(range.lowerBound), Int(range.upperBound))
                    let allowed = bytes == nil
                        ? "\(parameter.name) accepts \(low)...\(high)"
                        : "\(parameter.name) accepts \(max(low, 1) * scale)...\(high * scale) bytes"
                    return .outOfRange(got: String(value), allowed: allowed)
                }
                return nil
            }
        }

        /// A value that becomes a real GUC: finite and inside the GUC's range.
        static func real(_ parameter: SessionSettings.Parameter, _ value: Double) -> FieldProblem? {
            let range = parameter.validRange
            guard value.isFinite, range.contains(value) else {
                return .outOfRange(got: "\(value)", allowed: "\(parameter.name) accepts "
                                   + "\(PostgresUnits.real(range.lowerBound))...\(PostgresUnits.real(range.upperBound))")
            }
            return nil
        }
    }
}
