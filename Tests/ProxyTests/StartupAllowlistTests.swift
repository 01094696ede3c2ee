import PostgresWire
import Testing
@testable import Proxy

/// What a client may put in its startup packet, and what the proxy sends on.
struct StartupAllowlistTests {
    static func check(_ parameters: [(String, String)]) -> Result<StartupMessage, ProtocolViolation> {
        StartupAllowlist.check(StartupMessage(parameters: parameters.map { (name: $0.0, value: $0.1) }))
    }

    static func refusal(_ parameters: [(String, String)]) -> ProtocolViolation? {
        if case .failure(let violation) = check(parameters) { return violation }
        return nil
    }

    static func checked(_ parameters: [(String, String)]) -> [String]? {
        guard case .success(let message) = check(parameters) else { return nil }
        return message.parameters.map { "\($0.name)=\($0.value)" }
    }

    @Test func psql_isForwardedUnchanged() {
        let psql = [("user", "acme_app.org_acme"), ("database", "acme"), ("application_name", "psql"),
                    ("client_encoding", "UTF8")]
        #expect(Self.checked(psql) == psql.map { "\($0.0)=\($0.1)" })
    }

    @Test func pgjdbc_isForwarded() {
        let jdbc = [("user", "acme_app.org_acme"), ("database", "acme"), ("client_encoding", "UTF8"), ("DateStyle", "ISO"),
                    ("TimeZone", "Europe/Berlin"), ("extra_float_digits", "3"), ("application_name", "PostgreSQL JDBC Driver"),
                    ("search_path", "app, public")]
        #expect(Self.checked(jdbc) == jdbc.map { "\($0.0)=\($0.1)" })
    }

    @Test func protocolOptions_areForwardedForPostgresToNegotiate() {
        #expect(Self.checked([("user", "u"), ("_pq_.some_extension", "on")]) == ["user=u", "_pq_.some_extension=on"])
    }

    @Test(arguments: ["user", "database", "options", "_pq_.x", "application_name"])
    func aRepeatedName_isRefused(_ name: String) {
        let first = name == "user" ? [] : [("user", "u")]
        let (a, b) = name == "options" ? ("-c geqo=on", "-c geqo=off") : ("a", "b")
        let violation = Self.refusal(first + [(name, a), (name, b)])
        #expect(violation?.sqlState == .protocolViolation)
        #expect(violation?.message == "duplicate startup parameter \"\(name)\"")
    }

    @Test func aParameterRepeatedInAnotherCase_orByItsAlias_isRefused() {
        #expect(Self.refusal([("user", "u"), ("DateStyle", "ISO"), ("datestyle", "German")])?.sqlState == .protocolViolation)
        #expect(Self.refusal([("user", "u"), ("work_mem", "1MB"), ("sort_mem", "1GB")])?.sqlState == .protocolViolation)
    }

    @Test(arguments: ["statement_timeout", "work_mem", "sort_mem", "lock_timeout", "idle_in_transaction_session_timeout"])
    func sessionLimitKeys_moveIntoOptions_afterTheClientsOwnSettings(_ name: String) {
        let canonical = name == "sort_mem" ? "work_mem" : name
        #expect(Self.checked([("user", "u"), (name, "0"), ("options", "-c geqo=off")])
                == ["user=u", "options=-c geqo=off -c \(canonical)=0"])
    }

    @Test(arguments: ["role", "session_authorization", "shared_buffers",
                      "default_transaction_read_only", "USER", "Database", "my.custom"])
    func otherParameters_areRefused(_ name: String) {
        let violation = Self.refusal([("user", "u"), (name, "x")])
        #expect(violation?.sqlState == .protocolViolation)
        #expect(violation?.message == "startup parameter \"\(name)\" is not allowed")
    }

    @Test func otherParametersInOptions_areRefused() {
        #expect(Self.refusal([("user", "u"), ("options", "-c role=postgres")])?.message
                == "parameter \"role\" may not be set in startup options")
        #expect(Self.refusal([("user", "u"), ("options", "-S 1000000")])?.sqlState == .protocolViolation)
    }

    @Test func optionsAreRebuilt_fromTheCheckedSettingsOnly() {
        #expect(Self.checked([("user", "u"), ("options", #"--Work-Mem=2MB  -cDateStyle=ISO\,\ MDY"#)])
                == ["user=u", #"options=-c work_mem=2MB -c datestyle=ISO,\ MDY"#])
    }

    @Test func renegotiationLimit_fromOldNpgsql_isDropped() {
        #expect(Self.checked([("user", "u"), ("ssl_renegotiation_limit", "0")]) == ["user=u"])
    }

    @Test func replication_isRefused_unlessOff() {
        #expect(Self.refusal([("user", "u"), ("replication", "database")])?.sqlState == .featureNotSupported)
        #expect(Self.refusal([("user", "u"), ("replication", "true")])?.sqlState == .featureNotSupported)
        #expect(Self.checked([("user", "u"), ("replication", "false")]) == ["user=u"])
    }

    @Test func aLongName_isCutShortInTheMessage() {
        let name = String(repeating: "x", count: 500)
        #expect((Self.refusal([("user", "u"), (name, "1")])?.message.count ?? 0) < 120)
    }
}
