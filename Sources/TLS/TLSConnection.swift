import COpenSSL

/// One TLS connection over memory BIOs: the caller moves ciphertext between the socket and
/// this object, and plaintext between this object and the protocol. No socket, no queue:
/// the event loop that owns the socket calls it (on that loop only), and two of these can
/// talk to each other in a test with no network at all.
///
/// - `receive` takes ciphertext read from the socket;
/// - `handshake` advances the handshake (call after each `receive` until `.established`);
/// - `read` decrypts what has been received; `write` encrypts;
/// - `takeOutput` hands out the ciphertext to send (handshake messages, alerts, records).
///
/// Guarantees: nothing blocks (memory BIOs never do); every OpenSSL error is read off the
/// thread's error queue before the call returns, so one connection's error never shows up
/// in another's on the same loop.
public final class TLSConnection {
    private let ssl: OpaquePointer
    private let input: OpaquePointer   // BIO*: ciphertext from the peer, read by OpenSSL
    private let output: OpaquePointer  // BIO*: ciphertext for the peer, written by OpenSSL
    public private(set) var isEstablished = false
    /// The handshake's failure, once it failed: asked again, it says the same.
    public private(set) var failure: TLSFailure?

    public enum Role {
        case server
        /// `serverName` goes in the SNI extension (none for an IP address); `verifyHost`,
        /// when the context verifies, is the name the certificate must carry.
        case client(serverName: String?, verifyHost: String?)
    }

    /// Nil when OpenSSL cannot allocate a connection.
    public init?(context: TLSContext, role: Role) {
        guard let ssl = SSL_new(context.pointer) else { return nil }
        guard let input = BIO_new(BIO_s_mem()), let output = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            return nil
        }
        tg_bio_set_retry_when_empty(input)
        tg_bio_set_retry_when_empty(output)
        SSL_set_bio(ssl, input, output)  // owned by the SSL from here on
        self.ssl = ssl
        self.input = input
        self.output = output
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client(let serverName, let verifyHost):
            SSL_set_connect_state(ssl)
            if let serverName { _ = tg_set_sni(ssl, serverName) }
            if context.verifiesPeer, let verifyHost {
                // An address is checked against the certificate's IP entries, a name against its DNS names.
                if Self.isIPAddress(verifyHost) {
                    _ = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), verifyHost)
                } else {
                    _ = SSL_set1_host(ssl, verifyHost)
                }
            }
        }
    }

    deinit { SSL_free(ssl) }

    static func isIPAddress(_ host: String) -> Bool {
        host.contains(":") || (!host.isEmpty && host.allSatisfy { $0 == "." || $0.isASCII && $0.isNumber })
    }

    // MARK: Ciphertext in and out

    /// Ciphertext read from the socket. Memory BIOs grow: this always takes everything.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        _ = BIO_write(input, base, Int32(bytes.count))
    }

    /// Bytes waiting to be sent to the peer.
    public var outputCount: Int { Int(BIO_ctrl_pending(output)) }

    /// Moves up to `buffer.count` bytes of ciphertext for the peer into `buffer`; returns how many.
    public func takeOutput(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return 0 }
        let n = BIO_read(output, base, Int32(min(buffer.count, Int(Int32.max))))
        return max(0, Int(n))
    }

    // MARK: Handshake

    public enum HandshakeStep: Equatable {
        case established
        /// Needs more bytes from the peer (send what `takeOutput` has first).
        case inProgress
        case failed(TLSFailure)
    }

    public func handshake() -> HandshakeStep {
        guard !isEstablished else { return .established }
        if let failure { return .failed(failure) }
        OpenSSLErrors.clear()
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            isEstablished = true
            return .established
        }
        switch SSL_get_error(ssl, rc) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .inProgress
        case SSL_ERROR_ZERO_RETURN:
            OpenSSLErrors.clear()
            failure = TLSFailure(.peerClosed)
        default:
            failure = classifyFailure()
        }
        return .failed(failure!)
    }

    /// The failure at the head of OpenSSL's error queue, as a reason; the queue is emptied.
    private func classifyFailure() -> TLSFailure {
        let code = ERR_peek_error()
        let verify = SSL_get_verify_result(ssl)
        let detail = OpenSSLErrors.drain()
        guard code != 0 else { return TLSFailure(.other, detail: detail) }
        let reason: TLSFailure.Reason
        switch tg_err_reason(code) {
        case SSL_R_UNSUPPORTED_PROTOCOL, SSL_R_TLSV1_ALERT_PROTOCOL_VERSION, SSL_R_VERSION_TOO_LOW:
            reason = .unsupportedVersion
        case SSL_R_NO_SHARED_CIPHER:
            reason = .noSharedCipher
        case SSL_R_NO_APPLICATION_PROTOCOL, SSL_R_TLSV1_ALERT_NO_APPLICATION_PROTOCOL:
            reason = .alpn
        case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE, SSL_R_TLSV1_ALERT_UNKNOWN_CA, SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN,
             SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED, SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED,
             SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE, SSL_R_CERTIFICATE_VERIFY_FAILED:
            reason = .certificate
        case SSL_R_WRONG_VERSION_NUMBER, SSL_R_HTTP_REQUEST, SSL_R_HTTPS_PROXY_REQUEST, SSL_R_PACKET_LENGTH_TOO_LONG,
             SSL_R_RECORD_LENGTH_MISMATCH, SSL_R_UNEXPECTED_RECORD, SSL_R_UNEXPECTED_MESSAGE:
            reason = .notTLS
        default:
            reason = .other
        }
        if reason == .certificate, verify != X509_V_OK {
            let text = String(cString: X509_verify_cert_error_string(Int(verify)))
            return TLSFailure(.certificate, detail: "\(text) (\(detail))")
        }
        return TLSFailure(reason, detail: detail)
    }

    // MARK: Application data

    public enum ReadResult: Equatable {
        case bytes(Int)
        /// Nothing more to decrypt until the peer sends more.
        case needMore
        /// The peer sent close_notify: the stream ended cleanly.
        case closed
        case failed(TLSFailure)
    }

    /// Decrypts into `buffer`.
    public func read(into buffer: UnsafeMutableRawBufferPointer) -> ReadResult {
        guard let base = buffer.baseAddress, buffer.count > 0 else { return .needMore }
        OpenSSLErrors.clear()
        let n = SSL_read(ssl, base, Int32(min(buffer.count, Int(Int32.max))))
        if n > 0 { return .bytes(Int(n)) }
        switch SSL_get_error(ssl, n) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .needMore
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: return .failed(classifyFailure())
        }
    }

    /// Encrypts all of `bytes` (a memory BIO takes any amount). False once the stream has failed.
    @discardableResult
    public func write(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return true }
        OpenSSLErrors.clear()
        var offset = 0
        while offset < bytes.count {
            let n = SSL_write(ssl, base + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            guard n > 0 else {
                OpenSSLErrors.clear()
                return false
            }
            offset += Int(n)
        }
        return true
    }

    /// Queues close_notify for the peer (sent with the next `takeOutput`).
    public func shutdown() {
        guard isEstablished else { return }
        OpenSSLErrors.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrors.clear()
    }

    // MARK: What was negotiated

    /// The SNI host name the client sent (server side), nil if none.
    public var serverName: String? {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    /// The ALPN protocol agreed on, nil if none.
    public var alpnProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.3" and the like.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    public var cipher: String {
        guard let cipher = SSL_get_current_cipher(ssl), let name = SSL_CIPHER_get_name(cipher) else { return "" }
        return String(cString: name)
    }
}
