/// Whether the proxy speaks TLS to the upstream (Postgres or PgBouncer), as libpq's sslmode
/// of the same names (`--upstream-tls`).
public enum UpstreamTLSMode: String, Sendable, CaseIterable {
    /// Plain text; no SSLRequest is sent.
    case disable
    /// SSLRequest; TLS when the server answers 'S', plain text when it answers 'N'. The
    /// server's certificate is not checked.
    case prefer
    /// TLS or nothing; the certificate is not checked (encryption without authentication).
    case require
    /// TLS, the chain checked against `--upstream-ca` and the certificate's names against
    /// the upstream's host (name or IP address).
    case verifyFull = "verify-full"
}
