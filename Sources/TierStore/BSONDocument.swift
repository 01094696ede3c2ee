import CMongoc

/// A BSON document owned by Swift (`bson_t*` from `bson_new`), freed in `deinit`.
///
/// `bson_t` and `bson_iter_t` are declared 128-byte aligned, which Swift cannot represent, so
/// libbson's functions take them as `OpaquePointer` and stack values are impossible:
/// storage for them is allocated here with the alignment C expects.
///
/// Only what the organization store needs: build filters and options, parse the JSON
/// callers hand in, and render documents as relaxed extended JSON. Decoding organization
/// documents into domain types belongs to TierModel (`OrgDocument`), which reads that JSON.
final class BSONDocument {
    let pointer: OpaquePointer   // bson_t*

    /// An empty document.
    init() {
        pointer = bson_new()
    }

    /// Parses canonical or relaxed extended JSON (`{"$oid": ...}`, `{"$date": ...}` allowed).
    init(json: String) throws(MongoStoreError) {
        var error = bson_error_t()
        let bytes = Array(json.utf8)
        let parsed = bytes.withUnsafeBufferPointer { buffer in
            bson_new_from_json(buffer.baseAddress, buffer.count, &error)
        }
        guard let parsed else { throw .invalidJSON(MongoStoreError.message(of: error)) }
        pointer = parsed
    }

    deinit {
        bson_destroy(pointer)
    }

    /// A one-field document `{ key: value }`, e.g. the filter `{ orgId: "org_acme" }`.
    convenience init(_ key: String, _ value: String) {
        self.init()
        append(key, value)
    }

    func append(_ key: String, _ value: String) {
        _ = bson_append_utf8(pointer, key, Int32(key.utf8.count), value, Int32(value.utf8.count))
    }

    func append(_ key: String, _ value: Int64) {
        _ = bson_append_int64(pointer, key, Int32(key.utf8.count), value)
    }

    func append(_ key: String, _ value: Bool) {
        _ = bson_append_bool(pointer, key, Int32(key.utf8.count), value)
    }

    var relaxedJSON: String { Self.relaxedJSON(pointer) }

    /// Renders any document, including ones libmongoc lends (cursor results), as relaxed
    /// extended JSON: plain numbers and strings stay plain, dates become `{"$date": ISO-8601}`.
    static func relaxedJSON(_ document: OpaquePointer) -> String {
        guard let text = bson_as_relaxed_extended_json(document, nil) else { return "{}" }
        defer { bson_free(text) }
        return String(cString: text)
    }

    /// An integer field of a reply document (`deletedCount`, `matchedCount`, ...), 0 if absent.
    static func integer(_ key: String, in document: OpaquePointer) -> Int64 {
        withAlignedStorage(MemoryLayout<bson_iter_t>.size) { iterator in
            bson_iter_init_find(iterator, document, key) ? bson_iter_as_int64(iterator) : 0
        }
    }
}

/// Storage for a reply document that a libmongoc call fills in (`reply` out-parameters).
/// It starts as an empty document, so destroying it is correct whether or not the body
/// reached libmongoc.
func withReplyDocument<R>(_ body: (OpaquePointer) throws(MongoStoreError) -> R) throws(MongoStoreError) -> R {
    try withAlignedStorage(MemoryLayout<bson_t>.size) { (reply) throws(MongoStoreError) -> R in
        bson_init(reply)
        defer { bson_destroy(reply) }
        return try body(reply)
    }
}

/// Temporary storage for a 128-byte-aligned libbson struct (`bson_t`, `bson_iter_t`).
private func withAlignedStorage<R, E: Error>(_ size: Int, _ body: (OpaquePointer) throws(E) -> R) throws(E) -> R {
    let storage = UnsafeMutableRawPointer.allocate(byteCount: max(size, 128), alignment: 128)
    storage.initializeMemory(as: UInt8.self, repeating: 0, count: max(size, 128))
    defer { storage.deallocate() }
    return try body(OpaquePointer(storage))
}

extension MongoStoreError {
    /// Maps a libmongoc error to the case a caller acts on.
    init(_ error: bson_error_t) {
        let message = Self.message(of: error)
        switch error.domain {
        case MONGOC_ERROR_SERVER_SELECTION.rawValue, MONGOC_ERROR_STREAM.rawValue:
            self = .unavailable(message)
        case MONGOC_ERROR_SERVER.rawValue, MONGOC_ERROR_WRITE_CONCERN.rawValue:
            self = .server(code: error.code, message: message)
        default:
            self = .driver(domain: error.domain, code: error.code, message: message)
        }
    }

    static func message(of error: bson_error_t) -> String {
        withUnsafeBytes(of: error.message) { buffer in
            String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
