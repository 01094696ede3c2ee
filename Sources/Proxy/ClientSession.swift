import Dispatch
import Logging
import PostgresWire
import SocketIO
import TLS

/// The I/O shell of one client session: it feeds socket events, admission answers, timers
/// and commands to the session's `SessionStateMachine` and runs the actions it returns.
/// Every decision is the machine's; this type only reads, writes, connects and logs.
///
/// Runs on its loop's queue only. After each event, queued bytes are flushed (one syscall
/// per socket) and reading is set the way the machine wants it given which side has bytes
/// waiting (backpressure).
final class ClientSession: SocketChannelDelegate, TimerOwner, @unchecked Sendable {
    let id: UInt64
    let peer: String
    let loop: EventLoop
    private let client: SocketChannel
    private var upstream: SocketChannel?
    private let context: SessionContext
    private var machine: SessionStateMachine
    private var timer: LoopTimers.ID?
    /// The cancel key this session's client was given (`CancelRegistry`).
    private var clientCancelKey: BackendKeyData?
    private let openedAt = ContinuousClock.now
    /// Events that arrive while actions run (an admission answered synchronously by a cache
    /// hit) wait until the running actions are done, so actions run in the order produced.
    private var running = false
    private var deferred: [() -> Void] = []
    /// Counted among the open TLS sessions (until `finish`).
    private var countedAsTLS = false
    /// Set while the admitter has not answered: the session's end cancels the admission.
    private var pendingAdmission: AdmissionCancellation?

    init?(id: UInt64, fd: Int32, peer: String, loop: EventLoop, context: SessionContext) {
        guard let client = SocketChannel(fd: fd, loop: loop) else { return nil }
        self.id = id
        self.peer = peer
        self.loop = loop
        self.context = context
        self.client = client
        machine = SessionStateMachine(configuration: .init(loginTimeout: context.loginTimeout,
                                                           maxInspectedMessage: context.maxInspectedMessage,
                                                           clientTLS: context.clientTLS,
                                                           upstreamTLS: context.upstreamTLS?.mode ?? .disable))
        client.delegate = self
    }

    var phase: SessionStateMachine.Phase { machine.phase }

    /// Must be called on `loop.queue`.
    func start() {
        timer = loop.makeTimer(owner: self)
        run(machine.start())
    }

    /// Ends the session with FATAL admin_shutdown (the drain period is over). On `loop.queue`.
    func shutdown() {
        run(machine.shutdown())
    }

    // MARK: Events

    func channelReadable(_ channel: SocketChannel) {
        let now = ContinuousClock.now
        if channel === client {
            let result = client.read { bytes in run(machine.clientBytes(bytes, now: now)) }
            switch result {
            case .bytes, .wouldBlock: break
            case .closed: run(machine.clientEnded(error: nil))
            case .failed(let code): run(machine.clientEnded(error: code))
            }
        } else if let upstream, channel === upstream {
            let result = upstream.read { bytes in run(machine.upstreamBytes(bytes, now: now)) }
            switch result {
            case .bytes, .wouldBlock: break
            case .closed: run(machine.upstreamEnded(error: nil))
            case .failed(let code): run(machine.upstreamEnded(error: code))
            }
        }
    }

    func channelWritable(_ channel: SocketChannel) {
        guard let upstream, channel === upstream, machine.phase == .connecting else {
            run([])  // drained: reading may resume
            return
        }
        let code = Socket.connectResult(upstream.fd)
        if code == 0 {
            run(machine.upstreamConnected(now: .now))
        } else {
            run(machine.upstreamUnreachable(reason: SocketError(operation: "connect", errno: code).message))
        }
    }

    func channelHungUp(_ channel: SocketChannel, error: Bool) {
        if channel === client {
            run(machine.clientHungUp(error: error))
        } else {
            run(machine.upstreamHungUp(error: error))
        }
    }

    func channelTLSHandshake(_ channel: SocketChannel, _ step: TLSConnection.HandshakeStep) {
        if channel === client {
            clientHandshake(step)
        } else {
            upstreamHandshake(step)
        }
    }

    private func upstreamHandshake(_ step: TLSConnection.HandshakeStep) {
        switch step {
        case .inProgress: break
        case .established: run(machine.upstreamTLSEstablished(now: .now))
        case .failed(let failure): run(machine.upstreamTLSFailed(failure))
        }
    }

    private func clientHandshake(_ step: TLSConnection.HandshakeStep) {
        switch step {
        case .inProgress:
            break
        case .established:
            run(machine.clientTLSEstablished(serverName: client.tls?.serverName, alpn: client.tls?.alpnProtocol))
        case .failed(let failure):
            run(machine.clientTLSFailed(failure))
        }
    }

    func timerFired() {
        run(machine.timeoutFired(now: .now))
    }

    private func handle(_ command: SessionCommand) {
        run(machine.command(command))
    }

    // MARK: Running actions

