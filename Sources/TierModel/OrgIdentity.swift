/// Who a connecting client is: the Postgres role to use upstream and the org to gate.
///
/// Clients say both in the startup packet's `user` as `<role>.<orgId>`, the convention of
/// Supavisor (`user.tenant`), so unmodified drivers and psql work. The split is at the LAST
/// dot: org ids cannot contain dots, role names can (`my.role.org_x` is role `my.role`).
/// The first step of a lookup: the org id from the connection's user name (docs/design.md#tier-source).
public struct OrgIdentity: Sendable, Hashable, CustomStringConvertible {
    public static let expectedForm = "<role>.<orgId>"

    public let role: String
    public let org: OrgId

    public init(role: String, org: OrgId) {
        self.role = role
        self.org = org
    }

    /// Parses the startup packet's user name.
    public init(startupUser user: String) throws(OrgIdentityError) {
        guard let dot = user.lastIndex(of: ".") else { throw OrgIdentityError(user: user, reason: .missingDot) }
        let role = String(user[..<dot])
        let orgText = String(user[user.index(after: dot)...])
        guard !role.isEmpty else { throw OrgIdentityError(user: user, reason: .emptyRole) }
        guard !orgText.isEmpty else { throw OrgIdentityError(user: user, reason: .emptyOrg) }
        do {
            org = try OrgId(orgText)
        } catch {
            throw OrgIdentityError(user: user, reason: .invalidOrg(error))
        }
        self.role = role
    }

    /// Parses the startup packet's user name for a client whose TLS server name named
    /// `serverNameOrg` (`ServerNameOrgDomain`): the user name may then be the role alone; if
    /// it ends in `.<orgId>`, that must be the same org (else it is refused: the client said
    /// two different things). A role with a dot must then be written with its org
    /// (`my.role.org_acme`), or its last part would be read as an org.
    public init(startupUser user: String, serverNameOrg: OrgId?) throws(OrgIdentityError) {
        guard let serverNameOrg else {
            try self.init(startupUser: user)
            return
        }
        guard !user.isEmpty else { throw OrgIdentityError(user: user, reason: .emptyRole) }
        if let dot = user.lastIndex(of: "."), let named = try? OrgId(String(user[user.index(after: dot)...])) {
            guard named == serverNameOrg else {
                throw OrgIdentityError(user: user, reason: .serverNameNamesAnotherOrg(serverNameOrg))
            }
            let role = String(user[..<dot])
            guard !role.isEmpty else { throw OrgIdentityError(user: user, reason: .emptyRole) }
            self.init(role: role, org: named)
        } else {
            self.init(role: user, org: serverNameOrg)
        }
    }

    /// The user name as the client sent it.
    public var description: String { "\(role).\(org)" }
}

/// A startup user name that does not say which org the client belongs to; shown to the
/// client, so it states the form expected.
public struct OrgIdentityError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case missingDot
        case emptyRole
        case emptyOrg
        case invalidOrg(OrgIdError)
        /// The TLS server name named this org, the user name another.
        case serverNameNamesAnotherOrg(OrgId)
    }

    public let user: String
    public let reason: Reason

    public init(user: String, reason: Reason) {
        self.user = user
        self.reason = reason
    }

    public var description: String {
        let head = "user name \"\(user)\" must have the form \(OrgIdentity.expectedForm)"
        switch reason {
        case .missingDot: return "\(head) (for example app.org_acme)"
        case .emptyRole: return "\(head): the role before the last '.' is empty"
        case .emptyOrg: return "\(head): the org id after the last '.' is empty"
        case .invalidOrg(let error): return "\(head): \(error)"
        case .serverNameNamesAnotherOrg(let org):
            return "user name \"\(user)\" names another org than the TLS server name, which names \"\(org)\""
        }
    }
}
