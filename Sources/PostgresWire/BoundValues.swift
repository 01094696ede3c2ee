/// The parameter values of a Bind or the arguments of a FunctionCall, with their format
/// codes (protocol docs, "Message Formats": no code means all text, one code applies to
/// every value, otherwise one code per value).
public struct BoundValues: Equatable, Sendable {
    public enum Format: Equatable, Sendable {
        case text, binary
    }

    public var formatCodes: [Int16]
    /// nil: SQL NULL (length -1). Bytes are in the session's client_encoding (text format)
    /// or the type's binary representation.
    public var values: [ArraySlice<UInt8>?]

    public init(formatCodes: [Int16] = [], values: [ArraySlice<UInt8>?]) {
        self.formatCodes = formatCodes
        self.values = values
    }

    public var count: Int { values.count }

    /// The format of value `index`; nil when the codes do not fit the values or a code is
    /// neither 0 nor 1 (the server refuses the message).
    public func format(of index: Int) -> Format? {
        let code: Int16
        switch formatCodes.count {
        case 0: code = 0
        case 1: code = formatCodes[0]
        case values.count: code = formatCodes[index]
        default: return nil
        }
        switch code {
        case 0: return .text
        case 1: return .binary
        default: return nil
        }
    }

    func write(to w: inout ByteWriter) {
        w.writeInt16(Int16(truncatingIfNeeded: formatCodes.count))
        for code in formatCodes { w.writeInt16(code) }
        w.writeInt16(Int16(truncatingIfNeeded: values.count))
        for value in values {
            if let value {
                w.writeInt32(Int32(value.count))
                w.writeBytes(value)
            } else {
                w.writeInt32(-1)
            }
        }
    }

    static func read(from reader: inout ByteReader) -> BoundValues? {
        guard let formatCount = reader.readUInt16() else { return nil }
        var codes: [Int16] = []
        codes.reserveCapacity(formatCount)
        for _ in 0..<formatCount {
            guard let code = reader.readInt16() else { return nil }
            codes.append(code)
        }
        guard let valueCount = reader.readUInt16() else { return nil }
        var values: [ArraySlice<UInt8>?] = []
        values.reserveCapacity(valueCount)
        for _ in 0..<valueCount {
            guard let length = reader.readInt32() else { return nil }
            if length == -1 {
                values.append(nil)
            } else {
                guard let bytes = reader.readBytes(Int(length)) else { return nil }
                values.append(bytes)
            }
        }
        return BoundValues(formatCodes: codes, values: values)
    }
}
