import Synchronization
import TLS

/// The certificate chain and key the proxy presents to clients, as a TLS context that a
/// reload replaces whole: handshakes that started keep the context they started with, new
/// ones take the new one. A pair that does not load is refused and the old one stays.
public final class TLSCredentials: Sendable {
    public let certificatePath: String
    public let keyPath: String
    private let context: Mutex<TLSContext>

    /// Loads the pair; throws when it cannot be used (the proxy then does not start).
    public init(certificatePath: String, keyPath: String) throws(TLSConfigurationError) {
        self.certificatePath = certificatePath
        self.keyPath = keyPath
        context = Mutex(try TLSContext.server(certificateChain: certificatePath, privateKey: keyPath))
    }

    /// The context new handshakes use.
    public var current: TLSContext { context.withLock { $0 } }

    /// Reads the pair again, for a reload that must succeed or change nothing as a whole:
    /// `install` the result only once everything else the reload reads has loaded too.
    public func load() throws(TLSConfigurationError) -> TLSContext {
        try TLSContext.server(certificateChain: certificatePath, privateKey: keyPath)
    }

    public func install(_ new: TLSContext) {
        context.withLock { $0 = new }
    }

    /// Reads the pair again and uses it from the next handshake on; on error the pair in
    /// force stays and the error says why.
    public func reload() throws(TLSConfigurationError) {
        install(try load())
    }
}
