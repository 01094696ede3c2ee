/// Query ('Q'): a simple-protocol query string, possibly several statements.
public struct Query: Equatable, Sendable {
    public var text: String

    public init(text: String) { self.text = text }

    public func encoded() -> [UInt8] {
        ByteWriter.message(FrontendMessageID.query.rawValue) { $0.writeCString(text) }
    }

    /// The text as UTF-8; nil when the message is malformed or the text is not UTF-8.
    public static func decode(payload: ArraySlice<UInt8>) -> Query? {
        guard let bytes = decodeText(payload: payload),
              let text = String(validating: bytes, as: UTF8.self) else { return nil }
        return Query(text: text)
    }

    /// The text's bytes, in the session's client_encoding, whatever that is (the server
    /// converts them before it parses them). Postgres requires the string to be
    /// NUL-terminated with nothing after it; nil otherwise.
    public static func decodeText(payload: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
        var reader = ByteReader(payload)
        guard let bytes = reader.readCStringBytes(), reader.remaining == 0 else { return nil }
        return bytes
    }
}
