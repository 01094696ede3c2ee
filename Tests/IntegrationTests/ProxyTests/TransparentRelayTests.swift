import Foundation
import PostgresClient
import Testing

/// Every ordinary client works through the proxy unchanged.
@Suite(.serialized)
struct TransparentRelayTests {
    @Test func psql_runsQueriesThroughProxy() throws {
        let proxy = try TierGateProcess()
        let result = try Command.psql(port: proxy.port, "select 40 + 2; select current_user")
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.split(separator: "\n") == ["42", "app"])
    }

    @Test func libpq_seesServerParametersAndRunsQueries() throws {
        let proxy = try TierGateProcess()
        let connection = try PostgresConnection(conninfo: conninfo(port: proxy.port))
        #expect(connection.parameterStatus("server_version")?.hasPrefix("15") == true)
        let result = try connection.query("select $1::int * 2 as doubled", parameters: ["21"])
        #expect(result.value(row: 0, column: "doubled") == "42")
        // An error inside a session leaves the session usable, as with a direct connection.
        if let error = expectQueryError(connection, "select * from no_such_table") {
            #expect(error.sqlState == "42P01")
        }
        #expect(try connection.query("select 1").rows == [["1"]])
    }

    @Test func cancelThroughProxy_endsQueryWith57014() throws {
        let proxy = try TierGateProcess()
        let connection = try PostgresConnection(conninfo: conninfo(port: proxy.port))
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) { try? connection.cancel() }
        if let error = expectQueryError(connection, "select pg_sleep(20)") {
            #expect(error.sqlState == "57014")
        }
        #expect(try connection.query("select 2").rows == [["2"]])
    }

    @Test(arguments: ["-S", "-S -M extended", "-S -M prepared", "-M extended"])
    func pgbench_finishesWithoutErrors(mode: String) throws {
        try PgbenchData.ensure()
        let proxy = try TierGateProcess()
        let result = try Command.run("pgbench", ["-n", "-c", "8", "-j", "2", "-t", "100",
                                                  "-h", "127.0.0.1", "-p", "\(proxy.port)", "-U", "app",
                                                  "tiergate_test"] + mode.split(separator: " ").map(String.init),
                                     environment: ["PGPASSWORD": "app_pw"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("number of failed transactions: 0"), "\(result.stdout)")
        #expect(result.stdout.contains("number of transactions actually processed: 800/800"), "\(result.stdout)")
    }

    @Test func sslPreferClient_continuesInPlainText() throws {
        let proxy = try TierGateProcess()
        let result = try Command.run("psql", ["-X", "-A", "-t", "-c", "show ssl",
                                              "host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=prefer gssencmode=prefer"],
                                     environment: ["PGPASSWORD": "app_pw"])
        #expect(result.status == 0, "\(result.stderr)")
        let required = try Command.run("psql", ["-X", "-c", "select 1",
                                                "host=127.0.0.1 port=\(proxy.port) user=app dbname=tiergate_test sslmode=require"],
                                       environment: ["PGPASSWORD": "app_pw"])
        #expect(required.status != 0)
        #expect(required.stderr.contains("does not support SSL"), "\(required.stderr)")
    }

    @Test func wrongPassword_reachesClientAsPostgresSaysIt() throws {
        let proxy = try TierGateProcess()
        let result = try Command.psql(port: proxy.port, password: "wrong", "select 1")
        #expect(result.status != 0)
        #expect(result.stderr.contains("password authentication failed"), "\(result.stderr)")
    }
}

func conninfo(port: Int, user: String = "app", database: String = "tiergate_test", password: String = "app_pw") -> String {
    "host=127.0.0.1 port=\(port) user=\(user) dbname=\(database) password=\(password) connect_timeout=10"
}

/// pgbench's tables in `tiergate_test`, created once per run, directly on Postgres.
enum PgbenchData {
    static func ensure() throws {
        let check = try Command.run("psql", ["-X", "-A", "-t", "-h", "127.0.0.1", "-p", "\(Stack.postgresPort)",
                                             "-U", "app", "-d", "tiergate_test", "-c",
                                             "select count(*) from pgbench_branches"],
                                    environment: ["PGPASSWORD": "app_pw"])
        if check.status == 0 && check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "1" { return }
        let initialise = try Command.run("pgbench", ["-i", "-q", "-s", "1", "-h", "127.0.0.1",
                                                     "-p", "\(Stack.postgresPort)", "-U", "app", "tiergate_test"],
                                         environment: ["PGPASSWORD": "app_pw"])
        guard initialise.status == 0 else { throw TestFailure("pgbench -i failed: \(initialise.stderr)") }
    }
}
