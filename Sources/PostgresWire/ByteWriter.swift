/// Builds the messages the proxy itself sends. Appends big-endian integers and C strings
/// to a byte array and patches the length field once the payload is known.
public struct ByteWriter {
    public private(set) var bytes: [UInt8]

    public init(capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func writeUInt8(_ value: UInt8) { bytes.append(value) }

    public mutating func writeInt32(_ value: Int32) {
        let v = UInt32(bitPattern: value)
        bytes.append(contentsOf: [UInt8(v >> 24), UInt8(truncatingIfNeeded: v >> 16),
                                  UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)])
    }

    public mutating func writeInt16(_ value: Int16) {
        let v = UInt16(bitPattern: value)
        bytes.append(contentsOf: [UInt8(v >> 8), UInt8(truncatingIfNeeded: v)])
    }

    public mutating func writeBytes<S: Sequence>(_ data: S) where S.Element == UInt8 {
        bytes.append(contentsOf: data)
    }

    /// Writes the string's UTF-8 and a terminating NUL. An embedded NUL would end the field
    /// early on the peer's side and shift every later field, so it is dropped here.
    public mutating func writeCString(_ string: String) {
        bytes.append(contentsOf: string.utf8.lazy.filter { $0 != 0 })
        bytes.append(0)
    }

    /// Writes bytes read as a C string (a name or text in the client's encoding) and the NUL.
    public mutating func writeCString(bytes text: ArraySlice<UInt8>) {
        bytes.append(contentsOf: text)
        bytes.append(0)
    }

    /// Writes a regular message: 1-byte type, 4-byte length (which counts itself), payload.
    public static func message(_ id: UInt8, _ body: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeUInt8(id)
        writer.writeInt32(0)
        body(&writer)
        writer.patchLength(at: 1)
        return writer.bytes
    }

    /// Writes a startup-phase packet, which has no type byte: 4-byte length, then payload.
    public static func startupPacket(_ body: (inout ByteWriter) -> Void) -> [UInt8] {
        var writer = ByteWriter()
        writer.writeInt32(0)
        body(&writer)
        writer.patchLength(at: 0)
        return writer.bytes
    }

    private mutating func patchLength(at offset: Int) {
        let length = UInt32(bytes.count - offset)
        bytes[offset] = UInt8(length >> 24)
        bytes[offset + 1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[offset + 2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[offset + 3] = UInt8(truncatingIfNeeded: length)
    }
}
