/// Parse ('P'): the extended protocol's prepare step: statement name, query text, and the
/// declared parameter types.
public struct Parse: Equatable, Sendable {
    public var statementName: String
    public var query: String
    public var parameterTypes: [Int32]

    public init(statementName: String, query: String, parameterTypes: [Int32] = []) {
        self.statementName = statementName
        self.query = query
        self.parameterTypes = parameterTypes
    }

    public func encoded() -> [UInt8] {
        RawParse(statementName: Array(statementName.utf8.lazy.filter { $0 != 0 })[...],
                 query: Array(query.utf8.lazy.filter { $0 != 0 })[...], parameterTypes: parameterTypes).encoded()
    }

    /// The fields as UTF-8; nil when the message is malformed or a string is not UTF-8.
    public static func decode(payload: ArraySlice<UInt8>) -> Parse? {
        guard let raw = RawParse.decode(payload: payload),
              let name = String(validating: raw.statementName, as: UTF8.self),
              let query = String(validating: raw.query, as: UTF8.self)
        else { return nil }
        return Parse(statementName: name, query: query, parameterTypes: raw.parameterTypes)
    }
}

/// A Parse message with its strings as bytes, in the session's client_encoding, whatever
/// that is: the server converts the query text before it parses it, and a statement name is
/// compared byte for byte.
public struct RawParse: Equatable, Sendable {
    public var statementName: ArraySlice<UInt8>
    public var query: ArraySlice<UInt8>
    /// Type OIDs as declared; 0 leaves a parameter's type to the server.
    public var parameterTypes: [Int32]

    public init(statementName: ArraySlice<UInt8>, query: ArraySlice<UInt8>, parameterTypes: [Int32]) {
        self.statementName = statementName
        self.query = query
        self.parameterTypes = parameterTypes
    }

    public func encoded() -> [UInt8] {
        ByteWriter.message(FrontendMessageID.parse.rawValue) { w in
            w.writeCString(bytes: statementName)
            w.writeCString(bytes: query)
            w.writeInt16(Int16(truncatingIfNeeded: parameterTypes.count))
            for type in parameterTypes { w.writeInt32(type) }
        }
    }

    /// The counts are unsigned 16-bit, as the server reads them (up to 65535 types).
    public static func decode(payload: ArraySlice<UInt8>) -> RawParse? {
        var reader = ByteReader(payload)
        guard let name = reader.readCStringBytes(), let query = reader.readCStringBytes(),
              let count = reader.readUInt16()
        else { return nil }
        var types: [Int32] = []
        types.reserveCapacity(count)
        for _ in 0..<count {
            guard let type = reader.readInt32() else { return nil }
            types.append(type)
        }
        guard reader.remaining == 0 else { return nil }
        return RawParse(statementName: name, query: query, parameterTypes: types)
    }
}
