import PostgresWire
import Testing
@testable import Proxy

/// The session lifecycle driven event by event, with no socket, queue or clock: what the
/// machine asks the shell to do in every phase, on every timeout, under backpressure, for
/// tier changes and on every way a session can fail.
struct SessionStateMachineTests {
    // MARK: Fixtures

    static let loginTimeout = Duration.seconds(15)
    static let upstream = Endpoint(host: "127.0.0.1", port: 5432)
    static let t0 = ContinuousClock.now

    static func machine() -> SessionStateMachine {
        var machine = SessionStateMachine(configuration: .init(loginTimeout: loginTimeout, maxInspectedMessage: 1 << 20))
        _ = machine.start()
        return machine
    }

    static func startupBytes(user: String = "app.org_acme") -> [UInt8] {
        StartupMessage(parameters: [(name: "user", value: user), (name: "database", value: "acme")]).encoded()
    }

    static func message(_ id: Character, _ payload: [UInt8] = []) -> [UInt8] {
        let length = UInt32(payload.count + 4)
        return [id.asciiValue!, UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + payload
    }

    static func query(_ text: String) -> [UInt8] { Query(text: text).encoded() }
    static let readyIdle = ReadyForQuery(status: .idle).encoded()
    static let readyInTransaction = ReadyForQuery(status: .inTransaction).encoded()
    static let authOK = message("R", [0, 0, 0, 0])
    static let commandComplete = message("C", Array("SELECT 1".utf8) + [0])

    static func admission(idle: Duration? = nil, mailbox: SessionMailbox? = nil, rules: (any SessionRules)? = nil,
                          confirmLogin: (@Sendable () -> ErrorResponse?)? = nil,
                          ended: EndCounter = EndCounter()) -> AdmittedSession {
        AdmittedSession(upstream: upstream, startup: StartupMessage(parameters: [(name: "user", value: "app")]),
                        authenticationTimeout: .seconds(5), idleTimeout: idle.map { IdleTimeout($0) }, rules: rules,
                        logMetadata: ["org": "org_acme", "tier": "FREE"], mailbox: mailbox,
                        confirmLogin: confirmLogin, onEnd: { ended.count += 1 })
    }

    final class EndCounter: @unchecked Sendable { var count = 0 }

    /// A machine in the relaying phase: admitted, connected, authenticated.
    static func relaying(idle: Duration? = nil, mailbox: SessionMailbox? = nil,
                         rules: (any SessionRules)? = nil) -> SessionStateMachine {
        var machine = machine()
        _ = machine.clientBytes(startupBytes()[...], now: t0)
        _ = machine.admissionDecided(.admitted(admission(idle: idle, mailbox: mailbox, rules: rules)))
        _ = machine.upstreamConnected(now: t0)
        _ = machine.upstreamBytes((authOK + readyIdle)[...], now: t0)
        #expect(machine.phase == .relaying)
        return machine
    }

    /// What an action list asks for, in a comparable form.
    enum Step: Equatable {
        case toClient([UInt8])
        case upstream([UInt8])
        case timeout(Duration)
        case cancelTimeout
        case admit(user: String?)
        case connect(String)
        case forwardCancel
        case cancelUpstream(Int32)
        case registerKey(Int32)
        case attach
        case release
        case observe(String)
        case startTLS(initial: [UInt8])
        case startUpstreamTLS
        case log(SessionStateMachine.LogEvent)
        case close(outcome: String, endedIn: SessionStateMachine.Phase, admitted: Bool)
    }

    static func steps(_ actions: [SessionStateMachine.Action]) -> [Step] {
        actions.map { action in
            switch action {
            case .sendToClient(let bytes): .toClient(Array(bytes))
            case .sendUpstream(let bytes): .upstream(Array(bytes))
            case .scheduleTimeout(let delay): .timeout(delay)
            case .cancelTimeout: .cancelTimeout
            case .admit(let message): .admit(user: message.user)
            case .connect(let endpoint): .connect(endpoint.description)
            case .forwardCancel: .forwardCancel
            case .cancelUpstream(let key, _): .cancelUpstream(key.processID)
            case .registerCancelKey(let key, _): .registerKey(key.processID)
            case .attachMailbox: .attach
            case .releaseAdmission: .release
            case .observe(.refusedBeforeAdmission(let refusal)): .observe("\(refusal)")
            case .observe(.upstreamFailed(let failure, _)): .observe("\(failure)")
            case .observe(.settingsRestored(let names)): .observe("restored " + names.joined(separator: ","))
            case .observe(.clientTLSEstablished(let direct)): .observe(direct ? "tls direct" : "tls")
            case .observe(.clientTLSFailed(let failure)): .observe("tls failed \(failure.reason.rawValue)")
            case .startClientTLS(let initial): .startTLS(initial: initial)
            case .startUpstreamTLS: .startUpstreamTLS
            case .log(let event): .log(event)
            case .close(let ending): .close(outcome: ending.outcome, endedIn: ending.endedIn, admitted: ending.admission != nil)
            }
        }
    }

    static func sqlStates(_ actions: [SessionStateMachine.Action]) -> [String] {
        actions.compactMap { action in
            guard case .sendToClient(let bytes) = action, bytes.first == UInt8(ascii: "E"), bytes.count >= 5 else { return nil }
            let b = Array(bytes)
            let length = Int(b[1]) << 24 | Int(b[2]) << 16 | Int(b[3]) << 8 | Int(b[4])
            return ErrorResponse.decode(payload: b[5..<min(b.count, 1 + length)])?[.sqlState]
        }
    }

    static func ending(_ actions: [SessionStateMachine.Action]) -> SessionStateMachine.Ending? {
        for case .close(let ending) in actions { return ending }
        return nil
    }

    // MARK: Startup

    @Test func start_armsTheLoginTimeout_andReadsOnlyTheClient() {
        var machine = SessionStateMachine(configuration: .init(loginTimeout: Self.loginTimeout, maxInspectedMessage: 1024))
        #expect(Self.steps(machine.start()) == [.timeout(Self.loginTimeout)])
        #expect(machine.readsClient(upstreamBlocked: false))
        #expect(!machine.readsUpstream(clientBlocked: false))
    }

    @Test func sslRequest_isDeclined_thenTheStartupAsksForAdmission_andStopsReadingTheClient() {
        var machine = Self.machine()
        let ssl: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
        #expect(Self.steps(machine.clientBytes(ssl[...], now: Self.t0)) == [.toClient([UInt8(ascii: "N")])])
        #expect(Self.steps(machine.clientBytes(Self.startupBytes()[...], now: Self.t0)) == [.admit(user: "app.org_acme")])
        #expect(machine.phase == .admitting)
        #expect(!machine.readsClient(upstreamBlocked: false), "the client is not read while admission decides")
    }

    @Test func startupSplitAcrossReads_waitsForTheWholePacket() {
        var machine = Self.machine()
        let bytes = Self.startupBytes()
        #expect(machine.clientBytes(bytes.prefix(3), now: Self.t0).isEmpty)
        #expect(Self.steps(machine.clientBytes(bytes.dropFirst(3), now: Self.t0)) == [.admit(user: "app.org_acme")])
    }

    @Test func loginTimeout_refusesWith08P01_countsIt_andEnds() {
        var machine = Self.machine()
        let actions = machine.timeoutFired(now: Self.t0 + Self.loginTimeout)
        #expect(Self.sqlStates(actions) == ["08P01"])
        #expect(Self.steps(actions).contains(.observe("loginTimeout")))
        #expect(Self.ending(actions)?.endedIn == .startup)
        #expect(machine.phase == .closed)
    }

    @Test func malformedStartup_refusesWithProtocolViolation_andEnds() {
        var machine = Self.machine()
        let actions = machine.clientBytes([0, 0, 0, 3, 1, 2, 3][...], now: Self.t0)
        #expect(Self.sqlStates(actions) == ["08P01"])
        #expect(Self.steps(actions).contains(.observe("protocolViolation")))
        #expect(machine.phase == .closed)
    }

    @Test func cancelRequest_isForwarded_andTheConnectionEndsWithoutReply() {
        var machine = Self.machine()
        let cancel = CancelRequest(key: BackendKeyData(processID: 42, secretKey: [0, 0, 0, 7])).encoded()
        let steps = Self.steps(machine.clientBytes(cancel[...], now: Self.t0))
        #expect(steps == [.forwardCancel, .cancelTimeout, .close(outcome: "cancel request handled", endedIn: .startup, admitted: false)])
    }

    @Test func clientHangingUpDuringStartup_endsAtOnce() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes().prefix(4), now: Self.t0)
        let ending = Self.ending(machine.clientHungUp(error: true))
        #expect(ending?.endedIn == .startup)
        #expect(ending?.outcome.contains("reset") == true)
    }

    // MARK: Admission

    @Test func refusal_isSentAsIs_andEndsWithoutAdmission() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        let refusal = ErrorResponse(severity: .fatal, sqlState: .tooManyConnections, message: "connection limit exceeded")
        let actions = machine.admissionDecided(.refused(refusal))
        #expect(Self.sqlStates(actions) == ["53300"])
        #expect(Self.ending(actions)?.admission == nil)
    }

    @Test func admitted_armsTheAuthenticationTimeout_andConnects() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        let steps = Self.steps(machine.admissionDecided(.admitted(Self.admission())))
        #expect(steps == [.timeout(.seconds(5)), .connect("127.0.0.1:5432")])
        #expect(machine.phase == .connecting)
        #expect(!machine.readsClient(upstreamBlocked: false) && !machine.readsUpstream(clientBlocked: false))
    }

    @Test func admissionAfterTheClientLeft_isGivenStraightBack() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        let ending = Self.ending(machine.clientHungUp(error: false))
        #expect(ending?.endedIn == .admitting)
        #expect(Self.steps(machine.admissionDecided(.admitted(Self.admission()))) == [.release])
    }

    @Test func pipelinedBytes_followTheStartupMessageUpstream() {
        var machine = Self.machine()
        let pipelined = Self.query("SELECT 1")
        _ = machine.clientBytes((Self.startupBytes() + pipelined)[...], now: Self.t0)
        _ = machine.clientBytes(Self.query("SELECT 2")[...], now: Self.t0)  // read just before reading stopped
        _ = machine.admissionDecided(.admitted(Self.admission()))
        let steps = Self.steps(machine.upstreamConnected(now: Self.t0))
        let startup = StartupMessage(parameters: [(name: "user", value: "app")]).encoded()
        #expect(steps == [.upstream(startup), .upstream(pipelined + Self.query("SELECT 2"))])
        #expect(machine.phase == .authenticating)
    }

    // MARK: Connecting and authenticating

    @Test func unreachableUpstream_refusesWith08006_andFreesTheAdmission() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        _ = machine.admissionDecided(.admitted(Self.admission()))
        let actions = machine.upstreamUnreachable(reason: "Connection refused")
        #expect(Self.sqlStates(actions) == ["08006"])
        #expect(Self.steps(actions).contains(.observe("unreachable")))
        #expect(Self.ending(actions)?.admission != nil, "the shell calls onEnd: the slot is freed")
    }

    @Test func authenticationTimeout_refusesWith08P01_andFreesTheAdmission() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        _ = machine.admissionDecided(.admitted(Self.admission()))
        _ = machine.upstreamConnected(now: Self.t0)
        let actions = machine.timeoutFired(now: Self.t0 + .seconds(5))
        #expect(Self.sqlStates(actions) == ["08P01"])
        #expect(Self.steps(actions).contains(.observe("authenticationTimeout")))
        #expect(Self.ending(actions)?.endedIn == .authenticating)
        #expect(Self.ending(actions)?.admission != nil)
    }

    @Test func firstReadyForQuery_establishesTheSession_registersItsCancelKeyWithoutForwardingIt_andArmsTheIdleTimeout() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        _ = machine.admissionDecided(.admitted(Self.admission(idle: .seconds(300))))
        _ = machine.upstreamConnected(now: Self.t0)
        let key = BackendKeyData(processID: 77, secretKey: [1, 2, 3, 4]).encoded()
        let steps = Self.steps(machine.upstreamBytes((Self.authOK + key + Self.readyIdle)[...], now: Self.t0))
        #expect(steps == [
            .toClient(Self.authOK),
            .registerKey(77),  // the shell sends the client the proxy's own key instead
            .toClient(Self.readyIdle),
            .log(.established(user: "app.org_acme", database: "acme", upstream: "127.0.0.1:5432")),
            .cancelTimeout, .timeout(.seconds(300)),
        ])
        #expect(machine.phase == .relaying)
    }

    final class Asked: @unchecked Sendable { var count = 0 }

    @Test func authenticationOk_isConfirmedWithTheAdmission_beforeTheClientSeesIt() {
        let asked = Asked()
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        _ = machine.admissionDecided(.admitted(Self.admission(confirmLogin: { asked.count += 1; return nil })))
        _ = machine.upstreamConnected(now: Self.t0)
        let saslRequest = Self.message("R", [0, 0, 0, 10] + Array("SCRAM-SHA-256".utf8) + [0, 0])
        #expect(Self.steps(machine.upstreamBytes(saslRequest[...], now: Self.t0)) == [.toClient(saslRequest)])
        #expect(asked.count == 0, "a password request is not a login")
        #expect(Self.steps(machine.upstreamBytes(Self.authOK[...], now: Self.t0)) == [.toClient(Self.authOK)])
        #expect(asked.count == 1)
        #expect(machine.phase == .authenticating)
    }

    @Test func loginRefusedAtAuthentication_endsWithTheRefusal_andNothingAfterItReachesTheClient() {
        var machine = Self.machine()
        _ = machine.clientBytes(Self.startupBytes()[...], now: Self.t0)
        let refusal = ErrorResponse(severity: .fatal, sqlState: .tooManyConnections, message: "connection limit exceeded")
        _ = machine.admissionDecided(.admitted(Self.admission(confirmLogin: { refusal })))
        _ = machine.upstreamConnected(now: Self.t0)
        // AuthenticationOk, the rest of the login and its ReadyForQuery in one read, the last
        // message cut short: none of it may reach the client, the refusal goes out whole.
        let key = BackendKeyData(processID: 9, secretKey: [1, 2, 3, 4]).encoded()
        let reply = Self.authOK + Self.message("S", Array("a\0b\0".utf8)) + key + Self.readyIdle
        let actions = machine.upstreamBytes(reply.dropLast(2), now: Self.t0)
        #expect(Self.sqlStates(actions) == ["53300"])
        #expect(!Self.steps(actions).contains(.toClient(Self.authOK)), "the client never learns its login succeeded")
        #expect(!Self.steps(actions).contains(.registerKey(9)))
        #expect(Self.ending(actions)?.admission != nil)
        #expect(Self.ending(actions)?.endedIn == .authenticating)
        #expect(machine.phase == .closed)
    }

    // MARK: Relaying and backpressure

    @Test func relay_forwardsBothWays_asTheFramesArrived() {
        var machine = Self.relaying()
        let query = Self.query("SELECT 1")
        #expect(Self.steps(machine.clientBytes(query[...], now: Self.t0)) == [.upstream(query)])
        let reply = Self.message("T", [0, 0]) + Self.message("D", [0, 0]) + Self.commandComplete + Self.readyIdle
        let steps = Self.steps(machine.upstreamBytes(reply[...], now: Self.t0))
        #expect(steps.reduce(into: [UInt8]()) { bytes, step in if case .toClient(let b) = step { bytes += b } } == reply)
    }

    @Test func backpressure_readsASideOnlyWhileTheOtherCanTakeBytes() {
        let machine = Self.relaying()
        #expect(machine.readsClient(upstreamBlocked: false))
        #expect(!machine.readsClient(upstreamBlocked: true))
        #expect(machine.readsUpstream(clientBlocked: false))
        #expect(!machine.readsUpstream(clientBlocked: true))
    }

    @Test func clientHangUpWhileNotRead_endsTheSession_andFreesEverything() {
        var machine = Self.relaying()
        let ending = Self.ending(machine.clientHungUp(error: true))
        #expect(ending?.endedIn == .relaying)
        #expect(ending?.admission != nil)
        #expect(machine.phase == .closed)
        #expect(!machine.readsClient(upstreamBlocked: false) && !machine.readsUpstream(clientBlocked: false))
    }

    @Test func serverClosingItsSideWhileNotRead_waitsToBeReadToTheEnd_butAResetEnds() {
        var machine = Self.relaying()
        #expect(machine.upstreamHungUp(error: false).isEmpty)
        #expect(machine.phase == .relaying)
        #expect(Self.ending(machine.upstreamHungUp(error: true))?.outcome.contains("reset") == true)
    }

    @Test func terminate_isForwarded_thenTheSessionEnds() {
        var machine = Self.relaying()
        let terminate = Self.message("X")
        #expect(Self.steps(machine.clientBytes(terminate[...], now: Self.t0)) == [
            .upstream(terminate), .cancelTimeout, .close(outcome: "client terminated", endedIn: .relaying, admitted: true)])
    }

    @Test func clientFrameWithAnImpossibleLength_isRefused08P01() {
        var machine = Self.relaying()
        let actions = machine.clientBytes([UInt8(ascii: "Q"), 0, 0, 0, 2][...], now: Self.t0)
        #expect(Self.sqlStates(actions) == ["08P01"])
        #expect(machine.phase == .closed)
    }

    @Test func fatalErrorMidServerMessage_isNotSpliced_intoTheStream() {
        var machine = Self.relaying()
        _ = machine.clientBytes(Self.query("SELECT big")[...], now: Self.t0)
        let dataRow = Self.message("D", [UInt8](repeating: 1, count: 100))
        _ = machine.upstreamBytes(dataRow.prefix(50), now: Self.t0)
        let actions = machine.shutdown()
        #expect(Self.sqlStates(actions).isEmpty, "an error inside a DataRow would corrupt the client's stream")
        #expect(Self.ending(actions) != nil)
    }

    @Test func shutdown_refusesWith57P01_atAMessageBoundary() {
        var machine = Self.relaying()
        #expect(Self.sqlStates(machine.shutdown()) == ["57P01"])
    }

    // MARK: Idle timeout

    @Test func idleTimeout_waitsForARunningQuery_thenClosesAQuietSession57P05() {
        let idle = Duration.seconds(300)
        var machine = Self.relaying(idle: idle)
        _ = machine.clientBytes(Self.query("SELECT pg_sleep(600)")[...], now: Self.t0)
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + idle)).isEmpty, "a query in flight is not idleness")
        let done = Self.steps(machine.upstreamBytes((Self.commandComplete + Self.readyIdle)[...], now: Self.t0 + .seconds(600)))
        #expect(done.contains(.timeout(idle)), "idleness counts from the end of the query")
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(700))) == [.timeout(.seconds(200))],
                "re-armed for the rest of the quiet period")
        let actions = machine.timeoutFired(now: Self.t0 + .seconds(900))
        #expect(Self.sqlStates(actions) == ["57P05"])
        #expect(machine.phase == .closed)
    }

    @Test func noIdleTimeout_disarmsTheTimer() {
        var machine = Self.relaying(idle: nil)
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(3600))).isEmpty)
        #expect(machine.phase == .relaying)
    }

    // MARK: The proxy's own statement timeout

    static let key = BackendKeyData(processID: 4242, secretKey: [9, 9, 9, 9])

    /// Relaying with a 10 s statement timeout (1 s grace, 5 s for the cancel to work) and
    /// the backend's cancel key known.
    static func timed(idle: Duration? = nil) -> SessionStateMachine {
        var machine = Self.machine()
        _ = machine.clientBytes(startupBytes()[...], now: t0)
        var admitted = admission(idle: idle)
        admitted.statementTimeout = StatementTimeout(.seconds(10), grace: .seconds(1), cancelGrace: .seconds(5))
        _ = machine.admissionDecided(.admitted(admitted))
        _ = machine.upstreamConnected(now: t0)
        _ = machine.upstreamBytes((authOK + key.encoded() + readyIdle)[...], now: t0)
        return machine
    }

    static let userCancel = ErrorResponse(severity: .error, sqlState: .queryCanceled,
                                          message: "canceling statement due to user request").encoded()

    @Test func statementPastItsTimeout_isCancelledByTheProxy_andReadsAsATimeout() {
        var machine = Self.timed()
        #expect(Self.steps(machine.clientBytes(Self.query("SELECT pg_sleep(60)")[...], now: Self.t0))
                == [.upstream(Self.query("SELECT pg_sleep(60)")), .timeout(.seconds(11))])
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(11))) == [
            .log(.statementCancelled(after: .seconds(11))), .cancelUpstream(4242), .timeout(.seconds(5))])
        let reply = machine.upstreamBytes((Self.userCancel + Self.readyIdle)[...], now: Self.t0 + .seconds(11))
        guard case .sendToClient(let bytes) = reply.first else { Issue.record("\(Self.steps(reply))"); return }
        let error = ErrorResponse.decode(payload: Array(bytes).dropFirst(5))
        #expect(error?.sqlState == .queryCanceled)
        #expect(error?.message == "canceling statement due to statement timeout")
        #expect(error?[.detail]?.contains("10 s") == true)
        #expect(machine.phase == .relaying, "the session goes on, as after the server's own timeout")
    }

    @Test func statementThatDoesNotEndAfterTheCancel_closesTheSession() {
        var machine = Self.timed()
        _ = machine.clientBytes(Self.query("SELECT stuck()")[...], now: Self.t0)
        _ = machine.timeoutFired(now: Self.t0 + .seconds(11))
        let actions = machine.timeoutFired(now: Self.t0 + .seconds(16))
        #expect(Self.sqlStates(actions) == ["57014"])
        #expect(machine.phase == .closed)
    }

    @Test func eachStatementOfAQueryString_andEachExecute_hasItsOwnClock() {
        var machine = Self.timed()
        _ = machine.clientBytes(Self.query("SELECT pg_sleep(8); SELECT pg_sleep(8)")[...], now: Self.t0)
        // The first statement ends at 8 s: the second's clock starts then, the timer keeps its
        // earlier deadline and is re-armed when it fires.
        _ = machine.upstreamBytes(Self.commandComplete[...], now: Self.t0 + .seconds(8))
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(11))) == [.timeout(.seconds(8))])
        _ = machine.upstreamBytes((Self.commandComplete + Self.readyIdle)[...], now: Self.t0 + .seconds(16))
        // Extended protocol: Parse, Bind, Execute, Execute, Sync.
        let batch = Self.message("P", [0] + Array("SELECT 1".utf8) + [0, 0, 0]) + Self.message("B", [0, 0, 0, 0, 0, 0, 0, 0])
            + Self.message("E", [0, 0, 0, 0, 0]) + Self.message("E", [0, 0, 0, 0, 0]) + Self.message("S")
        _ = machine.clientBytes(batch[...], now: Self.t0 + .seconds(20))
        _ = machine.upstreamBytes(Self.commandComplete[...], now: Self.t0 + .seconds(29))
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(31))) == [.timeout(.seconds(9))],
                "the second Execute started at 29 s")
        _ = machine.upstreamBytes((Self.commandComplete + Self.readyIdle)[...], now: Self.t0 + .seconds(30))
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(40))).isEmpty, "nothing runs: nothing to cancel")
    }

    @Test func clientGoneMidStatement_cancelsItUpstream() {
        var machine = Self.timed()
        _ = machine.clientBytes(Self.query("SELECT pg_sleep(60)")[...], now: Self.t0)
        #expect(Self.steps(machine.clientHungUp(error: true)).prefix(1) == [.cancelUpstream(4242)])
        var idle = Self.timed()
        #expect(!Self.steps(idle.clientEnded(error: nil)).contains(.cancelUpstream(4242)), "nothing runs: nothing to cancel")
    }

    @Test func flushesAndHalfMessages_areNotActivity_soTheIdleTimeoutHolds() {
        let idle = Duration.seconds(300)
        var machine = Self.timed(idle: idle)
        _ = machine.clientBytes(Self.message("H")[...], now: Self.t0 + .seconds(200))
        _ = machine.clientBytes(Self.query("SELECT 1").prefix(6), now: Self.t0 + .seconds(250))
        #expect(Self.sqlStates(machine.timeoutFired(now: Self.t0 + idle)) == ["57P05"])
    }

    // MARK: Tier changes

    static func mailbox() -> SessionMailbox { SessionMailbox() }

    static func update(_ statement: String?, idle: Duration? = nil) -> SessionCommand {
        .update(SessionUpdate(rules: nil, idleTimeout: idle.map { IdleTimeout($0) }, logMetadata: ["tier": "PRO"],
                              settingsStatement: statement))
    }

    @Test func changeWhileIdle_sendsTheSettingsAtOnce_andSwallowsTheirReplies() {
        var machine = Self.relaying(mailbox: Self.mailbox())
        let set = "SET work_mem = '64MB'"
        #expect(Self.steps(machine.command(Self.update(set))) == [.upstream(Self.query(set)), .log(.settingsSent(statement: set))])
        let replies = Self.message("C", Array("SET".utf8) + [0]) + Self.readyIdle
        #expect(Self.steps(machine.upstreamBytes(replies[...], now: Self.t0)).isEmpty, "the client never sees the proxy's statement")
        // The client's next query is its own again.
        _ = machine.clientBytes(Self.query("SELECT 1")[...], now: Self.t0)
        #expect(Self.steps(machine.upstreamBytes(Self.readyIdle[...], now: Self.t0)) == [.toClient(Self.readyIdle)])
    }

    @Test func changeDuringATransaction_waitsForItsEnd() {
        var machine = Self.relaying(mailbox: Self.mailbox())
        _ = machine.clientBytes(Self.query("BEGIN")[...], now: Self.t0)
        _ = machine.upstreamBytes(Self.readyInTransaction[...], now: Self.t0)
        #expect(machine.command(Self.update("SET work_mem = '64MB'")).isEmpty)
        _ = machine.clientBytes(Self.query("COMMIT")[...], now: Self.t0)
        let steps = Self.steps(machine.upstreamBytes(Self.readyIdle[...], now: Self.t0))
        #expect(steps.contains(.toClient(Self.readyIdle)), "the client's COMMIT is answered")
        #expect(steps.contains(.upstream(Self.query("SET work_mem = '64MB'"))), "then the change goes out")
    }

    @Test func settingsRefusedByTheServer_areLogged_notShownToTheClient() {
        var machine = Self.relaying(mailbox: Self.mailbox())
        _ = machine.command(Self.update("SET work_mem = 'x'"))
        let error = ErrorResponse(severity: .error, sqlState: SQLState(rawValue: "22023")!, message: "invalid value").encoded()
        let steps = Self.steps(machine.upstreamBytes((error + Self.readyIdle)[...], now: Self.t0))
        #expect(steps == [.log(.settingsRefusedByServer(sqlState: "22023", reason: "invalid value"))])
    }

    @Test func changeWithoutStatement_changesTheIdleTimeoutOnly() {
        var machine = Self.relaying(idle: .seconds(300), mailbox: Self.mailbox())
        #expect(machine.command(Self.update(nil, idle: nil)).isEmpty)
        #expect(Self.steps(machine.timeoutFired(now: Self.t0 + .seconds(301))).isEmpty, "the new tier has no idle timeout")
        #expect(machine.phase == .relaying)
    }

    @Test func terminateCommand_endsWithItsError() {
        var machine = Self.relaying(mailbox: Self.mailbox())
        let error = ErrorResponse(severity: .fatal, sqlState: .tooManyConnections, message: "downgraded")
        let actions = machine.command(.terminate(error))
        #expect(Self.sqlStates(actions) == ["53300"])
        #expect(Self.ending(actions)?.admission != nil)
    }

    // MARK: Settings check

    struct CheckAfterDo: SessionRules {
        var inspectedFrontendMessages: [UInt8] { [UInt8(ascii: "Q")] }
        func filterFrontend(id: UInt8, payload: ArraySlice<UInt8>) -> FrontendVerdict { .forward }
        func decorate(error: ErrorResponse) -> ErrorResponse { error }
        func mayChangeSettingsUnseen(id: UInt8, payload: ArraySlice<UInt8>) -> Bool {
            Query.decode(payload: payload)?.text.hasPrefix("DO") == true
        }
        var settingsCheck: SettingsCheck? { SettingsCheck(statement: "CHECK") }
    }

    @Test func statementTheRulesCannotJudge_isFollowedByTheCheck_atTheNextIdlePoint() {
        var machine = Self.relaying(mailbox: Self.mailbox(), rules: CheckAfterDo())
        let doBlock = Self.query("DO $$ ... $$")
        #expect(Self.steps(machine.clientBytes(doBlock[...], now: Self.t0)) == [.upstream(doBlock)], "not while it runs")
        let done = Self.steps(machine.upstreamBytes((Self.message("C", Array("DO".utf8) + [0]) + Self.readyIdle)[...], now: Self.t0))
        #expect(done.contains(.upstream(Self.query("CHECK"))))
        #expect(done.contains(.toClient(Self.readyIdle)))
        // The check put work_mem back: its rows are the client's business no more than its
        // other replies, and the restore is reported.
        let row = DataRow(values: [Array("work_mem".utf8), Array("4MB".utf8)]).encoded()
        let replies = Self.message("T", [0, 0]) + row + Self.message("C", Array("SELECT 1".utf8) + [0]) + Self.readyIdle
        #expect(Self.steps(machine.upstreamBytes(replies[...], now: Self.t0)) == [
            .log(.settingsRestored(["work_mem"])), .observe("restored work_mem")])
        // An ordinary query runs no check.
        _ = machine.clientBytes(Self.query("SELECT 1")[...], now: Self.t0)
        #expect(!Self.steps(machine.upstreamBytes(Self.readyIdle[...], now: Self.t0)).contains(.upstream(Self.query("CHECK"))))
    }

    @Test func checkThatFindsNothingRaised_reportsNothing() {
        var machine = Self.relaying(mailbox: Self.mailbox(), rules: CheckAfterDo())
        _ = machine.clientBytes(Self.query("DO $$ ... $$")[...], now: Self.t0)
        _ = machine.upstreamBytes(Self.readyIdle[...], now: Self.t0)
        let replies = Self.message("T", [0, 0]) + Self.message("C", Array("SELECT 0".utf8) + [0]) + Self.readyIdle
        #expect(Self.steps(machine.upstreamBytes(replies[...], now: Self.t0)).isEmpty)
    }

    // MARK: Rules

    struct RefuseEverything: SessionRules {
        var inspectedFrontendMessages: [UInt8] { [UInt8(ascii: "Q")] }
        func filterFrontend(id: UInt8, payload: ArraySlice<UInt8>) -> FrontendVerdict {
            .answer(ErrorResponse(severity: .error, sqlState: .insufficientPrivilege, message: "no").encoded() + ReadyForQuery(status: .idle).encoded())
        }
        func decorate(error: ErrorResponse) -> ErrorResponse {
            var decorated = error
            decorated[.hint] = "upgrade"
            return decorated
        }
    }

    @Test func rules_answerARefusedQuery_andDecorateServerErrors() {
        var machine = Self.relaying(rules: RefuseEverything())
        let answered = machine.clientBytes(Self.query("SET work_mem = '1GB'")[...], now: Self.t0)
        #expect(Self.sqlStates(answered) == ["42501"])
        #expect(!Self.steps(answered).contains { if case .upstream = $0 { true } else { false } }, "never reaches the server")
        let error = ErrorResponse(severity: .error, sqlState: .queryCanceled, message: "canceling statement due to statement timeout").encoded()
        let decorated = machine.upstreamBytes(error[...], now: Self.t0)
        guard case .sendToClient(let bytes) = decorated.first else { Issue.record("\(Self.steps(decorated))"); return }
        #expect(ErrorResponse.decode(payload: bytes.dropFirst(5))?[.hint] == "upgrade")
    }
}
