import CMongoc

/// The `organizations` collection, MongoDB being the source of truth for each org's paid
/// tier (docs/design.md#tier-source). Documents cross this boundary as relaxed extended JSON strings;
/// TierModel's `OrgDocument` decodes them, so no domain type is defined here.
///
/// Every method blocks (see `MongoClientPool`): call from the lookup queue only. Safe to
/// share between threads: each call borrows its own client from the pool.
public final class OrganizationCollection: Sendable {
    public static let defaultDatabase = "dynabase"
    public static let defaultCollection = "organizations"

    public let pool: MongoClientPool
    public let databaseName: String
    public let collectionName: String

    public init(pool: MongoClientPool, database: String = defaultDatabase,
                collection: String = defaultCollection) {
        self.pool = pool
        self.databaseName = database
        self.collectionName = collection
    }

    /// Creates its own pool from `uri`; see `MongoClientPool.init(uri:serverSelectionTimeout:appName:)`.
    public convenience init(uri: String, database: String = defaultDatabase,
                            collection: String = defaultCollection,
                            serverSelectionTimeout: Duration = MongoClientPool.defaultServerSelectionTimeout)
        throws(MongoStoreError) {
        try self.init(pool: MongoClientPool(uri: uri, serverSelectionTimeout: serverSelectionTimeout),
                      database: database, collection: collection)
    }

    /// `findOne({ orgId })` (docs/design.md#tier-source): the document as relaxed extended JSON, or nil
    /// when no organization has this id.
    public func findOrganization(orgId: String) throws(MongoStoreError) -> String? {
        let options = BSONDocument()
        options.append("limit", Int64(1))
        return try find(filter: BSONDocument("orgId", orgId), options: options).first
    }

    /// Every organization document, as relaxed extended JSON, in natural order. For warming
    /// caches and for the admin console; not for the connection path.
    public func allOrganizations() throws(MongoStoreError) -> [String] {
        try find(filter: BSONDocument(), options: nil)
    }

    /// Checks that MongoDB is reachable and answering.
    public func ping() throws(MongoStoreError) {
        try pool.ping()
    }

    /// Inserts one organization given as extended JSON. Used by the demo seed and tests; in
    /// production, billing writes this collection.
    public func insertOrganization(json: String) throws(MongoStoreError) {
        let document = try BSONDocument(json: json)
        try withCollection { collection throws(MongoStoreError) in
            try withReplyDocument { reply throws(MongoStoreError) in
                var error = bson_error_t()
                guard mongoc_collection_insert_one(collection, document.pointer, nil, reply, &error) else {
                    throw MongoStoreError(error)
                }
            }
        }
    }

    /// Replaces the document whose `orgId` is `orgId` with `json` (a tier change, docs/design.md#tier-changes);
    /// with `upsert`, inserts it when absent. Returns whether a document was replaced or inserted.
    @discardableResult
    public func replaceOrganization(orgId: String, json: String, upsert: Bool = true) throws(MongoStoreError) -> Bool {
        let replacement = try BSONDocument(json: json)
        let filter = BSONDocument("orgId", orgId)
        let options = BSONDocument()
        options.append("upsert", upsert)
        return try withCollection { collection throws(MongoStoreError) in
            try withReplyDocument { reply throws(MongoStoreError) in
                var error = bson_error_t()
                guard mongoc_collection_replace_one(collection, filter.pointer, replacement.pointer,
                                                    options.pointer, reply, &error) else {
                    throw MongoStoreError(error)
                }
                return BSONDocument.integer("matchedCount", in: reply) > 0
                    || BSONDocument.integer("upsertedCount", in: reply) > 0
            }
        }
    }

    /// Deletes every document with this `orgId`; returns whether any existed.
    @discardableResult
    public func deleteOrganization(orgId: String) throws(MongoStoreError) -> Bool {
        let filter = BSONDocument("orgId", orgId)
        return try withCollection { collection throws(MongoStoreError) in
            try withReplyDocument { reply throws(MongoStoreError) in
                var error = bson_error_t()
                guard mongoc_collection_delete_many(collection, filter.pointer, nil, reply, &error) else {
                    throw MongoStoreError(error)
                }
                return BSONDocument.integer("deletedCount", in: reply) > 0
            }
        }
    }

    // MARK: - libmongoc plumbing

    private func find(filter: BSONDocument, options: BSONDocument?) throws(MongoStoreError) -> [String] {
        try withCollection { collection throws(MongoStoreError) in
            guard let cursor = mongoc_collection_find_with_opts(collection, filter.pointer, options?.pointer, nil) else {
                throw .driver(domain: 0, code: 0, message: "libmongoc returned no cursor")
            }
            defer { mongoc_cursor_destroy(cursor) }
            var documents: [String] = []
            var document: OpaquePointer?
            while mongoc_cursor_next(cursor, &document), let document {
                documents.append(BSONDocument.relaxedJSON(document))
            }
            // The loop also ends on failure; only the cursor knows which.
            var error = bson_error_t()
            if mongoc_cursor_error(cursor, &error) {
                throw MongoStoreError(error)
            }
            return documents
        }
    }

    /// Lends the collection handle of a pooled client for the duration of `body`.
    private func withCollection<R>(_ body: (OpaquePointer) throws(MongoStoreError) -> R) throws(MongoStoreError) -> R {
        try pool.withClient { client throws(MongoStoreError) in
            guard let collection = mongoc_client_get_collection(client, databaseName, collectionName) else {
                throw .driver(domain: 0, code: 0, message: "libmongoc returned no collection handle")
            }
            defer { mongoc_collection_destroy(collection) }
            return try body(collection)
        }
    }
}
