import PostgresWire

/// Which of the client's requests the server is still working on, in order, and since when
/// the one it is running now started: the proxy's own view of "a statement is in flight",
/// from the message flow alone (protocol docs, "Message Flow"), whatever the session's
/// settings.
///
/// - A simple Query runs until its ReadyForQuery; each CommandComplete inside it ends one
///   statement of the string, and the next starts its clock then.
/// - An Execute runs until its CommandComplete, EmptyQueryResponse, PortalSuspended or
///   ErrorResponse; after an error the server skips every Execute up to the next Sync.
/// - A FunctionCall runs until its ReadyForQuery.
/// - A Sync (or Flush) starts nothing: it waits for its ReadyForQuery.
/// Pure bookkeeping: times come in with the events.
struct StatementTracker: Sendable {
    enum Request: Sendable, Equatable {
        case query, execute, functionCall, sync

        var isWork: Bool { self != .sync }
    }

    private var requests: [Request] = []
    /// When the statement the server is running now started; nil when it runs none.
    private(set) var runningSince: ContinuousClock.Instant?
    /// Bumped for every statement that starts, so a timer for one never fires on the next.
    private(set) var statementNumber = 0

    /// The server owes answers to client requests.
    var isBusy: Bool { !requests.isEmpty }

    /// A whole client message went upstream. Only Query, Execute, FunctionCall and Sync
    /// count; the rest (Parse, Bind, Describe, Flush, CopyData...) start no statement.
    mutating func clientSent(_ id: UInt8, now: ContinuousClock.Instant) {
        let request: Request
        switch id {
        case FrontendMessageID.query.rawValue: request = .query
        case FrontendMessageID.execute.rawValue: request = .execute
        case Self.functionCall: request = .functionCall
        case FrontendMessageID.sync.rawValue: request = .sync
        default: return
        }
        requests.append(request)
        if requests.count == 1 { frontChanged(now: now) }
    }

    /// A whole server message.
    mutating func serverSent(_ id: UInt8, now: ContinuousClock.Instant) {
        guard let front = requests.first else { return }
        switch id {
        case BackendMessageID.commandComplete.rawValue, Self.emptyQueryResponse, Self.portalSuspended:
            if front == .execute {
                requests.removeFirst()
            }
            // Either the next Execute or the next statement of a query string starts now.
            frontChanged(now: now)
        case BackendMessageID.errorResponse.rawValue:
            guard front == .execute else { return }  // a query or call ends at its ReadyForQuery
            while requests.first == .execute { requests.removeFirst() }
            frontChanged(now: now)
        case BackendMessageID.readyForQuery.rawValue:
            while let request = requests.first {
                requests.removeFirst()
                if request != .execute { break }
            }
            frontChanged(now: now)
        default:
            break
        }
    }

    private mutating func frontChanged(now: ContinuousClock.Instant) {
        if requests.first?.isWork == true {
            runningSince = now
            statementNumber += 1
        } else {
            runningSince = nil
        }
    }

    static let functionCall: UInt8 = 70        // F
    static let emptyQueryResponse: UInt8 = 73  // I
    static let portalSuspended: UInt8 = 115    // s

    /// The client messages the tracker must see whole.
    static let trackedClientMessages: [UInt8] = [
        FrontendMessageID.query.rawValue, FrontendMessageID.execute.rawValue, functionCall, FrontendMessageID.sync.rawValue,
    ]
}