    private func run(_ actions: [SessionStateMachine.Action]) {
        running = true
        for action in actions {
            if perform(action) == .ended { break }
        }
        running = false
        if machine.phase != .closed { settle() }
        // Even after the end: a deferred admission must still reach the machine, which gives
        // its slot back.
        while !deferred.isEmpty {
            let next = deferred.removeFirst()
            next()
        }
    }

    private enum Performed { case continued, ended }

    private func perform(_ action: SessionStateMachine.Action) -> Performed {
        switch action {
        case .sendToClient(let bytes):
            client.enqueue(bytes)
        case .sendUpstream(let bytes):
            upstream?.enqueue(bytes)
        case .scheduleTimeout(let delay):
            if let timer { loop.schedule(timer, after: delay) }
        case .cancelTimeout:
            if let timer { loop.cancel(timer) }
        case .admit(let message):
            admit(message)
        case .connect(let endpoint):
            connect(to: endpoint)
        case .startClientTLS(let initial):
            startClientTLS(initial)
        case .startUpstreamTLS:
            startUpstreamTLS()
        case .forwardCancel(let request):
            forwardCancel(request)
        case .cancelUpstream(let key, let upstream):
            CancelForwarder.send(CancelRequest(key: key), to: upstream, logger: context.logger)
        case .registerCancelKey(let key, let upstream):
            let issued = context.cancelRegistry.issue(for: key, upstream: upstream)
            clientCancelKey = issued
            client.enqueue(issued.encoded()[...])
        case .attachMailbox(let mailbox):
            let loop = loop
            mailbox.attach { [weak self] command in
                guard let session = self else { return }
                loop.execute { session.handle(command) }
            }
        case .releaseAdmission(let admission):
            admission.onEnd()

        case .observe(let observation):
            observe(observation)
        case .log(let event):
            log(event)
        case .close(let ending):
            finish(ending)
            return .ended
        }
        return .continued
    }

    /// Flushes both sockets and sets reading as the machine wants it. A socket that cannot
    /// take bytes because its peer is gone ends the session now.
    private func settle() {
        // Upstream first: a statement of the proxy's own queued with a reply to the client
        // reaches the server before anything the client sends in answer to that reply.
        if let upstream, upstream.flush() == .failed {
            return run(machine.upstreamHungUp(error: true))
        }
        if client.flush() == .failed {
            return run(machine.clientHungUp(error: true))
        }
        client.setReading(machine.readsClient(upstreamBlocked: upstream?.hasPendingWrites ?? false))
        upstream?.setReading(machine.readsUpstream(clientBlocked: client.hasPendingWrites))
    }

    // MARK: Admission and upstream connect

    private func admit(_ message: StartupMessage) {
        let loop = loop
        let cancellation = AdmissionCancellation()
        pendingAdmission = cancellation
        context.admitter.admit(AdmissionRequest(startup: message, peer: peer, serverName: machine.clientServerName,
                                                cancellation: cancellation)) { [self] outcome in
            cancellation.answered()
            // A cache hit answers on this loop at once: no hop. Anything else comes back here.
            if loop.inLoop {
                if running {
                    deferred.append { self.run(self.machine.admissionDecided(outcome)) }
                } else {
                    run(machine.admissionDecided(outcome))
                }
            } else {
                loop.execute { self.run(self.machine.admissionDecided(outcome)) }
            }
        }
    }

    private func connect(to endpoint: Endpoint) {
        if let address = endpoint.numericAddress() {
            startConnect(address)
            return
        }
        // Name resolution may block: never on a loop queue.
        DispatchQueue.global().async { [self] in
            let resolved = Result { () throws(SocketError) in try endpoint.resolve() }
            loop.execute {
                switch resolved {
                case .success(let addresses) where !addresses.isEmpty:
                    self.startConnect(addresses[0])
                case .success:
                    self.run(self.machine.upstreamUnreachable(reason: "no address for host"))
                case .failure(let error):
                    self.run(self.machine.upstreamUnreachable(reason: error.message))
                }
            }
        }
    }

    private func startConnect(_ address: SocketAddress) {
        guard machine.phase == .connecting else { return }
        switch Socket.startConnect(to: address) {
        case .failed(let error):
            run(machine.upstreamUnreachable(reason: error.message))
        case .connected(let fd), .inProgress(let fd):
            guard let channel = SocketChannel(fd: fd, loop: loop) else {
                return run(machine.upstreamUnreachable(reason: "could not watch the connection"))
            }
            channel.delegate = self
            upstream = channel
            channel.awaitWritable()
        }
    }

    // MARK: TLS

    /// The handshake's first step runs now (a direct TLS client's hello is already here);
    /// its outcome reaches the machine after the running actions.
    private func startClientTLS(_ initial: [UInt8]) {
        let step: TLSConnection.HandshakeStep
        if let credentials = context.tlsCredentials, let connection = TLSConnection(context: credentials.current, role: .server) {
            step = client.startTLS(connection, initial: initial[...])
        } else {
            step = .failed(TLSFailure(.other, detail: "no TLS connection could be made"))
        }
        if case .inProgress = step { return }
        deferred.append { [self] in clientHandshake(step) }
    }

