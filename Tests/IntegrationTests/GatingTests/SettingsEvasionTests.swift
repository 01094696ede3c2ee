import Foundation
import PostgresClient
import PostgresWire
import Testing

/// A FREE client trying every other way to raise its settings, through the real binary
/// against real Postgres: each ends in 42501 with the upgrade hint (and no PL/pgSQL CONTEXT
/// line), with the tier's values still in force. Bound set_config of ordinary settings, as
/// JDBC and psycopg send it, keeps working.
@Suite(.serialized)
struct SettingsEvasionTests {
    /// A FREE org of its own, whose raw clients log in as the trusted postgres role, and a
    /// proxy; the caller removes the org.
    static func freeOrg(_ prefix: String) throws -> (org: String, proxy: TierGateProcess) {
        let org = TestOrgs.unique(prefix)
        try TestOrgs.put(org, tier: "FREE", burst: nil, roles: ["app", "postgres"])
        return (org, try ConnectionCeilingTests.proxy())
    }

    static func freeSession() throws -> (org: String, proxy: TierGateProcess, session: PostgresConnection) {
        let (org, proxy) = try freeOrg("org_evade")
        let session = try PostgresConnection(conninfo: conninfo(port: proxy.port, user: "app.\(org)"))
        return (org, proxy, session)
    }

    static func expectRefused(_ error: PostgresError?, _ what: String, sourceLocation: SourceLocation = #_sourceLocation) {
        guard let error else { return }
        #expect(error.sqlState == "42501", "\(what): \(error)", sourceLocation: sourceLocation)
        #expect(error.hint?.hasPrefix("Upgrade to STARTER") == true, "\(what): \(error)", sourceLocation: sourceLocation)
        #expect(error.context == nil, "\(what): \(error.context ?? "")", sourceLocation: sourceLocation)
    }

