import Foundation

/// An org as stored in MongoDB's `organizations` collection (docs/design.md#tier-source), plus where its
/// Postgres database lives.
///
/// Decoded from MongoDB relaxed extended JSON as libmongoc prints it
/// (`bson_as_relaxed_extended_json`: `{"$oid": ...}`, `{"$date": "2025-11-21T20:00:00Z"}`,
/// `{"$date": {"$numberLong": "..."}}`, `{"$numberLong": "..."}`) and from plain JSON
/// (dates as ISO-8601 strings or epoch milliseconds) for a local `--orgs FILE`.
///
/// `tier` stays the stored string: a name TierGate does not know is a resolution error for
/// that org (`OrgTier.resolve`), not a reason to fail reading the whole file. Fields TierGate
/// does not use (`resourceUsage`, `tierHistory`) are ignored.
public struct OrgDocument: Sendable, Equatable {
    /// MongoDB's `_id` (`$oid` hex), when present.
    public var id: String?
    public var orgId: OrgId
    /// As stored: "FREE", "STARTER", "PRO", "ENTERPRISE".
    public var tier: String
    /// Epoch milliseconds of the last tier change (set on every change, docs/design.md#tier-changes).
    public var tierUpdatedAt: Int?
    public var subscription: Subscription?
    public var addons: [Addon]
    public var postgres: PostgresRoute

    public init(id: String? = nil, orgId: OrgId, tier: String, tierUpdatedAt: Int? = nil,
                subscription: Subscription? = nil, addons: [Addon] = [], postgres: PostgresRoute) {
        self.id = id
        self.orgId = orgId
        self.tier = tier
        self.tierUpdatedAt = tierUpdatedAt
        self.subscription = subscription
        self.addons = addons
        self.postgres = postgres
    }

    /// Billing state (docs/design.md#tier-source): an org whose subscription is not active or trialing, or whose
    /// period ended more than a grace ago, is served as FREE (`SubscriptionLapse`).
    public struct Subscription: Sendable, Equatable {
        public var stripeSubscriptionId: String?
        public var plan: String?
        public var status: String?
        /// Epoch milliseconds.
        public var currentPeriodEnd: Int?

        public init(stripeSubscriptionId: String? = nil, plan: String? = nil, status: String? = nil,
                    currentPeriodEnd: Int? = nil) {
            self.stripeSubscriptionId = stripeSubscriptionId
            self.plan = plan
            self.status = status
            self.currentPeriodEnd = currentPeriodEnd
        }
    }

    /// One entry of `addons`. Types other than `burst_scaling` (the design also names
    /// `scale_to_zero_override`, `dedicated_compute`, `extended_timeout`) are kept by name
    /// and grant nothing here.
    public enum Addon: Sendable, Equatable {
        case burstScaling(BurstScalingAddon)
        case other(type: String)
    }

    /// The burst scaling add-on as stored. Older documents write `maxBurstTier` and
    /// `burstDurationMinutes`, newer ones `burstTier` and `maxBurstDurationMinutes` (docs/design.md#bursts); both
    /// spellings are read. Defaults are applied when resolving (`OrgTier.BurstConfig`).
    /// Minutes may be fractional (0.05 is 3 s), so a test or a trial can use short bursts.
    public struct BurstScalingAddon: Sendable, Equatable {
        public var enabled: Bool
        public var baseTier: String?
        public var burstTier: String?
        public var maxBurstDurationMinutes: Double?
        public var cooldownMinutes: Double?
        public var costPerMinute: Double?
        public var autoTrigger: Bool?
        public var notifyOnBurst: Bool?

        public init(enabled: Bool, baseTier: String? = nil, burstTier: String? = nil,
                    maxBurstDurationMinutes: Double? = nil, cooldownMinutes: Double? = nil,
                    costPerMinute: Double? = nil, autoTrigger: Bool? = nil, notifyOnBurst: Bool? = nil) {
            self.enabled = enabled
            self.baseTier = baseTier
            self.burstTier = burstTier
            self.maxBurstDurationMinutes = maxBurstDurationMinutes
            self.cooldownMinutes = cooldownMinutes
            self.costPerMinute = costPerMinute
            self.autoTrigger = autoTrigger
            self.notifyOnBurst = notifyOnBurst
        }
    }

    /// Decodes one document (a MongoDB result or one plain JSON object).
    public static func decode(json: String) throws(OrgDocumentError) -> OrgDocument {
        try decode(json: Data(json.utf8))
    }

