/// Why a TLS handshake (or a TLS stream) failed, as a closed set: the `reason` label of the
/// handshake-failure metric and the word in the session's log line. `detail` is OpenSSL's
/// own text, for the log only.
public struct TLSFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: String, Sendable, CaseIterable {
        /// The peer offered only versions below the minimum (TLS 1.2).
        case unsupportedVersion = "unsupported_version"
        /// No cipher suite in common.
        case noSharedCipher = "no_shared_cipher"
        /// The client offered ALPN without "postgresql", or a direct TLS client offered none.
        case alpn = "alpn"
        /// The peer refused the other side's certificate (an alert: unknown CA, bad
        /// certificate, ...), or this side could not verify the peer's.
        case certificate = "certificate"
        /// What arrived is not a TLS handshake (plain text, another protocol).
        case notTLS = "not_tls"
        /// The peer went away before the handshake finished.
        case peerClosed = "peer_closed"
        /// The handshake did not finish within the login timeout.
        case timeout = "timeout"
        /// Anything else OpenSSL reports.
        case other = "other"
    }

    public var reason: Reason
    public var detail: String

    public init(_ reason: Reason, detail: String = "") {
        self.reason = reason
        self.detail = detail
    }

    public var description: String { detail.isEmpty ? reason.rawValue : "\(reason.rawValue): \(detail)" }
}

/// A certificate, key or CA file that cannot be used; the message names the file and
/// OpenSSL's reason, for the operator.
public struct TLSConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
