import PostgresWire
/// The Postgres settings TierGate injects into every session of a tier (docs/design.md#session-settings):
/// the tier's ceilings expressed as GUCs, the matrix file's four first, then the resource settings
/// the matrix adds (hash and maintenance memory, maintenance workers, temp files, and the
/// idle-in-transaction timeout where the tier has one).
///
/// Each value is rendered as SHOW prints it (`PostgresUnits`), so a test can compare
/// `SHOW work_mem` with `settings[.workMem]?.value`. Values set through the startup packet
/// become the session's reset values (PGC_S_CLIENT), which is why the proxy should send them
/// there rather than as `SET`: then `RESET work_mem` and `DISCARD ALL` return to the tier's
/// value instead of the server default.
///
/// A tier may leave a parameter unset (PRO and ENTERPRISE have no idle-in-transaction
/// timeout): it is then not injected, not in `settings`, and not limited for that tier.
public struct SessionSettings: Sendable, Equatable {
    /// The GUCs a tier can control, with what Postgres accepts for each. This is the one list
    /// of tier parameters: injection, the settings guard, the startup `options` filter, SHOW
    /// ORG and PgBouncer's connect_query all read it.
    public enum Parameter: String, Sendable, CaseIterable {
        /// From `postgres.queryTimeout`; 0 would disable it.
        case statementTimeout = "statement_timeout"
        /// From `postgres.workMemory`.
        case workMem = "work_mem"
        /// From `postgres.tempBuffers` (docs/design.md#session-settings; a field TierGate adds to the matrix file).
        case tempBuffers = "temp_buffers"
        /// From `postgres.maxParallelWorkers`.
        case maxParallelWorkersPerGather = "max_parallel_workers_per_gather"
        /// From `postgres.hashMemoryMultiplier`: hash tables may use work_mem times this.
        /// A real, not an integer.
        case hashMemMultiplier = "hash_mem_multiplier"
        /// From `postgres.maintenanceWorkMemory`: VACUUM, CREATE INDEX, ADD FOREIGN KEY.
        case maintenanceWorkMem = "maintenance_work_mem"
        /// From `postgres.maxParallelMaintenanceWorkers`: workers of one CREATE INDEX or
        /// VACUUM.
        case maxParallelMaintenanceWorkers = "max_parallel_maintenance_workers"
        /// From `postgres.tempFileLimit`: temporary file space per process; -1 is unlimited.
        /// Superuser-only in Postgres (PGC_SUSET): the roles TierGate's sessions use need
        /// `GRANT SET ON PARAMETER temp_file_limit` (Postgres 15+) for it to be injected.
        case tempFileLimit = "temp_file_limit"
        /// From `lifecycle.idleInTransactionTimeout` (FREE and STARTER); 0 would disable it.
        case idleInTransactionSessionTimeout = "idle_in_transaction_session_timeout"

        /// The GUC name as Postgres spells it.
        public var name: String { rawValue }

        /// Looks a GUC up by any name Postgres accepts for it (`GUCName`: ASCII case folded,
        /// old names resolved, so `SET sort_mem` sets work_mem).
        public init?(gucName: String) {
            self.init(rawValue: GUCName.canonical(gucName))
        }

        public var unit: PostgresUnits.BaseUnit {
            switch self {
            case .statementTimeout, .idleInTransactionSessionTimeout: .milliseconds
            case .workMem, .maintenanceWorkMem, .tempFileLimit: .kilobytes
            case .tempBuffers: .blocks
            case .maxParallelWorkersPerGather, .maxParallelMaintenanceWorkers, .hashMemMultiplier: .none
            }
        }

        /// Whether the GUC is a real (`PGC_REAL`, read with `parse_real`) rather than an
        /// integer; its values may have a fraction.
        public var isReal: Bool { self == .hashMemMultiplier }

        /// The GUC's min...max in its base unit (guc_tables.c, 64-bit build): a value outside
        /// is refused by Postgres itself.
        public var validRange: ClosedRange<Double> {
            switch self {
            case .statementTimeout, .idleInTransactionSessionTimeout: 0...Double(Int32.max)
            case .workMem: 64...Double(Int32.max)  // MAX_KILOBYTES
            case .maintenanceWorkMem: 1024...Double(Int32.max)
            case .tempBuffers: 100...Double(Int32.max / 2)
            case .maxParallelWorkersPerGather, .maxParallelMaintenanceWorkers: 0...1024  // MAX_PARALLEL_WORKER_LIMIT
            case .hashMemMultiplier: 1...1000
            case .tempFileLimit: -1...Double(Int32.max)
            }
        }

        /// The value that means "no limit", above every other: 0 for the timeouts (it
        /// disables them), -1 for temp_file_limit; nil where every value is a limit.
        public var unlimitedValue: Double? {
            switch self {
            case .statementTimeout, .idleInTransactionSessionTimeout: 0
            case .tempFileLimit: -1
            default: nil
            }
        }

        /// Whether 0 means "no limit" (statement_timeout = 0 disables the timeout).
        public var zeroMeansUnlimited: Bool { unlimitedValue == 0 }

