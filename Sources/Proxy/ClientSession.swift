import Dispatch
import Logging
import PostgresWire

/// One client connection and, once admitted, its upstream connection.
///
/// Lifecycle: startup -> admitting -> connecting -> authenticating -> relaying -> closed.
/// The startup phase is the pure `StartupPhase`; admission is the `SessionAdmitter`; from
/// connecting on, bytes are relayed through two `MessageFramer`s that forward everything
/// but the few message types the proxy must see whole. Everything runs on `loop.queue`.
final class ClientSession: @unchecked Sendable {
    enum Phase: Equatable {
        case startup, admitting, connecting, authenticating, relaying, closed
    }

    let id: UInt64
    let peer: String
    private let loop: EventLoop
    var loopForExternalCalls: EventLoop { loop }
    private let client: SocketChannel
    private var upstream: SocketChannel?
    private let context: SessionContext
    private(set) var phase = Phase.startup

    private var startup = StartupPhase()
    private var admitted: AdmittedSession?
    private var leftoverClientBytes: [UInt8] = []
    private var clientFramer: MessageFramer
    private var serverFramer: MessageFramer
    private var backendKey: BackendKeyData?
    private var logger: Logger

    private let timer: DispatchSourceTimer
    private let openedAt = ContinuousClock.now
    private var lastActivity = ContinuousClock.now
    /// True from a client message until the server's next ReadyForQuery: a session with a
    /// query in flight is busy, not idle, however long the query runs.
    private var awaitingServer = false
    private var requestedUser = "?"
    private var requestedDatabase = "?"

    init(id: UInt64, fd: Int32, peer: String, loop: EventLoop, context: SessionContext) {
        self.id = id
        self.peer = peer
        self.loop = loop
        self.context = context
        client = SocketChannel(fd: fd, loop: loop)
        clientFramer = MessageFramer(inspected: MessageTypeSet(), maxInspectedLength: context.maxInspectedMessage)
        serverFramer = MessageFramer(inspected: .all, maxInspectedLength: context.maxInspectedMessage)
        timer = DispatchSource.makeTimerSource(queue: loop.queue)
        logger = context.logger
        logger[metadataKey: "session.id"] = "\(id)"
        logger[metadataKey: "peer"] = "\(peer)"
    }

    /// Must be called on `loop.queue`.
    func start() {
        client.onReadable = { [unowned self] in self.readClient() }
        client.onWritable = { [unowned self] in self.clientDrained() }
        timer.setEventHandler { [unowned self] in self.timerFired() }
        schedule(after: context.loginTimeout)
        timer.resume()
        client.setReading(true)
    }

    // MARK: Client side

    private func readClient() {
        let result = client.read { bytes in self.receiveFromClient(bytes) }
        switch result {
        case .bytes, .wouldBlock: break
        case .closed: end(outcome: phase == .relaying ? "client closed" : "client left during \(phase)")
        case .failed(let code): end(outcome: "client socket error \(code)")
        }
    }

    private func receiveFromClient(_ bytes: ArraySlice<UInt8>) {
        switch phase {
        case .startup:
            perform(startup.receive(bytes))
        case .admitting, .connecting:
            // Reading is paused in these phases; bytes read just before the pause are kept.
            leftoverClientBytes.append(contentsOf: bytes)
        case .authenticating, .relaying:
            relayFromClient(bytes)
        case .closed:
            break
        }
    }

    private func perform(_ action: StartupPhase.Action) {
        switch action {
        case .readMore:
            break
        case .declineEncryption:
            client.write(StartupPhase.declineEncryptionReply)
            if startup.hasBufferedBytes { perform(startup.step()) }
        case .forwardCancel(let request):
            forwardCancel(request)
        case .startSession(let message, let leftover):
            beginAdmission(message, leftover: leftover)
        case .fail(let error):
            fail(error)
        }
    }

    private func forwardCancel(_ request: CancelRequest) {
        if let owner = context.cancelRegistry.upstream(for: request.key) {
            CancelForwarder.send(request, to: owner, logger: logger)
            end(outcome: "cancel forwarded to \(owner)")
        } else {
            // Postgres ignores unknown keys silently too: nothing tells a prober which exist.
            end(outcome: "cancel for unknown backend key ignored")
        }
    }

    // MARK: Admission and upstream connect

    private func beginAdmission(_ message: StartupMessage, leftover: [UInt8]) {
        phase = .admitting
        requestedUser = message.user ?? "?"
        requestedDatabase = message.database ?? "?"
        leftoverClientBytes = leftover
        client.setReading(false)
        let request = AdmissionRequest(startup: message, peer: peer)
        context.admitter.admit(request) { [self] outcome in
            loop.queue.async { self.admissionDecided(outcome) }
        }
    }

