/// Typed reads from one JSON object with errors that carry the dotted field path
/// (`PRO.postgres.maxConnections`, `addons[0].enabled`), so every decoder in TierModel
/// reports problems the same way.
///
/// Numbers are read the way MongoDB's relaxed extended JSON may print them: plain, or
/// wrapped as `{"$numberInt": "5"}`, `{"$numberLong": "5"}`, `{"$numberDouble": "5.0"}`
/// (libbson's `bson_as_relaxed_extended_json`), so one reader serves files and documents.
struct FieldReader {
    let object: JSONObject
    /// Path of this object itself; "" for the document root.
    let path: String

    /// Whether `rejectUnknown` refuses; inherited by nested readers.
    let strict: Bool

    init(_ value: JSONValue, path: String, strict: Bool = true) throws(FieldFailure) {
        guard case .object(let object) = value else {
            throw FieldFailure(field: path, problem: .wrongType(expected: "an object", found: value.kindDescription))
        }
        self.object = object
        self.path = path
        self.strict = strict
    }

    func field(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// The member, treating an explicit `null` as present.
    func value(_ key: String) throws(FieldFailure) -> JSONValue {
        guard let value = object[key] else { throw FieldFailure(field: field(key), problem: .missing) }
        return value
    }

    /// nil when absent or null.
    func optionalValue(_ key: String) -> JSONValue? {
        switch object[key] {
        case nil, .null?: nil
        case let value?: value
        }
    }

    func nested(_ key: String) throws(FieldFailure) -> FieldReader {
        try FieldReader(try value(key), path: field(key), strict: strict)
    }

    func optionalNested(_ key: String) throws(FieldFailure) -> FieldReader? {
        guard let value = optionalValue(key) else { return nil }
        return try FieldReader(value, path: field(key), strict: strict)
    }

    func integer(_ key: String) throws(FieldFailure) -> Int {
        try Self.integer(try value(key), field: field(key))
    }

    func optionalInteger(_ key: String) throws(FieldFailure) -> Int? {
        guard let value = optionalValue(key) else { return nil }
        return try Self.integer(value, field: field(key))
    }

    /// Present, and either an integer or `null` (the matrix file writes `idleTimeout: null` for
    /// "never"; absence is more likely a typo than a decision).
    func nullableInteger(_ key: String) throws(FieldFailure) -> Int? {
        let value = try value(key)
        if value == .null { return nil }
        return try Self.integer(value, field: field(key))
    }

    /// An integer, `null` (nil), or when the member is absent, `absent`: for fields added
    /// after the matrix file, where absent means "the default" and `null` means "not set".
    func nullableInteger(_ key: String, absent: Int?) throws(FieldFailure) -> Int? {
        object[key] == nil ? absent : try nullableInteger(key)
    }

    func number(_ key: String) throws(FieldFailure) -> Double {
        try Self.number(try value(key), field: field(key))
    }

    func optionalNumber(_ key: String) throws(FieldFailure) -> Double? {
        guard let value = optionalValue(key) else { return nil }
        return try Self.number(value, field: field(key))
    }

    func bool(_ key: String) throws(FieldFailure) -> Bool {
        let value = try value(key)
        guard case .bool(let b) = value else {
            throw FieldFailure(field: field(key), problem: .wrongType(expected: "a boolean", found: value.kindDescription))
        }
        return b
    }

    func optionalBool(_ key: String) throws(FieldFailure) -> Bool? {
        guard object[key] != nil, object[key] != .null else { return nil }
        return try bool(key)
    }

    func string(_ key: String) throws(FieldFailure) -> String {
        let value = try value(key)
        guard case .string(let s) = value else {
            throw FieldFailure(field: field(key), problem: .wrongType(expected: "a string", found: value.kindDescription))
        }
        return s
    }

    func optionalString(_ key: String) throws(FieldFailure) -> String? {
        guard optionalValue(key) != nil else { return nil }
        return try string(key)
    }

    /// A date as epoch milliseconds: `{"$date": "ISO-8601"}`, `{"$date": {"$numberLong": "ms"}}`,
    /// `{"$date": ms}`, or in plain JSON an ISO-8601 string or a number of milliseconds.
    func optionalDate(_ key: String) throws(FieldFailure) -> Int? {
        guard let value = optionalValue(key) else { return nil }
        return try Self.date(value, field: field(key))
    }

    /// Refuses members not in `known`: in a config file an unknown key is almost always a
    /// misspelling (`tempBuffer`) whose intended value would otherwise be silently replaced
    /// by a default.
    func rejectUnknown(_ known: [String]) throws(FieldFailure) {
        if strict, let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw FieldFailure(field: field(unknown), problem: .unknownField)
        }
    }

    static func integer(_ value: JSONValue, field: String) throws(FieldFailure) -> Int {
        switch value {
        case .integer(let i): return i
        case .double(let d):
            guard d.rounded() == d, let i = Int(exactly: d) else {
                throw FieldFailure(field: field, problem: .wrongType(expected: "an integer", found: "\(d)"))
            }
            return i
        case .object(let o):
            if let text = o["$numberInt"]?.stringValue ?? o["$numberLong"]?.stringValue, o.members.count == 1 {
                guard let i = Int(text) else {
                    throw FieldFailure(field: field, problem: .wrongType(expected: "an integer", found: "\"\(text)\""))
                }
                return i
            }
            if let text = o["$numberDouble"]?.stringValue, o.members.count == 1, let d = Double(text) {
                return try integer(.double(d), field: field)
            }
            fallthrough
        default:
            throw FieldFailure(field: field, problem: .wrongType(expected: "an integer", found: value.kindDescription))
        }
    }

    static func number(_ value: JSONValue, field: String) throws(FieldFailure) -> Double {
        switch value {
        case .integer(let i): return Double(i)
        case .double(let d): return d
        case .object(let o) where o.members.count == 1:
            let text = o["$numberDouble"]?.stringValue ?? o["$numberInt"]?.stringValue
                ?? o["$numberLong"]?.stringValue ?? o["$numberDecimal"]?.stringValue
            if let text, let d = Double(text), d.isFinite { return d }
            fallthrough
        default:
            throw FieldFailure(field: field, problem: .wrongType(expected: "a number", found: value.kindDescription))
        }
    }

    static func date(_ value: JSONValue, field: String) throws(FieldFailure) -> Int {
        switch value {
        case .string(let text):
            guard let ms = ISO8601.milliseconds(text) else {
                throw FieldFailure(field: field, problem: .invalid("\"\(text)\" is not an ISO-8601 date-time"))
            }
            return ms
        case .integer, .double:
            return try integer(value, field: field)
        case .object(let o) where o.members.count == 1 && o["$date"] != nil:
            return try date(o["$date"]!, field: field)
        case .object(let o) where o.members.count == 1 && o["$numberLong"] != nil:
            return try integer(value, field: field)
        default:
            throw FieldFailure(field: field, problem: .wrongType(expected: "a date", found: value.kindDescription))
        }
    }
}
