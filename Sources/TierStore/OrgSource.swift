import Foundation
import TierModel

/// Where org documents come from: MongoDB in production, a local JSON file in the embedded
/// mode. Calls may block (network): run them on the resolver's lookup queue only.
public protocol OrgSource: Sendable {
    /// The org's document, nil if there is no such org.
    func organization(_ org: OrgId) throws(OrgSourceError) -> OrgDocument?
    /// Every org, for generating PgBouncer's configuration.
    func allOrganizations() throws(OrgSourceError) -> [OrgDocument]
    /// Names the source in logs.
    var name: String { get }
}

public enum OrgSourceError: Error, Sendable, CustomStringConvertible {
    /// The source cannot be reached: stale knowledge may be used, guesses may not.
    case unavailable(String)
    /// The stored document cannot be used.
    case invalidDocument(OrgDocumentError)

    public var description: String {
        switch self {
        case .unavailable(let reason): "org source unavailable: \(reason)"
        case .invalidDocument(let error): "invalid org document: \(error)"
        }
    }
}

/// The MongoDB collection of org documents (docs/design.md#tier-source), through `OrganizationCollection` (libmongoc).
public struct MongoOrgSource: OrgSource {
    public let collection: OrganizationCollection

    public init(collection: OrganizationCollection) { self.collection = collection }

    public var name: String { "mongodb" }

    public func organization(_ org: OrgId) throws(OrgSourceError) -> OrgDocument? {
        let json: String?
        do {
            json = try collection.findOrganization(orgId: org.rawValue)
        } catch {
            throw .unavailable(error.description)
        }
        guard let json else { return nil }
        do {
            return try OrgDocument.decode(json: json)
        } catch {
            throw .invalidDocument(error)
        }
    }

    public func allOrganizations() throws(OrgSourceError) -> [OrgDocument] {
        let all: [String]
        do {
            all = try collection.allOrganizations()
        } catch {
            throw .unavailable(error.description)
        }
        var documents: [OrgDocument] = []
        for json in all {
            do { documents.append(try OrgDocument.decode(json: json)) } catch { throw .invalidDocument(error) }
        }
        return documents
    }
}

/// Orgs from a JSON file (an array of documents shaped as in MongoDB), read once at start:
/// the zero-dependency mode, with nothing but Postgres.
public struct FileOrgSource: OrgSource {
    public let path: String
    private let documents: [OrgId: OrgDocument]

    public init(path: String) throws(OrgFileError) {
        self.path = path
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw OrgFileError(path: path, reason: "cannot read: \(error.localizedDescription)")
        }
        do {
            let list = try OrgDocument.decodeList(json: data)
            var byOrg: [OrgId: OrgDocument] = [:]
            for document in list {
                guard byOrg[document.orgId] == nil else {
                    throw OrgFileError(path: path, reason: "org \"\(document.orgId)\" appears twice")
                }
                byOrg[document.orgId] = document
            }
            documents = byOrg
        } catch let error as OrgDocumentError {
            throw OrgFileError(path: path, reason: error.description)
        } catch let error as OrgFileError {
            throw error
        } catch {
            throw OrgFileError(path: path, reason: "\(error)")
        }
    }

    public var name: String { "file \(path)" }

    public func organization(_ org: OrgId) throws(OrgSourceError) -> OrgDocument? { documents[org] }

    public func allOrganizations() throws(OrgSourceError) -> [OrgDocument] {
        documents.keys.sorted().compactMap { documents[$0] }
    }
}

public struct OrgFileError: Error, Sendable, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "\(path): \(reason)" }
}
