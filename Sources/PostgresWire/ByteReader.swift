/// A bounds-checked cursor over received bytes.
///
/// Every read says how many bytes it needs first; a short buffer yields `nil` rather than a
/// trap, so a truncated packet from the network becomes a protocol error, never a crash.
public struct ByteReader {
    private let bytes: ArraySlice<UInt8>
    public private(set) var index: Int

    public init(_ bytes: ArraySlice<UInt8>) {
        self.bytes = bytes
        self.index = bytes.startIndex
    }

    public var remaining: Int { bytes.endIndex - index }

    public mutating func readUInt8() -> UInt8? {
        guard remaining >= 1 else { return nil }
        defer { index += 1 }
        return bytes[index]
    }

    public mutating func readInt32() -> Int32? {
        guard remaining >= 4 else { return nil }
        let value = bytes[index..<index + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        index += 4
        return Int32(bitPattern: value)
    }

    public mutating func readInt16() -> Int16? {
        guard remaining >= 2 else { return nil }
        let value = UInt16(bytes[index]) << 8 | UInt16(bytes[index + 1])
        index += 2
        return Int16(bitPattern: value)
    }

    /// An unsigned 16-bit count, as the server reads the counts of Parse, Bind and
    /// FunctionCall (`pq_getmsgint(msg, 2)`: 0...65535).
    public mutating func readUInt16() -> Int? {
        readInt16().map { Int(UInt16(bitPattern: $0)) }
    }

    public mutating func readBytes(_ count: Int) -> ArraySlice<UInt8>? {
        guard count >= 0, remaining >= count else { return nil }
        defer { index += count }
        return bytes[index..<index + count]
    }

    /// Reads up to (not including) the next NUL and consumes the NUL.
    /// Returns `nil` when no NUL is left: the field was not terminated.
    public mutating func readCStringBytes() -> ArraySlice<UInt8>? {
        guard let nul = bytes[index...].firstIndex(of: 0) else { return nil }
        defer { index = nul + 1 }
        return bytes[index..<nul]
    }

    /// A NUL-terminated string that must be valid UTF-8 (Postgres rejects anything else in
    /// startup parameters, and so do we, before it reaches a log line or a Redis key).
    public mutating func readCString() -> CStringRead {
        guard let raw = readCStringBytes() else { return .unterminated }
        guard let string = String(validating: raw, as: UTF8.self) else { return .invalidUTF8 }
        return .string(string)
    }

    public enum CStringRead: Equatable {
        case string(String)
        case unterminated
        case invalidUTF8
    }
}
