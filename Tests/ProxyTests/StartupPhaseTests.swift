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

    @Test func sslAndStartupInOneRead_areBothHandled() {
        var phase = StartupPhase()
        #expect(phase.receive((Self.sslRequest + Self.startup([("user", "app")]))[...]) == .declineEncryption)
        #expect(phase.hasBufferedBytes)
        guard case .startSession = phase.step() else {
            Issue.record("startup after SSLRequest not seen")
            return
        }
    }

    @Test func thirdEncryptionRequest_isProtocolViolation() {
        var phase = StartupPhase()
        #expect(phase.receive(Self.sslRequest[...]) == .declineEncryption)
        #expect(phase.receive(Self.gssRequest[...]) == .declineEncryption)
        guard case .fail(let error) = phase.receive(Self.sslRequest[...]) else {
            Issue.record("a loop of encryption requests was accepted")
            return
        }
        #expect(error.sqlState == "08P01")
    }

    @Test func startupWithoutUser_is28000() {
        var phase = StartupPhase()
        guard case .fail(let error) = phase.receive(Self.startup([("database", "x")])[...]) else {
            Issue.record("startup without user accepted")
            return
        }
        #expect(error.sqlState == "28000")
    }

    /// A second `user` would be the one Postgres uses: the packet is refused, not rewritten.
    @Test func secondUser_is08P01_andNothingStarts() {
        var phase = StartupPhase()
        guard case .fail(let error) = phase.receive(Self.startup([("user", "app.org_acme"), ("user", "postgres")])[...]) else {
            Issue.record("a second user accepted")
            return
        }
        #expect(error.sqlState == "08P01")
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
        #expect(error.sqlState == "08P01")
    }
}
