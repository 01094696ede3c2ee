import Foundation
import PostgresClient
import Testing

/// The Postgres-side setup: the stack applies it, `serve --upstream-check-conninfo` checks it.
@Suite(.serialized)
struct UpstreamSetupTests {
    static var checkConninfo: String { "user=app password=app_pw dbname=tiergate_test" }

    @Test func stackPostgres_revokesUpdateOnPgSettings_inEveryDatabase_andLetsRolesSetTempFileLimit() throws {
        let admin = try PostgresConnection(conninfo: Stack.adminConninfo)
        let databases = try admin.query("select datname from pg_database where datallowconn order by datname")
            .rows.compactMap { $0[0] }
        #expect(databases.contains("template1") && databases.contains("tiergate_test"))
        for database in databases {
            let connection = try PostgresConnection(conninfo: Stack.adminConninfo + " dbname=\(database)")
            #expect(try connection.query("select has_table_privilege('public', 'pg_catalog.pg_settings', 'UPDATE')")
                .rows == [["f"]], "\(database)")
        }
        #expect(try admin.query("select has_parameter_privilege('public', 'temp_file_limit', 'SET')").rows == [["t"]])
        // An ordinary role's UPDATE of the view is Postgres' own refusal now, even straight at Postgres.
        let direct = try PostgresConnection(conninfo: conninfo(port: Stack.postgresPort))
        if let error = expectQueryError(direct, "update pg_settings set setting = '1GB' where name = 'work_mem'") {
            #expect(error.sqlState == "42501", "\(error)")
        }
    }

    @Test func serve_onTheStack_logsTheSetupChecked() throws {
        let proxy = try ConnectionCeilingTests.proxy(["--upstream-check-conninfo", Self.checkConninfo])
        try AdminProxy.waitFor("upstream setup checked", in: proxy)
        #expect(!proxy.log.contains("grants UPDATE on pg_settings"))
    }

    @Test func serve_warnsWhenADatabaseStillGrantsUpdateOnPgSettingsToPublic() throws {
        let database = "tiergate_setup_\(UUID().uuidString.prefix(8).lowercased())"
        let admin = try PostgresConnection(conninfo: Stack.adminConninfo)
        _ = try admin.execute("create database \(database) owner app")
        defer { _ = try? admin.execute("drop database if exists \(database) with (force)") }
        // A database made from template1 inherits the revocation; grant it back in this one.
        let granted = try PostgresConnection(conninfo: Stack.adminConninfo + " dbname=\(database)")
        #expect(try granted.query("select has_table_privilege('public', 'pg_catalog.pg_settings', 'UPDATE')").rows
                == [["f"]])
        _ = try granted.execute("grant update on pg_catalog.pg_settings to public")

        let proxy = try ConnectionCeilingTests.proxy(["--upstream-check-conninfo", Self.checkConninfo])
        try AdminProxy.waitFor("still grants UPDATE on pg_settings to PUBLIC", in: proxy)
        let line = proxy.log.split(separator: "\n").first { $0.contains("still grants UPDATE on pg_settings") } ?? ""
        #expect(line.contains("warning"), "\(line)")
        #expect(line.contains("databases=\(database)"), "\(line)")
        #expect(!line.contains("app_pw"), "the conninfo's password must not be logged: \(line)")
    }

    @Test func serve_warnsWhenNoOrdinaryRoleMaySetTempFileLimit() throws {
        let admin = try PostgresConnection(conninfo: Stack.adminConninfo)
        _ = try admin.execute("revoke set on parameter temp_file_limit from public")
        defer { _ = try? admin.execute("grant set on parameter temp_file_limit to public") }
        let proxy = try ConnectionCeilingTests.proxy(["--upstream-check-conninfo", Self.checkConninfo])
        try AdminProxy.waitFor("grants SET on temp_file_limit to no ordinary role", in: proxy)
    }

    @Test func serve_withoutCredentialsThatWork_saysItCouldNotCheck() throws {
        let proxy = try ConnectionCeilingTests.proxy(["--upstream-check-conninfo", "user=app password=wrong dbname=tiergate_test"])
        try AdminProxy.waitFor("upstream setup not checked", in: proxy)
        #expect(!proxy.log.contains("password=wrong"))
    }
}
