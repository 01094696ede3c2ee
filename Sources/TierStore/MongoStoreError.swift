/// Why a MongoDB call failed, with libmongoc's own message.
///
/// The cases separate what the resolver does next: `unavailable` means MongoDB, the source
/// of truth (docs/design.md#tier-source), cannot be reached, so a lookup falls back to whatever cache it has
/// or refuses; `server` is MongoDB rejecting one operation (duplicate `orgId`, bad query);
/// `invalidURI` and `invalidJSON` are programming or configuration errors.
public enum MongoStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `mongodb://` URI was rejected by libmongoc.
    case invalidURI(String)
    /// A document given as JSON could not be turned into BSON.
    case invalidJSON(String)
    /// No server could be selected within the server selection timeout, or the connection
    /// broke mid-operation: MongoDB is down or unreachable.
    case unavailable(String)
    /// The server answered with an error; `code` is MongoDB's (11000 = duplicate key).
    case server(code: UInt32, message: String)
    /// Any other libmongoc error, with its error domain and code (mongoc-error.h).
    case driver(domain: UInt32, code: UInt32, message: String)

    public var description: String {
        switch self {
        case let .invalidURI(message): "invalid MongoDB URI: \(message)"
        case let .invalidJSON(message): "invalid JSON document: \(message)"
        case let .unavailable(message): "MongoDB unavailable: \(message)"
        case let .server(code, message): "MongoDB error \(code): \(message)"
        case let .driver(domain, code, message): "libmongoc error (domain \(domain), code \(code)): \(message)"
        }
    }

    /// True for MongoDB's duplicate key error, e.g. inserting an `orgId` twice under a
    /// unique index.
    public var isDuplicateKey: Bool {
        if case .server(11000, _) = self { return true }
        return false
    }
}
