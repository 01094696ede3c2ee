extension TierMatrix {
    /// The design's matrix value for value, plus temp_buffers per tier (docs/design.md#session-settings)
    /// and the resource settings the matrix file lacks, chosen to scale with the tier:
    /// - hashMemoryMultiplier 1 / 1.5 / 2 / 2: workMemory x multiplier (one hash table) stays
    ///   within half the tier's statementMemory (4MB, 24MB, 128MB, 256MB); PRO and ENTERPRISE
    ///   keep Postgres' default of 2.
    /// - maintenanceWorkMemory 32MB / 64MB / 128MB / 256MB: half of statementMemory, so one
    ///   CREATE INDEX or VACUUM (parallel workers share it) fits the tier's statement memory;
    ///   FREE gets half of Postgres' 64MB default.
    /// - maxParallelMaintenanceWorkers 1 / 2 / 4 / 8: half of maxParallelWorkers, since a
    ///   maintenance command holds its workers for its whole, often long, run.
    /// - tempFileLimit 1GB / 4GB / 16GB / 32GB: 256 x workMemory, so a sort or hash that spills
    ///   can use many times its memory on disk, but no one process fills the shared disk.
    /// - idleInTransactionTimeout 1min / 3min / none / none: a fifth of the tier's idle
    ///   timeout; an open transaction holds locks and vacuum's horizon for everyone on the
    ///   server, so it is cut well before the session would be. PRO and ENTERPRISE have no
    ///   idle timeout and get none here either.
    ///
    /// Overload control, also TierGate's own: connectRate / connectBurst 5/10, 10/20, 50/100,
    /// 100/200 per second (the ceiling per second, twice the ceiling at once, so a pool can
    /// reopen all its connections together); capacityReserve 30 / 20 / 10 / 0 percent of the
    /// upstream's capacity, kept free from the tier in the order of the design's queue
    /// priorities (P4 FREE is refused first, P1 ENTERPRISE may take the last connection).
    public static let builtIn = TierMatrix(
        free: TierLimits(
            postgres: .init(maxConnections: 5, poolMin: 2, poolMax: 5, queryTimeout: 10_000,
                            connectionTimeout: 5_000, statementMemory: 67_108_864, workMemory: 4_194_304,
                            sharedBuffers: 134_217_728, maxParallelWorkers: 2,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .free),
                            hashMemoryMultiplier: 1, maintenanceWorkMemory: 33_554_432,
                            maxParallelMaintenanceWorkers: 1, tempFileLimit: 1_073_741_824,
                            connectRate: 5, connectBurst: 10, capacityReserve: 30),
            redis: .init(maxMemory: 67_108_864, maxKeys: 10_000, maxConnections: 5, keyTTLMin: 3_600_000),
            mongodb: .init(maxConnections: 5, maxQueryTime: 10_000, maxMemory: 134_217_728, maxDocsPerQuery: 100),
            compute: .init(cpuLimit: 0.25, memoryLimit: 536_870_912),
            lifecycle: .init(idleTimeout: 300_000, scaleToZero: true, coldStart: "2-5s", idleInTransactionTimeout: 60_000),
            priority: .low),
        starter: TierLimits(
            postgres: .init(maxConnections: 10, poolMin: 5, poolMax: 10, queryTimeout: 30_000,
                            connectionTimeout: 10_000, statementMemory: 134_217_728, workMemory: 16_777_216,
                            sharedBuffers: 268_435_456, maxParallelWorkers: 4,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .starter),
                            hashMemoryMultiplier: 1.5, maintenanceWorkMemory: 67_108_864,
                            maxParallelMaintenanceWorkers: 2, tempFileLimit: 4_294_967_296,
                            connectRate: 10, connectBurst: 20, capacityReserve: 20),
            redis: .init(maxMemory: 268_435_456, maxKeys: 100_000, maxConnections: 10, keyTTLMin: 3_600_000),
            mongodb: .init(maxConnections: 10, maxQueryTime: 30_000, maxMemory: 536_870_912, maxDocsPerQuery: 1000),
            compute: .init(cpuLimit: 0.5, memoryLimit: 1_073_741_824),
            lifecycle: .init(idleTimeout: 900_000, scaleToZero: true, coldStart: "1-2s", idleInTransactionTimeout: 180_000),
            priority: .medium),
        pro: TierLimits(
            postgres: .init(maxConnections: 50, poolMin: 10, poolMax: 50, queryTimeout: 60_000,
                            connectionTimeout: 15_000, statementMemory: 268_435_456, workMemory: 67_108_864,
                            sharedBuffers: 536_870_912, maxParallelWorkers: 8,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .pro),
                            hashMemoryMultiplier: 2, maintenanceWorkMemory: 134_217_728,
                            maxParallelMaintenanceWorkers: 4, tempFileLimit: 17_179_869_184,
                            connectRate: 50, connectBurst: 100, capacityReserve: 10),
            redis: .init(maxMemory: 1_073_741_824, maxKeys: 1_000_000, maxConnections: 50, keyTTLMin: nil),
            mongodb: .init(maxConnections: 50, maxQueryTime: 60_000, maxMemory: 2_147_483_648,
                           maxDocsPerQuery: 10_000),
            compute: .init(cpuLimit: 2, memoryLimit: 4_294_967_296),
            lifecycle: .init(idleTimeout: nil, scaleToZero: false, coldStart: "N/A"),
            priority: .high),
        enterprise: TierLimits(
            postgres: .init(maxConnections: 100, poolMin: 20, poolMax: 100, queryTimeout: 120_000,
                            connectionTimeout: 30_000, statementMemory: 536_870_912, workMemory: 134_217_728,
                            sharedBuffers: 1_073_741_824, maxParallelWorkers: 16,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .enterprise),
                            hashMemoryMultiplier: 2, maintenanceWorkMemory: 268_435_456,
                            maxParallelMaintenanceWorkers: 8, tempFileLimit: 34_359_738_368,
                            connectRate: 100, connectBurst: 200, capacityReserve: 0),
            redis: .init(maxMemory: 4_294_967_296, maxKeys: 10_000_000, maxConnections: 100, keyTTLMin: nil),
            mongodb: .init(maxConnections: 100, maxQueryTime: 120_000, maxMemory: 8_589_934_592,
                           maxDocsPerQuery: 100_000),
            compute: .init(cpuLimit: 4, memoryLimit: 8_589_934_592),
            lifecycle: .init(idleTimeout: nil, scaleToZero: false, coldStart: "N/A"),
            priority: .critical))
}
