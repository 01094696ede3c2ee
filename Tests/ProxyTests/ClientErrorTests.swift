import PostgresWire
import Testing
@testable import Proxy

struct ClientErrorTests {
    /// Without an admitter's own wording, an idle session ends as Postgres ends one.
    @Test func idleSessionTimeout_isPostgres57P05() {
        let error = IdleTimeout(.seconds(300)).error
        #expect(error.sqlState == .idleSessionTimeout)
        #expect(error[.severity] == "FATAL")
        #expect(error.message == "terminating connection due to idle-session timeout")
        #expect(error[.detail] == "The session was idle for 300 s, the idle timeout.")
        #expect(error[.hint] == nil)
    }
}
