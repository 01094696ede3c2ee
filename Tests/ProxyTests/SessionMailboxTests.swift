import PostgresWire
import Synchronization
import Testing
@testable import Proxy

/// Commands reach a session whether they are sent before or after it attaches.
struct SessionMailboxTests {
    final class Received: Sendable {
        let commands = Mutex<[String]>([])
        func record(_ command: SessionCommand) {
            commands.withLock {
                switch command {
                case .update(let update): $0.append("update \(update.logMetadata["tier"] ?? "")")
                case .terminate(let error): $0.append("terminate \(error[.sqlState] ?? "")")
                }
            }
        }
        var all: [String] { commands.withLock { $0 } }
    }

    static func update(_ tier: String) -> SessionCommand {
        .update(SessionUpdate(rules: nil, idleTimeout: nil, logMetadata: ["tier": tier]))
    }

    static let terminate = SessionCommand.terminate(ErrorResponse(severity: .fatal, sqlState: .tooManyConnections, message: "x"))

    @Test func commandsBeforeAttach_areHeld_onlyTheLatestUpdate_everyTermination() {
        let mailbox = SessionMailbox()
        let received = Received()
        mailbox.send(Self.update("PRO"))
        mailbox.send(Self.terminate)
        mailbox.send(Self.update("FREE"))
        mailbox.attach { received.record($0) }
        #expect(received.all == ["terminate 53300", "update FREE"])
    }

    @Test func commandsAfterAttach_goStraightToTheHandler() {
        let mailbox = SessionMailbox()
        let received = Received()
        mailbox.attach { received.record($0) }
        mailbox.send(Self.update("PRO"))
        mailbox.send(Self.update("FREE"))
        #expect(received.all == ["update PRO", "update FREE"])
    }
}
