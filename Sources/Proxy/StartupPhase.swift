import PostgresWire

/// The startup phase of a client connection as a pure state machine: bytes in, one action
/// out. It never touches a socket, so every malformed-startup case is tested without one.
///
/// Order of events follows the protocol docs ("Start-up"): zero or more encryption
/// requests, each answered with a single byte, then either a CancelRequest (the connection's
/// only purpose) or a StartupMessage, whose parameters must pass `StartupAllowlist`.
struct StartupPhase {
    private var buffer: [UInt8] = []
    private var encryptionRequestsDeclined = 0
    private(set) var isFinished = false

    enum Action: Equatable {
        /// Not a whole packet yet: keep reading.
        case readMore
        /// Decline encryption with 'N'; the client continues in plain text. Then read more.
        case declineEncryption
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

    mutating func receive(_ bytes: ArraySlice<UInt8>) -> Action {
        guard !isFinished else { return .readMore }
        buffer.append(contentsOf: bytes)
        return step()
    }

    /// Re-examines buffered bytes, for a client that sent a packet right after an
    /// encryption request without waiting for the answer.
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
                encryptionRequestsDeclined += 1
                guard encryptionRequestsDeclined <= Self.maxEncryptionRequests else {
                    return finish(.fail(ProtocolViolation("too many encryption requests").errorResponse))
                }
                return .declineEncryption
            case .cancel(let request):
                return finish(.forwardCancel(request))
            case .startup(let message):
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
}
