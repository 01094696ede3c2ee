import PostgresClient
import Testing

/// `ConnectionOptions`: libpq's own reading of a conninfo, options replaced, written back.
@Suite struct ConnectionOptionsTests {
    @Test func keyValueAndURI_readTheSameOptions() throws {
        let keyValue = try ConnectionOptions(parsing: "host=db port=5433 user=check dbname=postgres")
        let uri = try ConnectionOptions(parsing: "postgresql://check@db:5433/postgres")
        for key in ["host", "port", "user", "dbname"] {
            #expect(keyValue[key] == uri[key], "\(key)")
        }
        #expect(uri["host"] == "db")
        #expect(uri["password"] == nil)
    }

    @Test func replacedOptions_andQuotedValues_surviveTheRoundTrip() throws {
        var options = try ConnectionOptions(parsing: #"user=check password='it\'s a \\ secret'"#)
        #expect(options["password"] == #"it's a \ secret"#)
        options["dbname"] = "org db"
        options["host"] = "127.0.0.1"
        let again = try ConnectionOptions(parsing: options.conninfo)
        #expect(again == options)
        #expect(again["dbname"] == "org db")
    }

    @Test func invalidConninfo_isRefusedWithLibpqsReason() {
        #expect { try ConnectionOptions(parsing: "bogus=1") } throws: { error in
            "\(error)".contains("invalid connection option \"bogus\"")
        }
    }
}
