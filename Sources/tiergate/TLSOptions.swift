import ArgumentParser
import Logging
import Proxy
import TLS
import TierModel

/// `serve`'s TLS options: the certificate clients see and what they may do with TLS.
struct TLSOptions: ParsableArguments {
    @Option(help: "PEM certificate chain clients see (the certificate first, then intermediates). Env: TIERGATE_TLS_CERT.")
    var tlsCert: String?

    @Option(help: "PEM private key of --tls-cert. Env: TIERGATE_TLS_KEY.")
    var tlsKey: String?

    @Option(help: "disable, allow or require: whether clients may (allow) or must (require) use TLS. Default: allow with --tls-cert, disable without. Env: TIERGATE_CLIENT_TLS.")
    var clientTls: ClientTLSMode?

    @Option(help: ArgumentHelp("Domain under which each org has a host name: a TLS client whose SNI server name is <orgId>.DOMAIN belongs to that org, and may omit .orgId from its user name. Env: TIERGATE_TLS_ORG_DOMAIN.", valueName: "domain"))
    var tlsOrgDomain: ServerNameOrgDomain?

    @Option(help: "disable, prefer, require or verify-full: TLS towards the upstream Postgres or PgBouncer, as libpq's sslmode. Env: TIERGATE_UPSTREAM_TLS.")
    var upstreamTls: UpstreamTLSMode = .disable

    @Option(help: "PEM CA certificate(s) the upstream's certificate must chain to (verify-full). Env: TIERGATE_UPSTREAM_CA.")
    var upstreamCa: String?

    var clientMode: ClientTLSMode {
        clientTls ?? (tlsCert == nil ? .disable : .allow)
    }

    func validate() throws {
        if upstreamTls == .verifyFull, upstreamCa == nil { throw ValidationError("--upstream-tls verify-full needs --upstream-ca") }
        if tlsOrgDomain != nil, tlsCert == nil { throw ValidationError("--tls-org-domain needs --tls-cert and --tls-key") }
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if tlsCert == nil, clientMode != .disable {
            throw ValidationError("--client-tls \(clientMode.rawValue) needs --tls-cert and --tls-key")
        }
    }

    /// Loads the pair (a pair that does not load stops the start, naming the file).
    func configure(_ configuration: inout ProxyServer.Configuration, logger: Logger) throws {
        if upstreamTls != .disable {
            let context = try TLSContext.client(caFile: upstreamTls == .verifyFull ? upstreamCa : nil)
            configuration.upstreamTLS = UpstreamTLS(mode: upstreamTls, context: context)
            logger.info("upstream TLS", metadata: ["mode": "\(upstreamTls.rawValue)", "ca": "\(upstreamCa ?? "none")"])
        }
        guard let tlsCert, let tlsKey, clientMode != .disable else { return }
        configuration.tlsCredentials = try TLSCredentials(certificatePath: tlsCert, keyPath: tlsKey)
        configuration.clientTLS = clientMode
        logger.info("client TLS", metadata: ["mode": "\(clientMode.rawValue)", "cert": "\(tlsCert)"])
    }
}
