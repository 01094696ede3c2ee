extension TierAdmission {
    /// At shutdown, once the sessions have drained (a queued connection is a session, so
    /// none waits any more): the wait queue's timer stops. The connect-rate limiter keeps no
    /// timer of its own (each fallback timer belongs to one answered connection).
    public func stopWaitQueue() {
        overload.waiting?.stop()
    }
}
