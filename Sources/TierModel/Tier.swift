/// An org's paid tier (docs/design.md#tier-matrix). The tier is the resource ceiling: TierGate never promotes
/// or demotes on usage, it only enforces what the org pays for.
///
/// Ordered from cheapest to most expensive so "is this a higher tier" is `<`.
public enum Tier: String, Sendable, CaseIterable, Comparable, Codable, CustomStringConvertible {
    case free = "FREE"
    case starter = "STARTER"
    case pro = "PRO"
    case enterprise = "ENTERPRISE"

    /// Parses a tier name exactly as MongoDB stores it (docs/design.md#tier-source: `tier: "PRO"`).
    ///
    /// Matching is deliberately case-sensitive: a document saying `"pro"` was not written by
    /// the billing flow, and guessing would hide that. The error suggests the right spelling.
    public init(parsing name: String) throws(TierParseError) {
        guard let tier = Tier(rawValue: name) else { throw TierParseError(name: name) }
        self = tier
    }

    /// The tier an upgrade suggestion points to (docs/design.md#error-shapes); nil for ENTERPRISE, the top.
    public var next: Tier? {
        switch self {
        case .free: .starter
        case .starter: .pro
        case .pro: .enterprise
        case .enterprise: nil
        }
    }

    /// Position in the price order, FREE = 0.
    public var rank: Int { Tier.allCases.firstIndex(of: self)! }

    public var description: String { rawValue }

    public static func < (lhs: Tier, rhs: Tier) -> Bool { lhs.rank < rhs.rank }
}

/// A tier name that is not one of the four stored names.
public struct TierParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let name: String

    public init(name: String) {
        self.name = name
    }

    public var description: String {
        let expected = Tier.allCases.map(\.rawValue).joined(separator: ", ")
        var text = "unknown tier \"\(name)\": expected one of \(expected) (uppercase, as stored)"
        if let close = Tier(rawValue: name.uppercased()) {
            text += "; did you mean \(close.rawValue)?"
        }
        return text
    }
}
