import Logging
import PostgresWire
import TLS

/// One client session's lifecycle as a pure state machine, in the style of postgres-nio's
/// `ConnectionStateMachine`: events go in (bytes read, a peer gone, an admission decided, a
/// timer due), actions come out (bytes to send, a connect to start, a timeout to set, the
/// end). It never touches a socket, a queue or a clock, so every phase, timeout, injection
/// and failure is tested without a network (`SessionStateMachineTests`); `ClientSession`
/// only runs the actions.
///
/// Phases: startup -> admitting -> connecting -> authenticating -> relaying -> closed.
/// - startup: the pure `StartupPhase` reads encryption requests, a CancelRequest or the
///   StartupMessage, under the login timeout.
/// - admitting: the `SessionAdmitter` decides; the client is not read (bytes it pipelined
///   behind its startup packet are kept and sent upstream after the startup message).
/// - connecting / authenticating: under the admission's authentication timeout; from
///   authenticating on, bytes are relayed through two `MessageFramer`s that forward everything
///   but the few message types the proxy must see whole.
/// - relaying: the tier's rules apply to client messages, tier changes are injected at idle
///   points (`SettingsInjection`), the idle timeout runs.
///
/// Reading is derived, not commanded: a side is read only in the phases that read it, and
/// only while the other side has no bytes waiting for the kernel (backpressure); see
/// `readsClient(upstreamBlocked:)` and `readsUpstream(clientBlocked:)`.
struct SessionStateMachine {
    enum Phase: Equatable, Sendable, CustomStringConvertible {
        case startup, admitting, connecting, authenticating, relaying, closed

        var description: String {
            switch self {
            case .startup: "startup"
            case .admitting: "admitting"
            case .connecting: "connecting"
            case .authenticating: "authenticating"
            case .relaying: "relaying"
            case .closed: "closed"
            }
        }
    }

    enum Action {
        /// Queue bytes for the client or the server (the shell flushes after each event).
        case sendToClient(ArraySlice<UInt8>)
        case sendUpstream(ArraySlice<UInt8>)
        /// (Re)arm the session's single timer; `cancelTimeout` disarms it.
        case scheduleTimeout(Duration)
        case cancelTimeout
        /// Ask the admitter about this startup message; answer with `admissionDecided`.
        case admit(StartupMessage)
        /// Start a connection to the upstream; answer with `upstreamConnected` or
        /// `upstreamUnreachable`.
        case connect(Endpoint)
        /// Put TLS over the client's socket (after any queued 'S'); `initial`: ciphertext
        /// already read (direct TLS). Answer with `clientTLSEstablished` or `clientTLSFailed`.
        case startClientTLS(initial: [UInt8])
        /// Put TLS over the upstream socket (the server answered 'S'). Answer with
        /// `upstreamTLSEstablished` or `upstreamTLSFailed`.
        case startUpstreamTLS
        case forwardCancel(CancelRequest)
        /// Cancel what the session's backend runs now, with a CancelRequest of the proxy's own.
        case cancelUpstream(BackendKeyData, Endpoint)
        /// The server's key: register it and send the client the proxy's own key in its
        /// place (the server's BackendKeyData is not forwarded).
        case registerCancelKey(BackendKeyData, Endpoint)
        /// Start taking commands (new rules, termination) from the admission's mailbox.
        case attachMailbox(SessionMailbox)
        /// An admission decided after the session ended: give it straight back.
        case releaseAdmission(AdmittedSession)
        case observe(Observation)
        case log(LogEvent)
        /// The end: the shell closes both sockets, frees the admission and the cancel key
        /// and logs the outcome. Nothing follows it.
        case close(Ending)
    }

    /// What the shell reports: refusals before admission to the proxy's observer, upstream
    /// failures to the admission that was made for them.
    enum Observation {
        case refusedBeforeAdmission(StartupRefusal)
        case upstreamFailed(UpstreamFailure, AdmittedSession)
        /// Settings a client had raised unseen, now back at the session's values.
        case settingsRestored([String])
        /// A client TLS handshake finished, well (direct: without an SSLRequest) or not.
        case clientTLSEstablished(direct: Bool)
        case clientTLSFailed(TLSFailure)
    }

    /// Where the client connection stands with TLS.
    enum ClientTLS: Equatable {
        case none
        case handshaking(direct: Bool)
        case established(serverName: String?)
    }

