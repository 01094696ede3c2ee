/// Recovers the diagnostic fields of a failed connection attempt from libpq's error text.
///
/// libpq keeps the fields of a query's ErrorResponse in its `PGresult`, but a connection that
/// fails during startup (a FATAL sent before ReadyForQuery, e.g. TierGate refusing the sixth
/// FREE connection with 53300) leaves only `PQerrorMessage`. With `PQERRORS_VERBOSE` set before
/// the attempt, libpq formats it as (fe-protocol3.c, `pqBuildErrorMessage3`):
///
///     [connection to server at "…", port N failed: ]SEVERITY:  SQLSTATE: message
///     DETAIL:  …
///     HINT:  …
///     LOCATION:  …
///
/// so the fields can be read back. Errors libpq raises itself (connection refused) have no
/// SQLSTATE and are returned whole as the message.
enum ConnectionErrorText {
    /// Labels libpq prints before the verbose fields; a line starting with one ends the previous field.
    private static let labels = [
        "DETAIL:  ", "HINT:  ", "QUERY:  ", "CONTEXT:  ", "SCHEMA NAME:  ", "TABLE NAME:  ",
        "COLUMN NAME:  ", "DATATYPE NAME:  ", "CONSTRAINT NAME:  ", "LOCATION:  ",
    ]

    static func parse(_ text: String) -> PostgresError {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        guard let (index, severity, sqlState, firstLine) = lines.enumerated()
            .lazy.compactMap({ offset, line in headline(line).map { (offset, $0.0, $0.1, $0.2) } }).first
        else {
            return PostgresError(kind: .connection, message: trimmed(text))
        }
        var fields: [String: [String]] = ["": [firstLine]]
        var current = ""
        for line in lines[(index + 1)...] {
            if let label = labels.first(where: { line.hasPrefix($0) }) {
                current = label
                fields[label, default: []].append(String(line.dropFirst(label.count)))
            } else if headline(line) != nil {
                break  // a second attempt's error (another host); the first one is the answer
            } else {
                fields[current, default: []].append(line)
            }
        }
        func field(_ label: String) -> String? {
            fields[label].map { trimmed($0.joined(separator: "\n")) }
        }
        return PostgresError(kind: .connection, sqlState: sqlState, severity: severity,
                             message: field("") ?? "", detail: field("DETAIL:  "), hint: field("HINT:  "))
    }

    /// Finds `SEVERITY:  XXXXX: message` in a line, after any "connection to server … failed: ".
    private static func headline(_ line: String) -> (String, String, String)? {
        var searchStart = line.startIndex
        while let separator = line[searchStart...].firstRange(of: ":  ") {
            let severity = line[..<separator.lowerBound].reversed().prefix { $0.isLetter && $0.isUppercase }
            let rest = line[separator.upperBound...]
            let code = rest.prefix(5)
            if !severity.isEmpty, code.count == 5,
               code.allSatisfy({ ($0.isASCII && $0.isNumber) || ($0.isASCII && $0.isUppercase) }),
               rest.dropFirst(5).hasPrefix(": ") {
                return (String(severity.reversed()), String(code), String(rest.dropFirst(7)))
            }
            searchStart = separator.upperBound
        }
        return nil
    }

    private static func trimmed(_ text: String) -> String {
        String(text.drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
