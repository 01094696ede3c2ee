import Admin
import TierModel
import Logging
import Proxy
import TLS
import Dispatch
import Foundation

/// A reload of the client certificate in two steps, so that a reload of several files
/// (RELOAD: tiers and certificate) changes all or nothing: `load` reads the pair, `install`
/// puts it in force.
struct TLSContextReload {
    private let credentials: TLSCredentials?
    private let context: TLSContext?

    /// Nothing to do without TLS; a failure's message names the file and OpenSSL's reason.
    static func load(_ credentials: TLSCredentials?) -> Result<TLSContextReload, ReloadFailure> {
        guard let credentials else { return .success(TLSContextReload(credentials: nil, context: nil)) }
        do {
            return .success(TLSContextReload(credentials: credentials, context: try credentials.load()))
        } catch {
            return .failure(ReloadFailure(message: "TLS \(error.message)"))
        }
    }

    /// Puts the loaded pair in force; the reply's fields, nil without TLS.
    func install() -> JSONObject? {
        guard let credentials, let context else { return nil }
        credentials.install(context)
        return ["cert": .string(credentials.certificatePath), "reloaded": .bool(true)]
    }

    struct ReloadFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

/// SIGHUP re-reads the client certificate and key, as Postgres and PgBouncer reload theirs;
/// a pair that does not load is logged and the one in force stays.
enum ReloadSignal {
    nonisolated(unsafe) private static var source: DispatchSourceSignal?

    static func install(credentials: TLSCredentials?, logger: Logger) {
        guard let credentials else { return }
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "tiergate.sighup"))
        source.setEventHandler {
            do {
                try credentials.reload()
                logger.notice("SIGHUP: TLS certificate reloaded", metadata: ["cert": "\(credentials.certificatePath)"])
            } catch {
                logger.error("SIGHUP: TLS certificate not reloaded, the one in force stays", metadata: ["error": "\(error)"])
            }
        }
        source.resume()
        Self.source = source
    }
}