    /// SNI carries the upstream's host name (not an IP address, RFC 6066); verify-full checks
    /// the certificate against the host, name or address.
    private func startUpstreamTLS() {
        let step: TLSConnection.HandshakeStep
        if let settings = context.upstreamTLS, let upstream, let endpoint = machine.upstreamEndpoint,
           let connection = TLSConnection(context: settings.context, role: .client(
               serverName: endpoint.numericAddress() == nil ? endpoint.host : nil, verifyHost: endpoint.host)) {
            step = upstream.startTLS(connection)
        } else {
            step = .failed(TLSFailure(.other, detail: "no TLS connection could be made"))
        }
        if case .inProgress = step { return }
        deferred.append { [self] in upstreamHandshake(step) }
    }

    private func forwardCancel(_ request: CancelRequest) {
        // Unknown keys are ignored silently, as Postgres does: nothing tells a prober which exist.
        let logger = context.logger
        context.cancelRegistry.route(request.key, peer: peer, now: .now) { target in
            CancelForwarder.send(CancelRequest(key: target.backend), to: target.upstream, logger: logger)
        }
    }

    // MARK: Observations and logs

    private func observe(_ observation: SessionStateMachine.Observation) {
        switch observation {
        case .refusedBeforeAdmission(let refusal): context.observer?.refusedBeforeAdmission(refusal)
        case .upstreamFailed(let failure, let admission): admission.onUpstreamFailure?(failure)
        case .settingsRestored(let names): machine.admitted?.onSettingsRestored?(names)
        case .clientTLSEstablished(let direct):
            context.tlsStatistics.handshakeSucceeded(direct: direct)
            countedAsTLS = true
            logger(nil).debug("client TLS established", metadata: [
                "tls_version": "\(client.tls?.protocolVersion ?? "?")", "tls_cipher": "\(client.tls?.cipher ?? "?")",
                "tls_direct": "\(direct)", "tls_server_name": "\(client.tls?.serverName ?? "")"])
        case .clientTLSFailed(let failure):
            context.tlsStatistics.handshakeFailed(failure.reason)
            logger(nil).notice("client TLS handshake failed", metadata: [
                "reason": "\(failure.reason.rawValue)", "detail": "\(failure.detail)"])
        }
    }

    private func logger(_ admission: AdmittedSession?) -> Logger {
        var logger = context.logger
        logger[metadataKey: "session.id"] = "\(id)"
        logger[metadataKey: "peer"] = "\(peer)"
        for (key, value) in admission?.logMetadata ?? [:] { logger[metadataKey: key] = "\(value)" }
        return logger
    }

    private func log(_ event: SessionStateMachine.LogEvent) {
        let logger = logger(machine.admitted)
        switch event {
        case .established(let user, let database, let upstream):
            logger.info("session established", metadata: [
                "user": "\(user)", "database": "\(database)", "upstream": "\(upstream)"])
        case .settingsSent(let statement):
            logger.info("tier settings sent at idle point", metadata: ["statement": "\(statement)"])
        case .settingsRestored(let names):
            logger.warning("settings raised unseen were restored", metadata: ["settings": "\(names.joined(separator: ","))"])
        case .statementCancelled(let after):
            logger.notice("statement cancelled by TierGate: it outlived its timeout", metadata: [
                "running_ms": "\(Int(after.seconds * 1000))"])
        case .settingsRefusedByServer(let sqlState, let reason):
            logger.error("tier settings refused by the server", metadata: ["sqlstate": "\(sqlState)", "reason": "\(reason)"])
        case .serverProtocolViolation(let reason):
            logger.error("server broke the protocol", metadata: ["reason": "\(reason)"])
        }
    }

    // MARK: Ending

    private func finish(_ ending: SessionStateMachine.Ending) {
        if let timer { loop.releaseTimer(timer) }
        timer = nil
        client.close()
        upstream?.close()
        if let key = clientCancelKey { context.cancelRegistry.remove(key) }
        if countedAsTLS { context.tlsStatistics.sessionEnded() }
        pendingAdmission?.cancel()
        pendingAdmission = nil
        ending.admission?.onEnd()
        let duration = ContinuousClock.now - openedAt
        logger(ending.admission).log(level: ending.level, "connection closed", metadata: [
            "user": "\(machine.requestedUser)", "database": "\(machine.requestedDatabase)",
            "duration_ms": "\(Int(duration.seconds * 1000))",
            "bytes_in": "\(client.bytesRead)", "bytes_out": "\(client.bytesWritten)",
            "phase": "\(ending.endedIn)", "outcome": "\(ending.outcome)", "tls": "\(countedAsTLS)",
        ])
        context.sessionEnded(id)
    }
}
