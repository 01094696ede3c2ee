/// The `[pgbouncer]` section an operator keeps in the repository (`pgbouncer/`), for a
/// generated file that is a complete `pgbouncer.ini`.
///
/// Only the `[pgbouncer]` section is taken, comments included. A `[databases]` section and
/// `%include` lines are left out: the generated `[databases]` replaces them, and an included
/// databases file would add a second, conflicting one.
public struct PgBouncerTemplate: Sendable, Equatable {
    /// Where the template came from, for the header and errors.
    public let path: String
    /// The `[pgbouncer]` section's lines, from its header on, trailing blank lines removed.
    public let section: [String]

    public init(path: String, text: String) throws(PgBouncerConfigError) {
        self.path = path
        var section: [String] = []
        var current: String?
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
            let trimmed = line.trimmingSpaces
            if trimmed.hasPrefix("[") && trimmed.hasSuffix("]") {
                current = String(trimmed.dropFirst().dropLast()).trimmingSpaces.lowercased()
            }
            guard current == "pgbouncer" else { continue }
            if trimmed.hasPrefix("%include") { continue }
            if let placeholder = Self.placeholder(in: line) {
                throw .template(path: path, reason: "placeholder \(placeholder) is not filled in; "
                    + "pass a rendered file such as .stack/pgbouncer/pgbouncer.ini")
            }
            section.append(line)
        }
        while section.last?.trimmingSpaces.isEmpty == true { section.removeLast() }
        guard !section.isEmpty else { throw .template(path: path, reason: "no [pgbouncer] section") }
        self.section = section
    }

    /// `@NAME@` as stack.sh writes placeholders, outside comments.
    private static func placeholder(in line: String) -> String? {
        let text = line.trimmingSpaces
        if text.hasPrefix(";") || text.hasPrefix("#") { return nil }
        let parts = text.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count >= 3 else { return nil }
        for name in parts.dropFirst().dropLast()
        where !name.isEmpty && name.allSatisfy({ $0.isUppercase || $0 == "_" || $0.isNumber }) {
            return "@\(name)@"
        }
        return nil
    }
}

extension String {
    var trimmingSpaces: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        return String(drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
