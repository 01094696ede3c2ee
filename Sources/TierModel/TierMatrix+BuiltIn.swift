extension TierMatrix {
    /// The seed's Appendix A (`TIER_LIMITS`) value for value, plus temp_buffers from seed 3.1.
    public static let builtIn = TierMatrix(
        free: TierLimits(
            postgres: .init(maxConnections: 5, poolMin: 2, poolMax: 5, queryTimeout: 10_000,
                            connectionTimeout: 5_000, statementMemory: 67_108_864, workMemory: 4_194_304,
                            sharedBuffers: 134_217_728, maxParallelWorkers: 2,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .free)),
            redis: .init(maxMemory: 67_108_864, maxKeys: 10_000, maxConnections: 5, keyTTLMin: 3_600_000),
            mongodb: .init(maxConnections: 5, maxQueryTime: 10_000, maxMemory: 134_217_728, maxDocsPerQuery: 100),
            compute: .init(cpuLimit: 0.25, memoryLimit: 536_870_912),
            lifecycle: .init(idleTimeout: 300_000, scaleToZero: true, coldStart: "2-5s"),
            priority: .low),
        starter: TierLimits(
            postgres: .init(maxConnections: 10, poolMin: 5, poolMax: 10, queryTimeout: 30_000,
                            connectionTimeout: 10_000, statementMemory: 134_217_728, workMemory: 16_777_216,
                            sharedBuffers: 268_435_456, maxParallelWorkers: 4,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .starter)),
            redis: .init(maxMemory: 268_435_456, maxKeys: 100_000, maxConnections: 10, keyTTLMin: 3_600_000),
            mongodb: .init(maxConnections: 10, maxQueryTime: 30_000, maxMemory: 536_870_912, maxDocsPerQuery: 1000),
            compute: .init(cpuLimit: 0.5, memoryLimit: 1_073_741_824),
            lifecycle: .init(idleTimeout: 900_000, scaleToZero: true, coldStart: "1-2s"),
            priority: .medium),
        pro: TierLimits(
            postgres: .init(maxConnections: 50, poolMin: 10, poolMax: 50, queryTimeout: 60_000,
                            connectionTimeout: 15_000, statementMemory: 268_435_456, workMemory: 67_108_864,
                            sharedBuffers: 536_870_912, maxParallelWorkers: 8,
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .pro)),
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
                            tempBuffers: TierLimits.Postgres.defaultTempBuffers(for: .enterprise)),
            redis: .init(maxMemory: 4_294_967_296, maxKeys: 10_000_000, maxConnections: 100, keyTTLMin: nil),
            mongodb: .init(maxConnections: 100, maxQueryTime: 120_000, maxMemory: 8_589_934_592,
                           maxDocsPerQuery: 100_000),
            compute: .init(cpuLimit: 4, memoryLimit: 8_589_934_592),
            lifecycle: .init(idleTimeout: nil, scaleToZero: false, coldStart: "N/A"),
            priority: .critical))
}
