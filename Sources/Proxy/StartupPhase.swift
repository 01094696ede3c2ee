import PostgresWire

/// The startup phase of a client connection as a pure state machine: bytes in, one action
/// out. It never touches a socket, so every malformed-startup case is tested without one.
///
/// Order of events follows the protocol docs ("Start-up", "SSL Session Encryption"): zero or
/// more encryption requests, each answered with a single byte, then either a CancelRequest
/// (the connection's only purpose) or a StartupMessage, whose parameters must pass
/// `StartupAllowlist`. With TLS on (`ClientTLSMode`), SSLRequest is accepted ('S', then the
/// handshake) and a connection whose first byte is 0x16 (a TLS handshake record: Postgres
/// 17's direct TLS) starts its handshake at once.
///
/// Guarantees:
/// - Bytes that arrive behind an encryption request, before its answer, are refused (08P01)
///   as Postgres refuses them: they were sent in plain text before encryption was agreed,
///   so a man in the middle may have put them there (CVE-2021-23214, CVE-2021-3935).
/// - With `require`, no StartupMessage is served unless it came over TLS.
/// - Once encrypted, a second SSLRequest or a GSSENCRequest is a protocol violation.
struct StartupPhase {
    private var buffer: [UInt8] = []
    private var encryptionRequestsDeclined = 0
    private var receivedAnything = false
    private(set) var isFinished = false
    let tlsMode: ClientTLSMode
    /// Whether the connection is encrypted now (the handshake finished).
    private(set) var isEncrypted = false

    init(tlsMode: ClientTLSMode = .disable) {
        self.tlsMode = tlsMode
    }

    enum Action: Equatable {
        /// Not a whole packet yet: keep reading.
        case readMore
        /// Decline encryption with 'N'; the client continues in plain text. Then read more.
        case declineEncryption
        /// Answer 'S', then start the TLS handshake; read on once it finished.
        case acceptEncryption
        /// The client speaks TLS from its first byte: start the handshake with these bytes.
        case startDirectTLS(initial: [UInt8])
        /// Forward this cancel to the backend that owns the key, then close without a reply.
        case forwardCancel(CancelRequest)
        /// A session begins. `leftover` are bytes the client sent after the packet
        /// (pipelined); they belong to the session and must not be lost.
        case startSession(StartupMessage, leftover: [UInt8])
        /// Send this FATAL error and close.
        case fail(ErrorResponse)
    }

    /// A client may ask for SSL and then GSS (or the reverse) once each; more is a loop.
    static let maxEncryptionRequests = 2
    /// The first byte of a TLS record carrying a handshake message (RFC 8446, 5.1).
    static let tlsHandshakeRecord: UInt8 = 0x16

    mutating func receive(_ bytes: ArraySlice<UInt8>) -> Action {
        guard !isFinished else { return .readMore }
        let first = !receivedAnything
        receivedAnything = true
        buffer.append(contentsOf: bytes)
        if first, tlsMode != .disable, buffer.first == Self.tlsHandshakeRecord {
            let initial = buffer
            buffer = []
            return .startDirectTLS(initial: initial)
        }
        return step()
    }

    /// The TLS handshake finished: what follows is read from the encrypted stream.
    mutating func encryptionEstablished() {
        isEncrypted = true
        buffer = []
    }

    /// Re-examines buffered bytes.
    mutating func step() -> Action {
        switch StartupDecoder.decode(buffer[...]) {
        case .needMoreData:
            return .readMore
        case .failure(let violation):
            return finish(.fail(violation.errorResponse))
        case .packet(let packet, let consumed):
            buffer.removeFirst(consumed)
            switch packet {
            case .sslRequest, .gssEncRequest:
                if isEncrypted {
                    return finish(.fail(ProtocolViolation("encryption requested again on an encrypted connection").errorResponse))
                }
                encryptionRequestsDeclined += 1
                guard encryptionRequestsDeclined <= Self.maxEncryptionRequests else {
                    return finish(.fail(ProtocolViolation("too many encryption requests").errorResponse))
                }
                guard buffer.isEmpty else { return finish(.fail(ClientError.unencryptedDataAfterEncryptionRequest.errorResponse)) }
                if packet == .sslRequest, tlsMode != .disable { return .acceptEncryption }
                return .declineEncryption
            case .cancel(let request):
                return finish(.forwardCancel(request))
            case .startup(let message):
                guard isEncrypted || tlsMode != .require else {
                    return finish(.fail(ClientError.tlsRequired.errorResponse))
                }
                guard let user = message.user, !user.isEmpty else {
                    return finish(.fail(ClientError.noUserName.errorResponse))
                }
                // What goes upstream is rebuilt from the checked parameters only.
                switch StartupAllowlist.check(message) {
                case .failure(let violation):
                    return finish(.fail(violation.errorResponse))
                case .success(let checked):
                    let leftover = buffer
                    buffer = []
                    return finish(.startSession(checked, leftover: leftover))
                }
            }
        }
    }

    var hasBufferedBytes: Bool { !buffer.isEmpty }

    private mutating func finish(_ action: Action) -> Action {
        isFinished = true
        buffer = []
        return action
    }
}

extension StartupPhase {
    static let declineEncryptionReply = StartupPacket.declineEncryption[...]
    static let acceptEncryptionReply: ArraySlice<UInt8> = [83][...]  // S
}
