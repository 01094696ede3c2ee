import Testing
import TierStore

extension StoreTests {
    /// Parsing `redis://HOST[:PORT][/DB]`, the form the CLI accepts.
    struct RedisURLTests {
        @Test(arguments: [
            ("redis://127.0.0.1:56379", RedisURL(host: "127.0.0.1", port: 56379, database: 0)),
            ("redis://cache.internal", RedisURL(host: "cache.internal", port: 6379, database: 0)),
            ("redis://localhost:6380/2", RedisURL(host: "localhost", port: 6380, database: 2)),
            ("redis://localhost/5", RedisURL(host: "localhost", port: 6379, database: 5)),
            ("redis://[::1]:7000/1", RedisURL(host: "::1", port: 7000, database: 1)),
            ("redis://h:1/", RedisURL(host: "h", port: 1, database: 0)),
        ])
        func validURL_isParsed(text: String, expected: RedisURL) throws {
            #expect(try RedisURL(parsing: text) == expected)
        }

        @Test(arguments: [
            "127.0.0.1:6379", "http://h:1", "rediss://h:1", "redis://", "redis://:6379",
            "redis://h:port", "redis://h:0", "redis://h:70000", "redis://h:1/x", "redis://h:1/-1",
            "redis://user:pw@h:1", "redis://h:1?timeout=1", "redis://[::1", "redis://[::1]x",
        ])
        func invalidURL_isRejectedWithReason(text: String) {
            #expect {
                try RedisURL(parsing: text)
            } throws: { error in
                guard case let .invalidURL(url, reason) = error as? RedisError else { return false }
                return url == text && !reason.isEmpty
            }
        }

        @Test func description_roundTrips() throws {
            for text in ["redis://127.0.0.1:56379", "redis://[::1]:7000/1"] {
                #expect(try RedisURL(parsing: text).description == text)
            }
        }
    }
}