    static func expectFreeSettings(_ session: PostgresConnection, sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try session.query("show statement_timeout").rows == [["10s"]], sourceLocation: sourceLocation)
        #expect(try session.query("show work_mem").rows == [["4MB"]], sourceLocation: sourceLocation)
    }

    @Test func unicodeEscapedNames_inSetSetLocalParseAndFunctionClauses_areRefused() throws {
        let (org, proxy, session) = try Self.freeSession()
        defer { TestOrgs.remove(org) }
        _ = proxy
        for attempt in [#"SET U&"statement!005ftimeout" UESCAPE '!' TO 0"#,
                        #"SET work_mem = U&'!0031GB' UESCAPE '!'"#,
                        #"CREATE FUNCTION tg_evade() RETURNS int SET U&"statement!005ftimeout" UESCAPE '!' = 0 LANGUAGE sql AS 'select 1'"#] {
            Self.expectRefused(expectQueryError(session, attempt), attempt)
        }
        // SET LOCAL inside a transaction: refused, and the transaction is aborted as by any error.
        _ = try session.execute("BEGIN")
        Self.expectRefused(expectQueryError(session, #"SET LOCAL U&"statement!005ftimeout" UESCAPE '!' TO 0"#), "SET LOCAL")
        #expect(expectQueryError(session, "select 1")?.sqlState == "25P02")
        _ = try session.execute("ROLLBACK")
        // Parse (libpq's PQexecParams): the extended protocol.
        do {
            _ = try session.query(#"select set_config(U&'statement!005ftimeout' UESCAPE '!', $1, false)"#, parameters: ["0"])
            Issue.record("the Parse was not refused")
        } catch {
            Self.expectRefused(error, "Parse")
        }
        try Self.expectFreeSettings(session)
    }

    @Test func sortMem_isWorkMem_inSetSetConfigAndAlterFunction() throws {
        let (org, proxy, session) = try Self.freeSession()
        defer { TestOrgs.remove(org) }
        _ = proxy
        let function = "tg_sort_\(org.suffix(8))"
        _ = try session.execute("CREATE FUNCTION \(function)() RETURNS text LANGUAGE sql AS $$ SELECT current_setting('work_mem') $$")
        defer { _ = try? session.execute("DROP FUNCTION IF EXISTS \(function)()") }
        for attempt in ["SET sort_mem = '1GB'", "SET SORT_MEM TO 1048576", "select set_config('sort_mem', '1GB', false)",
                        "ALTER FUNCTION \(function)() SET sort_mem = '1GB'"] {
            Self.expectRefused(expectQueryError(session, attempt), attempt)
        }
        #expect(try session.query("select \(function)()").rows == [["4MB"]])
        _ = try session.execute("SET sort_mem = '2MB'")
        #expect(try session.query("show work_mem").rows == [["2MB"]])
    }

    /// psycopg-style: libpq's PQexecParams sends Parse (unnamed, types left to the server),
    /// Bind with text values, Execute, Sync.
    @Test func boundSetConfig_runsForOtherSettings_andIsRefusedForTierSettings() throws {
        let (org, proxy, session) = try Self.freeSession()
        defer { TestOrgs.remove(org) }
        _ = proxy
        let sql = "select set_config($1, $2, false)"
        #expect(try session.query(sql, parameters: ["application_name", "tg_bound"]).rows == [["tg_bound"]])
        #expect(try session.query("show application_name").rows == [["tg_bound"]])
        #expect(try session.query(sql, parameters: ["default_transaction_isolation", "serializable"]).rows == [["serializable"]])
        #expect(try session.query("show default_transaction_isolation").rows == [["serializable"]])
        #expect(try session.query(sql, parameters: ["work_mem", "2MB"]).rows == [["2MB"]])
        for values in [["work_mem", "1GB"], ["statement_timeout", "0"], ["sort_mem", "1GB"]] {
            do {
                _ = try session.query(sql, parameters: values)
                Issue.record("\(values) ran")
            } catch {
                Self.expectRefused(error, "\(values)")
            }
        }
        // The session goes on, and inside a transaction the refusal aborts it.
        _ = try session.execute("BEGIN")
        #expect(throws: PostgresError.self) { try session.query(sql, parameters: ["work_mem", "1GB"]) }
        #expect(expectQueryError(session, "select 1")?.sqlState == "25P02")
        _ = try session.execute("ROLLBACK")
        #expect(try session.query("show work_mem").rows == [["2MB"]])
        #expect(try session.query("show statement_timeout").rows == [["10s"]])
    }

    /// JDBC-style: a named statement with declared varchar parameters, bound again and again,
    /// in text and binary format; and run by SQL EXECUTE under the same name.
    @Test func namedBoundSetConfig_isJudgedAtEveryBind_andTheProtocolStaysValid() throws {
        let (org, proxy) = try Self.freeOrg("org_jdbc")
        defer { TestOrgs.remove(org) }
        let raw = try RawSession(port: proxy.port, org: org)
        let parse = Parse(statementName: "s_1", query: "select set_config($1, $2, false)", parameterTypes: [1043, 1043])
        let prepared = raw.roundTrip([parse.encoded(), Wire.describeStatement("s_1"), Wire.sync])
        #expect(RawSession.ids(prepared) == "1tTZ", "\(RawSession.errors(prepared))")

        let allowed = raw.roundTrip([Wire.bind("s_1", ["application_name", "tg_jdbc"]), Wire.execute(), Wire.sync])
        #expect(RawSession.ids(allowed) == "2DCSZ", "\(RawSession.errors(allowed))")
        #expect(raw.value("show application_name") == "tg_jdbc")

        for (values, binary) in [(["work_mem", "1GB"], false), (["statement_timeout", "0"], true), (["WORK_MEM", "64MB"], false)] {
            let refused = raw.roundTrip([Wire.bind("s_1", values, binary: binary), Wire.execute(), Wire.sync])
            #expect(RawSession.ids(refused) == "EZ", "\(values)")
            let error = RawSession.errors(refused).first
            #expect(error?[.sqlState] == "42501", "\(values): \(error?.message ?? "")")
            #expect(error?[.hint]?.hasPrefix("Upgrade to STARTER") == true)
            #expect(error?[.context] == nil)
        }
        #expect(raw.value("show work_mem") == "4MB")
        // Within the tier, the same statement still runs.
        let lower = raw.roundTrip([Wire.bind("s_1", ["work_mem", "2MB"], binary: true), Wire.execute(), Wire.sync])
        #expect(RawSession.ids(lower) == "2DCZ")
        #expect(raw.value("show work_mem") == "2MB")
        // A Parse refused outright (a raising constant) still takes the client's parameters,
        // so its Bind fits and the refusal comes at Execute.
        let constant = Parse(statementName: "s_2", query: "select set_config('work_mem', '1GB', false), $1::int", parameterTypes: [23])
        let refusedParse = raw.roundTrip([constant.encoded(), Wire.bind("s_2", ["1"]), Wire.execute(), Wire.sync])
        #expect(RawSession.ids(refusedParse) == "12EZ", "\(RawSession.errors(refusedParse))")
        #expect(RawSession.errors(refusedParse).first?[.sqlState] == "42501")
        #expect(RawSession.errors(refusedParse).first?[.context] == nil)
        // SQL EXECUTE of the protocol-level statement is judged by its arguments.
        let executed = raw.query("EXECUTE s_1('work_mem', '1GB')")
        #expect(RawSession.errors(executed).first?[.sqlState] == "42501")
        #expect(raw.value("show work_mem") == "2MB")
    }

    @Test func functionCallOfSetConfig_raising_isRefused_otherwiseAnswered() throws {
        let (org, proxy) = try Self.freeOrg("org_fastpath")
        defer { TestOrgs.remove(org) }
        let raw = try RawSession(port: proxy.port, org: org)
        func call(_ name: String, _ value: String) -> [UInt8] {
            FunctionCall(functionOID: 2078, arguments: BoundValues(formatCodes: [0, 0, 1],
                         values: [Array(name.utf8)[...], Array(value.utf8)[...], [0]])).encoded()
        }
        let refused = raw.roundTrip([call("work_mem", "1GB")])
        #expect(RawSession.ids(refused) == "EZ")
        let error = RawSession.errors(refused).first
        #expect(error?[.sqlState] == "42501")
        #expect(error?[.hint] == "Upgrade to STARTER for 16MB work_mem")
        #expect(error?[.context] == nil)
        #expect(raw.value("show work_mem") == "4MB")

        let answered = raw.roundTrip([call("application_name", "tg_fastpath")])
        #expect(RawSession.ids(answered) == "VSZ", "\(RawSession.errors(answered))")
        #expect(raw.value("show application_name") == "tg_fastpath")

        // In a transaction block the refusal aborts it, as Postgres' own error would.
        #expect(RawSession.status(raw.query("BEGIN")) == "T")
        let inBlock = raw.roundTrip([call("statement_timeout", "0")])
        #expect(RawSession.errors(inBlock).first?[.sqlState] == "42501")
        #expect(RawSession.status(inBlock) == "E")
        #expect(RawSession.status(raw.query("ROLLBACK")) == "I")
        #expect(raw.value("show statement_timeout") == "10s")
    }

    /// Texts that are not UTF-8: LATIN1, and valid UTF-8 that SJIS splits differently ("ā"
    /// is C4 81 in UTF-8; in SJIS, 81 5C is one character, so the backslash is gone).
    @Test func textInLatin1OrSJIS_isJudgedAsTheServerReadsIt() throws {
        let (org, proxy) = try Self.freeOrg("org_encoding")
        defer { TestOrgs.remove(org) }

        let latin1 = try RawSession(port: proxy.port, org: org, parameters: [("client_encoding", "LATIN1")])
        let cafe = Array("caf".utf8) + [0xE9]
        #expect(latin1.value("show client_encoding") == "LATIN1")
        #expect(RawSession.errors(latin1.query(Array("SELECT '".utf8) + cafe + Array("'".utf8))).isEmpty)
        let raising = latin1.query(Array("SET work_mem = '1GB'; SELECT '".utf8) + cafe + Array("'".utf8))
        #expect(RawSession.errors(raising).first?[.sqlState] == "42501")
        let parse = RawParse(statementName: [], query: (Array("SELECT set_config('work_mem', '1GB', false), '".utf8) + cafe + [0x27])[...],
                             parameterTypes: [])
        let extended = latin1.roundTrip([parse.encoded(), Wire.bind("", []), Wire.execute(), Wire.sync])
        #expect(RawSession.errors(extended).first?[.sqlState] == "42501")
        #expect(latin1.value("show work_mem") == "4MB")

        let sjis = try RawSession(port: proxy.port, org: org, parameters: [("client_encoding", "SJIS")])
        let hidden = Array("SELECT E'".utf8) + [0xC4, 0x81] + Array(#"\'; SET work_mem = '1GB'; -- '"#.utf8)
        #expect(RawSession.errors(sjis.query(hidden)).first?[.sqlState] == "42501")
        #expect(sjis.value("show work_mem") == "4MB")
    }
}
