/// ReadyForQuery ('Z'): the backend is ready for a new query. Its status byte tells whether
/// the session is idle ('I'), in a transaction block ('T') or in a failed one ('E'); only at
/// 'I' may TierGate change session settings without touching a running transaction.
public struct ReadyForQuery: Equatable, Sendable {
    public enum TransactionStatus: UInt8, Sendable {
        case idle = 73               // I
        case inTransaction = 84      // T
        case failedTransaction = 69  // E
    }

    public var status: TransactionStatus

    public init(status: TransactionStatus) { self.status = status }

    public func encoded() -> [UInt8] {
        ByteWriter.message(BackendMessageID.readyForQuery.rawValue) { $0.writeUInt8(status.rawValue) }
    }

    public static func decode(payload: ArraySlice<UInt8>) -> ReadyForQuery? {
        guard payload.count == 1, let status = TransactionStatus(rawValue: payload[payload.startIndex])
        else { return nil }
        return ReadyForQuery(status: status)
    }
}
