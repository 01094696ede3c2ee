/// A test-only encoder, written independently of `ByteWriter`, so that a decoder is never
/// tested against bytes produced by its own module's encoder (a symmetric bug in both would
/// otherwise pass). Everything is spelled out byte by byte, big-endian, as the protocol docs
/// ("Message Data Types", "Message Formats") describe it.
enum WireBytes {
    static func int32(_ value: Int32) -> [UInt8] {
        let v = UInt32(bitPattern: value)
        return [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
    }

    static func int16(_ value: Int16) -> [UInt8] {
        let v = UInt16(bitPattern: value)
        return [UInt8(v >> 8), UInt8(v & 0xff)]
    }

    /// The string's UTF-8 followed by a NUL.
    static func cString(_ string: String) -> [UInt8] {
        Array(string.utf8) + [0]
    }

    static func ascii(_ character: Character) -> UInt8 {
        character.asciiValue!
    }

    // MARK: Startup phase: length (counting itself), then body; no type byte.

    static func startupPacket(body: [UInt8]) -> [UInt8] {
        int32(Int32(body.count + 4)) + body
    }

    /// A packet whose length field says `declaredLength`, whatever follows.
    static func startupHeader(declaredLength: Int32) -> [UInt8] {
        int32(declaredLength)
    }

    static func versionCode(major: UInt16, minor: UInt16) -> Int32 {
        Int32(bitPattern: UInt32(major) << 16 | UInt32(minor))
    }

    static let sslRequestCode: Int32 = 80877103     // 1234 << 16 | 5679
    static let gssEncRequestCode: Int32 = 80877104  // 1234 << 16 | 5680
    static let cancelRequestCode: Int32 = 80877102  // 1234 << 16 | 5678

    static var sslRequest: [UInt8] { startupPacket(body: int32(sslRequestCode)) }
    static var gssEncRequest: [UInt8] { startupPacket(body: int32(gssEncRequestCode)) }

    static func cancelRequest(processID: Int32, secretKey: [UInt8]) -> [UInt8] {
        startupPacket(body: int32(cancelRequestCode) + int32(processID) + secretKey)
    }

    /// The body of a StartupMessage after the version code: name\0value\0 ... \0.
    static func parameterList(_ parameters: [(String, String)]) -> [UInt8] {
        parameters.flatMap { cString($0.0) + cString($0.1) } + [0]
    }

    static func startupMessage(major: UInt16 = 3, minor: UInt16 = 0,
                               _ parameters: [(String, String)]) -> [UInt8] {
        startupPacket(body: int32(versionCode(major: major, minor: minor)) + parameterList(parameters))
    }

    /// A StartupMessage whose parameter bytes are given raw, for malformed layouts.
    static func startupMessage(major: UInt16 = 3, minor: UInt16 = 0, rawParameters: [UInt8]) -> [UInt8] {
        startupPacket(body: int32(versionCode(major: major, minor: minor)) + rawParameters)
    }

    // MARK: Regular messages: type byte, length (counting itself, not the type), payload.

    static func message(_ id: UInt8, _ payload: [UInt8]) -> [UInt8] {
        [id] + int32(Int32(payload.count + 4)) + payload
    }

    static func message(_ id: Character, _ payload: [UInt8]) -> [UInt8] {
        message(ascii(id), payload)
    }

    /// Only the 5-byte header, with any length, valid or not.
    static func header(_ id: Character, declaredLength: Int32) -> [UInt8] {
        [ascii(id)] + int32(declaredLength)
    }
}

extension WireBytes {
    /// Splits one whole regular message into its type and payload, checking the length
    /// field by hand; `nil` if the bytes are not exactly one message.
    static func unframe(_ bytes: [UInt8]) -> (id: UInt8, payload: [UInt8])? {
        guard bytes.count >= 5 else { return nil }
        let length = bytes[1..<5].reduce(0) { $0 << 8 | Int($1) }
        guard length == bytes.count - 1 else { return nil }
        return (bytes[0], Array(bytes[5...]))
    }
}
