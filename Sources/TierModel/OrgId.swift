/// An organization's id (`orgId: "org_acme"`, docs/design.md#tier-source), validated.
///
/// Org ids end up inside Redis keys (`tier:<orgId>`, docs/design.md#tier-source), PgBouncer's `[databases]`
/// section (docs/design.md#pgbouncer-layer) and log metadata, so only `[A-Za-z0-9_-]` is allowed: no
/// spaces, `=`, quotes, `:` or newlines that could split a key or a config line. At most 63
/// bytes, Postgres' identifier length (NAMEDATALEN - 1), since ids also name databases.
public struct OrgId: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    public static let maximumLength = 63

    public let rawValue: String

    public init(_ rawValue: String) throws(OrgIdError) {
        guard !rawValue.isEmpty else { throw OrgIdError(value: rawValue, reason: .empty) }
        guard rawValue.utf8.count <= Self.maximumLength else {
            throw OrgIdError(value: rawValue, reason: .tooLong(bytes: rawValue.utf8.count))
        }
        if let bad = rawValue.unicodeScalars.first(where: { !Self.isAllowed($0) }) {
            throw OrgIdError(value: rawValue, reason: .invalidCharacter(bad))
        }
        self.rawValue = rawValue
    }

    private static func isAllowed(_ s: Unicode.Scalar) -> Bool {
        switch s {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }

    public var description: String { rawValue }

    public static func < (lhs: OrgId, rhs: OrgId) -> Bool { lhs.rawValue < rhs.rawValue }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let raw = try container.decode(String.self)
        do {
            try self.init(raw)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Why a string is not an org id.
public struct OrgIdError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case empty
        case tooLong(bytes: Int)
        case invalidCharacter(Unicode.Scalar)
    }

    public let value: String
    public let reason: Reason

    public init(value: String, reason: Reason) {
        self.value = value
        self.reason = reason
    }

    public var description: String {
        switch reason {
        case .empty:
            "org id is empty"
        case .tooLong(let bytes):
            "org id \"\(value)\" is \(bytes) bytes long; at most \(OrgId.maximumLength) are allowed"
        case .invalidCharacter(let scalar):
            "org id \"\(value)\" contains \(scalar.debugDescription); only letters, digits, '_' and '-' are allowed"
        }
    }
}
