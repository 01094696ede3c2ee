import Testing
@testable import PostgresWire

/// Postgres Appendix A, "PostgreSQL Error Codes".
@Suite struct SQLStateTests {
    @Test func namedCodes_matchPostgresAppendixA() {
        let expected: [(SQLState, String)] = [
            (.connectionFailure, "08006"),
            (.protocolViolation, "08P01"),
            (.featureNotSupported, "0A000"),
            (.invalidAuthorizationSpecification, "28000"),
            (.invalidCatalogName, "3D000"),
            (.insufficientPrivilege, "42501"),
            (.tooManyConnections, "53300"),
            (.programLimitExceeded, "54000"),
            (.queryCanceled, "57014"),
            (.adminShutdown, "57P01"),
            (.cannotConnectNow, "57P03"),
            (.idleSessionTimeout, "57P05"),
        ]
        for (state, raw) in expected {
            #expect(state.rawValue == raw)
            #expect(SQLState(rawValue: raw) == state, "\(raw) parses to its named code")
            #expect(state.description == raw)
        }
        #expect(Set(expected.map(\.0)).count == expected.count, "no two names share a code")
    }

    @Test func rawValue_acceptsAnyWellFormedCode() {
        #expect(SQLState(rawValue: "42P01")?.rawValue == "42P01")
        #expect(SQLState(rawValue: "01000")?.rawValue == "01000")
        #expect(SQLState(rawValue: "XX000")?.rawValue == "XX000")
    }

    @Test func rawValue_rejectsMalformedCodes() {
        for raw in ["", "5330", "533000", "08p01", "08 01", "0800\u{0}", "５３３００", "53-00", "?"] {
            #expect(SQLState(rawValue: raw) == nil, "\(raw.debugDescription)")
        }
    }

    @Test func errorResponse_carriesTheCodeInItsCField() {
        let error = ErrorResponse(severity: .fatal, sqlState: .cannotConnectNow, message: "m")
        #expect(error[.sqlState] == "57P03")
        #expect(error.sqlState == .cannotConnectNow)
    }

    @Test func errorResponse_withAMalformedCField_hasNoSQLStateButKeepsTheRawText() {
        var error = ErrorResponse(severity: .error, sqlState: .queryCanceled, message: "m")
        error[.sqlState] = "bogus"
        #expect(error.sqlState == nil)
        #expect(error[.sqlState] == "bogus")
        error[.sqlState] = nil
        #expect(error.sqlState == nil)
    }
}
