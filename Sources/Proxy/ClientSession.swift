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
    /// Tier changes applied at idle points (issue 5): see `SettingsInjection`.
    private var injection = SettingsInjection()
    /// The last tier settings sent mid-session; re-sent after a client RESET/DISCARD, which
    /// would otherwise return to the startup (old tier's) values.
    private var injectedSettings: String?
    /// True while `serverFramer.feed` is calling back (it must not be changed then).
    private var serverFramerBusy = false

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
            context.observer?.refusedBeforeAdmission(.protocolViolation)
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
            let loop = loop
            session.mailbox?.attach { [weak self] command in
                guard let session = self else { return }
                loop.queue.async { session.handle(command) }
            }
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
        if admitted.mailbox != nil {
            // The messages each answered by one ReadyForQuery, counted by `injection`.
            for id in SettingsInjection.syncPointMessages { inspected.insert(id) }
        }
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
        admitted?.onUpstreamFailure?(.unreachable)
        fail(ClientError.upstreamUnreachable(upstream: endpoint.description, reason: reason).errorResponse)
    }

    // MARK: Relay

    private func relayFromClient(_ bytes: ArraySlice<UInt8>) {
        guard let upstream else { return }
        lastActivity = .now
        awaitingServer = true
        let rules = admitted?.rules
        var terminated = false
        var syncPoints = 0
        var endsAtSyncPoint = false
        var resetsSettings = false
        let violation = clientFramer.feed(bytes) { event in
            switch event {
            case .forward(let slice):
                endsAtSyncPoint = false
                upstream.write(slice)
            case .message(let id, let payload):
                if id == FrontendMessageID.terminate.rawValue { terminated = true }
                let verdict = rules?.filterFrontend(id: id, payload: payload) ?? .forward
                // A message the proxy answers itself gets no ReadyForQuery from the server.
                let isSyncPoint: Bool
                if case .answer = verdict { isSyncPoint = false } else {
                    isSyncPoint = SettingsInjection.syncPointMessages.contains(id)
                }
                if isSyncPoint { syncPoints += 1 }
                endsAtSyncPoint = isSyncPoint
                if injectedSettings != nil, SettingsInjection.mayResetSettings(id: id, payload: payload) {
                    resetsSettings = true
                }
                switch verdict {
                case .forward: upstream.write(Self.frame(id, payload)[...])
                case .replace(let message): upstream.write(message[...])
                case .answer(let reply): client.write(reply[...])
                }
            }
        }
        if phase == .relaying {
            injection.clientSent(syncPoints: syncPoints, endsAtSyncPoint: endsAtSyncPoint && clientFramer.isAtMessageBoundary)
            if resetsSettings, let injectedSettings { perform(injection.request(injectedSettings)) }
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
        serverFramerBusy = true
        defer { serverFramerBusy = false }
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
        // Changed here, not in the callbacks: the framer is not to be changed while it is
        // calling us back. While the proxy's own statement is answered, every reply is seen
        // whole so it can be swallowed.
        let wanted = phase == .relaying && !injection.hasProxyStatementInFlight ? Self.inspectedWhileRelaying : .all
        if serverFramer.inspected != wanted { serverFramer.inspected = wanted }
        if client.hasPendingWrites { upstream?.setReading(false) }
    }

    private func handleServerMessage(_ id: UInt8, _ payload: ArraySlice<UInt8>) {
        if phase == .relaying {
            let answeringProxy = injection.isAnsweringProxy
            let isReady = id == BackendMessageID.readyForQuery.rawValue
            let (verdict, action) = injection.serverMessage(id, readyStatus: isReady ? payload.first : nil)
            perform(action)
            if verdict == .swallow {
                if answeringProxy, id == BackendMessageID.errorResponse.rawValue, let error = ErrorResponse.decode(payload: payload) {
                    logger.error("tier settings refused by the server", metadata: [
                        "sqlstate": "\(error.sqlState ?? "?")", "reason": "\(error.message ?? "")"])
                }
                return
            }
        }
        switch BackendMessageID(rawValue: id) {
        case .backendKeyData:
            if let key = BackendKeyData.decode(payload: payload), let admitted {
                backendKey = key
                context.cancelRegistry.register(key, upstream: admitted.upstream)
            }
        case .readyForQuery:
            awaitingServer = false
            if phase == .authenticating {
                sessionEstablished()
                perform(injection.sessionEstablished(status: payload.first))
            }
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
            schedule(after: idle.duration)
        } else {
            timer.schedule(deadline: .distantFuture)
        }
        logger.info("session established", metadata: [
            "user": "\(requestedUser)", "database": "\(requestedDatabase)",
            "upstream": "\(admitted?.upstream.description ?? "?")",
        ])
    }

    // MARK: Session commands

    private func handle(_ command: SessionCommand) {
        guard phase != .closed else { return }
        switch command {
        case .terminate(let error):
            fail(error)
        case .update(let update):
            // New statements are checked against the new rules at once; the settings follow
            // at the next idle point, so a running query keeps its limits.
            admitted?.rules = update.rules
            admitted?.idleTimeout = update.idleTimeout
            for (key, value) in update.logMetadata {
                admitted?.logMetadata[key] = value
                logger[metadataKey: key] = "\(value)"
            }
            guard let statement = update.settingsStatement else { return }
            injectedSettings = statement
            perform(injection.request(statement))
        }
    }

    private func perform(_ action: SettingsInjection.Action) {
        guard case .send(let statement) = action, let upstream else { return }
        upstream.write(Query(text: statement).encoded()[...])
        logger.info("tier settings sent at idle point", metadata: ["statement": "\(statement)"])
        // Outside a framer callback (a change arriving while idle) widen at once; inside
        // one, relayFromUpstream widens after the callback returns, before any reply.
        if !serverFramerBusy { serverFramer.inspected = .all }
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
            context.observer?.refusedBeforeAdmission(.loginTimeout)
            fail(ClientError.loginTimeout(seconds: context.loginTimeout.seconds).errorResponse)
        case .admitting, .connecting, .authenticating:
            let timeout = admitted?.authenticationTimeout ?? context.loginTimeout
            admitted?.onUpstreamFailure?(.authenticationTimeout)
            fail(ClientError.authenticationTimeout(seconds: timeout.seconds).errorResponse)
        case .relaying:
            guard let idle = admitted?.idleTimeout else { return }
            let quiet = ContinuousClock.now - lastActivity
            if awaitingServer || quiet < idle.duration {
                schedule(after: awaitingServer ? idle.duration : idle.duration - quiet)
            } else {
                fail(idle.error)
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
