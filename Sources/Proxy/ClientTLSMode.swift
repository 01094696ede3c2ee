/// Whether clients may, or must, speak TLS to the proxy (`--client-tls`).
public enum ClientTLSMode: String, Sendable, CaseIterable {
    /// SSLRequest is answered 'N'; direct TLS is not recognised.
    case disable
    /// SSLRequest is answered 'S' and direct TLS is accepted; plain text still works.
    case allow
    /// As `allow`, and a StartupMessage in plain text is refused (FATAL 08P01). A
    /// CancelRequest is served either way: libpq before 17 always sends it in plain text.
    case require
}
