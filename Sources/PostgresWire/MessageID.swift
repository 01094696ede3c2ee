/// Type bytes of the regular (post-startup) messages TierGate looks at.
/// Protocol docs, "Message Formats" (protocol-message-formats.html).
public enum BackendMessageID: UInt8, Sendable {
    case authentication = 82   // R
    case backendKeyData = 75   // K
    case commandComplete = 67  // C
    case dataRow = 68          // D
    case errorResponse = 69    // E
    case noticeResponse = 78   // N
    case parameterStatus = 83  // S
    case readyForQuery = 90    // Z
    case rowDescription = 84   // T
    case copyData = 100        // d
}

public enum FrontendMessageID: UInt8, Sendable {
    case query = 81            // Q
    case parse = 80            // P
    case bind = 66             // B
    case execute = 69          // E
    case functionCall = 70     // F
    case sync = 83             // S
    case terminate = 88        // X
    case copyData = 100        // d
    case password = 112        // p (also SASL responses)
}
