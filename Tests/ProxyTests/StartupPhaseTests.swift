import PostgresWire
import Testing
@testable import Proxy

struct StartupPhaseTests {
    static func startup(_ parameters: [(String, String)], version: ProtocolVersion = .v3_0) -> [UInt8] {
        StartupMessage(protocolVersion: version, parameters: parameters.map { (name: $0.0, value: $0.1) }).encoded()
    }

    static let sslRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]
    static let gssRequest: [UInt8] = [0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]

    @Test func sslThenStartup_declinesThenStartsSession() {
        var phase = StartupPhase()
        #expect(phase.receive(Self.sslRequest[...]) == .declineEncryption)
        let action = phase.receive(Self.startup([("user", "app.org_acme"), ("database", "x")])[...])
        guard case .startSession(let message, let leftover) = action else {
            Issue.record("got \(action)")
            return
        }
        #expect(message.user == "app.org_acme")
        #expect(leftover.isEmpty)
    }

    @Test func startupSplitAcrossReads_waitsForTheWholePacket() {
        var phase = StartupPhase()
        let bytes = Self.startup([("user", "app")])
        for byte in bytes.dropLast() {
            #expect(phase.receive([byte][...]) == .readMore)
        }
        guard case .startSession = phase.receive([bytes.last!][...]) else {
            Issue.record("no session after the last byte")
            return
        }
    }

    @Test func pipelinedBytesAfterStartup_areKeptAsLeftover() {
        var phase = StartupPhase()
        let extra: [UInt8] = [UInt8(ascii: "p"), 0, 0, 0, 5, 0]
        guard case .startSession(_, let leftover) = phase.receive((Self.startup([("user", "app")]) + extra)[...]) else {
            Issue.record("no session")
            return
        }
        #expect(leftover == extra)
    }

    /// Bytes sent behind an SSLRequest before its answer were sent in plain text whatever the
    /// answer; Postgres refuses them, so does the proxy (with TLS on or off).
    @Test(arguments: [ClientTLSMode.disable, .allow, .require])
    func startupPipelinedBehindSSLRequest_isRefused08P01(mode: ClientTLSMode) {
        var phase = StartupPhase(tlsMode: mode)
        guard case .fail(let error) = phase.receive((Self.sslRequest + Self.startup([("user", "app")]))[...]) else {
            Issue.record("pipelined plain text behind an SSLRequest was served")
            return
        }
        #expect(error.sqlState == .protocolViolation)
        #expect(error.message == "received unencrypted data after SSL request")
        #expect(phase.isFinished)
    }

    @Test func sslRequest_withTLSOn_isAccepted_thenTheStartupComesEncrypted() {
        var phase = StartupPhase(tlsMode: .require)
        #expect(phase.receive(Self.sslRequest[...]) == .acceptEncryption)
        phase.encryptionEstablished()
        guard case .startSession(let message, _) = phase.receive(Self.startup([("user", "app.org_acme")])[...]) else {
            Issue.record("no session over TLS")
            return
        }
        #expect(message.user == "app.org_acme")
    }

    @Test func gssEncRequest_isDeclinedEvenWithTLSOn() {
        var phase = StartupPhase(tlsMode: .allow)
        #expect(phase.receive(Self.gssRequest[...]) == .declineEncryption)
        #expect(phase.receive(Self.sslRequest[...]) == .acceptEncryption)
    }

    @Test func plainStartup_underRequire_is08P01TLSRequired() {
        var phase = StartupPhase(tlsMode: .require)
        guard case .fail(let error) = phase.receive(Self.startup([("user", "app.org_acme")])[...]) else {
            Issue.record("plain startup served under require")
            return
        }
        #expect(error.sqlState == .protocolViolation)
        #expect(error.message == "TLS required")
    }

    @Test func plainCancel_underRequire_isStillForwarded() {
        var phase = StartupPhase(tlsMode: .require)
        let cancel = CancelRequest(key: BackendKeyData(processID: 7, secretKey: [0, 0, 0, 9])).encoded()
        #expect(phase.receive(cancel[...]) == .forwardCancel(CancelRequest(key: BackendKeyData(processID: 7, secretKey: [0, 0, 0, 9]))))
    }

    @Test func firstByte0x16_startsDirectTLS_onlyWithTLSOn_andOnlyFirst() {
        let hello: [UInt8] = [0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5]
        var on = StartupPhase(tlsMode: .allow)
        #expect(on.receive(hello[...]) == .startDirectTLS(initial: hello))
        var off = StartupPhase(tlsMode: .disable)
        guard case .fail(let error) = off.receive(hello[...]) else {
            Issue.record("TLS bytes accepted with TLS off")
            return
        }
        #expect(error.sqlState == .protocolViolation)
        var late = StartupPhase(tlsMode: .allow)
        #expect(late.receive(Self.gssRequest[...]) == .declineEncryption)
        guard case .fail = late.receive(hello[...]) else {
            Issue.record("direct TLS accepted after a GSSENCRequest")
            return
        }
    }

    @Test func sslRequestInsideTLS_isProtocolViolation() {
        var phase = StartupPhase(tlsMode: .allow)
        #expect(phase.receive(Self.sslRequest[...]) == .acceptEncryption)
        phase.encryptionEstablished()
        guard case .fail(let error) = phase.receive(Self.sslRequest[...]) else {
            Issue.record("a second SSLRequest inside TLS was answered")
            return
        }
        #expect(error.sqlState == .protocolViolation)
    }

    @Test func thirdEncryptionRequest_isProtocolViolation() {
        var phase = StartupPhase()
        #expect(phase.receive(Self.sslRequest[...]) == .declineEncryption)
        #expect(phase.receive(Self.gssRequest[...]) == .declineEncryption)
        guard case .fail(let error) = phase.receive(Self.sslRequest[...]) else {
            Issue.record("a loop of encryption requests was accepted")
            return
        }
        #expect(error.sqlState == .protocolViolation)
    }

    @Test func startupWithoutUser_is28000() {
        var phase = StartupPhase()
        guard case .fail(let error) = phase.receive(Self.startup([("database", "x")])[...]) else {
            Issue.record("startup without user accepted")
            return
        }
        #expect(error.sqlState == .invalidAuthorizationSpecification)
    }

    /// A second `user` would be the one Postgres uses: the packet is refused, not rewritten.
    @Test func secondUser_is08P01_andNothingStarts() {
        var phase = StartupPhase()
        guard case .fail(let error) = phase.receive(Self.startup([("user", "app.org_acme"), ("user", "postgres")])[...]) else {
            Issue.record("a second user accepted")
            return
        }
        #expect(error.sqlState == .protocolViolation)
        #expect(phase.isFinished)
    }

    @Test func theSessionStartsWithTheCheckedMessage() {
        var phase = StartupPhase()
        let action = phase.receive(Self.startup([("user", "u"), ("statement_timeout", "0"), ("ssl_renegotiation_limit", "0")])[...])
        guard case .startSession(let message, _) = action else {
            Issue.record("got \(action)")
            return
        }
        #expect(message == StartupMessage(parameters: [("user", "u"), ("options", "-c statement_timeout=0")]))
    }

    @Test func cancelRequest_isForwardedNotAnswered() {
        var phase = StartupPhase()
        let cancel = CancelRequest(key: BackendKeyData(processID: 42, secretKey: [1, 2, 3, 4]))
        #expect(phase.receive(cancel.encoded()[...]) == .forwardCancel(cancel))
        #expect(phase.isFinished)
    }

    @Test func oversizedLength_failsBeforeTheBytesArrive() {
        var phase = StartupPhase()
        guard case .fail(let error) = phase.receive([0, 0, 0x27, 0x11][...]) else {  // 10,001
            Issue.record("oversized startup not refused")
            return
        }
        #expect(error.sqlState == .protocolViolation)
    }
}
