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
