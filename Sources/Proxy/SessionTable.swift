import Synchronization

/// The open sessions of a proxy, and whether it still accepts new ones. A reference type so
/// the session-ended callback can hold it without holding the server.
final class SessionTable: Sendable {
    struct State {
        var sessions: [UInt64: ClientSession] = [:]
        var nextID: UInt64 = 1
        var accepting = true
        var drained: [@Sendable () -> Void] = []
        /// A return of freed memory to the system is pending (see `ProxyServer`).
        var trimScheduled = false
    }

    private let state = Mutex(State())

    func withLock<R>(_ body: (inout State) -> R) -> R {
        state.withLock { body(&$0) }
    }
}
