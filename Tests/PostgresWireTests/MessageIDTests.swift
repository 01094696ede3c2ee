import Testing
@testable import PostgresWire

/// Type bytes are the ASCII letters of the protocol docs, "Message Formats".
@Suite struct MessageIDTests {
    @Test(arguments: [
        (BackendMessageID.authentication, "R"), (.backendKeyData, "K"), (.commandComplete, "C"),
        (.dataRow, "D"), (.errorResponse, "E"), (.noticeResponse, "N"), (.parameterStatus, "S"),
        (.readyForQuery, "Z"), (.rowDescription, "T"), (.copyData, "d"),
    ] as [(BackendMessageID, Character)])
    func backendID_isItsProtocolLetter(id: BackendMessageID, letter: Character) {
        #expect(id.rawValue == letter.asciiValue)
    }

    @Test(arguments: [
        (FrontendMessageID.query, "Q"), (.parse, "P"), (.bind, "B"), (.execute, "E"), (.sync, "S"),
        (.terminate, "X"), (.copyData, "d"), (.password, "p"),
    ] as [(FrontendMessageID, Character)])
    func frontendID_isItsProtocolLetter(id: FrontendMessageID, letter: Character) {
        #expect(id.rawValue == letter.asciiValue)
    }
}
