import COpenSSL

/// One OpenSSL `SSL_CTX`: the certificate chain and key a server presents, or the trust a
/// client verifies with. Immutable once made, so every loop may start connections from it
/// at once (OpenSSL's contexts are safe to share once configured); a reload makes a new one.
///
/// Guarantees:
/// - TLS 1.2 is the minimum version; no renegotiation, no compression, no session tickets
///   (as Postgres configures its own context).
/// - A server context answers ALPN with "postgresql" only (Postgres 17's direct TLS).
/// - A context is freed when its last connection is: each `SSL` holds a reference.
public final class TLSContext: @unchecked Sendable {
    let pointer: OpaquePointer
    public let isServer: Bool
    /// Client contexts: whether the server's chain is verified against the CA file.
    public let verifiesPeer: Bool

    private init(pointer: OpaquePointer, isServer: Bool, verifiesPeer: Bool) {
        self.pointer = pointer
        self.isServer = isServer
        self.verifiesPeer = verifiesPeer
    }

    deinit { SSL_CTX_free(pointer) }

    /// A server context from PEM files: `certificateChain` holds the certificate first and
    /// any intermediates after it. Refused (nothing changes) unless the key matches.
    public static func server(certificateChain: String, privateKey: String) throws(TLSConfigurationError) -> TLSContext {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSConfigurationError("cannot create a TLS context: \(OpenSSLErrors.drain())") }
        let context = TLSContext(pointer: ctx, isServer: true, verifiesPeer: false)
        try context.configureCommon()
        OpenSSLErrors.clear()
        guard SSL_CTX_use_certificate_chain_file(ctx, certificateChain) == 1 else {
            throw TLSConfigurationError("certificate \(certificateChain): \(OpenSSLErrors.drain())")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, privateKey, SSL_FILETYPE_PEM) == 1 else {
            throw TLSConfigurationError("private key \(privateKey): \(OpenSSLErrors.drain())")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSConfigurationError("private key \(privateKey) does not match certificate \(certificateChain): \(OpenSSLErrors.drain())")
        }
        tg_ctx_enable_alpn(ctx)
        return context
    }

    /// A client context. With `caFile`, the server's chain is verified against it (and the
    /// host name, per connection); without, the connection is encrypted but the server
    /// unauthenticated (libpq's sslmode=require without a root certificate).
    public static func client(caFile: String?) throws(TLSConfigurationError) -> TLSContext {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw TLSConfigurationError("cannot create a TLS context: \(OpenSSLErrors.drain())") }
        let context = TLSContext(pointer: ctx, isServer: false, verifiesPeer: caFile != nil)
        try context.configureCommon()
        if let caFile {
            OpenSSLErrors.clear()
            guard SSL_CTX_load_verify_locations(ctx, caFile, nil) == 1 else {
                throw TLSConfigurationError("CA file \(caFile): \(OpenSSLErrors.drain())")
            }
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        } else {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        return context
    }

    private func configureCommon() throws(TLSConfigurationError) {
        guard tg_ctx_set_min_tls12(pointer) == 1 else { throw TLSConfigurationError("cannot require TLS 1.2: \(OpenSSLErrors.drain())") }
        tg_ctx_configure(pointer)
    }
}

/// OpenSSL's per-thread error queue, read as text.
enum OpenSSLErrors {
    static func clear() { ERR_clear_error() }

    /// Every queued error as one line (most recent last), and the queue emptied.
    static func drain() -> String {
        var parts: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            parts.append(String(cString: buffer))
        }
        return parts.isEmpty ? "unknown error" : parts.joined(separator: "; ")
    }
}
