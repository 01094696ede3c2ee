import Testing
import TierModel

@Suite struct JSONValueTests {
    @Test func parses_allValueKinds() throws {
        let v = try JSONValue(parsing: #" {"a": [1, -2.5, 1e3, true, false, null, "x"], "b": {}} "#)
        #expect(v == .object(["a": .array([.integer(1), .double(-2.5), .double(1000), .bool(true), .bool(false),
                                           .null, .string("x")]),
                              "b": .object([:])]))
    }

    @Test func integers_stayExact_andBooleansAreNotNumbers() throws {
        #expect(try JSONValue(parsing: "8589934592") == .integer(8_589_934_592))
        #expect(try JSONValue(parsing: "true") != .integer(1))
        #expect(try JSONValue(parsing: "99999999999999999999") == .double(1e20))
    }

    @Test func strings_decodeEscapesAndSurrogatePairs() throws {
        #expect(try JSONValue(parsing: #""a\"b\\c\/d\n\u00e9\ud83d\ude00""#) == .string("a\"b\\c/d\né😀"))
    }

    @Test func serialized_keepsInsertionOrder_andEscapes() {
        let v = JSONValue.object(["z": .integer(1), "a": .string("q\"\n\u{01}"), "m": .double(0.25)])
        #expect(v.serialized == #"{"z":1,"a":"q\"\n\u0001","m":0.25}"#)
    }

    @Test(arguments: ["", "{", "[1,]", "{\"a\":1,}", "01", "1.", "\"\\x\"", "tru", "{\"a\":1}x", "\"\u{01}\"",
                      "{\"a\":1,\"a\":2}", "\"\\ud800\"", "NaN"])
    func invalidText_isRefused(text: String) {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: text) }
    }

    @Test func invalidUTF8_isRefused() {
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: [0x22, 0xFF, 0x22]) }
    }

    @Test func deepNesting_isRefusedBeforeTheStackIs() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONSyntaxError.self) { try JSONValue(parsing: deep) }
    }
}
