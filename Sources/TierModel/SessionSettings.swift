/// The Postgres settings TierGate injects into every session of a tier (seed 3.1, layer 2):
/// the tier's ceilings expressed as GUCs, in the seed's order.
///
/// Each value is rendered as SHOW prints it (`PostgresUnits`), so a test can compare
/// `SHOW work_mem` with `settings[.workMem].value`. Values set through the startup packet
/// become the session's reset values (PGC_S_CLIENT), which is why the proxy should send them
/// there rather than as `SET`: then `RESET work_mem` and `DISCARD ALL` return to the tier's
/// value instead of the server default.
public struct SessionSettings: Sendable, Equatable {
    /// The GUCs a tier controls, with what Postgres accepts for each.
    public enum Parameter: String, Sendable, CaseIterable {
        /// From `postgres.queryTimeout`; 0 would disable it.
        case statementTimeout = "statement_timeout"
        /// From `postgres.workMemory`.
        case workMem = "work_mem"
        /// From `postgres.tempBuffers` (seed 3.1; not in Appendix A).
        case tempBuffers = "temp_buffers"
        /// From `postgres.maxParallelWorkers`.
        case maxParallelWorkersPerGather = "max_parallel_workers_per_gather"

        /// The GUC name as Postgres spells it.
        public var name: String { rawValue }

        /// Looks a GUC up by any name Postgres accepts for it, as its `find_option` does: case
        /// does not matter in ASCII letters only (`guc_name_compare`: `SET Work_Mem` is
        /// work_mem, a Kelvin sign is no `k`), and an old name is its current one
        /// (`oldNames`: `SET sort_mem` sets work_mem).
        public init?(gucName: String) {
            let lowered = String(decoding: gucName.utf8.map { (0x41...0x5A).contains($0) ? $0 | 0x20 : $0 },
                                 as: UTF8.self)
            self.init(rawValue: Self.oldNames[lowered] ?? lowered)
        }

        /// guc.c's `map_old_guc_names` (Postgres 15; 18 adds the last one): names Postgres
        /// still accepts for a GUC that was renamed. The targets need not be tier GUCs: a tier
        /// that limits one of them limits its old name with it.
        public static let oldNames: [String: String] = [
            "sort_mem": "work_mem",
            "vacuum_mem": "maintenance_work_mem",
            "ssl_ecdh_curve": "ssl_groups",
        ]

        public var unit: PostgresUnits.BaseUnit {
            switch self {
            case .statementTimeout: .milliseconds
            case .workMem: .kilobytes
            case .tempBuffers: .blocks
            case .maxParallelWorkersPerGather: .none
            }
        }

        /// The GUC's min...max in its base unit (guc_tables.c, 64-bit build): a value outside
        /// is refused by Postgres itself.
        public var validRange: ClosedRange<Int> {
            switch self {
            case .statementTimeout: 0...Int(Int32.max)
            case .workMem: 64...Int(Int32.max)  // MAX_KILOBYTES
            case .tempBuffers: 100...Int(Int32.max / 2)
            case .maxParallelWorkersPerGather: 0...1024  // MAX_PARALLEL_WORKER_LIMIT
            }
        }

        /// Whether 0 means "no limit" (statement_timeout = 0 disables the timeout).
        public var zeroMeansUnlimited: Bool { self == .statementTimeout }

        /// A client-given value in this GUC's base unit, or nil when Postgres would refuse
        /// it (syntax, unit, range). Accepts the SQL literal as written after `=`/`TO`:
        /// `'64MB'`, `"64MB"`, `65536` (kB for work_mem, 8 kB blocks for temp_buffers,
        /// ms for statement_timeout), `'1min'`, `0`.
        ///
        /// `DEFAULT` and `RESET` are statements about the reset value, not values; the SQL
        /// layer handles them (with startup-packet injection they restore the tier value).
        public func parse(clientValue: String) -> Int? {
            guard let value = PostgresUnits.parse(SessionSettings.unquote(clientValue), in: unit),
                  validRange.contains(value)
            else { return nil }
            return value
        }

        /// A base-unit value as SHOW prints it.
        public func render(_ value: Int) -> String {
            PostgresUnits.render(value, in: unit)
        }
    }

    /// A tier's ceiling for one GUC: what a client may lower it to, never raise it above.
    public struct Limit: Sendable, Equatable {
        public let parameter: Parameter
        /// In the GUC's base unit (ms, kB, 8 kB blocks, workers).
        public let maximum: Int

        public init(parameter: Parameter, maximum: Int) {
            self.parameter = parameter
            self.maximum = maximum
        }

        /// Whether a client's `SET <guc> = <clientValue>` stays within the tier; nil when the
        /// value cannot be read (Postgres would refuse it too, and the caller should refuse
        /// rather than guess). For statement_timeout, 0 disables the timeout, so it is above
        /// every limit.
        public func allows(clientValue: String) -> Bool? {
            parameter.parse(clientValue: clientValue).map(allows(value:))
        }

        /// Whether a value in the base unit stays within the tier.
        public func allows(value: Int) -> Bool {
            if value == 0 && parameter.zeroMeansUnlimited { return false }
            return value <= maximum
        }
    }

    /// One injected GUC.
    public struct Setting: Sendable, Equatable {
        public let parameter: Parameter
        /// In the GUC's base unit.
        public let baseValue: Int

        public var name: String { parameter.name }
        /// As SHOW prints it, and valid as input: `10s`, `4MB`, `2`.
        public var value: String { parameter.render(baseValue) }
        /// The statement form, for a proxy that sets them after authentication.
        public var sql: String { "SET \(name) = '\(value)'" }
        /// The injected value is the tier's ceiling.
        public var limit: Limit { Limit(parameter: parameter, maximum: baseValue) }
    }

    /// In the order of seed 3.1: statement_timeout, work_mem, temp_buffers,
    /// max_parallel_workers_per_gather.
    public let settings: [Setting]

    /// The settings for a tier's limits. Byte values are converted to whole kB / 8 kB
    /// blocks; the matrix loader guarantees they are exact multiples.
    public init(limits: TierLimits) {
        let pg = limits.postgres
        settings = [
            Setting(parameter: .statementTimeout, baseValue: pg.queryTimeout),
            Setting(parameter: .workMem, baseValue: pg.workMemory / 1024),
            Setting(parameter: .tempBuffers, baseValue: pg.tempBuffers / 8192),
            Setting(parameter: .maxParallelWorkersPerGather, baseValue: pg.maxParallelWorkers),
        ]
    }

    public subscript(parameter: Parameter) -> Setting {
        settings.first { $0.parameter == parameter }!
    }

    /// The tier's limit for a GUC a client is setting, or nil when the tier does not control
    /// that GUC.
    public func limit(forGUC name: String) -> Limit? {
        Parameter(gucName: name).map { self[$0].limit }
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
