import Synchronization

/// Where commands for one admitted session wait until the session can take them.
///
/// Created by the admitter, before the session's loop knows about it; the session attaches
/// its handler when it starts using the admission. A command sent before that is kept and
/// delivered on attach, so a change racing a new connection is not lost. Of the updates
/// only the latest is kept (each one states the session's whole new terms); every
/// termination is kept.
public final class SessionMailbox: Sendable {
    private let state = Mutex<(handler: (@Sendable (SessionCommand) -> Void)?, held: [SessionCommand])>((nil, []))

    public init() {}

    /// Delivers `command` to the attached handler, or holds it until one attaches. May be
    /// called on any queue; the handler is called on the caller's.
    public func send(_ command: SessionCommand) {
        let handler = state.withLock { state -> (@Sendable (SessionCommand) -> Void)? in
            if let handler = state.handler { return handler }
            if case .update = command { state.held.removeAll { if case .update = $0 { true } else { false } } }
            state.held.append(command)
            return nil
        }
        handler?(command)
    }

    /// Attaches the session's handler and delivers what was held, in the order sent.
    public func attach(_ handler: @escaping @Sendable (SessionCommand) -> Void) {
        let held = state.withLock { state -> [SessionCommand] in
            state.handler = handler
            defer { state.held = [] }
            return state.held
        }
        held.forEach(handler)
    }
}
