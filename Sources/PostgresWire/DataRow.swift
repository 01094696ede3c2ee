/// DataRow ('D'): one row of a result, each column's value as sent (text or binary), nil for
/// SQL NULL (protocol docs, "Message Formats").
public struct DataRow: Sendable, Equatable {
    public var values: [[UInt8]?]

    public init(values: [[UInt8]?]) { self.values = values }

    /// Nil unless the payload is exactly a column count and that many length-prefixed values.
    public static func decode(payload: ArraySlice<UInt8>) -> DataRow? {
        var reader = ByteReader(payload)
        guard let count = reader.readInt16(), count >= 0 else { return nil }
        var values: [[UInt8]?] = []
        values.reserveCapacity(Int(count))
        for _ in 0..<count {
            guard let length = reader.readInt32() else { return nil }
            if length == -1 {
                values.append(nil)
                continue
            }
            guard length >= 0, let bytes = reader.readBytes(Int(length)) else { return nil }
            values.append(Array(bytes))
        }
        return reader.remaining == 0 ? DataRow(values: values) : nil
    }

    /// Column `index` as UTF-8 text; nil for NULL, a missing column or invalid UTF-8.
    public func text(_ index: Int) -> String? {
        guard values.indices.contains(index), let bytes = values[index] else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }

    public func encoded() -> [UInt8] {
        ByteWriter.message(BackendMessageID.dataRow.rawValue) { writer in
            writer.writeInt16(Int16(values.count))
            for value in values {
                if let value {
                    writer.writeInt32(Int32(value.count))
                    writer.writeBytes(value[...])
                } else {
                    writer.writeInt32(-1)
                }
            }
        }
    }
}
