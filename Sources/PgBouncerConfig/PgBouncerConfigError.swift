/// Why a PgBouncer configuration was not written. Every case names the org and the field,
/// so an operator can fix the document in MongoDB; nothing is written when one is thrown.
public enum PgBouncerConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A value that PgBouncer's `[databases]` syntax cannot carry safely (a space ends a
    /// value, `=` starts a key, a quote starts a quoted value, a newline ends the entry),
    /// or that TierGate does not write at all (non-ASCII, too long, empty).
    case unsafeValue(org: String, field: String, value: String, reason: String)
    /// The stored tier is not one of the four tiers.
    case unknownTier(org: String, value: String)
    /// The same org id twice: PgBouncer would keep one entry silently.
    case duplicateOrg(String)
    /// The `[pgbouncer]` template cannot be used.
    case template(path: String, reason: String)

    public var description: String {
        switch self {
        case .unsafeValue(let org, let field, let value, let reason):
            "org \(org.debugDescription): \(field) \(value.debugDescription) cannot be written into PgBouncer's [databases] section: \(reason)"
        case .unknownTier(let org, let value):
            "org \(org.debugDescription): tier \(value.debugDescription) is not one of FREE, STARTER, PRO, ENTERPRISE"
        case .duplicateOrg(let org):
            "org \(org.debugDescription) appears twice"
        case .template(let path, let reason):
            "template \(path): \(reason)"
        }
    }
}
