/// A Redis reply (RESP2), copied out of hiredis's `redisReply` so no C memory escapes.
public enum RedisReply: Sendable, Equatable {
    /// `+OK`, `+PONG`.
    case status(String)
    /// `-ERR ...`: kept as a value here; commands turn it into `RedisError.server`.
    case error(String)
    case integer(Int)
    /// A bulk string; values are bytes, since Redis values need not be UTF-8.
    case bulk([UInt8])
    /// `$-1` / `*-1`: no such key.
    case null
    case array([RedisReply])

    /// The bulk or status text as UTF-8, nil for other replies.
    public var string: String? {
        switch self {
        case let .bulk(bytes): String(decoding: bytes, as: UTF8.self)
        case let .status(text): text
        default: nil
        }
    }
}
