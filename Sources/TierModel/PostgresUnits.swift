/// Postgres' integer-with-unit GUC syntax, both directions, as `guc.c` implements it.
///
/// Rendering follows `SHOW` (`convert_int_from_base_unit`): the largest unit that divides
/// the value exactly, so 10000 ms is `10s`, 60000 ms is `1min`, 1500 ms is `1500ms`,
/// 4194304 bytes is `4MB`. A value TierGate sets therefore reads back identically with SHOW.
///
/// Parsing follows `parse_int` + `convert_to_base_unit`, including its less obvious rules,
/// because a client's `SET` must be judged exactly as the server will apply it:
/// - the number is read like `strtol(s, &end, 0)`: `0x10` is hex, `010` is octal (8);
///   a `.`/`e` after the digits re-reads it as a decimal fraction (`1.5min`, `.5MB`);
/// - whitespace may separate number and unit; units are case-sensitive (`MB`, not `mb`);
/// - a fractional value is rounded to the next smaller unit, then to a whole base unit with
///   round-half-even (`rint`), so `'0.5ms'` and `'100us'` become 0 (Postgres docs,
///   "Parameter Names and Values", 20.1.1).
public enum PostgresUnits: Sendable {
    /// The unit a GUC stores its integer in (`GUC_UNIT_*` in guc.h).
    public enum BaseUnit: Sendable, Equatable {
        /// `GUC_UNIT_MS`: statement_timeout, idle_in_transaction_session_timeout.
        case milliseconds
        /// `GUC_UNIT_KB`: work_mem, maintenance_work_mem, temp_file_limit.
        case kilobytes
        /// `GUC_UNIT_BLOCKS`, 8 kB pages (BLCKSZ 8192): temp_buffers.
        case blocks
        /// No unit accepted: the worker counts, hash_mem_multiplier.
        case none

        /// Bytes per base unit, for the memory units.
        var bytes: Int? {
            switch self {
            case .kilobytes: 1024
            case .blocks: 8192
            case .milliseconds, .none: nil
            }
        }
    }

    /// A byte count as SHOW prints a memory GUC: the largest of TB, GB, MB, kB that divides
    /// it exactly. Postgres never shows `B`, since memory GUCs hold whole kB.
    public static func memory(bytes: Int) -> String {
        guard bytes > 0 else { return String(bytes) }
        for (unit, size) in [("TB", 1 << 40), ("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)]
        where bytes % size == 0 {
            return "\(bytes / size)\(unit)"
        }
        return "\(bytes)B"
    }

    /// Milliseconds as SHOW prints a time GUC: the largest of d, h, min, s, ms dividing it
    /// exactly. Zero (statement_timeout's "disabled") prints bare, as SHOW does for values ≤ 0.
    public static func time(milliseconds: Int) -> String {
        guard milliseconds > 0 else { return String(milliseconds) }
        for (unit, size) in [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000)]
        where milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds)ms"
    }

    /// Renders a value held in `unit` the way SHOW does.
    public static func render(_ value: Int, in unit: BaseUnit) -> String {
        switch unit {
        case .milliseconds: time(milliseconds: value)
        case .kilobytes, .blocks: value > 0 ? memory(bytes: value * unit.bytes!) : String(value)
        case .none: String(value)
        }
    }

    /// Parses a GUC value string into `unit`, or nil where Postgres' `parse_int` would
    /// report an invalid value (bad syntax, unknown unit, unit on a unitless GUC, outside
    /// the `int` range). Range checks of the individual GUC are the caller's.
    public static func parse(_ text: String, in unit: BaseUnit) -> Int? {
        let s = Array(text.utf8)
        guard let scanned = scanNumber(s) else { return nil }
        var (value, end) = scanned
        while end < s.count, isSpace(s[end]) { end += 1 }
        if end < s.count {
            guard unit != .none, let converted = convert(value, unit: Array(s[end...]), to: unit) else {
                return nil
            }
            value = converted
        }
        value = value.rounded(.toNearestOrEven)
        guard value >= Double(Int32.min), value <= Double(Int32.max) else { return nil }
        return Int(value)
    }

    /// A real GUC's value as SHOW prints it (`%g`): `2`, `1.5`. Written here in Swift's
    /// shortest round-trip form, so the text read back is exactly the value; SHOW agrees for
    /// up to six significant digits.
    public static func real(_ value: Double) -> String {
        if value.rounded() == value, let whole = Int(exactly: value) { return String(whole) }
        return "\(value)"
    }

    /// Parses a unitless real GUC value (hash_mem_multiplier) as `parse_real` does: `strtod`,
    /// then only whitespace. nil where Postgres refuses it (no number, a unit, NaN, ERANGE),
    /// and also for what `strtod` reads but TierGate does not (hex floats, `inf`), which the
    /// caller refuses rather than guesses. Range checks are the caller's.
    public static func parseReal(_ text: String) -> Double? {
        let s = Array(text.utf8)
        guard let (value, end) = scanDecimal(s), s[end...].allSatisfy(isSpace) else { return nil }
        return value
    }

