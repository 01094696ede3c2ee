import Foundation
import PostgresClient
import Testing

extension StoreTests {
    /// `PostgresConnection` against the stack's Postgres (scripts/stack.sh up postgres).
    struct PostgresConnectionTests {
        @Test func select_returnsColumnsRowsNullsAndCommandTag() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            let result = try connection.query("select 1 as one, null::text as nothing, 'x' as letter")
            #expect(result.columns == ["one", "nothing", "letter"])
            #expect(result.rows == [["1", nil, "x"]])
            #expect(result.commandTag == "SELECT 1")
            #expect(result.value(row: 0, column: "letter") == "x")
        }

        @Test func parameters_areBoundInTextFormat() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            let result = try connection.query("select $1::int + 1 as next, $2::text is null as missing",
                                              parameters: ["41", nil])
            #expect(result.rows == [["42", "t"]])
        }

        @Test func execute_returnsCommandTag() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            #expect(try connection.execute("create temp table t (id int)") == "CREATE TABLE")
            #expect(try connection.execute("insert into t values (1), (2)") == "INSERT 0 2")
        }

        @Test func syntaxError_carriesSQLState42601_andSessionStaysUsable() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            #expect {
                try connection.query("selec 1")
            } throws: { error in
                let error = error as? PostgresError
                return error?.kind == .query && error?.sqlState == "42601" && error?.severity == "ERROR"
            }
            #expect(try connection.query("select 2").rows == [["2"]])
        }

        @Test func raisedError_carriesDetailAndHint() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            do {
                try connection.execute("""
                    do $$ begin raise exception 'too many connections for tier FREE'
                      using errcode = '53300', detail = '5 of 5 in use', hint = 'Upgrade to STARTER'; end $$
                    """)
                Issue.record("expected an error")
            } catch {
                #expect(error.sqlState == "53300")
                #expect(error.message == "too many connections for tier FREE")
                #expect(error.detail == "5 of 5 in use")
                #expect(error.hint == "Upgrade to STARTER")
            }
        }

        @Test func cancelFromAnotherThread_endsRunningQueryWith57014() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            let started = ContinuousClock.now
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { try? connection.cancel() }
            do {
                _ = try connection.query("select pg_sleep(10)")
                Issue.record("query was not cancelled")
            } catch {
                #expect(error.sqlState == "57014")
            }
            #expect(ContinuousClock.now - started < .seconds(5))
            #expect(try connection.query("select 3").rows == [["3"]])
        }

        @Test func warnings_areCollectedAsNotices() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            try connection.execute("do $$ begin raise warning 'nearing limit' using hint = 'Upgrade'; end $$")
            let notices = connection.takeNotices()
            #expect(notices.map(\.message) == ["nearing limit"])
            #expect(notices.first?.severity == "WARNING")
            #expect(notices.first?.hint == "Upgrade")
            #expect(connection.takeNotices().isEmpty)
        }

        @Test func parameterStatusAndBackendPID_matchTheServer() throws {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo)
            #expect(connection.parameterStatus("server_version")?.hasPrefix("15") == true)
            #expect(connection.parameterStatus("no_such_parameter") == nil)
            #expect(try connection.query("select pg_backend_pid()").rows == [["\(connection.backendPID)"]])
            #expect(connection.isConnected)
        }

        @Test func startupFatal_isReportedWithItsSQLState() throws {
            #expect {
                try PostgresConnection(conninfo: "host=\(Stack.host) port=\(Stack.postgresPort) user=postgres dbname=no_such_db")
            } throws: { error in
                let error = error as? PostgresError
                return error?.kind == .connection && error?.sqlState == "3D000" && error?.severity == "FATAL"
                    && error?.message == #"database "no_such_db" does not exist"#
            }
        }

        @Test func closedPort_failsFastWithoutSQLState() throws {
            let port = try FreePort.pick()
            let started = ContinuousClock.now
            #expect {
                try PostgresConnection(conninfo: "host=127.0.0.1 port=\(port) user=postgres connect_timeout=5")
            } throws: { error in
                let error = error as? PostgresError
                return error?.kind == .connection && error?.sqlState == nil && error?.message.contains("refused") == true
            }
            #expect(ContinuousClock.now - started < .seconds(2))
        }

        @Test func ping_tellsRunningFromAbsent() throws {
            #expect(PostgresConnection.ping(conninfo: Stack.adminConninfo) == .ok)
            #expect(PostgresConnection.ping(conninfo: "host=127.0.0.1 port=\(try FreePort.pick())") == .noResponse)
            #expect(PostgresConnection.ping(conninfo: "no_such_option=1") == .noAttempt)
        }
    }
}
