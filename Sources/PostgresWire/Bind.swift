/// Bind ('B'): makes a portal from a prepared statement and values for its parameters.
/// Names are bytes in the session's client_encoding, compared byte for byte by the server.
public struct Bind: Equatable, Sendable {
    public var portal: ArraySlice<UInt8>
    public var statement: ArraySlice<UInt8>
    public var parameters: BoundValues
    public var resultFormatCodes: [Int16]

    public init(portal: ArraySlice<UInt8> = [], statement: ArraySlice<UInt8>, parameters: BoundValues,
                resultFormatCodes: [Int16] = []) {
        self.portal = portal
        self.statement = statement
        self.parameters = parameters
        self.resultFormatCodes = resultFormatCodes
    }

    public func encoded() -> [UInt8] {
        ByteWriter.message(FrontendMessageID.bind.rawValue) { w in
            w.writeCString(bytes: portal)
            w.writeCString(bytes: statement)
            parameters.write(to: &w)
            w.writeInt16(Int16(truncatingIfNeeded: resultFormatCodes.count))
            for code in resultFormatCodes { w.writeInt16(code) }
        }
    }

    /// nil for a malformed message (a count or length past the end, bytes left over).
    public static func decode(payload: ArraySlice<UInt8>) -> Bind? {
        var reader = ByteReader(payload)
        guard let portal = reader.readCStringBytes(), let statement = reader.readCStringBytes(),
              let parameters = BoundValues.read(from: &reader),
              let resultCount = reader.readUInt16()
        else { return nil }
        var results: [Int16] = []
        for _ in 0..<resultCount {
            guard let code = reader.readInt16() else { return nil }
            results.append(code)
        }
        guard reader.remaining == 0 else { return nil }
        return Bind(portal: portal, statement: statement, parameters: parameters, resultFormatCodes: results)
    }
}
