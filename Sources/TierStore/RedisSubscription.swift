/// A message received on a subscribed Redis channel.
public struct RedisMessage: Sendable, Equatable {
    public var channel: String
    public var payload: String

    public init(channel: String, payload: String) {
        self.channel = channel
        self.payload = payload
    }
}

/// What a subscriber wants after handling a message.
public enum RedisSubscriptionAction: Sendable {
    case keepListening
    case stop
}

extension RedisConnection {
    /// Subscribes to `channels` and calls `onMessage` for each message, blocking the calling
    /// thread until `onMessage` returns `.stop` or another thread calls `interrupt()`.
    ///
    /// Meant for a dedicated thread and a dedicated connection (it holds the connection's
    /// lock throughout): cross-instance tier invalidation (docs/design.md#redis-keys) publishes on a
    /// channel and every TierGate instance drops its in-process copy. While waiting, the
    /// command timeout is lifted, since silence is normal, and TCP keepalive is enabled so
    /// a vanished server is still noticed eventually.
    ///
    /// On `.stop` the connection unsubscribes and is usable for commands again. After
    /// `interrupt()` it returns normally but the connection is broken. An I/O error or
    /// a server error throws; subscribers typically reconnect and subscribe again, and must
    /// assume they missed messages in between (Redis pub/sub does not queue).
    public func subscribe(
        _ channels: String...,
        onSubscribed: () -> Void = {},
        onMessage: (RedisMessage) -> RedisSubscriptionAction
    ) throws(RedisError) {
        var confirmations = 0
        commandLock.lock()
        defer { commandLock.unlock() }
        do throws(RedisError) {
            try append(["SUBSCRIBE"] + channels)
            try setSocketTimeout(.zero)
            try enableKeepAlive()
            while true {
                let reply = try readReply()
                guard case let .array(parts) = reply, let kind = parts.first?.string else {
                    if case let .error(message) = reply { throw .server(message) }
                    throw .unexpectedReply(command: "SUBSCRIBE", reply: "\(reply)")
                }
                guard kind == "message", parts.count == 3,
                      let channel = parts[1].string, let payload = parts[2].string else {
                    // "subscribe" confirmations, one per channel: from the last one on,
                    // no message published is missed.
                    if kind == "subscribe" {
                        confirmations += 1
                        if confirmations == channels.count { onSubscribed() }
                    }
                    continue
                }
                if onMessage(RedisMessage(channel: channel, payload: payload)) == .stop {
                    try unsubscribeAll()
                    return
                }
            }
        } catch {
            if wasInterrupted { return }
            throw error
        }
    }

    /// Leaves subscribed mode: `UNSUBSCRIBE` with no channel, then skip messages already in
    /// flight until the confirmation reporting zero remaining subscriptions.
    private func unsubscribeAll() throws(RedisError) {
        try setSocketTimeout(commandTimeout)
        try append(["UNSUBSCRIBE"])
        while true {
            let reply = try readReply()
            if case let .array(parts) = reply, parts.first?.string == "unsubscribe",
               parts.count == 3, parts[2] == .integer(0) {
                return
            }
        }
    }
}
