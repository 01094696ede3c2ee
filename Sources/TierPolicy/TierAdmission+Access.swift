import PostgresWire
import Proxy
import TierModel

/// Who may connect for an org, and the audit record of who did.
extension TierAdmission {
    /// The refusal for a client the org does not let in as it asked (`OrgAccess`), counted
    /// and logged; nil when it may go on to the gate.
    func accessRefusal(_ request: AdmissionRequest, identity: OrgIdentity, org: OrgTier) -> ErrorResponse? {
        let requested = request.startup["database"]
        guard let refusal = OrgAccess.refusal(role: identity.role, requestedDatabase: requested,
                                              startupUser: request.startup.user ?? "", route: org.route,
                                              pooled: pgbouncerRouted) else { return nil }
        let tier = org.tier
        let org = org.orgId.rawValue
        switch refusal {
        case .noRoles:
            metrics.refused(.invalidOrg, tier: tier)
            logger.error("refused: the org document lists no role (postgres.roles)", metadata: [
                "org": "\(org)", "peer": "\(request.peer)"])
            return TierClientError.invalidOrg(org, reason: "postgres.roles lists no role that may connect").errorResponse
        case .roleNotAllowed:
            metrics.refused(.roleNotAllowed, tier: tier)
            logger.notice("refused: role may not connect for the org", metadata: [
                "org": "\(org)", "role": "\(identity.role)", "peer": "\(request.peer)"])
            return TierClientError.roleNotAllowed(role: identity.role, org: org).errorResponse
        case .unknownDatabase(let database):
            metrics.refused(.unknownDatabase, tier: tier)
            logger.notice("refused: database is not the org's", metadata: [
                "org": "\(org)", "database": "\(database)", "peer": "\(request.peer)"])
            return TierClientError.databaseDoesNotExist(database).errorResponse
        }
    }

    /// Adds what actually goes upstream to an admitted session's log lines (its audit
    /// record): the role and database Postgres sees, which differ from the client's
    /// `<role>.<orgId>` and requested database.
    static func auditing(_ completion: @escaping @Sendable (AdmissionOutcome) -> Void)
        -> @Sendable (AdmissionOutcome) -> Void {
        { outcome in
            guard case .admitted(var session) = outcome else { return completion(outcome) }
            session.logMetadata["upstream_user"] = session.startup.user ?? "?"
            session.logMetadata["upstream_database"] = session.startup.database ?? "?"
            completion(.admitted(session))
        }
    }
}
