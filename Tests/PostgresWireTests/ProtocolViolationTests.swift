import Testing
@testable import PostgresWire

@Suite struct ProtocolViolationTests {
    @Test func defaultSQLState_isProtocolViolation08P01() {
        #expect(ProtocolViolation("bad").sqlState == "08P01")
    }

    @Test func sqlStateConstants_matchPostgresAppendixA() {
        #expect(SQLState.protocolViolation == "08P01")
        #expect(SQLState.featureNotSupported == "0A000")
        #expect(SQLState.programLimitExceeded == "54000")
    }

    @Test func errorResponse_isFatalWithTheViolationsSQLStateAndMessage() {
        let violation = ProtocolViolation(sqlState: SQLState.featureNotSupported, "unsupported frontend protocol 4.0")
        let error = violation.errorResponse
        #expect(error[.severityLocalized] == "FATAL")
        #expect(error[.severity] == "FATAL")
        #expect(error.sqlState == "0A000")
        #expect(error.message == "unsupported frontend protocol 4.0")
    }
}
