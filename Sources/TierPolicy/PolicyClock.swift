/// Time as tier policy reads it: the downgrade grace period, burst deadlines and upkeep,
/// the thrashing window. Injected, so that tests move time forward by hand
/// (`DispatchClock` is the real one).
public protocol PolicyClock: Sendable {
    /// Monotonic: deadlines do not move when the wall clock is set.
    var now: ContinuousClock.Instant { get }
    /// Runs `work` once, `delay` from `now`, on some queue that is never a session's loop
    /// (the work may block on Redis).
    func schedule(after delay: Duration, _ work: @escaping @Sendable () -> Void)
}
