@testable import PostgresClient
import Testing

extension StoreTests {
    /// Reading a startup FATAL's fields back from libpq's verbose error text.
    struct ConnectionErrorTextTests {
        @Test func verboseRefusal_yieldsSQLStateDetailAndHint() {
            let text = """
                connection to server at "127.0.0.1", port 6432 failed: FATAL:  53300: too many connections for org "org_acme"
                DETAIL:  tier FREE allows 5 connections;
                5 are open
                HINT:  Upgrade to STARTER for 10 connections.
                LOCATION:  tiergate

                """
            let error = ConnectionErrorText.parse(text)
            #expect(error.kind == .connection)
            #expect(error.severity == "FATAL")
            #expect(error.sqlState == "53300")
            #expect(error.message == #"too many connections for org "org_acme""#)
            #expect(error.detail == "tier FREE allows 5 connections;\n5 are open")
            #expect(error.hint == "Upgrade to STARTER for 10 connections.")
        }

        @Test func libpqOwnError_isKeptWholeWithoutSQLState() {
            let text = """
                connection to server at "127.0.0.1", port 1 failed: Connection refused
                \tIs the server running on that host and accepting TCP/IP connections?

                """
            let error = ConnectionErrorText.parse(text)
            #expect(error.sqlState == nil)
            #expect(error.message.hasPrefix("connection to server at"))
            #expect(error.message.hasSuffix("TCP/IP connections?"))
        }

        @Test func secondHostsError_doesNotLeakIntoFirst() {
            let text = """
                connection to server at "a", port 1 failed: FATAL:  28000: no pg_hba.conf entry
                connection to server at "b", port 2 failed: FATAL:  3D000: database "x" does not exist

                """
            let error = ConnectionErrorText.parse(text)
            #expect(error.sqlState == "28000")
            #expect(error.message == "no pg_hba.conf entry")
        }
    }
}
