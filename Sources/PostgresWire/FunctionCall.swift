/// FunctionCall ('F'): the legacy fast-path call of a function by OID, outside SQL. The
/// server answers FunctionCallResponse or ErrorResponse, then ReadyForQuery.
public struct FunctionCall: Equatable, Sendable {
    public var functionOID: UInt32
    public var arguments: BoundValues
    public var resultFormatCode: Int16

    public init(functionOID: UInt32, arguments: BoundValues, resultFormatCode: Int16 = 0) {
        self.functionOID = functionOID
        self.arguments = arguments
        self.resultFormatCode = resultFormatCode
    }

    public func encoded() -> [UInt8] {
        ByteWriter.message(FrontendMessageID.functionCall.rawValue) { w in
            w.writeInt32(Int32(bitPattern: functionOID))
            arguments.write(to: &w)
            w.writeInt16(resultFormatCode)
        }
    }

    /// nil for a malformed message.
    public static func decode(payload: ArraySlice<UInt8>) -> FunctionCall? {
        var reader = ByteReader(payload)
        guard let oid = reader.readInt32(), let arguments = BoundValues.read(from: &reader),
              let result = reader.readInt16(), reader.remaining == 0
        else { return nil }
        return FunctionCall(functionOID: UInt32(bitPattern: oid), arguments: arguments, resultFormatCode: result)
    }
}
