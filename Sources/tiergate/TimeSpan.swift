import ArgumentParser

/// A non-negative length of time as an option value: a number with an optional unit, `ms`,
/// `s`, `min`, `h` or `d` (Postgres' time units), `s` when there is none, so the options
/// that always took seconds (`--drain-timeout 30`) read as before and `500ms` or `3d` also
/// work. Kept to whole milliseconds, truncated, as the server's timers are.
struct TimeSpan: ExpressibleByArgument, Comparable, CustomStringConvertible, Sendable {
    let milliseconds: Int

    init(milliseconds: Int) { self.milliseconds = milliseconds }

    static func seconds(_ seconds: Int) -> TimeSpan { TimeSpan(milliseconds: seconds * 1000) }

    private static let units: [(name: String, milliseconds: Double)] = [
        ("ms", 1), ("min", 60_000), ("s", 1000), ("h", 3_600_000), ("d", 86_400_000),
    ]

    init?(argument: String) {
        var number = Substring(argument)
        var scale = 1000.0
        // "ms" and "min" before "s": the longest unit that ends the text.
        if let unit = Self.units.first(where: { argument.hasSuffix($0.name) }) {
            number = number.dropLast(unit.name.count)
            scale = unit.milliseconds
        }
        guard number.first.map({ $0.isNumber || $0 == "." }) == true, let value = Double(number),
              value.isFinite, value >= 0, value * scale < Double(Int.max / 2) else { return nil }
        milliseconds = Int(value * scale)
    }

    var duration: Duration { .milliseconds(milliseconds) }

    var description: String {
        milliseconds % 1000 == 0 ? "\(milliseconds / 1000)s" : "\(milliseconds)ms"
    }

    var defaultValueDescription: String { description }

    static func < (a: TimeSpan, b: TimeSpan) -> Bool { a.milliseconds < b.milliseconds }
}
