import Admin
import Foundation
import MetricsTestKit
import PostgresWire
import Proxy
import Synchronization
import Telemetry
import Testing
import TierModel
import TierStore
@testable import TierPolicy

/// The ceiling counts authenticated sessions; logins in progress are bounded apart and the
/// oldest gives way, so silent sockets never refuse a user who authenticates.
struct LoginSlotTests {
    final class Received: Sendable {
        let commands = Mutex<[SessionCommand]>([])
        var terminations: [ErrorResponse] {
            commands.withLock { $0.compactMap { if case .terminate(let error) = $0 { error } else { nil } } }
        }
    }

    static func watch(_ session: AdmittedSession) -> Received {
        let received = Received()
        session.mailbox?.attach { command in received.commands.withLock { $0.append(command) } }
        return received
    }

    static func login(_ admission: TierAdmission, from peer: String) throws -> AdmittedSession {
        guard case .admitted(let session) = Admissions.decide(admission, user: "app.org_free", peer: peer) else {
            throw TestFailure("login from \(peer) refused")
        }
        return session
    }

    struct TestFailure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }

    @Test func fiveSilentLogins_doNotRefuseTheRealUser_theOldestIsDisplaced() throws {
        let test = TestMetrics()
        let admission = try TierAdmissionMetricsTests.admission(test)
        let squatters = try (0..<5).map { i in try Self.login(admission, from: "10.0.0.7:\(5000 + i)") }
        let watched = squatters.map(Self.watch)
        let status = admission.orgStatus(try OrgId("org_free")).json
        #expect(status["openSessions"] == .integer(0), "logins in progress take no slot")
        #expect(status["loginsInProgress"] == .integer(5))

        guard case .admitted(let user) = Admissions.admit(admission, user: "app.org_free", peer: "10.0.0.7:6000") else {
            Issue.record("the real user was refused while five logins waited")
            return
        }
        #expect(watched[0].terminations.map(\.sqlState) == [.tooManyConnections], "the oldest login of that address gave way")
        #expect(watched.dropFirst().allSatisfy { $0.terminations.isEmpty })
        #expect(squatters[0].confirmLogin?()?.sqlState == .tooManyConnections, "a displaced login can no longer take a slot")
        #expect(admission.orgStatus(try OrgId("org_free")).json["openSessions"] == .integer(1))
        #expect(try test.expectCounter(TierGateMetrics.Name.refused, [("tier", "FREE"), ("reason", "login_displaced")]).totalValue == 1)
        for session in squatters + [user] { session.onEnd() }
        let after = admission.orgStatus(try OrgId("org_free")).json
        #expect(after["openSessions"] == .integer(0) && after["loginsInProgress"] == .integer(0))
    }

    @Test func loginAuthenticatingAtTheCeiling_isRefusedAsOverTheCeiling() throws {
        let admission = try TierAdmissionMetricsTests.admission(TestMetrics())
        // Six logins begin while nobody is authenticated; five authenticate first.
        let logins = try (0..<6).map { i in try Self.login(admission, from: "10.0.\(i).1:5000") }
        #expect(logins.prefix(5).allSatisfy { $0.confirmLogin?() == nil })
        let refusal = logins[5].confirmLogin?()
        #expect(refusal?.sqlState == .tooManyConnections)
        #expect(refusal?.message?.contains("5 of 5") == true, "\(String(describing: refusal?.message))")
        // At the ceiling, a new connection is refused before any backend starts.
        guard case .refused = Admissions.decide(admission, user: "app.org_free", peer: "10.9.9.9:1") else {
            Issue.record("admitted at the ceiling")
            return
        }
    }

    @Test func peerAddress_dropsThePort() {
        #expect(Endpoint.host(ofPeer: "127.0.0.1:5432") == "127.0.0.1")
        #expect(Endpoint.host(ofPeer: "[::1]:5432") == "::1")
        #expect(Endpoint.host(ofPeer: "unix") == "unix")
    }
}
