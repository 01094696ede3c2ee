import Synchronization
import PostgresWire

/// What the proxy may ask of an open session from outside its loop.
public enum SessionCommand: Sendable {
    /// New rules, idle timeout and log fields from now on, and a settings statement to run
    /// at the session's next idle point (running queries keep the limits they started with).
    case update(SessionUpdate)
    /// End the session with this FATAL.
    case terminate(ErrorResponse)
}

/// A change of the rules an open session runs under, as the session applies it.
public struct SessionUpdate: Sendable {
    public var rules: (any SessionRules)?
    public var idleTimeout: Duration?
    /// Fields replaced in the session's log lines (`tier`, say).
    public var logMetadata: [String: String]
    /// Sent upstream at the next idle point, its replies swallowed; nil changes only the rules
    /// (through PgBouncer a SET would stay on a pooled server connection for other clients).
    public var settingsStatement: String?

    public init(rules: (any SessionRules)?, idleTimeout: Duration?, logMetadata: [String: String],
                settingsStatement: String?) {
        self.rules = rules
        self.idleTimeout = idleTimeout
        self.logMetadata = logMetadata
        self.settingsStatement = settingsStatement
    }
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
            if case .update = command { state.held.removeAll { if case .update = $0 { true } else { false } } }
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