    public static func decode(json: Data) throws(OrgDocumentError) -> OrgDocument {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: json)
        } catch {
            throw OrgDocumentError(index: nil, orgId: nil, field: nil, problem: .invalidJSON(error))
        }
        return try decode(value, index: nil)
    }

    /// Decodes a `--orgs FILE`: a JSON array of documents. Errors name the array index
    /// (`orgs[2]`), the org when known, and the field.
    public static func decodeList(json: Data) throws(OrgDocumentError) -> [OrgDocument] {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: json)
        } catch {
            throw OrgDocumentError(index: nil, orgId: nil, field: nil, problem: .invalidJSON(error))
        }
        guard case .array(let items) = value else {
            throw OrgDocumentError(index: nil, orgId: nil, field: nil,
                                   problem: .wrongType(expected: "an array of org documents", found: value.kindDescription))
        }
        var documents: [OrgDocument] = []
        var seen: [OrgId: Int] = [:]
        for (index, item) in items.enumerated() {
            let document = try decode(item, index: index)
            if let first = seen[document.orgId] {
                throw OrgDocumentError(index: index, orgId: document.orgId.rawValue, field: "orgId",
                                       problem: .invalid("duplicate of orgs[\(first)]"))
            }
            seen[document.orgId] = index
            documents.append(document)
        }
        return documents
    }

    static func decode(_ value: JSONValue, index: Int?) throws(OrgDocumentError) -> OrgDocument {
        var orgName: String?
        do throws(FieldFailure) {
            let root = try FieldReader(value, path: "", strict: false)
            orgName = try root.string("orgId")
            let orgId: OrgId
            do {
                orgId = try OrgId(orgName!)
            } catch {
                throw FieldFailure(field: "orgId", problem: .invalid(error.description))
            }
            return OrgDocument(
                id: try objectId(root),
                orgId: orgId,
                tier: try root.string("tier"),
                tierUpdatedAt: try root.optionalDate("tierUpdatedAt"),
                subscription: try subscription(root),
                addons: try addons(root),
                postgres: try PostgresRoute(reading: try root.nested("postgres")))
        } catch {
            throw OrgDocumentError(index: index, orgId: orgName, field: error.field.isEmpty ? nil : error.field,
                                   problem: error.problem)
        }
    }

    private static func objectId(_ root: FieldReader) throws(FieldFailure) -> String? {
        switch root.optionalValue("_id") {
        case nil: return nil
        case .string(let s)?: return s
        case .object(let o)? where o["$oid"]?.stringValue != nil: return o["$oid"]!.stringValue
        case let other?:
            throw FieldFailure(field: "_id", problem: .wrongType(expected: "an ObjectId", found: other.kindDescription))
        }
    }

    private static func subscription(_ root: FieldReader) throws(FieldFailure) -> Subscription? {
        guard let sub = try root.optionalNested("subscription") else { return nil }
        return Subscription(stripeSubscriptionId: try sub.optionalString("stripeSubscriptionId"),
                            plan: try sub.optionalString("plan"),
                            status: try sub.optionalString("status"),
                            currentPeriodEnd: try sub.optionalDate("currentPeriodEnd"))
    }

    private static func addons(_ root: FieldReader) throws(FieldFailure) -> [Addon] {
        guard let value = root.optionalValue("addons") else { return [] }
        guard case .array(let items) = value else {
            throw FieldFailure(field: "addons", problem: .wrongType(expected: "an array", found: value.kindDescription))
        }
        var addons: [Addon] = []
        for (i, item) in items.enumerated() {
            let addon = try FieldReader(item, path: "addons[\(i)]", strict: false)
            let type = try addon.string("type")
            guard type == "burst_scaling" else {
                addons.append(.other(type: type))
                continue
            }
            // `??` takes an untyped-throwing autoclosure, so each spelling is read on its own.
            let burstTier = try addon.optionalString("burstTier")
            let maxBurstTier = try addon.optionalString("maxBurstTier")
            let maxBurstDuration = try addon.optionalNumber("maxBurstDurationMinutes")
            let burstDuration = try addon.optionalNumber("burstDurationMinutes")
            let cooldown = try addon.optionalNumber("cooldownMinutes")
            let cost = try addon.optionalNumber("costPerMinute")
            // A burst of zero minutes, a negative cooldown or price would silently disable
            // the add-on or the runaway protection (docs/design.md#bursts): refuse the document instead.
            for (key, value) in [("maxBurstDurationMinutes", maxBurstDuration), ("burstDurationMinutes", burstDuration)] {
                if let value, !(value > 0) {
                    throw FieldFailure(field: "addons[\(i)].\(key)", problem: .mustBePositive(got: "\(value)"))
                }
            }
            for (key, value) in [("cooldownMinutes", cooldown), ("costPerMinute", cost)] {
                if let value, value < 0 {
                    throw FieldFailure(field: "addons[\(i)].\(key)", problem: .mustNotBeNegative(got: "\(value)"))
                }
            }
            addons.append(.burstScaling(BurstScalingAddon(
                enabled: try addon.optionalBool("enabled") ?? false,
                baseTier: try addon.optionalString("baseTier"),
                burstTier: burstTier ?? maxBurstTier,
                maxBurstDurationMinutes: maxBurstDuration ?? burstDuration,
                cooldownMinutes: cooldown,
                costPerMinute: cost,
                autoTrigger: try addon.optionalBool("autoTrigger"),
                notifyOnBurst: try addon.optionalBool("notifyOnBurst"))))
        }
        return addons
    }
}

