import PostgresWire
import Testing
import TLS
@testable import Proxy

/// The client side of TLS in the session's lifecycle, event by event with no socket: what
/// is answered to SSLRequest, when the handshake starts, what a failure or a timeout during
/// it does, and that SNI reaches the admission.
struct SessionStateMachineTLSTests {
    typealias T = SessionStateMachineTests
    static let ssl: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]

    static func machine(_ mode: ClientTLSMode) -> SessionStateMachine {
        var machine = SessionStateMachine(configuration: .init(loginTimeout: T.loginTimeout, maxInspectedMessage: 1 << 20,
                                                               clientTLS: mode))
        _ = machine.start()
        return machine
    }

    @Test func sslRequest_getsS_thenTheHandshake_thenTheEncryptedStartupIsAdmittedWithItsServerName() {
        var machine = Self.machine(.allow)
        #expect(T.steps(machine.clientBytes(Self.ssl[...], now: T.t0)) == [.toClient([UInt8(ascii: "S")]), .startTLS(initial: [])])
        #expect(machine.readsClient(upstreamBlocked: false), "the handshake is read")
        #expect(T.steps(machine.clientTLSEstablished(serverName: "org_acme.db.test", alpn: nil)) == [.observe("tls")])
        #expect(T.steps(machine.clientBytes(T.startupBytes()[...], now: T.t0)) == [.admit(user: "app.org_acme")])
        #expect(machine.clientServerName == "org_acme.db.test")
    }

    @Test func directTLS_withALPN_isServed_withoutIt_is08P01() {
        let hello: [UInt8] = [0x16, 3, 1, 0, 1, 1]
        var good = Self.machine(.require)
        #expect(T.steps(good.clientBytes(hello[...], now: T.t0)) == [.startTLS(initial: hello)])
        #expect(T.steps(good.clientTLSEstablished(serverName: nil, alpn: "postgresql")) == [.observe("tls direct")])
        #expect(T.steps(good.clientBytes(T.startupBytes()[...], now: T.t0)) == [.admit(user: "app.org_acme")])

        var bad = Self.machine(.require)
        _ = bad.clientBytes(hello[...], now: T.t0)
        let actions = bad.clientTLSEstablished(serverName: nil, alpn: nil)
        #expect(T.sqlStates(actions) == ["08P01"], "said over TLS, which is up by then")
        #expect(T.steps(actions).contains(.observe("tls failed alpn")))
        #expect(bad.phase == .closed)
    }

    @Test func handshakeFailure_endsWithoutAnErrorResponse_andIsObservedByReason() {
        var machine = Self.machine(.allow)
        _ = machine.clientBytes(Self.ssl[...], now: T.t0)
        let actions = machine.clientTLSFailed(TLSFailure(.unsupportedVersion, detail: "TLS 1.1"))
        #expect(T.sqlStates(actions).isEmpty, "a client mid-handshake reads TLS records only")
        #expect(T.steps(actions).contains(.observe("tls failed unsupported_version")))
        #expect(T.ending(actions)?.endedIn == .startup)
    }

    @Test func loginTimeoutDuringTheHandshake_endsIt_asATLSTimeout() {
        var machine = Self.machine(.allow)
        _ = machine.clientBytes(Self.ssl[...], now: T.t0)
        let actions = machine.timeoutFired(now: T.t0 + T.loginTimeout)
        #expect(T.sqlStates(actions).isEmpty)
        #expect(T.steps(actions).contains(.observe("tls failed timeout")))
        #expect(T.steps(actions).contains(.observe("loginTimeout")))
        #expect(machine.phase == .closed)
    }

    @Test func clientGoneDuringTheHandshake_countsAsPeerClosed() {
        var machine = Self.machine(.allow)
        _ = machine.clientBytes(Self.ssl[...], now: T.t0)
        #expect(T.steps(machine.clientEnded(error: nil)).contains(.observe("tls failed peer_closed")))
    }

    @Test func plainStartupUnderRequire_is08P01_andNoAdmission() {
        var machine = Self.machine(.require)
        let actions = machine.clientBytes(T.startupBytes()[...], now: T.t0)
        #expect(T.sqlStates(actions) == ["08P01"])
        #expect(!T.steps(actions).contains(.admit(user: "app.org_acme")))
    }
}

