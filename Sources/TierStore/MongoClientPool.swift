import CMongoc
import Logging
import TierModel

/// The process's connections to MongoDB: one libmongoc `mongoc_client_pool_t`, the only
/// code in TierGate (with `OrganizationCollection` and `BSONDocument`) that calls libmongoc.
///
/// Each operation pops a client, uses it, and pushes it back, so any number of threads can
/// share one pool; libmongoc documents the pool (not a client) as thread-safe. The pool's
/// background threads monitor the server, which is how a restarted MongoDB is picked up again
/// without reconnect logic here.
///
/// Calls block: for up to the server selection timeout when MongoDB is down. Run them on
/// the tier lookup queue, never on the proxy's I/O queues.
public final class MongoClientPool: @unchecked Sendable {
    /// Short on purpose: "MongoDB is down" must fail a lookup in seconds (libmongoc's default
    /// is 30 s), so the resolver can fall back to its cache or refuse with a clear error.
    public static let defaultServerSelectionTimeout: Duration = .milliseconds(2000)

    // Both immutable after init; the pool is thread-safe by libmongoc's contract, hence
    // `@unchecked Sendable`.
    private let uri: OpaquePointer    // mongoc_uri_t*
    private let pool: OpaquePointer   // mongoc_client_pool_t*

    /// Creates the pool. Does not contact the server: a wrong host shows up at the first call.
    ///
    /// `serverSelectionTimeoutMS` and `connectTimeoutMS` given in `uri` win over
    /// `serverSelectionTimeout`, which otherwise sets both.
    public init(uri text: String, serverSelectionTimeout: Duration = defaultServerSelectionTimeout,
                appName: String = "tiergate") throws(MongoStoreError) {
        MongocLibrary.initializeOnce()
        var error = bson_error_t()
        guard let uri = mongoc_uri_new_with_error(text, &error) else {
            throw .invalidURI(MongoStoreError.message(of: error))
        }
        let milliseconds = Int32(clamping: serverSelectionTimeout.milliseconds)
        for option in [MONGOC_URI_SERVERSELECTIONTIMEOUTMS, MONGOC_URI_CONNECTTIMEOUTMS]
        where !mongoc_uri_has_option(uri, option) {
            _ = mongoc_uri_set_option_as_int32(uri, option, milliseconds)
        }
        // A server that accepts and never answers (frozen) holds a call for libmongoc's
        // socket timeout, 300 s by default: bounded here so the calling thread comes back.
        if !mongoc_uri_has_option(uri, MONGOC_URI_SOCKETTIMEOUTMS) {
            _ = mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, Int32(clamping: max(5000, 2 * serverSelectionTimeout.milliseconds)))
        }
        guard let pool = mongoc_client_pool_new_with_error(uri, &error) else {
            mongoc_uri_destroy(uri)
            throw .invalidURI(MongoStoreError.message(of: error))
        }
        // Version 2 reports server-side errors in their own domain, so `MongoStoreError`
        // can tell "MongoDB said no" from "MongoDB is unreachable". Must precede the first pop.
        _ = mongoc_client_pool_set_error_api(pool, Int32(MONGOC_ERROR_API_VERSION_2))
        _ = mongoc_client_pool_set_appname(pool, appName)
        self.uri = uri
        self.pool = pool
    }

    deinit {
        mongoc_client_pool_destroy(pool)
        mongoc_uri_destroy(uri)
    }

    /// Runs the `ping` command: succeeds when a server is selectable and answers.
    public func ping() throws(MongoStoreError) {
        try withClient { client throws(MongoStoreError) in
            let command = BSONDocument()
            command.append("ping", Int64(1))
            try withReplyDocument { reply throws(MongoStoreError) in
                var error = bson_error_t()
                guard mongoc_client_command_simple(client, "admin", command.pointer, nil, reply, &error) else {
                    throw MongoStoreError(error)
                }
            }
        }
    }

    /// Lends a `mongoc_client_t*` for the duration of `body`, then returns it to the pool.
    /// The client must not escape `body`: a popped client belongs to one thread at a time.
    func withClient<R>(_ body: (OpaquePointer) throws(MongoStoreError) -> R) throws(MongoStoreError) -> R {
        // Blocks only when all maxPoolSize (default 100) clients are in use.
        guard let client = mongoc_client_pool_pop(pool) else {
            throw .driver(domain: 0, code: 0, message: "libmongoc's pool returned no client")
        }
        defer { mongoc_client_pool_push(pool, client) }
        return try body(client)
    }
}

/// `mongoc_init()` must run once per process before any other libmongoc call. A static
/// `let` is initialized exactly once, thread-safely, on first use. `mongoc_cleanup()` is never
/// called: the pool lives until the process exits.
///
/// libmongoc's default log handler prints every message down to DEBUG (a monitor retrying a
/// down server logs twice a second) on stdout. The handler installed here forwards warnings
/// and errors to swift-log and drops the rest; the label is fixed because the hook is
/// process-wide and cannot receive a caller's logger.
private enum MongocLibrary {
    static let logger = Logger(label: "tiergate.mongoc")

    private static let initialized: Void = {
        mongoc_init()
        mongoc_log_set_handler({ level, domain, message, _ in
            let swiftLevel: Logger.Level
            switch level {
            case MONGOC_LOG_LEVEL_ERROR, MONGOC_LOG_LEVEL_CRITICAL: swiftLevel = .error
            case MONGOC_LOG_LEVEL_WARNING: swiftLevel = .warning
            default: return
            }
            let text = message.map { String(cString: $0) } ?? ""
            MongocLibrary.logger.log(level: swiftLevel, "\(text)",
                                     metadata: ["mongoc.domain": "\(domain.map { String(cString: $0) } ?? "")"])
        }, nil)
    }()

    static func initializeOnce() {
        _ = initialized
    }
}
