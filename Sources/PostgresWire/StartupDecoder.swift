/// Frames and parses the startup phase. Pure: give it the bytes received so far, it says
/// what they are, whether more are needed, or which rule they break.
///
/// Limits follow Postgres' own `ProcessStartupPacket` (backend/tcop/backend_startup.c):
/// a length below 8 or above 10,000 bytes (MAX_STARTUP_PACKET_LENGTH) is refused before
/// anything is allocated from it.
public enum StartupDecoder {
    public static let maxPacketLength = 10_000
    static let minPacketLength = 8

    public enum Result: Equatable, Sendable {
        /// Not a whole packet yet: keep the bytes, read more.
        case needMoreData
        /// A packet, and how many bytes of the input it used.
        case packet(StartupPacket, consumed: Int)
        case failure(ProtocolViolation)
    }

    public static func decode(_ buffer: ArraySlice<UInt8>) -> Result {
        var header = ByteReader(buffer)
        guard let length = header.readInt32() else { return .needMoreData }
        guard length >= minPacketLength else {
            return .failure(ProtocolViolation("invalid length of startup packet: \(length)"))
        }
        guard length <= maxPacketLength else {
            return .failure(ProtocolViolation(
                "startup packet too long: \(length) bytes (limit \(maxPacketLength))"))
        }
        guard buffer.count >= Int(length) else { return .needMoreData }
        let start = buffer.startIndex
        let body = buffer[(start + 4)..<(start + Int(length))]
        switch parse(body: body) {
        case .success(let packet): return .packet(packet, consumed: Int(length))
        case .failure(let violation): return .failure(violation)
        }
    }

    private static func parse(body: ArraySlice<UInt8>) -> Swift.Result<StartupPacket, ProtocolViolation> {
        var reader = ByteReader(body)
        guard let code = reader.readInt32() else {
            return .failure(ProtocolViolation("startup packet has no protocol version"))
        }
        switch code {
        case StartupPacket.sslRequestCode where reader.remaining == 0:
            return .success(.sslRequest)
        case StartupPacket.gssEncRequestCode where reader.remaining == 0:
            return .success(.gssEncRequest)
        case StartupPacket.sslRequestCode, StartupPacket.gssEncRequestCode:
            return .failure(ProtocolViolation("invalid length of encryption request packet"))
        case CancelRequest.code:
            guard let pid = reader.readInt32(),
                  (4...BackendKeyData.maxSecretKeyLength).contains(reader.remaining),
                  let key = reader.readBytes(reader.remaining)
            else { return .failure(ProtocolViolation("invalid length of cancel request packet")) }
            return .success(.cancel(CancelRequest(key: BackendKeyData(processID: pid, secretKey: Array(key)))))
        default:
            let version = ProtocolVersion(code: code)
            guard version.major == 3 else {
                return .failure(ProtocolViolation(
                    sqlState: .featureNotSupported,
                    "unsupported frontend protocol \(version): server supports 3.0 to 3.x"))
            }
            return parseParameters(&reader).map { .startup(StartupMessage(protocolVersion: version, parameters: $0)) }
        }
    }

    /// name\0value\0 ... \0: every string terminated, valid UTF-8, names non-empty, and the
    /// final terminator the last byte of the packet.
    private static func parseParameters(_ reader: inout ByteReader)
        -> Swift.Result<[(name: String, value: String)], ProtocolViolation> {
        var parameters: [(name: String, value: String)] = []
        while true {
            switch reader.readCString() {
            case .unterminated:
                return .failure(ProtocolViolation("invalid startup packet layout: expected terminator as last byte"))
            case .invalidUTF8:
                return .failure(ProtocolViolation("invalid byte sequence for encoding \"UTF8\" in startup packet"))
            case .string(let name) where name.isEmpty:
                guard reader.remaining == 0 else {
                    return .failure(ProtocolViolation("invalid startup packet layout: expected terminator as last byte"))
                }
                return .success(parameters)
            case .string(let name):
                switch reader.readCString() {
                case .string(let value):
                    parameters.append((name, value))
                case .unterminated:
                    return .failure(ProtocolViolation("invalid startup packet layout: parameter \"\(name)\" has no value"))
                case .invalidUTF8:
                    return .failure(ProtocolViolation(
                        "invalid byte sequence for encoding \"UTF8\" in startup parameter \"\(name)\""))
                }
            }
        }
    }
}
