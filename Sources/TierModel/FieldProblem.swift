/// What is wrong with one field of a document TierGate reads (the limits matrix file, an org
/// document, a cached Redis value). The containing error names the file or org and the field;
/// this says why, in words an operator can act on.
public enum FieldProblem: Sendable, Equatable, CustomStringConvertible {
    case invalidJSON(JSONSyntaxError)
    case missing
    case wrongType(expected: String, found: String)
    case mustBePositive(got: String)
    case mustNotBeNegative(got: String)
    /// Postgres memory settings are whole kB (work_mem) or 8 kB blocks (temp_buffers).
    case mustBeMultiple(of: Int, got: Int)
    case outOfRange(got: String, allowed: String)
    case poolMinAbovePoolMax(poolMin: Int, poolMax: Int)
    case unknownField
    case unknownTier(String)
    case missingTier
    case invalid(String)

    public var description: String {
        switch self {
        case .invalidJSON(let error): "\(error)"
        case .missing: "missing"
        case .wrongType(let expected, let found): "expected \(expected), found \(found)"
        case .mustBePositive(let got): "must be positive, got \(got)"
        case .mustNotBeNegative(let got): "must not be negative, got \(got)"
        case .mustBeMultiple(let unit, let got): "must be a multiple of \(unit) bytes, got \(got)"
        case .outOfRange(let got, let allowed): "\(got) is out of range (\(allowed))"
        case .poolMinAbovePoolMax(let poolMin, let poolMax):
            "poolMin \(poolMin) is greater than poolMax \(poolMax)"
        case .unknownField: "unknown field"
        case .unknownTier(let name): TierParseError(name: name).description
        case .missingTier: "tier missing: all of FREE, STARTER, PRO, ENTERPRISE must be present"
        case .invalid(let reason): reason
        }
    }
}

/// A field problem on its way up to the error type that adds the file path or org.
struct FieldFailure: Error {
    var field: String
    var problem: FieldProblem
}
