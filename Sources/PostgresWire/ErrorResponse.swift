/// ErrorResponse ('E') and, with the same body, NoticeResponse ('N').
///
/// Fields are kept in wire order as (code, value) pairs so a message from Postgres can be
/// decoded, given one more field (an upgrade hint) and re-encoded without losing the fields
/// TierGate does not interpret (position, where, routine, ...).
/// Protocol docs, "Error and Notice Message Fields".
public struct ErrorResponse: Equatable, Sendable {
    public enum Severity: String, Sendable {
        case error = "ERROR"
        case fatal = "FATAL"
        case panic = "PANIC"
    }

    /// Field type bytes.
    public enum Field: UInt8, Sendable {
        case severityLocalized = 83  // S
        case severity = 86           // V (non-localized, since 9.6)
        case sqlState = 67           // C
        case message = 77            // M
        case detail = 68             // D
        case hint = 72               // H
        case context = 87            // W (e.g. the PL/pgSQL line that raised)
        case routine = 82            // R (the Postgres source function that reported it)
    }

    public var fields: [(code: UInt8, value: String)]

    public init(fields: [(code: UInt8, value: String)]) {
        self.fields = fields
    }

    public init(severity: Severity, sqlState: SQLState, message: String,
                detail: String? = nil, hint: String? = nil) {
        fields = [
            (Field.severityLocalized.rawValue, severity.rawValue),
            (Field.severity.rawValue, severity.rawValue),
            (Field.sqlState.rawValue, sqlState.rawValue),
            (Field.message.rawValue, message),
        ]
        if let detail { fields.append((Field.detail.rawValue, detail)) }
        if let hint { fields.append((Field.hint.rawValue, hint)) }
    }

    public subscript(field: Field) -> String? {
        get { fields.first { $0.code == field.rawValue }?.value }
        set {
            if let i = fields.firstIndex(where: { $0.code == field.rawValue }) {
                if let newValue { fields[i].value = newValue } else { fields.remove(at: i) }
            } else if let newValue {
                fields.append((field.rawValue, newValue))
            }
        }
    }

    /// The 'C' field, nil when absent or not a well-formed SQLSTATE (`self[.sqlState]` has
    /// the raw text).
    public var sqlState: SQLState? { self[.sqlState].flatMap(SQLState.init(rawValue:)) }
    public var message: String? { self[.message] }

    /// The whole message, type byte and length included, ready for the socket.
    public func encoded(as id: BackendMessageID = .errorResponse) -> [UInt8] {
        ByteWriter.message(id.rawValue) { w in
            for field in fields {
                w.writeUInt8(field.code)
                w.writeCString(field.value)
            }
            w.writeUInt8(0)
        }
    }

    /// Decodes a payload (the bytes after the length field). Fields are NUL-terminated and
    /// the list ends with a zero byte; anything else is a malformed message.
    public static func decode(payload: ArraySlice<UInt8>) -> ErrorResponse? {
        var reader = ByteReader(payload)
        var fields: [(code: UInt8, value: String)] = []
        while let code = reader.readUInt8() {
            if code == 0 { return reader.remaining == 0 ? ErrorResponse(fields: fields) : nil }
            guard case .string(let value) = reader.readCString() else { return nil }
            fields.append((code, value))
        }
        return nil
    }

    public static func == (lhs: ErrorResponse, rhs: ErrorResponse) -> Bool {
        lhs.fields.elementsEqual(rhs.fields) { $0.code == $1.code && $0.value == $1.value }
    }
}