    private func admissionDecided(_ outcome: AdmissionOutcome) {
        guard phase == .admitting else {
            // The client left while we were deciding: give the slot straight back.
            if case .admitted(let session) = outcome { session.onEnd() }
            return
        }
        switch outcome {
        case .refused(let error):
            fail(error)
        case .admitted(let session):
            admitted = session
            for (key, value) in session.logMetadata { logger[metadataKey: key] = "\(value)" }
            if let timeout = session.authenticationTimeout { schedule(after: timeout) }
            phase = .connecting
            connect(to: session.upstream)
        }
    }

    private func connect(to endpoint: Endpoint) {
        if let address = endpoint.numericAddress() {
            startConnect(address, endpoint: endpoint)
            return
        }
        // Name resolution may block: never on a loop queue.
        DispatchQueue.global().async { [self] in
            let resolved = Result { () throws(SocketError) in try endpoint.resolve() }
            loop.queue.async {
                guard self.phase == .connecting else { return }
                switch resolved {
                case .success(let addresses) where !addresses.isEmpty:
                    self.startConnect(addresses[0], endpoint: endpoint)
                case .success:
                    self.upstreamUnreachable(endpoint, reason: "no address for host")
                case .failure(let error):
                    self.upstreamUnreachable(endpoint, reason: error.message)
                }
            }
        }
    }

    private func startConnect(_ address: SocketAddress, endpoint: Endpoint) {
        switch Socket.startConnect(to: address) {
        case .failed(let error):
            upstreamUnreachable(endpoint, reason: error.message)
        case .connected(let fd), .inProgress(let fd):
            let channel = SocketChannel(fd: fd, loop: loop)
            upstream = channel
            channel.onWritable = { [unowned self] in self.upstreamConnectFinished(endpoint) }
            channel.awaitWritable()
        }
    }

    private func upstreamConnectFinished(_ endpoint: Endpoint) {
        guard phase == .connecting, let upstream, let admitted else { return }
        let code = Socket.connectResult(upstream.fd)
        guard code == 0 else {
            upstreamUnreachable(endpoint, reason: SocketError(operation: "connect", errno: code).message)
            return
        }
        phase = .authenticating
        upstream.onReadable = { [unowned self] in self.readUpstream() }
        upstream.onWritable = { [unowned self] in self.upstreamDrained() }
        var inspected = MessageTypeSet(admitted.rules?.inspectedFrontendMessages ?? [])
        inspected.insert(FrontendMessageID.terminate.rawValue)
        clientFramer.inspected = inspected
        upstream.write(admitted.startup.encoded()[...])
        let early = leftoverClientBytes
        leftoverClientBytes = []
        if !early.isEmpty { relayFromClient(early[...]) }
        guard phase != .closed else { return }
        upstream.setReading(true)
        client.setReading(!upstream.hasPendingWrites)
    }

    private func upstreamUnreachable(_ endpoint: Endpoint, reason: String) {
        fail(ClientError.upstreamUnreachable(upstream: endpoint.description, reason: reason).errorResponse)
    }

    // MARK: Relay

    private func relayFromClient(_ bytes: ArraySlice<UInt8>) {
        guard let upstream else { return }
        lastActivity = .now
        awaitingServer = true
        let rules = admitted?.rules
        var terminated = false
        let violation = clientFramer.feed(bytes) { event in
            switch event {
            case .forward(let slice):
                upstream.write(slice)
            case .message(let id, let payload):
                if id == FrontendMessageID.terminate.rawValue { terminated = true }
                switch rules?.filterFrontend(id: id, payload: payload) ?? .forward {
                case .forward: upstream.write(Self.frame(id, payload)[...])
                case .replace(let message): upstream.write(message[...])
                case .answer(let reply): client.write(reply[...])
                }
            }
        }
        if let violation {
            fail(violation.errorResponse)
        } else if terminated {
            end(outcome: "client terminated")
        } else if upstream.hasPendingWrites {
            client.setReading(false)  // backpressure: resume in upstreamDrained
        }
    }

    private func readUpstream() {
        guard let upstream else { return }
        let result = upstream.read { bytes in self.relayFromUpstream(bytes) }
        switch result {
        case .bytes, .wouldBlock: break
        case .closed: end(outcome: phase == .relaying ? "server closed" : "server closed during authentication")
        case .failed(let code): end(outcome: "server socket error \(code)")
        }
    }

