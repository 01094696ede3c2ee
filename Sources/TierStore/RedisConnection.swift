import CHiredis
import Foundation

/// One blocking connection to Redis (a hiredis `redisContext`), the only code in TierGate
/// that calls hiredis.
///
/// Every call blocks the calling thread for at most `commandTimeout`: run them on the tier
/// lookup queue, never on the proxy's I/O queues. After a timeout or an I/O error the
/// connection is `isBroken` (hiredis cannot resynchronize a half-read reply) and every later
/// call throws `.connectionBroken`: callers drop it and connect again, treating the cache as
/// down meanwhile (docs/design.md#tier-source: MongoDB remains the source of truth).
///
/// Thread safety: commands are serialized by an internal lock, and `interrupt()` only shuts
/// the socket down, which the kernel allows from any thread. Hence `@unchecked Sendable`.
/// A subscribed connection holds that lock for the whole subscription, so give `subscribe`
/// a connection of its own.
public final class RedisConnection: @unchecked Sendable {
    public let url: RedisURL
    public let commandTimeout: Duration

    let context: UnsafeMutablePointer<redisContext>   // guarded by `commandLock`
    let commandLock = NSLock()
    private let stateLock = NSLock()
    private var brokenFlag = false                     // guarded by `stateLock`
    private var interruptedFlag = false                // guarded by `stateLock`

    /// Connects, applies `commandTimeout` to every later read and write, and selects
    /// `url.database`.
    ///
    /// - Throws: `RedisError.connectFailed` when nothing accepts the connection within
    ///   `connectTimeout` (a closed port fails at once).
    public init(url: RedisURL, connectTimeout: Duration = .seconds(1),
                commandTimeout: Duration = .milliseconds(500)) throws(RedisError) {
        self.url = url
        self.commandTimeout = commandTimeout
        guard let context = redisConnectWithTimeout(url.host, Int32(url.port), Self.timeval(connectTimeout)) else {
            throw .connectFailed(host: url.host, port: url.port, message: "hiredis could not allocate a context")
        }
        if context.pointee.err != 0 {
            let message = Self.errorText(context)
            redisFree(context)
            throw .connectFailed(host: url.host, port: url.port, message: message)
        }
        if redisSetTimeout(context, Self.timeval(commandTimeout)) != REDIS_OK {
            let message = Self.errorText(context)
            redisFree(context)
            throw .connectFailed(host: url.host, port: url.port, message: "cannot set timeout: \(message)")
        }
        self.context = context
        if url.database != 0 {
            _ = try command(["SELECT", String(url.database)])
        }
    }

    /// Parses `redis://HOST[:PORT][/DB]` and connects; see `init(url:connectTimeout:commandTimeout:)`.
    public convenience init(url: String, connectTimeout: Duration = .seconds(1),
                            commandTimeout: Duration = .milliseconds(500)) throws(RedisError) {
        try self.init(url: RedisURL(parsing: url), connectTimeout: connectTimeout, commandTimeout: commandTimeout)
    }

    deinit {
        redisFree(context)
    }

    /// True after a timeout, an I/O error or `interrupt()`: the connection cannot be used again.
    public var isBroken: Bool {
        stateLock.lock()
        defer { stateLock.unlock() }
        return brokenFlag
    }

    // MARK: - Commands

    /// `GET key`: the value as UTF-8 text, or nil when the key does not exist.
    public func get(_ key: String) throws(RedisError) -> String? {
        switch try command(["GET", key]) {
        case .null: return nil
        case let .bulk(bytes): return String(decoding: bytes, as: UTF8.self)
        case let other: throw .unexpectedReply(command: "GET", reply: "\(other)")
        }
    }

    /// `SETEX key seconds value`: stores `value` and lets it expire after `seconds`.
    public func setex(_ key: String, seconds: Int, value: String) throws(RedisError) {
        try expectOK(command(["SETEX", key, String(seconds), value]), "SETEX")
    }

    /// `DEL key...`: returns how many of the keys existed.
    @discardableResult
    public func del(_ keys: String...) throws(RedisError) -> Int {
        try integer(command(["DEL"] + keys), "DEL")
    }

    /// `INCR key`: the value after incrementing (a missing key counts as 0).
    @discardableResult
    public func incr(_ key: String) throws(RedisError) -> Int {
        try integer(command(["INCR", key]), "INCR")
    }

    /// `EXPIRE key seconds`: false when the key does not exist.
    @discardableResult
    public func expire(_ key: String, seconds: Int) throws(RedisError) -> Bool {
        try integer(command(["EXPIRE", key, String(seconds)]), "EXPIRE") == 1
    }

    /// `TTL key`: seconds left; -1 when the key has no expiry, -2 when it does not exist
    /// (the Redis convention, kept so it reads the same as `redis-cli`).
    public func ttl(_ key: String) throws(RedisError) -> Int {
        try integer(command(["TTL", key]), "TTL")
    }

