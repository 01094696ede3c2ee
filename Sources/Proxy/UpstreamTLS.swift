import TLS

/// How the proxy speaks TLS to the upstream: the mode and the client context (with the CA
/// to verify against for verify-full), made once at start.
public struct UpstreamTLS: Sendable {
    public var mode: UpstreamTLSMode
    public var context: TLSContext

    public init(mode: UpstreamTLSMode, context: TLSContext) {
        self.mode = mode
        self.context = context
    }
}