    private func relayFromUpstream(_ bytes: ArraySlice<UInt8>) {
        lastActivity = .now
        let violation = serverFramer.feed(bytes) { event in
            switch event {
            case .forward(let slice):
                client.write(slice)
            case .message(let id, let payload):
                handleServerMessage(id, payload)
            }
        }
        if let violation {
            logger.error("server broke the protocol", metadata: ["reason": "\(violation.message)"])
            end(outcome: "server protocol violation")
            return
        }
        if phase == .relaying && serverFramer.inspected == .all {
            // Narrowed here, not in sessionEstablished: the framer is not to be changed while
            // it is calling us back.
            serverFramer.inspected = Self.inspectedWhileRelaying
        }
        if client.hasPendingWrites { upstream?.setReading(false) }
    }

    private func handleServerMessage(_ id: UInt8, _ payload: ArraySlice<UInt8>) {
        switch BackendMessageID(rawValue: id) {
        case .backendKeyData:
            if let key = BackendKeyData.decode(payload: payload), let admitted {
                backendKey = key
                context.cancelRegistry.register(key, upstream: admitted.upstream)
            }
        case .readyForQuery:
            awaitingServer = false
            if phase == .authenticating { sessionEstablished() }
        case .errorResponse:
            if let rules = admitted?.rules, let error = ErrorResponse.decode(payload: payload) {
                let decorated = rules.decorate(error: error)
                if decorated != error {
                    client.write(decorated.encoded()[...])
                    return
                }
            }
        default:
            break
        }
        client.write(Self.frame(id, payload)[...])
    }

    private func sessionEstablished() {
        phase = .relaying
        if let idle = admitted?.idleTimeout {
            schedule(after: idle)
        } else {
            timer.schedule(deadline: .distantFuture)
        }
        logger.info("session established", metadata: [
            "user": "\(requestedUser)", "database": "\(requestedDatabase)",
            "upstream": "\(admitted?.upstream.description ?? "?")",
        ])
    }

    private func clientDrained() {
        guard phase == .authenticating || phase == .relaying else { return }
        upstream?.setReading(true)
    }

    private func upstreamDrained() {
        guard phase == .authenticating || phase == .relaying else { return }
        client.setReading(true)
    }

    /// Once authenticated, only these server messages need a look; the rest streams through.
    static let inspectedWhileRelaying = MessageTypeSet([BackendMessageID.errorResponse.rawValue,
                                                        BackendMessageID.readyForQuery.rawValue])

    static func frame(_ id: UInt8, _ payload: ArraySlice<UInt8>) -> [UInt8] {
        var writer = ByteWriter(capacity: payload.count + 5)
        writer.writeUInt8(id)
        writer.writeInt32(Int32(payload.count + 4))
        writer.writeBytes(payload)
        return writer.bytes
    }

    // MARK: Timers

    private func schedule(after duration: Duration) {
        timer.schedule(deadline: .now() + .nanoseconds(duration.nanoseconds), leeway: .milliseconds(50))
    }

    private func timerFired() {
        switch phase {
        case .startup:
            fail(ClientError.loginTimeout(seconds: context.loginTimeout.seconds).errorResponse)
        case .admitting, .connecting, .authenticating:
            let timeout = admitted?.authenticationTimeout ?? context.loginTimeout
            fail(ClientError.authenticationTimeout(seconds: timeout.seconds).errorResponse)
        case .relaying:
            guard let idle = admitted?.idleTimeout else { return }
            let quiet = ContinuousClock.now - lastActivity
            if awaitingServer || quiet < idle {
                schedule(after: awaitingServer ? idle : idle - quiet)
            } else {
                fail(ClientError.idleSessionTimeout(seconds: idle.seconds,
                                                     tier: admitted?.logMetadata["tier"]).errorResponse)
            }
        case .closed:
            break
        }
    }

    // MARK: Ending

    /// Sends a FATAL error to the client, if it can be placed between two messages, then ends.
    func fail(_ error: ErrorResponse) {
        guard phase != .closed else { return }
        if serverFramer.isAtMessageBoundary {
            client.write(error.encoded()[...])
        }
        end(outcome: "\(error.sqlState ?? "?"): \(error.message ?? "")", level: .notice)
    }

    func end(outcome: String, level: Logger.Level = .info) {
        guard phase != .closed else { return }
        let endedIn = phase
        phase = .closed
        timer.cancel()
        client.close()
        upstream?.close()
        if let backendKey { context.cancelRegistry.remove(backendKey) }
        admitted?.onEnd()
        let duration = ContinuousClock.now - openedAt
        logger.log(level: level, "connection closed", metadata: [
            "user": "\(requestedUser)", "database": "\(requestedDatabase)",
            "duration_ms": "\(Int(duration.seconds * 1000))",
            "bytes_in": "\(client.bytesRead)", "bytes_out": "\(client.bytesWritten)",
            "phase": "\(endedIn)", "outcome": "\(outcome)",
        ])
        context.sessionEnded(id)
    }
}