    enum LogEvent: Equatable {
        case established(user: String, database: String, upstream: String)
        case settingsSent(statement: String)
        case settingsRefusedByServer(sqlState: String, reason: String)
        /// The proxy cancelled a statement that outlived its timeout.
        case statementCancelled(after: Duration)
        /// A settings check found these raised and the proxy put them back.
        case settingsRestored([String])
        case serverProtocolViolation(reason: String)
    }

    struct Ending {
        var outcome: String
        var level: Logger.Level
        var endedIn: Phase
        /// To free: the admission's slot (`onEnd`) and the registered cancel key.
        var admission: AdmittedSession?
        var backendKey: BackendKeyData?
    }

    struct Configuration {
        var loginTimeout: Duration
        var maxInspectedMessage: Int
        var clientTLS: ClientTLSMode = .disable
        var upstreamTLS: UpstreamTLSMode = .disable
    }

    /// Where the upstream connection stands with TLS, while connecting.
    enum UpstreamTLS: Equatable {
        case none
        /// SSLRequest sent, its one-byte answer awaited.
        case requested
        case handshaking
        case established
    }

    private(set) var phase = Phase.startup
    private let configuration: Configuration
    private var startup: StartupPhase
    private(set) var clientTLS = ClientTLS.none
    private(set) var upstreamTLS = UpstreamTLS.none
    private(set) var admitted: AdmittedSession?
    private var pipelined: [UInt8] = []
    private var clientFramer: MessageFramer
    private var serverFramer: MessageFramer
    private var backendKey: BackendKeyData?
    /// When the client last asked for work (a whole Query, Execute, FunctionCall or Sync):
    /// the idle clock. Half a message, a Flush or server traffic is no activity.
    private var lastActivity: ContinuousClock.Instant?
    /// What the server still owes the client: a session with a statement in flight is busy,
    /// not idle, however long it runs, and its statement has the proxy's own timeout.
    private var statements = StatementTracker()
    /// The statement (by `StatementTracker.statementNumber`) the proxy cancelled, and when.
    private var cancelled: (statement: Int, at: ContinuousClock.Instant)?
    /// The deadline the session's timer is armed for while relaying.
    private var armedDeadline: ContinuousClock.Instant?
    /// A statement timeout that arrived while statements ran: in force once they are done.
    private var laterStatementTimeout: StatementTimeout??
    private(set) var requestedUser = "?"
    private(set) var requestedDatabase = "?"
    /// Tier changes applied at idle points: see `SettingsInjection`.
    private var injection = SettingsInjection()
    /// The last settings statement injected mid-session; sent again after a client
    /// RESET/DISCARD, which would otherwise return to the startup (old tier's) values.
    private var injectedSettings: String?
    /// What the proxy's statement waiting for the next idle point, and the one being
    /// answered, are: settings of a tier change, a settings check, or a restore after one.
    private var pendingProxyStatement: ProxyStatement?
    private var answeredProxyStatement: ProxyStatement?
    /// Settings the check being answered put back.
    private var restoredSettings: [String] = []

    enum ProxyStatement: Equatable {
        case settings
        case check
    }

    init(configuration: Configuration) {
        self.configuration = configuration
        startup = StartupPhase(tlsMode: configuration.clientTLS)
        clientFramer = MessageFramer(inspected: MessageTypeSet(), maxInspectedLength: configuration.maxInspectedMessage)
        serverFramer = MessageFramer(inspected: .all, maxInspectedLength: configuration.maxInspectedMessage)
    }

    // MARK: Reading (backpressure)

    /// Whether the client should be read now, given whether the server has bytes waiting.
    func readsClient(upstreamBlocked: Bool) -> Bool {
        switch phase {
        case .startup: true
        case .authenticating, .relaying: !upstreamBlocked
        case .admitting, .connecting, .closed: false
        }
    }

    /// Whether the server should be read now, given whether the client has bytes waiting.
    func readsUpstream(clientBlocked: Bool) -> Bool {
        switch phase {
        case .authenticating, .relaying: !clientBlocked
        case .connecting where upstreamTLS == .requested || upstreamTLS == .handshaking: true
        case .startup, .admitting, .connecting, .closed: false
        }
    }

    // MARK: Events

    mutating func start() -> [Action] {
        [.scheduleTimeout(configuration.loginTimeout)]
    }

