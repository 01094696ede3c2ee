import PostgresWire

/// SCRAM channel binding across the proxy (RFC 5929 tls-server-end-point, Postgres docs
/// "SASL Authentication"). Authentication runs end to end between client and server, but
/// the two TLS connections differ, so binding holds only where both sides see the same
/// certificate:
/// - a client in plain text must not be offered SCRAM-SHA-256-PLUS (which a server behind
///   TLS offers): libpq refuses such an offer on a non-TLS connection, so it is removed;
/// - a TLS client is offered what the server offers: binding succeeds when the proxy shows
///   the server's own certificate, and fails otherwise unless the client disables it
///   (`channel_binding=disable`): rewriting the client's answer would break its proof.
enum SASLChannelBinding {
    static let bindingMechanism = "SCRAM-SHA-256-PLUS"
    /// AuthenticationSASL: an Int32 10, then the mechanism names, each NUL-terminated, then a NUL.
    static let saslCode: [UInt8] = [0, 0, 0, 10]

    /// The AuthenticationSASL frame without SCRAM-SHA-256-PLUS; nil when `frame` is not
    /// AuthenticationSASL or does not offer it.
    static func withoutBinding(_ frame: ArraySlice<UInt8>) -> [UInt8]? {
        let payload = MessageFramer.payload(of: frame)
        guard payload.starts(with: saslCode) else { return nil }
        let names = payload.dropFirst(4).split(separator: 0, omittingEmptySubsequences: true)
        guard names.contains(where: { $0.elementsEqual(bindingMechanism.utf8) }) else { return nil }
        var body = saslCode
        for name in names where !name.elementsEqual(bindingMechanism.utf8) {
            body += name
            body.append(0)
        }
        body.append(0)
        let length = UInt32(body.count + 4)
        return [BackendMessageID.authentication.rawValue,
                UInt8(length >> 24), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)] + body
    }
}