    /// `PUBLISH channel message`: how many subscribers received it (on this Redis node).
    @discardableResult
    public func publish(_ channel: String, message: String) throws(RedisError) -> Int {
        try integer(command(["PUBLISH", channel, message]), "PUBLISH")
    }

    /// `PING`: a cheap health check for readiness probes.
    public func ping() throws(RedisError) {
        let reply = try command(["PING"])
        guard reply == .status("PONG") else { throw .unexpectedReply(command: "PING", reply: "\(reply)") }
    }

    /// Sends any command, one argument per element, binary-safe (`redisCommandArgv`: the
    /// variadic `redisCommand` cannot be called from Swift). An error reply throws `.server`.
    public func command(_ arguments: [String]) throws(RedisError) -> RedisReply {
        commandLock.lock()
        defer { commandLock.unlock() }
        let reply = try roundTrip(arguments)
        if case let .error(message) = reply { throw .server(message) }
        return reply
    }

    /// Sends `commands` in one write and reads their replies in order (pipelining): one round
    /// trip for all of them. Error replies are returned as `.error`, not thrown, so one
    /// refused command does not hide the others' replies.
    public func pipeline(_ commands: [[String]]) throws(RedisError) -> [RedisReply] {
        try pipeline(commands, quiet: nil)
    }

    /// `pipeline`, and `quiet.notice` is called (on this thread, while the call goes on
    /// waiting up to the command timeout) when Redis sends nothing for `quiet.after` while a
    /// reply is due, and every `quiet.every` after while it stays silent. The silence is the kernel's measure (a poll on the socket), not this
    /// thread's: a reply that arrived while this thread was not running counts as an answer,
    /// so a starved caller never takes itself for a silent Redis.
    public func pipeline(_ commands: [[String]], quiet: QuietWatch?) throws(RedisError) -> [RedisReply] {
        commandLock.lock()
        defer { commandLock.unlock() }
        for command in commands { try append(command) }
        var replies: [RedisReply] = []
        replies.reserveCapacity(commands.count)
        for _ in commands { replies.append(try readReply(watching: quiet)) }
        return replies
    }

    /// `command`, watched for silence as `pipeline(_:quiet:)` is.
    public func command(_ arguments: [String], quiet: QuietWatch?) throws(RedisError) -> RedisReply {
        let reply = try pipeline([arguments], quiet: quiet)[0]
        if case let .error(message) = reply { throw .server(message) }
        return reply
    }

    // MARK: - Subscription support

    /// Ends a `subscribe` loop running on another thread by shutting the socket down; the
    /// loop returns normally and the connection is broken afterwards. Safe from any thread.
    public func interrupt() {
        stateLock.lock()
        interruptedFlag = true
        brokenFlag = true
        stateLock.unlock()
        // The descriptor stays open (hiredis closes it in deinit), so it cannot be reused
        // by another socket while the subscriber is still reading it.
        _ = shutdown(context.pointee.fd, Int32(SHUT_RDWR))
    }

    var wasInterrupted: Bool {
        stateLock.lock()
        defer { stateLock.unlock() }
        return interruptedFlag
    }

    // MARK: - hiredis plumbing (callers hold `commandLock`)

    /// Writes one command and reads its reply.
    func roundTrip(_ arguments: [String]) throws(RedisError) -> RedisReply {
        try append(arguments)
        return try readReply()
    }

