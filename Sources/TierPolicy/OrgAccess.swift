import TierModel

/// Whether an org lets a client in as it asked: the role must be one the org's document
/// lists (`postgres.roles`), the database one of its `postgres.databases` (or none, its role,
/// or its whole startup user, which mean the org's default). Decided before the gate and
/// before any upstream work, so a refused client takes no slot and starts no backend.
enum OrgAccess: Equatable {
    /// The document names no role: nobody may connect (an invalid org record, 28000).
    case noRoles
    /// The role is not one of the org's (28000).
    case roleNotAllowed
    /// The database is not one of the org's (3D000, as Postgres says for a missing database).
    case unknownDatabase(String)

    /// nil when the client may connect as it asked.
    /// - Parameter pooled: through PgBouncer only the org's default database has a pool.
    static func refusal(role: String, requestedDatabase: String?, startupUser: String,
                        route: PostgresRoute, pooled: Bool) -> OrgAccess? {
        guard !route.roles.isEmpty else { return .noRoles }
        guard route.admits(role: role) else { return .roleNotAllowed }
        let reachable = pooled ? PostgresRoute(databases: [route.database], roles: route.roles) : route
        guard reachable.database(requested: requestedDatabase, startupUser: startupUser, role: role) != nil else {
            return .unknownDatabase(requestedDatabase ?? "")
        }
        return nil
    }
}
