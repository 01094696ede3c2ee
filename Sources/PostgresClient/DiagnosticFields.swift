import CLibPQ

/// The ErrorResponse/NoticeResponse fields of a `PGresult` (`PQresultErrorField`).
struct DiagnosticFields {
    var severity: String?
    var sqlState: String?
    var message: String?
    var detail: String?
    var hint: String?
    var context: String?

    init(_ result: OpaquePointer) {
        // postgres_ext.h defines the PG_DIAG_* codes as character literals, which Swift does
        // not import; they are the field type bytes of the protocol's ErrorResponse.
        func field(_ code: Unicode.Scalar) -> String? {
            PQresultErrorField(result, Int32(code.value)).map { String(cString: $0) }
        }
        severity = field("S")   // PG_DIAG_SEVERITY
        sqlState = field("C")   // PG_DIAG_SQLSTATE
        message = field("M")    // PG_DIAG_MESSAGE_PRIMARY
        detail = field("D")     // PG_DIAG_MESSAGE_DETAIL
        hint = field("H")       // PG_DIAG_MESSAGE_HINT
        context = field("W")    // PG_DIAG_CONTEXT
    }

    /// libpq's formatted message, for results without fields (errors libpq raised itself).
    static func errorMessage(_ result: OpaquePointer) -> String {
        var text = String(cString: PQresultErrorMessage(result))
        while text.last?.isWhitespace == true { text.removeLast() }
        return text
    }
}
