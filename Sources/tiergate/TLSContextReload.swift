import Proxy
import TLS

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

    /// Puts the loaded pair in force; the certificate's path, nil without TLS.
    func install() -> String? {
        guard let credentials, let context else { return nil }
        credentials.install(context)
        return credentials.certificatePath
    }

    struct ReloadFailure: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