    mutating func clientBytes(_ bytes: ArraySlice<UInt8>, now: ContinuousClock.Instant) -> [Action] {
        switch phase {
        case .startup:
            var actions: [Action] = []
            startupAction(startup.receive(bytes), into: &actions)
            return actions
        case .admitting, .connecting:
            // Reading is off in these phases; bytes read just before it went off are kept.
            pipelined.append(contentsOf: bytes)
            return []
        case .authenticating, .relaying:
            return relayFromClient(bytes, now: now)
        case .closed:
            return []
        }
    }

    /// The client's socket reached its end (`error` nil) or failed.
    mutating func clientEnded(error: Int32?) -> [Action] {
        if case .handshaking = clientTLS {
            return [.observe(.clientTLSFailed(TLSFailure(.peerClosed)))] + close("client left during the TLS handshake")
        }
        if let error { return cancelRunningStatement() + close("client socket error \(error)") }
        return cancelRunningStatement() + close(phase == .relaying ? "client closed" : "client left during \(phase)")
    }

    /// The client reset, failed, or closed its side while it was not being read.
    mutating func clientHungUp(error: Bool) -> [Action] {
        if case .handshaking = clientTLS {
            return [.observe(.clientTLSFailed(TLSFailure(.peerClosed)))] + close("client left during the TLS handshake")
        }
        return cancelRunningStatement() + close(error ? "client connection reset during \(phase)" : "client hung up during \(phase)")
    }

    /// The client's TLS handshake finished. A direct TLS client must have agreed on ALPN
    /// "postgresql" (Postgres 17 insists, so a connection meant for another protocol is not
    /// taken for Postgres); the startup packet is read from the encrypted stream next.
    mutating func clientTLSEstablished(serverName: String?, alpn: String?) -> [Action] {
        guard phase == .startup, case .handshaking(let direct) = clientTLS else { return [] }
        clientTLS = .established(serverName: serverName)
        startup.encryptionEstablished()
        if direct, alpn != "postgresql" {
            return [.observe(.clientTLSFailed(TLSFailure(.alpn, detail: "direct TLS without ALPN")))]
                + [.observe(.refusedBeforeAdmission(.protocolViolation))]
                + fail(ClientError.directTLSWithoutALPN.errorResponse)
        }
        return [.observe(.clientTLSEstablished(direct: direct))]
    }

    /// The client's TLS handshake failed: nothing can be said to the client in a language it
    /// reads (OpenSSL has queued an alert), so the connection just ends.
    mutating func clientTLSFailed(_ failure: TLSFailure) -> [Action] {
        guard case .handshaking = clientTLS else { return [] }
        return [.observe(.clientTLSFailed(failure))] + close("TLS handshake failed: \(failure)", level: .notice)
    }

    var isClientEncrypted: Bool {
        if case .established = clientTLS { return true }
        return false
    }

    /// The upstream of the admitted session.
    var upstreamEndpoint: Endpoint? { admitted?.upstream }

    /// The SNI host name of an encrypted client connection, nil when there is none.
    var clientServerName: String? {
        if case .established(let name) = clientTLS { return name }
        return nil
    }

    mutating func admissionDecided(_ outcome: AdmissionOutcome) -> [Action] {
        guard phase == .admitting else {
            // The client left while we were deciding: give the slot straight back.
            if case .admitted(let session) = outcome { return [.releaseAdmission(session)] }
            return []
        }
        switch outcome {
        case .refused(let error):
            return fail(error)
        case .admitted(let session):
            admitted = session
            phase = .connecting
            var actions: [Action] = []
            if let mailbox = session.mailbox { actions.append(.attachMailbox(mailbox)) }
            if let timeout = session.authenticationTimeout { actions.append(.scheduleTimeout(timeout)) }
            actions.append(.connect(session.upstream))
            return actions
        }
    }

    /// The TCP connection is up: ask for TLS first when configured (Postgres docs, "SSL
    /// Session Encryption"), else send the startup message.
    mutating func upstreamConnected(now: ContinuousClock.Instant) -> [Action] {
        guard phase == .connecting, admitted != nil else { return [] }
        guard configuration.upstreamTLS == .disable else {
            upstreamTLS = .requested
            return [.sendUpstream(Self.sslRequest[...])]
        }
        return beginAuthentication(now: now)
    }