/// TLS towards the upstream while connecting, and SCRAM channel binding across the proxy.
struct SessionStateMachineUpstreamTLSTests {
    typealias T = SessionStateMachineTests

    static func connected(_ mode: UpstreamTLSMode, clientTLS: Bool = false) -> (SessionStateMachine, [SessionStateMachine.Action]) {
        var machine = SessionStateMachine(configuration: .init(loginTimeout: T.loginTimeout, maxInspectedMessage: 1 << 20,
                                                               clientTLS: clientTLS ? .allow : .disable, upstreamTLS: mode))
        _ = machine.start()
        if clientTLS {
            _ = machine.clientBytes(SessionStateMachineTLSTests.ssl[...], now: T.t0)
            _ = machine.clientTLSEstablished(serverName: nil, alpn: nil)
        }
        _ = machine.clientBytes(T.startupBytes()[...], now: T.t0)
        _ = machine.admissionDecided(.admitted(T.admission()))
        let actions = machine.upstreamConnected(now: T.t0)
        return (machine, actions)
    }

    @Test func sslRequestGoesFirst_S_startsTheHandshake_thenTheStartupFollows() {
        var (machine, actions) = Self.connected(.verifyFull)
        #expect(T.steps(actions) == [.upstream(SessionStateMachine.sslRequest)])
        #expect(machine.readsUpstream(clientBlocked: false), "the answer is read")
        #expect(T.steps(machine.upstreamBytes([UInt8(ascii: "S")][...], now: T.t0)) == [.startUpstreamTLS])
        let established = T.steps(machine.upstreamTLSEstablished(now: T.t0))
        guard case .upstream(let startup) = established.first else {
            Issue.record("no startup after the handshake: \(established)")
            return
        }
        #expect(startup.first == 0, "a StartupMessage (no type byte)")
        #expect(machine.phase == .authenticating)
    }

    @Test func N_isPlainTextUnderPrefer_andA08006Otherwise() {
        var (prefer, _) = Self.connected(.prefer)
        #expect(prefer.upstreamBytes([UInt8(ascii: "N")][...], now: T.t0).count == 1)
        #expect(prefer.phase == .authenticating)
        var (require, _) = Self.connected(.require)
        let actions = require.upstreamBytes([UInt8(ascii: "N")][...], now: T.t0)
        #expect(T.sqlStates(actions) == ["08006"])
        #expect(require.phase == .closed)
    }

    @Test func bytesBehindS_areRefused() {
        var (machine, _) = Self.connected(.require)
        #expect(T.sqlStates(machine.upstreamBytes([UInt8(ascii: "S"), 0x16][...], now: T.t0)) == ["08006"])
    }

    @Test func handshakeFailure_is08006_namingTheReason() {
        var (machine, _) = Self.connected(.verifyFull)
        _ = machine.upstreamBytes([UInt8(ascii: "S")][...], now: T.t0)
        let actions = machine.upstreamTLSFailed(TLSFailure(.certificate, detail: "self-signed"))
        #expect(T.sqlStates(actions) == ["08006"])
        #expect(T.steps(actions).contains(.observe("unreachable")))
    }

    static let saslOffer: [UInt8] = T.message("R", [0, 0, 0, 10] + Array("SCRAM-SHA-256-PLUS".utf8) + [0]
                                                  + Array("SCRAM-SHA-256".utf8) + [0, 0])

    @Test func plainClient_isNotOfferedChannelBinding_aTLSClientIs() {
        var (plain, _) = Self.connected(.disable)
        #expect(T.steps(plain.upstreamBytes(Self.saslOffer[...], now: T.t0))
                == [.toClient(T.message("R", [0, 0, 0, 10] + Array("SCRAM-SHA-256".utf8) + [0, 0]))])
        var (encrypted, _) = Self.connected(.disable, clientTLS: true)
        #expect(T.steps(encrypted.upstreamBytes(Self.saslOffer[...], now: T.t0)) == [.toClient(Self.saslOffer)])
    }
}
