/// The first packet(s) of a connection, before any regular message: a client either asks for
/// encryption (SSLRequest, GSSENCRequest), cancels a query (CancelRequest), or starts a
/// session (StartupMessage). These packets have a length but no type byte.
public enum StartupPacket: Equatable, Sendable {
    case sslRequest
    case gssEncRequest
    case cancel(CancelRequest)
    case startup(StartupMessage)

    static let sslRequestCode = Int32(80877103)     // 1234 << 16 | 5679
    static let gssEncRequestCode = Int32(80877104)  // 1234 << 16 | 5680

    /// The single byte that declines SSLRequest or GSSENCRequest; the client then goes on
    /// in plain text on the same socket (what `sslmode=prefer` expects).
    public static let declineEncryption: [UInt8] = [78]  // N
}