    /// Queues one command in hiredis's output buffer; it is written by the next `readReply`.
    func append(_ arguments: [String]) throws(RedisError) {
        if isBroken { throw .connectionBroken }
        let copies = arguments.map { Array($0.utf8) }
        let pointers = copies.map { bytes -> UnsafeMutablePointer<CChar> in
            let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { pointer.update(from: $0.baseAddress!, count: $0.count) }
            }
            return pointer
        }
        defer { pointers.forEach { $0.deallocate() } }
        var argv = pointers.map { Optional(UnsafePointer($0)) }
        let lengths = copies.map(\.count)
        let status = argv.withUnsafeMutableBufferPointer { argvBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                redisAppendCommandArgv(context, Int32(argvBuffer.count), argvBuffer.baseAddress, lengthBuffer.baseAddress)
            }
        }
        if status != REDIS_OK { throw markBroken() }
    }

    /// Flushes pending output and blocks for the next reply, up to the socket timeout.
    func readReply() throws(RedisError) -> RedisReply {
        if isBroken { throw .connectionBroken }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReply(context, &raw) == REDIS_OK, let raw else { throw markBroken() }
        defer { freeReplyObject(raw) }
        return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// The next reply, like `readReply()`; first, when none is parsed yet and `watch` is set,
    /// waits for the socket to turn readable, calling `watch.notice` once it has been silent
    /// `watch.after` and every `watch.every` after, up to the command timeout (then the call
    /// fails as a timeout, as a plain read would).
    func readReply(watching watch: QuietWatch?) throws(RedisError) -> RedisReply {
        guard let watch else { return try readReply() }
        if isBroken { throw .connectionBroken }
        var raw: UnsafeMutableRawPointer?
        guard redisGetReplyFromReader(context, &raw) == REDIS_OK else { throw markBroken() }
        if let raw {
            defer { freeReplyObject(raw) }
            return Self.copy(raw.assumingMemoryBound(to: redisReply.self))
        }
        try flushOutput()
        let started = ContinuousClock.now
        var nextNotice = started + watch.after
        while !socketTurnsReadable(within: nextNotice - .now) {
            if ContinuousClock.now - started >= commandTimeout {
                markTimedOut()
                throw .timeout("no reply within \(commandTimeout)")
            }
            watch.notice()
            nextNotice = min(.now + watch.every, started + commandTimeout)
        }
        return try readReply()
    }

    /// Writes hiredis' output buffer out (blocking, up to the socket's send timeout).
    func flushOutput() throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            guard redisBufferWrite(context, &done) == REDIS_OK else { throw markBroken() }
        }
    }

    /// False when nothing arrived on the socket within `timeout` (an error or a hang-up
    /// counts as readable: the read that follows reports it).
    private func socketTurnsReadable(within timeout: Duration) -> Bool {
        var descriptor = pollfd(fd: context.pointee.fd, events: Int16(POLLIN), revents: 0)
        let deadline = ContinuousClock.now + timeout
        while true {
            let (seconds, attoseconds) = (deadline - .now).components
            let left = Int32(clamping: max(0, seconds * 1000 + attoseconds / 1_000_000_000_000_000))
            let ready = poll(&descriptor, 1, left)
            if ready > 0 { return true }
            if ready == 0 { return false }
            if errno != EINTR { return true }
        }
    }

    /// Changes the socket timeout (a zero duration blocks forever, for subscriptions).
    func setSocketTimeout(_ timeout: Duration) throws(RedisError) {
        if redisSetTimeout(context, Self.timeval(timeout)) != REDIS_OK { throw markBroken() }
    }

    /// Turns on TCP keepalive, so a long-idle subscription notices a vanished server.
    func enableKeepAlive() throws(RedisError) {
        if redisEnableKeepAlive(context) != REDIS_OK { throw markBroken() }
    }

    /// A watched wait ran past the command timeout: the reply may still come, half-read
    /// replies cannot be resynchronized, so the connection is done.
    private func markTimedOut() {
        stateLock.lock()
        brokenFlag = true
        stateLock.unlock()
    }

    /// Records that the context is unusable and classifies hiredis's error.
    private func markBroken() -> RedisError {
        let savedErrno = errno
        stateLock.lock()
        brokenFlag = true
        stateLock.unlock()
        let message = Self.errorText(context)
        // A blocking read or write that hit SO_RCVTIMEO/SO_SNDTIMEO fails with EAGAIN, which
        // hiredis reports as a plain REDIS_ERR_IO with strerror's text.
        if context.pointee.err == REDIS_ERR_IO,
           [EAGAIN, EWOULDBLOCK, ETIMEDOUT].contains(savedErrno)
            || message == String(cString: strerror(EAGAIN)) {
            return .timeout(message)
        }
        return .io(message)
    }

    private static func copy(_ reply: UnsafeMutablePointer<redisReply>) -> RedisReply {
        let value = reply.pointee
        func text() -> String {
            guard let str = value.str else { return "" }
            return String(decoding: UnsafeRawBufferPointer(start: str, count: value.len), as: UTF8.self)
        }
        switch value.type {
        case REDIS_REPLY_STRING:
            guard let str = value.str else { return .bulk([]) }
            return .bulk(Array(UnsafeRawBufferPointer(start: str, count: value.len)))
        case REDIS_REPLY_STATUS: return .status(text())
        case REDIS_REPLY_ERROR: return .error(text())
        case REDIS_REPLY_INTEGER: return .integer(Int(value.integer))
        case REDIS_REPLY_ARRAY:
            guard let elements = value.element else { return .array([]) }
            return .array((0..<value.elements).map { index in
                elements[index].map(copy) ?? .null
            })
        default: return .null  // REDIS_REPLY_NIL (RESP2 has no other types)
        }
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func timeval(_ duration: Duration) -> Foundation.timeval {
        let (seconds, attoseconds) = duration.components
        return Foundation.timeval(tv_sec: numericCast(seconds), tv_usec: numericCast(attoseconds / 1_000_000_000_000))
    }

    private func expectOK(_ reply: RedisReply, _ name: String) throws(RedisError) {
        guard reply == .status("OK") else { throw .unexpectedReply(command: name, reply: "\(reply)") }
    }

    private func integer(_ reply: RedisReply, _ name: String) throws(RedisError) -> Int {
        guard case let .integer(value) = reply else { throw .unexpectedReply(command: name, reply: "\(reply)") }
        return value
    }
}
