/// What a caller of `RedisConnection` wants to hear when Redis goes quiet: `notice` runs once
/// a reply has been due for `after` with no byte from Redis. The call itself goes on waiting
/// (up to the connection's command timeout): a slow Redis may still answer, and the caller
/// decides what to do meanwhile.
public struct QuietWatch: Sendable {
    public var after: Duration
    public var notice: @Sendable () -> Void

    public init(after: Duration, notice: @escaping @Sendable () -> Void) {
        self.after = after
        self.notice = notice
    }
}
