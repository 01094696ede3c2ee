/// Query ('Q'): a simple-protocol query string, possibly several statements.
public struct Query: Equatable, Sendable {
    public var text: String

    public init(text: String) { self.text = text }

    public func encoded() -> [UInt8] {
        ByteWriter.message(FrontendMessageID.query.rawValue) { $0.writeCString(text) }
    }

    /// Postgres requires the string to be NUL-terminated with nothing after it.
    public static func decode(payload: ArraySlice<UInt8>) -> Query? {
        var reader = ByteReader(payload)
        guard case .string(let text) = reader.readCString(), reader.remaining == 0 else { return nil }
        return Query(text: text)
    }
}
