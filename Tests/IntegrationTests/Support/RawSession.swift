import PostgresWire
import Testing

/// A session through the proxy spoken by hand, for what libpq does not send: FunctionCall,
/// JDBC-style named statements re-bound with binary values, text in LATIN1 or SJIS.
/// Logs in as `postgres.<org>` (trusted on loopback, so no SCRAM exchange).
final class RawSession {
    let connection: RawConnection

    init(port: Int, org: String, database: String = "tiergate_test", parameters: [(String, String)] = []) throws {
        connection = try RawConnection(port: port)
        connection.send(StartupMessage(parameters: [("user", "postgres.\(org)"), ("database", database)] + parameters).encoded())
        guard let login = roundTrip([]), login.last?.id == UInt8(ascii: "Z") else { throw TestFailure("login failed") }
        if let error = login.compactMap({ $0.id == UInt8(ascii: "E") ? ErrorResponse.decode(payload: $0.payload[...]) : nil }).first {
            throw TestFailure("login refused: \(error.message ?? "?")")
        }
    }

    /// Sends `messages` and reads the replies up to and including the next ReadyForQuery;
    /// nil when the connection closed or timed out first.
    func roundTrip(_ messages: [[UInt8]]) -> [(id: UInt8, payload: [UInt8])]? {
        if !messages.isEmpty { connection.send(Array(messages.joined())) }
        var replies: [(UInt8, [UInt8])] = []
        while true {
            let header = connection.readExactly(5)
            guard header.count == 5 else { return nil }
            let length = Int(header[1]) << 24 | Int(header[2]) << 16 | Int(header[3]) << 8 | Int(header[4])
            guard length >= 4 else { return nil }
            let payload = connection.readExactly(length - 4)
            guard payload.count == length - 4 else { return nil }
            replies.append((header[0], payload))
            if header[0] == UInt8(ascii: "Z") { return replies }
        }
    }

    /// A simple Query whose text is given as bytes (any encoding).
    func query(_ text: [UInt8]) -> [(id: UInt8, payload: [UInt8])]? {
        roundTrip([Wire.message("Q", text + [0])])
    }

    func query(_ text: String) -> [(id: UInt8, payload: [UInt8])]? { query(Array(text.utf8)) }

    /// The single value of a one-row, one-column result.
    func value(_ sql: String) -> String? {
        guard let replies = query(sql), let row = replies.first(where: { $0.id == UInt8(ascii: "D") }) else { return nil }
        let payload = row.payload
        guard payload.count >= 6 else { return nil }
        let length = Int(Int32(bitPattern: UInt32(payload[2]) << 24 | UInt32(payload[3]) << 16 | UInt32(payload[4]) << 8 | UInt32(payload[5])))
        guard length >= 0, payload.count >= 6 + length else { return nil }
        return String(decoding: payload[6..<(6 + length)], as: UTF8.self)
    }

    static func errors(_ replies: [(id: UInt8, payload: [UInt8])]?) -> [ErrorResponse] {
        (replies ?? []).compactMap { $0.id == UInt8(ascii: "E") ? ErrorResponse.decode(payload: $0.payload[...]) : nil }
    }

    static func ids(_ replies: [(id: UInt8, payload: [UInt8])]?) -> String {
        String(decoding: (replies ?? []).map(\.id), as: UTF8.self)
    }

    /// The transaction status of the ReadyForQuery that ends `replies`: I, T or E.
    static func status(_ replies: [(id: UInt8, payload: [UInt8])]?) -> Character? {
        guard let last = replies?.last, last.id == UInt8(ascii: "Z"), let byte = last.payload.first else { return nil }
        return Character(Unicode.Scalar(byte))
    }
}

/// Frontend messages PostgresWire does not build (the proxy never sends them).
enum Wire {
    static func message(_ id: Character, _ payload: [UInt8]) -> [UInt8] {
        var length = UInt32(payload.count + 4)
        var bytes = [id.asciiValue!]
        for _ in 0..<4 {
            bytes.append(UInt8(length >> 24))
            length <<= 8
        }
        return bytes + payload
    }

    static func describeStatement(_ name: String) -> [UInt8] { message("D", [UInt8(ascii: "S")] + Array(name.utf8) + [0]) }
    static func execute(portal: String = "") -> [UInt8] { message("E", Array(portal.utf8) + [0, 0, 0, 0, 0]) }
    static let sync = message("S", [])

    static func bind(_ statement: String, _ values: [String?], binary: Bool = false) -> [UInt8] {
        Bind(statement: Array(statement.utf8)[...],
             parameters: BoundValues(formatCodes: binary ? [1] : [], values: values.map { $0.map { Array($0.utf8)[...] } }))
            .encoded()
    }
}
