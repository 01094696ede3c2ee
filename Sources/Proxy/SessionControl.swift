import Synchronization
import PostgresWire
import TierModel

/// What the proxy may ask of an open session from outside its loop (issue 5).
enum SessionCommand: Sendable {
    /// The org's tier changed: apply its settings at the session's next idle point, and its
    /// rules and idle timeout from then on (seed 4, 6.2).
    case applyTier(TierUpdate)
    /// End the session with this FATAL (downgrade enforcement after the grace period).
    case terminate(ErrorResponse)
}

/// A tier change as one session applies it.
struct TierUpdate: Sendable {
    let org: OrgTier
    let rules: any SessionRules
    let idleTimeout: Duration?
    /// False through PgBouncer: its pools apply settings, a SET would leak across clients.
    let injectSettings: Bool
}

/// The handle through which tier changes reach one admitted session.
///
/// Created at admission, before the session's loop knows about it; the session attaches
/// its handler when it starts using the admission. A command sent before that is kept (the
/// latest tier update and any termination) and delivered on attach, so a change racing a
/// new connection is not lost.
public final class SessionControl: Sendable {
    /// The gate ticket: unique and increasing per proxy, so a higher id is a newer session.
    let ticketId: UInt64
    let admittedAt: ContinuousClock.Instant
    private let state = Mutex<(handler: (@Sendable (SessionCommand) -> Void)?, held: [SessionCommand])>((nil, []))

    init(ticketId: UInt64, admittedAt: ContinuousClock.Instant = .now) {
        self.ticketId = ticketId
        self.admittedAt = admittedAt
    }

    func send(_ command: SessionCommand) {
        let handler = state.withLock { state -> (@Sendable (SessionCommand) -> Void)? in
            if let handler = state.handler { return handler }
            if case .applyTier = command { state.held.removeAll { if case .applyTier = $0 { true } else { false } } }
            state.held.append(command)
            return nil
        }
        handler?(command)
    }

    func attach(_ handler: @escaping @Sendable (SessionCommand) -> Void) {
        let held = state.withLock { state -> [SessionCommand] in
            state.handler = handler
            defer { state.held = [] }
            return state.held
        }
        held.forEach(handler)
    }
}
