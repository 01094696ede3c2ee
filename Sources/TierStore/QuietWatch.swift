/// What a caller of `RedisConnection` wants to hear when Redis goes quiet: `notice` runs once
/// a reply has been due for `after` with no byte from Redis, and again every `every` while
/// Redis stays silent (on the calling thread, so a caller can answer what waits on the
/// reply from the thread that will also handle the reply). The call itself goes on waiting,
/// up to the connection's command timeout: a slow Redis may still answer.
public struct QuietWatch: Sendable {
    public var after: Duration
    public var every: Duration
    public var notice: @Sendable () -> Void

    public init(after: Duration, every: Duration = .milliseconds(10), notice: @escaping @Sendable () -> Void) {
        self.after = after
        self.every = every
        self.notice = notice
    }
}