    /// `strtol(s, &end, 0)`, falling back to `strtod` when it stops at `.`/`e`/`E` or
    /// overflows, as parse_int does. nil when no number was read (`end == s` in C).
    private static func scanNumber(_ s: [UInt8]) -> (Double, Int)? {
        var i = 0
        while i < s.count, isSpace(s[i]) { i += 1 }
        var negative = false
        if i < s.count, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") {
            negative = s[i] == UInt8(ascii: "-")
            i += 1
        }
        var radix = 10
        if i < s.count, s[i] == UInt8(ascii: "0") {
            if i + 2 < s.count, s[i + 1] | 0x20 == UInt8(ascii: "x"), digit(s[i + 2], radix: 16) != nil {
                radix = 16
                i += 2
            } else {
                radix = 8
            }
        }
        var magnitude = 0
        var overflow = false
        let digitsStart = i
        while i < s.count, let d = digit(s[i], radix: radix) {
            let (times, o1) = magnitude.multipliedReportingOverflow(by: radix)
            let (plus, o2) = times.addingReportingOverflow(d)
            overflow = overflow || o1 || o2
            magnitude = plus
            i += 1
        }
        let noDigits = i == digitsStart
        // With no digits C's strtol leaves `end` at the very start, so " .5" and "-.5" are
        // not re-read as fractions (Postgres refuses them) while ".5" is.
        let end = noDigits ? 0 : i
        let stop: UInt8? = end < s.count ? s[end] : nil
        if overflow || stop == UInt8(ascii: ".") || stop == UInt8(ascii: "e") || stop == UInt8(ascii: "E") {
            return scanDecimal(s)
        }
        guard !noDigits else { return nil }
        return (negative ? -Double(magnitude) : Double(magnitude), i)
    }

    /// `strtod` for decimal notation. Hex floats, `inf` and `nan` are not read: Postgres
    /// would accept a hex float, but no client writes one for work_mem, and an unread value
    /// is refused by the caller, never let through.
    private static func scanDecimal(_ s: [UInt8]) -> (Double, Int)? {
        var i = 0
        while i < s.count, isSpace(s[i]) { i += 1 }
        let start = i
        if i < s.count, s[i] == UInt8(ascii: "+") || s[i] == UInt8(ascii: "-") { i += 1 }
        var mantissaDigits = 0
        var nonZeroDigit = false
        func digits() {
            while i < s.count, let d = digit(s[i], radix: 10) {
                mantissaDigits += 1
                nonZeroDigit = nonZeroDigit || d != 0
                i += 1
            }
        }
        digits()
        if i < s.count, s[i] == UInt8(ascii: ".") {
            i += 1
            digits()
        }
        guard mantissaDigits > 0 else { return nil }
        if i < s.count, s[i] | 0x20 == UInt8(ascii: "e") {
            var j = i + 1
            if j < s.count, s[j] == UInt8(ascii: "+") || s[j] == UInt8(ascii: "-") { j += 1 }
            if j < s.count, digit(s[j], radix: 10) != nil {
                while j < s.count, digit(s[j], radix: 10) != nil { j += 1 }
                i = j
            }
        }
        let text = String(decoding: s[start..<i], as: UTF8.self)
        guard let value = Double(text), value.isFinite else { return nil }  // ERANGE overflow
        if value == 0 && nonZeroDigit { return nil }  // ERANGE underflow
        return (value, i)
    }

    /// `convert_to_base_unit`: the unit is at most 3 characters, may be followed only by
    /// whitespace, and must exist for this GUC's base unit.
    private static func convert(_ value: Double, unit rest: [UInt8], to base: BaseUnit) -> Double? {
        var i = 0
        while i < rest.count, !isSpace(rest[i]) { i += 1 }
        guard i <= 3 else { return nil }
        let unitName = String(decoding: rest[0..<i], as: UTF8.self)
        guard rest[i...].allSatisfy(isSpace) else { return nil }
        let table = conversionTable(for: base)
        guard let index = table.firstIndex(where: { $0.unit == unitName }) else { return nil }
        var converted = value * table[index].multiplier
        // A fraction such as "30.1GB" is rounded to the next smaller unit first.
        if index + 1 < table.count {
            let smaller = table[index + 1].multiplier
            converted = (converted / smaller).rounded(.toNearestOrEven) * smaller
        }
        return converted
    }

    /// `memory_unit_conversion_table` and `time_unit_conversion_table` for TierGate's units,
    /// largest first, multipliers into the base unit.
    private static func conversionTable(for base: BaseUnit) -> [(unit: String, multiplier: Double)] {
        switch base {
        case .kilobytes:
            [("TB", 1024 * 1024 * 1024), ("GB", 1024 * 1024), ("MB", 1024), ("kB", 1), ("B", 1.0 / 1024)]
        case .blocks:
            [("TB", 1024 * 1024 * 1024 / 8), ("GB", 1024 * 1024 / 8), ("MB", 1024 / 8), ("kB", 1.0 / 8),
             ("B", 1.0 / 8192)]
        case .milliseconds:
            [("d", 86_400_000), ("h", 3_600_000), ("min", 60_000), ("s", 1000), ("ms", 1), ("us", 1.0 / 1000)]
        case .none:
            []
        }
    }

    private static func isSpace(_ b: UInt8) -> Bool {
        b == 0x20 || (0x09...0x0D).contains(b)
    }

    private static func digit(_ b: UInt8, radix: Int) -> Int? {
        let value: Int
        switch b {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): value = Int(b - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): value = Int(b - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): value = Int(b - UInt8(ascii: "A")) + 10
        default: return nil
        }
        return value < radix ? value : nil
    }
}
