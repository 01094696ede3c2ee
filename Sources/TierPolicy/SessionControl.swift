import PostgresWire
import Proxy

/// The tier side of one admitted session: the gate ticket it holds, when it was admitted,
/// and the mailbox through which tier changes and downgrade enforcement reach it (commands
/// sent before the session attaches are held there, so a change racing a new connection is
/// not lost).
final class SessionControl: Sendable {
    /// The gate ticket: unique and increasing per proxy, so a higher id is a newer session.
    let ticketId: UInt64
    let admittedAt: ContinuousClock.Instant
    let mailbox = SessionMailbox()
    /// The settings guard's memory of this session, which the rules of every tier it runs
    /// under share.
    let guardMemory = SessionGuardMemory()

    init(ticketId: UInt64, admittedAt: ContinuousClock.Instant) {
        self.ticketId = ticketId
        self.admittedAt = admittedAt
    }

    /// The org's tier changed: its rules and idle timeout from now on, its settings at the
    /// session's next idle point.
    func apply(_ update: TierUpdate) {
        mailbox.send(.update(update.sessionUpdate(memory: guardMemory)))
    }

    /// Ends the session with this FATAL (downgrade enforcement after the grace period).
    func terminate(_ error: ErrorResponse) {
        mailbox.send(.terminate(error))
    }
}