        /// A client-given value in this GUC's base unit, or nil when Postgres would refuse
        /// it (syntax, unit, range). Accepts the SQL literal as written after `=`/`TO`:
        /// `'64MB'`, `"64MB"`, `65536` (kB for work_mem, 8 kB blocks for temp_buffers,
        /// ms for statement_timeout), `'1min'`, `0`, `1.5` (hash_mem_multiplier).
        ///
        /// `DEFAULT` and `RESET` are statements about the reset value, not values; the SQL
        /// layer handles them (with startup-packet injection they restore the tier value).
        public func parse(clientValue: String) -> Double? {
            let text = SessionSettings.unquote(clientValue)
            let value = isReal ? PostgresUnits.parseReal(text) : PostgresUnits.parse(text, in: unit).map(Double.init)
            guard let value, validRange.contains(value) else { return nil }
            return value
        }

        /// A base-unit value as SHOW prints it.
        public func render(_ value: Double) -> String {
            isReal ? PostgresUnits.real(value) : PostgresUnits.render(Int(value), in: unit)
        }
    }

    /// A tier's ceiling for one GUC: what a client may lower it to, never raise it above.
    public struct Limit: Sendable, Equatable {
        public let parameter: Parameter
        /// In the GUC's base unit (ms, kB, 8 kB blocks, workers, or the multiplier itself).
        public let maximum: Double

        public init(parameter: Parameter, maximum: Double) {
            self.parameter = parameter
            self.maximum = maximum
        }

        /// Whether a client's `SET <guc> = <clientValue>` stays within the tier; nil when the
        /// value cannot be read (Postgres would refuse it too, and the caller should refuse
        /// rather than guess). The unlimited value (statement_timeout 0, temp_file_limit -1)
        /// is above every limit.
        public func allows(clientValue: String) -> Bool? {
            parameter.parse(clientValue: clientValue).map(allows(value:))
        }

        /// Whether a value in the base unit stays within the tier.
        public func allows(value: Double) -> Bool {
            if let unlimited = parameter.unlimitedValue {
                if maximum == unlimited { return true }
                if value == unlimited { return false }
            }
            return value <= maximum
        }
    }

    /// One injected GUC.
    public struct Setting: Sendable, Equatable {
        public let parameter: Parameter
        /// In the GUC's base unit; whole for every GUC but hash_mem_multiplier.
        public let baseValue: Double

        public var name: String { parameter.name }
        /// As SHOW prints it, and valid as input: `10s`, `4MB`, `2`, `1.5`.
        public var value: String { parameter.render(baseValue) }
        /// The statement form, for a proxy that sets them after authentication.
        public var sql: String { "SET \(name) = '\(value)'" }
        /// The injected value is the tier's ceiling.
        public var limit: Limit { Limit(parameter: parameter, maximum: baseValue) }
    }

    /// In a fixed order (statement_timeout, work_mem, temp_buffers,
    /// max_parallel_workers_per_gather), then hash_mem_multiplier, maintenance_work_mem,
    /// max_parallel_maintenance_workers, temp_file_limit and
    /// idle_in_transaction_session_timeout, each only where the tier sets it.
    public let settings: [Setting]

    /// The settings for a tier's limits. Byte values are converted to whole kB / 8 kB
    /// blocks; the matrix loader guarantees they are exact multiples.
    public init(limits: TierLimits) {
        let pg = limits.postgres
        let values: [(Parameter, Double?)] = [
            (.statementTimeout, Double(pg.queryTimeout)),
            (.workMem, Double(pg.workMemory / 1024)),
            (.tempBuffers, Double(pg.tempBuffers / 8192)),
            (.maxParallelWorkersPerGather, Double(pg.maxParallelWorkers)),
            (.hashMemMultiplier, pg.hashMemoryMultiplier),
            (.maintenanceWorkMem, Double(pg.maintenanceWorkMemory / 1024)),
            (.maxParallelMaintenanceWorkers, Double(pg.maxParallelMaintenanceWorkers)),
            (.tempFileLimit, pg.tempFileLimit.map { Double($0 / 1024) }),
            (.idleInTransactionSessionTimeout, limits.lifecycle.idleInTransactionTimeout.map(Double.init)),
        ]
        settings = values.compactMap { parameter, value in
            value.map { Setting(parameter: parameter, baseValue: $0) }
        }
    }

    /// The tier's setting for a parameter, or nil when the tier leaves it unset.
    public subscript(parameter: Parameter) -> Setting? {
        settings.first { $0.parameter == parameter }
    }

    /// The tier parameter a client names (any ASCII case), or nil when it is not one this
    /// tier controls: another GUC, or a tier parameter this tier leaves unset.
    public func parameter(named name: String) -> Parameter? {
        Parameter(gucName: name).flatMap { self[$0] == nil ? nil : $0 }
    }

    /// The tier's limit for a GUC a client is setting, or nil when the tier does not control
    /// that GUC.
    public func limit(forGUC name: String) -> Limit? {
        parameter(named: name).flatMap { self[$0]?.limit }
    }

    /// Strips one level of SQL quoting: `'64MB'` (with `''` for a quote) or `"64MB"` (an
    /// identifier, which SET also accepts as a value). Unquoted text is returned trimmed.
    static func unquote(_ raw: String) -> String {
        let text = raw.trimmingSQLSpace()
        for quote in ["'", "\""] where text.count >= 2 && text.hasPrefix(quote) && text.hasSuffix(quote) {
            return String(text.dropFirst().dropLast()).replacing(quote + quote, with: quote)
        }
        return text
    }
}

extension String {
    func trimmingSQLSpace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\u{0C}" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
