import Foundation
import Logging
import Synchronization
import TierModel

/// Listens on `RedisKey.invalidationChannel` on a thread of its own, reconnecting by
/// itself, and hands each message to `onMessage` (every instance drops an
/// invalidated org from its in-process cache).
///
/// Redis pub/sub does not queue: while the subscription is down, messages are lost. So
/// every subscription after the first calls `onResubscribed`, and the owner drops its
/// whole in-process cache (entries are short-lived anyway, and MongoDB stays the truth: docs/design.md#tier-source).
public final class InvalidationSubscriber: Sendable {
    private let url: RedisURL
    private let logger: Logger
    private let state = Mutex<(connection: RedisConnection?, stopped: Bool)>((nil, false))
    private let retryDelay: Duration

    public init(url: RedisURL, retryDelay: Duration = .seconds(1), logger: Logger) {
        self.url = url
        self.retryDelay = retryDelay
        self.logger = logger
    }

    public func start(onMessage: @escaping @Sendable (String) -> Void,
                      onResubscribed: @escaping @Sendable () -> Void) {
        let thread = Thread { [self] in run(onMessage: onMessage, onResubscribed: onResubscribed) }
        thread.name = "tiergate.invalidations"
        thread.start()
    }

    public func stop() {
        let connection = state.withLock { state -> RedisConnection? in
            state.stopped = true
            return state.connection
        }
        connection?.interrupt()
    }

    private func run(onMessage: @escaping @Sendable (String) -> Void, onResubscribed: @escaping @Sendable () -> Void) {
        var subscribedBefore = false
        var failing = false
        while !state.withLock({ $0.stopped }) {
            do {
                let connection = try RedisConnection(url: url, connectTimeout: .seconds(2), commandTimeout: .seconds(2))
                let stopped = state.withLock { state -> Bool in
                    state.connection = connection
                    return state.stopped
                }
                if stopped { return }
                try connection.subscribe(RedisKey.invalidationChannel, onSubscribed: {
                    logger.info("subscribed to tier invalidations", metadata: ["channel": "\(RedisKey.invalidationChannel)"])
                    if subscribedBefore || failing { onResubscribed() }
                    subscribedBefore = true
                    failing = false
                }) { message in
                    onMessage(message.payload)
                    return .keepListening
                }
            } catch {
                if !failing {
                    logger.warning("tier invalidation subscription lost; retrying", metadata: ["error": "\(error)"])
                }
                failing = true
            }
            if state.withLock({ $0.stopped }) { return }
            Thread.sleep(forTimeInterval: retryDelay.seconds)
        }
    }
}

