/// The domain under which every org has a host name of its own (`org_acme.db.example.com`
/// under `db.example.com`), so a TLS client's SNI server name can say which org it is.
///
/// Only names under the configured domain count, and only one label above it: without a
/// domain a plain host name (`db.example.com`, `localhost`) would be taken for org `db`.
/// The label is taken as sent (org ids are case-sensitive); the domain is matched without
/// regard to case, as DNS does.
public struct ServerNameOrgDomain: Sendable, Equatable {
    public let domain: String

    /// Nil for an empty domain or one with an empty label.
    public init?(_ domain: String) {
        var trimmed = Substring(domain)
        while trimmed.hasPrefix(".") { trimmed = trimmed.dropFirst() }
        while trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
        guard !trimmed.isEmpty, !trimmed.split(separator: ".", omittingEmptySubsequences: false).contains(where: \.isEmpty) else {
            return nil
        }
        self.domain = String(trimmed)
    }

    /// The org a server name names, nil when it is not `<orgId>.<domain>`.
    public func org(inServerName serverName: String) -> OrgId? {
        var name = Substring(serverName)
        if name.hasSuffix(".") { name = name.dropLast() }  // a fully qualified name
        let suffix = "." + domain
        guard name.utf8.count > suffix.utf8.count,
              name.suffix(suffix.count).lowercased() == suffix.lowercased() else { return nil }
        let label = name.dropLast(suffix.count)
        guard !label.contains(".") else { return nil }
        return try? OrgId(String(label))
    }
}
