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
        ByteWriter.message(FrontendMessageID.parse.rawValue) { w in
            w.writeCString(statementName)
            w.writeCString(query)
            w.writeInt16(Int16(truncatingIfNeeded: parameterTypes.count))
            for type in parameterTypes { w.writeInt32(type) }
        }
    }

    public static func decode(payload: ArraySlice<UInt8>) -> Parse? {
        var reader = ByteReader(payload)
        guard case .string(let name) = reader.readCString(),
              case .string(let query) = reader.readCString(),
              let count = reader.readInt16(), count >= 0
        else { return nil }
        var types: [Int32] = []
        for _ in 0..<count {
            guard let type = reader.readInt32() else { return nil }
            types.append(type)
        }
        guard reader.remaining == 0 else { return nil }
        return Parse(statementName: name, query: query, parameterTypes: types)
    }
}
