import Synchronization
import TLS

/// Client TLS counters of one proxy: handshakes done (after an SSLRequest or direct),
/// handshakes failed by reason, and TLS sessions open now. Read by SHOW STATS and, as
/// deltas at scrape time, by the metrics; written once per handshake and session end.
public final class TLSStatistics: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var negotiatedHandshakes = 0
        public var directHandshakes = 0
        public var failures: [TLSFailure.Reason: Int] = [:]
        public var openSessions = 0

        public init() {}

        public var handshakes: Int { negotiatedHandshakes + directHandshakes }
        public var failureCount: Int { failures.values.reduce(0, +) }
    }

    private let state = Mutex(Snapshot())

    public init() {}

    public var snapshot: Snapshot { state.withLock { $0 } }

    func handshakeSucceeded(direct: Bool) {
        state.withLock { state in
            if direct { state.directHandshakes += 1 } else { state.negotiatedHandshakes += 1 }
            state.openSessions += 1
        }
    }

    func handshakeFailed(_ reason: TLSFailure.Reason) {
        state.withLock { $0.failures[reason, default: 0] += 1 }
    }

    func sessionEnded() {
        state.withLock { $0.openSessions -= 1 }
    }
}
