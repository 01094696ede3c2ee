import Dispatch
import Logging
import PostgresWire
import Proxy
import Synchronization
import Telemetry
import TierModel
import TierStore
import TierPolicy

/// Orgs held in memory, whose tier a test changes as billing would.
final class SwitchableOrgSource: OrgSource {
    private let documents = Mutex<[OrgId: OrgDocument]>([:])
    var name: String { "test" }

    /// Puts `org` at `tier`, changed at `updatedAt` (epoch ms; later changes win), with the
    /// role `app` and its database named like the org (and `others`).
    func set(_ org: OrgId, tier: Tier, updatedAt: Int, subscription: OrgDocument.Subscription? = nil,
             roles: [String] = ["app"], otherDatabases: [String] = []) {
        documents.withLock {
            $0[org] = OrgDocument(orgId: org, tier: tier.rawValue, tierUpdatedAt: updatedAt, subscription: subscription,
                                  postgres: PostgresRoute(databases: [org.rawValue] + otherDatabases, roles: roles))
        }
    }

    func organization(_ org: OrgId) throws(OrgSourceError) -> OrgDocument? {
        documents.withLock { $0[org] }
    }

    func allOrganizations() throws(OrgSourceError) -> [OrgDocument] {
        documents.withLock { Array($0.values) }
    }
}

/// What one admitted session was sent through its mailbox, as its session would see it.
final class ReceivedCommands: Sendable {
    private let commands = Mutex<[SessionCommand]>([])

    init(attachingTo mailbox: SessionMailbox?) {
        mailbox?.attach { [self] command in commands.withLock { $0.append(command) } }
    }

    var updates: [SessionUpdate] {
        commands.withLock { $0.compactMap { if case .update(let update) = $0 { update } else { nil } } }
    }

    var terminations: [ErrorResponse] {
        commands.withLock { $0.compactMap { if case .terminate(let error) = $0 { error } else { nil } } }
    }
}

enum Admissions {
    static let logger = Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })

    static func tierAdmission(source: any OrgSource, metrics: TierGateMetrics = TierGateMetrics(),
                              pgbouncer: Endpoint? = nil, clock: any PolicyClock = DispatchClock()) -> TierAdmission {
        var configuration = TierResolver.Configuration()
        configuration.metrics = metrics
        let resolver = TierResolver(source: source, matrix: .builtIn, configuration: configuration, logger: logger)
        return TierAdmission(resolver: resolver, defaultUpstream: Endpoint(host: "127.0.0.1", port: 5432),
                             pgbouncer: pgbouncer, logger: logger, metrics: metrics, clock: clock)
    }

    /// Asks `admitter` about a connection as `user` (to `database`, or the org's default),
    /// waits for the answer and, when admitted, logs in as the upstream's AuthenticationOk
    /// would (the session then holds a slot; `authenticate: false` leaves it a login in
    /// progress).
    static func admit(_ admitter: any SessionAdmitter, user: String, database: String? = nil,
                      peer: String = "10.0.0.1:40000", authenticate: Bool = true) -> AdmissionOutcome {
        let decided = decide(admitter, user: user, database: database, peer: peer)
        guard authenticate, case .admitted(let session) = decided, let refusal = session.confirmLogin?() else { return decided }
        session.onEnd()
        return .refused(refusal)
    }

    /// The admitter's answer alone, with no login.
    static func decide(_ admitter: any SessionAdmitter, user: String, database: String? = nil, peer: String) -> AdmissionOutcome {
        let done = DispatchSemaphore(value: 0)
        let outcome = OutcomeBox()
        let parameters = [("user", user)] + (database.map { [("database", $0)] } ?? [])
        admitter.admit(AdmissionRequest(startup: StartupMessage(parameters: parameters), peer: peer)) {
            result in
            outcome.value.withLock { $0 = result }
            done.signal()
        }
        done.wait()
        return outcome.value.withLock { $0 }!
    }

    /// Admits `count` sessions as `user`; nil if any is refused.
    static func admitted(_ admitter: any SessionAdmitter, user: String, count: Int) -> [AdmittedSession]? {
        var sessions: [AdmittedSession] = []
        for _ in 0..<count {
            guard case .admitted(let session) = admit(admitter, user: user) else { return nil }
            sessions.append(session)
        }
        return sessions
    }
}

private final class OutcomeBox: Sendable {
    let value = Mutex<AdmissionOutcome?>(nil)
}
