import PostgresWire
import Synchronization

/// Which upstream owns which backend key, so a CancelRequest arriving on a fresh client
/// connection reaches the server running the query. Keys are passed to clients unchanged:
/// TierGate does not pool, so a backend key names exactly one client's session.
final class CancelRegistry: Sendable {
    private let owners = Mutex<[BackendKeyData: Endpoint]>([:])

    func register(_ key: BackendKeyData, upstream: Endpoint) {
        owners.withLock { $0[key] = upstream }
    }

    func remove(_ key: BackendKeyData) {
        _ = owners.withLock { $0.removeValue(forKey: key) }
    }

    func upstream(for key: BackendKeyData) -> Endpoint? {
        owners.withLock { $0[key] }
    }

    var count: Int { owners.withLock { $0.count } }
}
