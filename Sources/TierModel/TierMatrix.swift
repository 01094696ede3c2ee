import Foundation

/// The limits of every tier: the resource ceiling matrix (docs/design.md#tier-matrix).
///
/// Total by construction (one stored field per tier), so looking a tier up cannot fail.
/// `builtIn` is the design's matrix; `load(json:path:)` reads an operator's file of the same shape,
/// which is how tests shrink timeouts to seconds.
public struct TierMatrix: Sendable, Equatable {
    public var free: TierLimits
    public var starter: TierLimits
    public var pro: TierLimits
    public var enterprise: TierLimits

    public init(free: TierLimits, starter: TierLimits, pro: TierLimits, enterprise: TierLimits) {
        self.free = free
        self.starter = starter
        self.pro = pro
        self.enterprise = enterprise
    }

    public subscript(tier: Tier) -> TierLimits {
        get {
            switch tier {
            case .free: free
            case .starter: starter
            case .pro: pro
            case .enterprise: enterprise
            }
        }
        set {
            switch tier {
            case .free: free = newValue
            case .starter: starter = newValue
            case .pro: pro = newValue
            case .enterprise: enterprise = newValue
            }
        }
    }

    /// Reads a matrix file: a JSON object mapping each of the four tier names to limits in
    /// The matrix file's shape; the fields TierGate adds (`tempBuffers` and the other resource
    /// settings, see `TierLimits.init(reading:)`) are optional and default to `builtIn`'s.
    ///
    /// A bad file is refused as a whole, never patched with built-in values: a proxy running
    /// half the operator's matrix would enforce limits nobody wrote down. The error names
    /// `path`, the field (`PRO.postgres.maxConnections`) and the reason.
    public static func load(json: Data, path: String) throws(TierMatrixError) -> TierMatrix {
        let document: JSONValue
        do {
            document = try JSONValue(parsing: json)
        } catch {
            throw TierMatrixError(path: path, field: nil, problem: .invalidJSON(error))
        }
        guard case .object(let object) = document else {
            throw TierMatrixError(path: path, field: nil, problem: .wrongType(
                expected: "an object mapping tier names to limits", found: document.kindDescription))
        }
        if let unknown = object.keys.first(where: { Tier(rawValue: $0) == nil }) {
            throw TierMatrixError(path: path, field: unknown, problem: .unknownTier(unknown))
        }
        var limits: [Tier: TierLimits] = [:]
        for tier in Tier.allCases {
            guard let value = object[tier.rawValue] else {
                throw TierMatrixError(path: path, field: tier.rawValue, problem: .missingTier)
            }
            do {
                limits[tier] = try TierLimits(reading: value, path: tier.rawValue, tier: tier)
            } catch {
                throw TierMatrixError(path: path, field: error.field, problem: error.problem)
            }
        }
        let matrix = TierMatrix(free: limits[.free]!, starter: limits[.starter]!,
                                pro: limits[.pro]!, enterprise: limits[.enterprise]!)
        try matrix.validate(path: path)
        return matrix
    }

    /// Checks every value is enforceable (see `TierLimits` field docs); `load` calls this,
    /// and code that builds a matrix by hand can too.
    public func validate(path: String) throws(TierMatrixError) {
        for tier in Tier.allCases {
            if let failure = self[tier].firstInvalidField(path: tier.rawValue) {
                throw TierMatrixError(path: path, field: failure.field, problem: failure.problem)
            }
        }
    }

    /// The matrix as a file `load` accepts, tiers in order, the matrix file's key order: a template
    /// for operators.
    public var json: String {
        JSONValue.object(JSONObject(Tier.allCases.map { (key: $0.rawValue, value: self[$0].jsonValue) })).serialized
    }
}

/// A matrix file TierGate refuses to run with.
public struct TierMatrixError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file, as given to `load`.
    public let path: String
    /// Dotted path of the offending field (`PRO.postgres.maxConnections`), a tier name, or
    /// nil when the whole document is at fault.
    public let field: String?
    public let problem: FieldProblem

    public init(path: String, field: String?, problem: FieldProblem) {
        self.path = path
        self.field = field
        self.problem = problem
    }

    public var description: String {
        if let field { "tier matrix \(path): \(field): \(problem)" } else { "tier matrix \(path): \(problem)" }
    }
}
