/// How long one statement may run before the proxy cancels it itself.
///
/// The server enforces its own `statement_timeout`, but a client can change that setting in
/// ways no text check sees (a DO block, a function, a setting's alias). The proxy's own
/// clock holds the line whatever the session's settings say: a statement still running
/// `grace` after `duration` is cancelled with a CancelRequest of the proxy's own, and its
/// error reads as a statement timeout.
public struct StatementTimeout: Sendable, Equatable {
    public var duration: Duration
    /// Left to the server's own timeout before the proxy steps in.
    public var grace: Duration
    /// After the proxy's cancel, how long the server has to end the statement before the
    /// session is closed.
    public var cancelGrace: Duration

    public init(_ duration: Duration, grace: Duration = .seconds(1), cancelGrace: Duration = .seconds(5)) {
        self.duration = duration
        self.grace = grace
        self.cancelGrace = cancelGrace
    }

    /// When the proxy cancels a statement that started at `start`.
    func cancelDeadline(start: ContinuousClock.Instant) -> ContinuousClock.Instant {
        start + duration + grace
    }
}
