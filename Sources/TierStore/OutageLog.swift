import Logging
import Synchronization

/// Logs a dependency's outage once when it starts and once when it ends, not once per
/// failed call: a thousand connections during a Redis outage make two log lines.
final class OutageLog: Sendable {
    private let dependency: String
    private let consequence: String
    private let logger: Logger
    private let down = Mutex(false)

    init(dependency: String, consequence: String, logger: Logger) {
        self.dependency = dependency
        self.consequence = consequence
        self.logger = logger
    }

    var isDown: Bool { down.withLock { $0 } }

    func failed(_ error: some Error) {
        let started = down.withLock { wasDown in
            defer { wasDown = true }
            return !wasDown
        }
        if started {
            logger.warning("\(dependency) unavailable: \(consequence)",
                           metadata: ["dependency": "\(dependency)", "error": "\(error)"])
        }
    }

    func succeeded() {
        let ended = down.withLock { wasDown in
            defer { wasDown = false }
            return wasDown
        }
        if ended {
            logger.notice("\(dependency) available again", metadata: ["dependency": "\(dependency)"])
        }
    }
}
