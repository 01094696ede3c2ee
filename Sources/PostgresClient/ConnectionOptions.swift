import CLibPQ

/// A libpq connection string read into its options, so that some can be filled in or
/// replaced and the result written back as a conninfo (libpq docs, "Connection Strings").
///
/// Both forms are read, `host=db port=5432 user=check` and
/// `postgresql://check@db:5432/postgres`, by libpq itself (`PQconninfoParse`), so anything
/// libpq accepts is understood the same way here. The text written back is always in
/// key=value form, every value quoted.
public struct ConnectionOptions: Sendable, Equatable {
    /// The options the string set, in libpq's order of keywords.
    public private(set) var values: [(key: String, value: String)]

    /// Reads `conninfo`; an invalid one (unknown keyword, bad URI, unbalanced quote) is an
    /// error of kind `.connection` with libpq's message.
    public init(parsing conninfo: String) throws(PostgresError) {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            let message = error.map { String(cString: $0) } ?? "libpq could not parse the connection string"
            if let error { PQfreemem(error) }
            throw PostgresError(kind: .connection, message: message.trimmingTrailingNewlines())
        }
        defer { PQconninfoFree(options) }
        var values: [(key: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values.append((String(cString: keyword), String(cString: value))) }
            option += 1
        }
        self.values = values
    }

    public subscript(key: String) -> String? {
        get { values.first { $0.key == key }?.value }
        set {
            values.removeAll { $0.key == key }
            if let newValue { values.append((key, newValue)) }
        }
    }

    /// The options as a key=value conninfo, each value in single quotes with `\` and `'`
    /// escaped by a backslash.
    public var conninfo: String {
        values.map { key, value in
            var quoted = "'"
            for character in value {
                if character == "'" || character == "\\" { quoted.append("\\") }
                quoted.append(character)
            }
            return "\(key)=\(quoted)'"
        }.joined(separator: " ")
    }

    public static func == (lhs: ConnectionOptions, rhs: ConnectionOptions) -> Bool {
        lhs.values.elementsEqual(rhs.values) { $0 == $1 }
    }
}

extension String {
    fileprivate func trimmingTrailingNewlines() -> String {
        var text = self
        while text.last == "\n" { text.removeLast() }
        return text
    }
}