/// Where an org's Postgres databases are and which roles may connect for it. Routing is
/// never guessed: a document without `postgres.databases` (or the older one-database form
/// `postgres.database`) is refused rather than sent to a database named like the org, and
/// one without `postgres.roles` admits no role (its connections are refused as an invalid
/// org record).
public struct PostgresRoute: Sendable, Hashable {
    /// The org's databases, the first its default; never empty.
    public var databases: [String]
    /// The Postgres roles that may connect for the org; empty when the document names none,
    /// and then none may.
    public var roles: [String]
    /// nil: the proxy's configured upstream host.
    public var host: String?
    /// nil: the proxy's configured upstream port.
    public var port: Int?

    /// The default database: where a client goes that names none.
    public var database: String { databases[0] }

    /// - Precondition: `databases` is not empty.
    public init(databases: [String], roles: [String] = [], host: String? = nil, port: Int? = nil) {
        precondition(!databases.isEmpty, "an org route needs a database")
        self.databases = databases
        self.roles = roles
        self.host = host
        self.port = port
    }

    public init(database: String, roles: [String] = [], host: String? = nil, port: Int? = nil) {
        self.init(databases: [database], roles: roles, host: host, port: port)
    }

    /// Whether `role` may connect for the org (exact match: Postgres role names are
    /// case-sensitive once past the client's quoting).
    public func admits(role: String) -> Bool {
        roles.contains(role)
    }

    /// The database a client reaches when it asks for `requested`: the default when it names
    /// none, or names its role or its whole startup user (libpq and most drivers default the
    /// database to the user name, here `<role>.<orgId>`); a listed database as named; nil for
    /// any other, which does not exist as far as this org is concerned.
    public func database(requested: String?, startupUser: String, role: String) -> String? {
        guard let requested, !requested.isEmpty, requested != startupUser, requested != role else { return database }
        return databases.contains(requested) ? requested : nil
    }

    init(reading route: FieldReader) throws(FieldFailure) {
        let single = try route.optionalString("database")
        let list = try Self.names(route, "databases")
        if let single, single.isEmpty { throw FieldFailure(field: route.field("database"), problem: .invalid("empty")) }
        switch (single, list) {
        case (nil, nil):
            throw FieldFailure(field: route.field("database"), problem: .missing)
        case (let single?, nil):
            databases = [single]
        case (let single, let list?):
            guard !list.isEmpty else {
                throw FieldFailure(field: route.field("databases"), problem: .invalid("empty: list at least one database"))
            }
            if let single, single != list[0] {
                throw FieldFailure(field: route.field("database"), problem: .invalid(
                    "\"\(single)\" is not the first of postgres.databases (the default); give one of the two"))
            }
            databases = list
        }
        roles = try Self.names(route, "roles") ?? []
        host = try route.optionalString("host")
        if host?.isEmpty == true { throw FieldFailure(field: route.field("host"), problem: .invalid("empty")) }
        port = try route.optionalInteger("port")
        if let port, !(1...65535).contains(port) {
            throw FieldFailure(field: route.field("port"), problem: .outOfRange(got: String(port), allowed: "1...65535"))
        }
    }

    /// An optional array of distinct, non-empty strings.
    private static func names(_ route: FieldReader, _ key: String) throws(FieldFailure) -> [String]? {
        guard let value = route.optionalValue(key) else { return nil }
        guard case .array(let items) = value else {
            throw FieldFailure(field: route.field(key), problem: .wrongType(expected: "an array of names", found: value.kindDescription))
        }
        var names: [String] = []
        for (i, item) in items.enumerated() {
            guard case .string(let name) = item else {
                throw FieldFailure(field: "\(route.field(key))[\(i)]", problem: .wrongType(expected: "a string", found: item.kindDescription))
            }
            guard !name.isEmpty else { throw FieldFailure(field: "\(route.field(key))[\(i)]", problem: .invalid("empty")) }
            guard !names.contains(name) else {
                throw FieldFailure(field: "\(route.field(key))[\(i)]", problem: .invalid("\"\(name)\" is listed twice"))
            }
            names.append(name)
        }
        return names
    }

    var jsonValue: JSONValue {
        var object: JSONObject = ["databases": .array(databases.map(JSONValue.string)),
                                  "roles": .array(roles.map(JSONValue.string))]
        if let host { object["host"] = .string(host) }
        if let port { object["port"] = .integer(port) }
        return .object(object)
    }
}

/// An org document TierGate cannot use; names the list index, the org and the field.
public struct OrgDocumentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Position in a `--orgs` list; nil for a single document.
    public let index: Int?
    /// The document's `orgId` when it could be read.
    public let orgId: String?
    /// Dotted field (`postgres.database`, `addons[0].enabled`); nil for the whole document.
    public let field: String?
    public let problem: FieldProblem

    public init(index: Int?, orgId: String?, field: String?, problem: FieldProblem) {
        self.index = index
        self.orgId = orgId
        self.field = field
        self.problem = problem
    }

    public var description: String {
        var where_ = index.map { "orgs[\($0)]" } ?? "org document"
        if let orgId { where_ += " (org \"\(orgId)\")" }
        if let field { where_ += ": \(field)" }
        return "\(where_): \(problem)"
    }
}
