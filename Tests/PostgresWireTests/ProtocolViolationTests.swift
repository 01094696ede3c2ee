import Testing
@testable import PostgresWire

@Suite struct ProtocolViolationTests {
    @Test func defaultSQLState_isProtocolViolation08P01() {
        #expect(ProtocolViolation("bad").sqlState == .protocolViolation)
    }

    @Test func errorResponse_isFatalWithTheViolationsSQLStateAndMessage() {
        let violation = ProtocolViolation(sqlState: SQLState.featureNotSupported, "unsupported frontend protocol 4.0")
        let error = violation.errorResponse
        #expect(error[.severityLocalized] == "FATAL")
        #expect(error[.severity] == "FATAL")
        #expect(error.sqlState == .featureNotSupported)
        #expect(error.message == "unsupported frontend protocol 4.0")
    }
}
