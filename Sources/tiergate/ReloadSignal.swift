import Dispatch
import Foundation
import Logging
import Proxy

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
