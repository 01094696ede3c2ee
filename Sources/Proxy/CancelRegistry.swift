import Dispatch
import PostgresWire
import Synchronization

/// The cancel keys this proxy hands its clients, and where each one's CancelRequest goes.
///
/// A client never sees its backend's key: the proxy gives it a key of its own (random
/// process id and secret, the secret as long as the server's), so no backend pid leaks and
/// a key is meaningful only to TierGate. Keys are kept here for the session's life and, with
/// a `CancelKeyDirectory`, published for the other instances too. A CancelRequest is
/// answered from here first, then from the directory; unknown keys and requests over the
/// per-address rate are dropped silently, as Postgres drops unknown keys.
final class CancelRegistry: Sendable {
    private let targets = Mutex<[BackendKeyData: CancelTarget]>([:])
    private let limit: Mutex<CancelRateLimit>
    private let directory: (any CancelKeyDirectory)?
    private let counted: (@Sendable (CancelRouting) -> Void)?

    init(directory: (any CancelKeyDirectory)? = nil, rate: CancelRateLimit.Rule = CancelRateLimit.Rule(),
         counted: (@Sendable (CancelRouting) -> Void)? = nil) {
        self.directory = directory
        self.counted = counted
        limit = Mutex(CancelRateLimit(rule: rate))
    }

    /// A fresh key for the client, standing for `backend` on `upstream`.
    func issue(for backend: BackendKeyData, upstream: Endpoint) -> BackendKeyData {
        let target = CancelTarget(upstream: upstream, backend: backend)
        var generator = SystemRandomNumberGenerator()
        var key: BackendKeyData
        repeat {
            key = BackendKeyData(processID: Int32.random(in: 1...Int32.max, using: &generator),
                                 secretKey: (0..<backend.secretKey.count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        } while !targets.withLock { targets in
            guard targets[key] == nil else { return false }
            targets[key] = target
            return true
        }
        directory?.publish(key, backend: backend, upstream: upstream)
        return key
    }

    func remove(_ clientKey: BackendKeyData) {
        guard targets.withLock({ $0.removeValue(forKey: clientKey) }) != nil else { return }
        directory?.withdraw(clientKey)
    }

    /// Where a CancelRequest from `peer` goes; `deliver` runs only for a known key within
    /// the rate, at once or from the directory's queue.
    func route(_ clientKey: BackendKeyData, peer: String, now: ContinuousClock.Instant,
               deliver: @escaping @Sendable (CancelTarget) -> Void) {
        guard limit.withLock({ $0.allow(Endpoint.host(ofPeer: peer), now: now) }) else {
            counted?(.rateLimited)
            return
        }
        if let target = targets.withLock({ $0[clientKey] }) {
            counted?(.forwardedLocal)
            return deliver(target)
        }
        guard let directory else {
            counted?(.unknown)
            return
        }
        directory.find(clientKey) { [counted] target in
            guard let target else {
                counted?(.unknown)
                return
            }
            counted?(.forwardedShared)
            deliver(target)
        }
    }

    var count: Int { targets.withLock { $0.count } }
}