    static let sslRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]

    /// The server's answer to the proxy's SSLRequest: 'S' starts the handshake; 'N' goes on
    /// in plain text only under `prefer`. Bytes behind the answer were sent before TLS and
    /// are refused, as libpq refuses them.
    private mutating func upstreamTLSAnswer(_ bytes: ArraySlice<UInt8>, now: ContinuousClock.Instant) -> [Action] {
        guard let admitted else { return [] }
        let upstream = admitted.upstream.description
        let failure: String
        switch bytes.first {
        case UInt8(ascii: "S") where bytes.count == 1:
            upstreamTLS = .handshaking
            return [.startUpstreamTLS]
        case UInt8(ascii: "N") where bytes.count == 1:
            if configuration.upstreamTLS == .prefer {
                upstreamTLS = .none
                return beginAuthentication(now: now)
            }
            failure = "the server does not support TLS (--upstream-tls \(configuration.upstreamTLS.rawValue))"
        default:
            failure = "the server's answer to SSLRequest is not 'S' or 'N'"
        }
        return [.observe(.upstreamFailed(.unreachable, admitted))]
            + fail(ClientError.upstreamUnreachable(upstream: upstream, reason: failure).errorResponse)
    }

    mutating func upstreamTLSEstablished(now: ContinuousClock.Instant) -> [Action] {
        guard phase == .connecting, upstreamTLS == .handshaking else { return [] }
        upstreamTLS = .established
        return beginAuthentication(now: now)
    }

    mutating func upstreamTLSFailed(_ failure: TLSFailure) -> [Action] {
        guard phase == .connecting, upstreamTLS == .handshaking, let admitted else { return [] }
        return [.observe(.upstreamFailed(.unreachable, admitted))]
            + fail(ClientError.upstreamUnreachable(upstream: admitted.upstream.description,
                                                   reason: "TLS handshake failed: \(failure)").errorResponse)
    }

    private mutating func beginAuthentication(now: ContinuousClock.Instant) -> [Action] {
        guard phase == .connecting, let admitted else { return [] }
        phase = .authenticating
        var inspected = MessageTypeSet(admitted.rules?.inspectedFrontendMessages ?? [])
        inspected.insert(FrontendMessageID.terminate.rawValue)
        if tracksStatements {
            for id in StatementTracker.trackedClientMessages { inspected.insert(id) }
        }
        if admitted.mailbox != nil {
            // The messages each answered by one ReadyForQuery, counted by `injection`.
            for id in SettingsInjection.syncPointMessages { inspected.insert(id) }
        }
        clientFramer.inspected = inspected
        var actions: [Action] = [.sendUpstream(admitted.startup.encoded()[...])]
        if !pipelined.isEmpty {
            let early = pipelined
            pipelined = []
            actions += relayFromClient(early[...], now: now)
        }
        return actions
    }

    mutating func upstreamUnreachable(reason: String) -> [Action] {
        guard phase == .connecting, let admitted else { return [] }
        return [.observe(.upstreamFailed(.unreachable, admitted))]
            + fail(ClientError.upstreamUnreachable(upstream: admitted.upstream.description, reason: reason).errorResponse)
    }

    mutating func upstreamBytes(_ bytes: ArraySlice<UInt8>, now: ContinuousClock.Instant) -> [Action] {
        if phase == .connecting, upstreamTLS == .requested { return upstreamTLSAnswer(bytes, now: now) }
        guard phase == .authenticating || phase == .relaying else { return [] }
        return relayFromUpstream(bytes, now: now)
    }

    mutating func upstreamEnded(error: Int32?) -> [Action] {
        if let error { return close("server socket error \(error)") }
        return close(phase == .relaying ? "server closed" : "server closed during \(phase)")
    }

    /// The server reset or failed while not being read. A server that only closed its side
    /// is read to the end once the client takes what is waiting for it.
    mutating func upstreamHungUp(error: Bool) -> [Action] {
        guard error else { return [] }
        return close("server connection reset during \(phase)")
    }

    mutating func timeoutFired(now: ContinuousClock.Instant) -> [Action] {
        switch phase {
        case .startup:
            let handshake: [Action] = if case .handshaking = clientTLS {
                [.observe(.clientTLSFailed(TLSFailure(.timeout)))]
            } else { [] }
            return handshake + [.observe(.refusedBeforeAdmission(.loginTimeout))]
                + fail(ClientError.loginTimeout(seconds: configuration.loginTimeout.seconds).errorResponse)
        case .admitting, .connecting, .authenticating:
            let timeout = admitted?.authenticationTimeout ?? configuration.loginTimeout
            return (admitted.map { [.observe(.upstreamFailed(.authenticationTimeout, $0))] } ?? [])
                + fail(ClientError.authenticationTimeout(seconds: timeout.seconds).errorResponse)
        case .relaying:
            armedDeadline = nil
            return relayingTimeouts(now: now)
        case .closed:
            return []
        }
    }

    mutating func command(_ command: SessionCommand) -> [Action] {
        guard phase != .closed else { return [] }
        switch command {
        case .terminate(let error):
            return fail(error)
        case .update(let update):
            // New statements are checked against the new rules at once; the settings follow at
            // the next idle point, so a running query keeps its limits.
            admitted?.rules = update.rules
            admitted?.idleTimeout = update.idleTimeout
            if statements.isBusy {
                laterStatementTimeout = update.statementTimeout  // the running one keeps its own
            } else {
                admitted?.statementTimeout = update.statementTimeout
            }
            for (key, value) in update.logMetadata { admitted?.logMetadata[key] = value }
            guard let statement = update.settingsStatement else { return [] }
            injectedSettings = statement
            // The tier's settings set every enforced value: a check waiting would find nothing.
            return requestProxyStatement(statement, .settings)
        }
    }

    /// The proxy is shutting down and the drain period is over.
    mutating func shutdown() -> [Action] {
        fail(ClientError.shuttingDown.errorResponse)
    }

    // MARK: Startup

    private mutating func startupAction(_ action: StartupPhase.Action, into actions: inout [Action]) {
        switch action {
        case .readMore:
            break
        case .declineEncryption:
            actions.append(.sendToClient(StartupPhase.declineEncryptionReply))
        case .acceptEncryption:
            clientTLS = .handshaking(direct: false)
            actions.append(.sendToClient(StartupPhase.acceptEncryptionReply))
            actions.append(.startClientTLS(initial: []))
        case .startDirectTLS(let initial):
            clientTLS = .handshaking(direct: true)
            actions.append(.startClientTLS(initial: initial))
        case .forwardCancel(let request):
            actions.append(.forwardCancel(request))
            actions += close("cancel request handled")
        case .startSession(let message, let leftover):
            phase = .admitting
            requestedUser = message.user ?? "?"
            requestedDatabase = message.database ?? "?"
            pipelined = leftover
            actions.append(.admit(message))
        case .fail(let error):
            actions.append(.observe(.refusedBeforeAdmission(.protocolViolation)))
            actions += fail(error)
        }
    }

    // MARK: Relay

    private mutating func relayFromClient(_ bytes: ArraySlice<UInt8>, now: ContinuousClock.Instant) -> [Action] {
        let rules = admitted?.rules
        var actions: [Action] = []
        var terminated = false
        var syncPoints = 0
        var endsAtSyncPoint = false
        var resetsSettings = false
        // Copied out while the framer calls back (the callbacks may not touch `self`), and
        // put back after: tracking a statement allocates nothing.
        var statements = self.statements
        var startedWork = false
        let tracksInjection = injectedSettings != nil
        var checkSettings = false
        let violation = clientFramer.feed(bytes) { event in
            switch event {
            case .forward(let slice):
                endsAtSyncPoint = false
                actions.append(.sendUpstream(slice))
            case .message(let id, let frame):
                if id == FrontendMessageID.terminate.rawValue { terminated = true }
                let payload = MessageFramer.payload(of: frame)
                let verdict = rules?.filterFrontend(id: id, payload: payload) ?? .forward
                // A message the proxy answers itself gets no ReadyForQuery from the server.
                let isSyncPoint: Bool
                if case .answer = verdict { isSyncPoint = false } else {
                    isSyncPoint = SettingsInjection.syncPointMessages.contains(id)
                }
                if isSyncPoint { syncPoints += 1 }
                endsAtSyncPoint = isSyncPoint
                if tracksInjection, SettingsInjection.mayResetSettings(id: id, payload: payload) {
                    resetsSettings = true
                }
                if !checkSettings, let rules, rules.mayChangeSettingsUnseen(id: id, payload: payload) { checkSettings = true }
                switch verdict {
                case .forward: actions.append(.sendUpstream(frame))
                case .replace(let message): actions.append(.sendUpstream(message[...]))
                case .answer(let reply): actions.append(.sendToClient(reply[...]))
                }
                if case .answer = verdict {} else if StatementTracker.trackedClientMessages.contains(id) {
                    statements.clientSent(id, now: now)
                    startedWork = true
                }
            }
        }
        self.statements = statements
        if startedWork { lastActivity = now }
        if phase == .relaying {
            injection.clientSent(syncPoints: syncPoints, endsAtSyncPoint: endsAtSyncPoint && clientFramer.isAtMessageBoundary)
            if resetsSettings, let injectedSettings {
                actions += requestProxyStatement(injectedSettings, .settings)
            } else if checkSettings, let check = rules?.settingsCheck, pendingProxyStatement == nil {
                actions += requestProxyStatement(check.statement, .check)
            }
        }
        if let violation {
            actions += fail(violation.errorResponse)
        } else if terminated {
            actions += close("client terminated")
        } else if phase == .relaying {
            actions += armRelayingTimer(now: now)
        }
        return actions
    }

    private mutating func relayFromUpstream(_ bytes: ArraySlice<UInt8>, now: ContinuousClock.Instant) -> [Action] {
        let wasBusy = statements.isBusy
        var actions: [Action] = []
        // Taken out while it calls back (the callbacks change `self`); swapped, not copied, so
        // a message it is assembling stays uniquely referenced and grows in place.
        var framer = MessageFramer(inspected: .all)
        swap(&framer, &serverFramer)
        var loginRefusal: ErrorResponse?
        let violation = framer.feed(bytes) { event in
            // After a refused login nothing more reaches the client, whatever came with it.
            guard loginRefusal == nil else { return }
            switch event {
            case .forward(let slice):
                actions.append(.sendToClient(slice))
            case .message(let id, let frame):
                loginRefusal = serverMessage(id, frame: frame, now: now, into: &actions)
            }
        }
        swap(&framer, &serverFramer)
        if let loginRefusal {
            // While authenticating every server message is held until whole, so the client's
            // stream is between messages even when the server's is not.
            return actions + fail(loginRefusal, clientAtMessageBoundary: true)
        }
        if let violation {
            actions.append(.log(.serverProtocolViolation(reason: violation.message)))
            return actions + close("server protocol violation")
        }
        // While the proxy's own statement is answered, every reply is seen whole so it can be
        // swallowed; otherwise only what the proxy acts on.
        serverFramer.inspected = phase == .relaying && !injection.hasProxyStatementInFlight
            ? inspectedWhileRelaying : .all
        // Idleness counts from when the server last finished what the client asked for.
        if wasBusy && !statements.isBusy {
            lastActivity = now
            if let later = laterStatementTimeout {
                admitted?.statementTimeout = later
                laterStatementTimeout = nil
            }
        }
        if phase == .relaying { actions += armRelayingTimer(now: now) }
        return actions
    }

    /// Handles one whole server message; returns the admission's refusal when this message
    /// is the AuthenticationOk of a login the admission does not confirm.
    private mutating func serverMessage(_ id: UInt8, frame: ArraySlice<UInt8>, now: ContinuousClock.Instant,
                                        into actions: inout [Action]) -> ErrorResponse? {
        let payload = MessageFramer.payload(of: frame)
        if phase == .relaying {
            let answeringProxy = injection.isAnsweringProxy
            let isReady = id == BackendMessageID.readyForQuery.rawValue
            let (verdict, action) = injection.serverMessage(id, readyStatus: isReady ? payload.first : nil)
            actions += injectionAction(action)
            if verdict == .swallow {
                if answeringProxy, id == BackendMessageID.errorResponse.rawValue, let error = ErrorResponse.decode(payload: payload) {
                    actions.append(.log(.settingsRefusedByServer(sqlState: error[.sqlState] ?? "?", reason: error.message ?? "")))
                }
                if answeringProxy, answeredProxyStatement == .check, id == BackendMessageID.dataRow.rawValue,
                   let name = DataRow.decode(payload: payload)?.text(0) {
                    restoredSettings.append(name)
                }
                if answeringProxy, isReady { actions += proxyStatementAnswered() }
                return nil
            }
        }
        if phase == .relaying { statements.serverSent(id, now: now) }
        switch BackendMessageID(rawValue: id) {
        case .authentication:
            if phase == .authenticating, !isClientEncrypted,
               let offer = SASLChannelBinding.withoutBinding(frame) {
                actions.append(.sendToClient(offer[...]))
                return nil
            }
            // AuthenticationOk (an Int32 zero; other codes are password or SASL requests): the
            // admission confirms the login before the client sees it, and before anything the
            // server sent with it is looked at (the session may not go on).
            if phase == .authenticating, payload.count == 4, payload.allSatisfy({ $0 == 0 }),
               let refusal = admitted?.confirmLogin?() {
                return refusal
            }
        case .backendKeyData:
            if let key = BackendKeyData.decode(payload: payload), let admitted {
                backendKey = key
                actions.append(.registerCancelKey(key, admitted.upstream))
                return nil
            }
        case .readyForQuery:
            if phase == .authenticating {
                actions.append(.sendToClient(frame))
                actions += established(now: now)
                actions += injectionAction(injection.sessionEstablished(status: payload.first))
                return nil
            }
        case .errorResponse:
            if cancelled != nil, var error = ErrorResponse.decode(payload: payload),
               error.sqlState == .queryCanceled, error.message == Self.userCancelMessage {
                // The proxy's own cancel of a statement past its timeout: it reads as the
                // timeout it is, and the rules add what they add to one.
                cancelled = nil
                error[.message] = Self.statementTimeoutMessage
                if let timeout = admitted?.statementTimeout {
                    error[.detail] = "The statement ran past its timeout of \(Self.format(timeout.duration)) s; TierGate cancelled it."
                }
                actions.append(.sendToClient((admitted?.rules?.decorate(error: error) ?? error).encoded()[...]))
                return nil
            }
            if let rules = admitted?.rules, let error = ErrorResponse.decode(payload: payload) {
                let decorated = rules.decorate(error: error)
                if decorated != error {
                    actions.append(.sendToClient(decorated.encoded()[...]))
                    return nil
                }
            }
        default:
            break
        }
        actions.append(.sendToClient(frame))
        return nil
    }

    private mutating func established(now: ContinuousClock.Instant) -> [Action] {
        phase = .relaying
        lastActivity = now
        armedDeadline = nil
        var actions: [Action] = [.log(.established(user: requestedUser, database: requestedDatabase,
                                                   upstream: admitted?.upstream.description ?? "?")), .cancelTimeout]
        actions += armRelayingTimer(now: now)
        return actions
    }

    private mutating func injectionAction(_ action: SettingsInjection.Action) -> [Action] {
        guard case .send(let statement) = action else { return [] }
        // Every reply is seen whole from here on, so the statement's can be swallowed.
        serverFramer.inspected = .all
        answeredProxyStatement = pendingProxyStatement
        pendingProxyStatement = nil
        restoredSettings = []
        var actions: [Action] = [.sendUpstream(Query(text: statement).encoded()[...])]
        if answeredProxyStatement == .settings { actions.append(.log(.settingsSent(statement: statement))) }
        return actions
    }

    /// Queues one of the proxy's own statements for the next idle point (sent now if idle).
    private mutating func requestProxyStatement(_ statement: String, _ kind: ProxyStatement) -> [Action] {
        pendingProxyStatement = kind
        return injectionAction(injection.request(statement))
    }

    /// The proxy's statement got its ReadyForQuery: a check that put settings back says so.
    private mutating func proxyStatementAnswered() -> [Action] {
        defer {
            answeredProxyStatement = nil
            restoredSettings = []
        }
        guard answeredProxyStatement == .check, !restoredSettings.isEmpty else { return [] }
        return [.log(.settingsRestored(restoredSettings)), .observe(.settingsRestored(restoredSettings))]
    }

    /// Once authenticated, only these server messages need a look; the rest streams through.
    /// With timeouts, also the ends of statements (`StatementTracker`).
    private var inspectedWhileRelaying: MessageTypeSet {
        tracksStatements ? Self.inspectedForStatements : Self.inspectedForErrors
    }

    static let inspectedForErrors = MessageTypeSet([BackendMessageID.errorResponse.rawValue,
                                                    BackendMessageID.readyForQuery.rawValue])
    static let inspectedForStatements = MessageTypeSet([
        BackendMessageID.errorResponse.rawValue, BackendMessageID.readyForQuery.rawValue,
        BackendMessageID.commandComplete.rawValue, StatementTracker.emptyQueryResponse, StatementTracker.portalSuspended,
    ])

    /// Statements and idleness are tracked only for sessions with a timeout to enforce.
    private var tracksStatements: Bool {
        admitted?.statementTimeout != nil || admitted?.idleTimeout != nil
    }

    // MARK: Statement and idle timeouts

    static let userCancelMessage = "canceling statement due to user request"
    static let statementTimeoutMessage = "canceling statement due to statement timeout"

    private static func format(_ duration: Duration) -> String {
        let seconds = duration.seconds
        return seconds == seconds.rounded() ? String(Int(seconds)) : String(Double(Int(seconds * 10)) / 10)
    }

    /// When the session's timer must next fire while relaying: the running statement's
    /// cancel deadline (or, once cancelled, the deadline for the server to end it), else the
    /// idle deadline of a session that owes nothing.
    private func relayingDeadline() -> ContinuousClock.Instant? {
        if statements.isBusy {
            guard let start = statements.runningSince, let timeout = admitted?.statementTimeout else { return nil }
            if let cancelled, cancelled.statement == statements.statementNumber {
                return cancelled.at + timeout.cancelGrace
            }
            return timeout.cancelDeadline(start: start)
        }
        guard let idle = admitted?.idleTimeout, let lastActivity else { return nil }
        return lastActivity + idle.duration
    }

    /// Arms the timer when the next deadline is sooner than the one it is armed for. A later
    /// deadline (the usual case: activity pushes the idle deadline on) is found when the timer
    /// fires, so the timer is not re-armed on every message.
    private mutating func armRelayingTimer(now: ContinuousClock.Instant) -> [Action] {
        guard let deadline = relayingDeadline() else { return [] }
        if let armedDeadline, armedDeadline <= deadline { return [] }
        armedDeadline = deadline
        return [.scheduleTimeout(max(.zero, deadline - now))]
    }

    /// The timer fired while relaying: cancel a statement past its timeout, close a session
    /// whose cancelled statement did not end, or close an idle one; else re-arm.
    private mutating func relayingTimeouts(now: ContinuousClock.Instant) -> [Action] {
        guard let deadline = relayingDeadline(), deadline <= now else { return armRelayingTimer(now: now) }
        if statements.isBusy, let timeout = admitted?.statementTimeout, let start = statements.runningSince {
            if let cancelled, cancelled.statement == statements.statementNumber {
                return fail(ErrorResponse(
                    severity: .fatal, sqlState: .queryCanceled,
                    message: "terminating connection: the statement did not end after it was cancelled",
                    detail: "The statement ran past its timeout of \(Self.format(timeout.duration)) s and was cancelled \(Self.format(now - cancelled.at)) s ago."))
            }
            cancelled = (statements.statementNumber, now)
            var actions: [Action] = [.log(.statementCancelled(after: now - start))]
            if let backendKey, let admitted { actions.append(.cancelUpstream(backendKey, admitted.upstream)) }
            return actions + armRelayingTimer(now: now)
        }
        guard let idle = admitted?.idleTimeout else { return [] }
        return fail(idle.error)
    }

    /// A client gone while its statement runs: Postgres alone would run it to the end.
    private func cancelRunningStatement() -> [Action] {
        guard phase == .relaying, statements.runningSince != nil, let backendKey, let admitted else { return [] }
        return [.cancelUpstream(backendKey, admitted.upstream)]
    }

    // MARK: Ending

    /// A FATAL error for the client, if it can be placed between two server messages, then the end.
    private mutating func fail(_ error: ErrorResponse, clientAtMessageBoundary: Bool = false) -> [Action] {
        guard phase != .closed else { return [] }
        var actions: [Action] = []
        // Mid-handshake the client reads TLS records only: an ErrorResponse would be noise.
        let handshaking = if case .handshaking = clientTLS { true } else { false }
        if !handshaking, clientAtMessageBoundary || serverFramer.isAtMessageBoundary {
            actions.append(.sendToClient(error.encoded()[...]))
        }
        return actions + close("\(error[.sqlState] ?? "?"): \(error.message ?? "")", level: .notice)
    }

    private mutating func close(_ outcome: String, level: Logger.Level = .info) -> [Action] {
        guard phase != .closed else { return [] }
        let ending = Ending(outcome: outcome, level: level, endedIn: phase, admission: admitted, backendKey: backendKey)
        phase = .closed
        admitted = nil
        backendKey = nil
        pipelined = []
        return [.cancelTimeout, .close(ending)]
    }
}
