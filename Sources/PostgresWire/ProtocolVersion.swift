/// A startup packet's 32-bit code: major version in the high 16 bits, minor in the low.
/// The same field carries the magic codes of SSLRequest, GSSENCRequest and CancelRequest
/// (major 1234), which is how the first packet of a connection is told apart.
public struct ProtocolVersion: Hashable, Sendable, CustomStringConvertible {
    public var major: UInt16
    public var minor: UInt16

    public init(major: UInt16, minor: UInt16) {
        self.major = major
        self.minor = minor
    }

    init(code: Int32) {
        let raw = UInt32(bitPattern: code)
        major = UInt16(raw >> 16)
        minor = UInt16(truncatingIfNeeded: raw)
    }

    var code: Int32 { Int32(bitPattern: UInt32(major) << 16 | UInt32(minor)) }

    public static let v3_0 = ProtocolVersion(major: 3, minor: 0)

    public var description: String { "\(major).\(minor)" }
}
