import PostgresWire

/// Applies new session settings (`SessionUpdate.settingsStatement`, e.g. after a tier
/// change) to an open session at its next idle point, so running queries keep the old
/// limits and new queries get the new ones, with a statement the proxy sends itself and
/// whose replies the client never sees.
///
/// A plain state machine in the style of postgres-nio's `ConnectionStateMachine`: the
/// session reports what went by, the machine answers whether to forward a server message
/// and when to send the statement; it never touches a socket.
///
/// The server answers messages in order, and each simple Query, Sync or FunctionCall is
/// answered up to exactly one ReadyForQuery. So the machine keeps the owners of the
/// ReadyForQuerys still to come, in order: while the proxy's statement is first in line,
/// every reply is its (swallowed, except messages the server may send at any time), and
/// its ReadyForQuery ends the swallowing.
///
/// The idle point: the last ReadyForQuery said 'I' (no transaction open), none is still to
/// come, and the client's last message was a complete Query/Sync (not half an extended-
/// protocol batch or a COPY). A change arriving inside a transaction waits for it to end.
struct SettingsInjection: Sendable {
    enum Owner: Sendable, Equatable { case client, proxy }
    enum Verdict: Sendable, Equatable { case forward, swallow }
    enum Action: Sendable, Equatable {
        case none
        /// Send this simple Query upstream now.
        case send(String)
    }

    /// Whose ReadyForQuery comes next, in the server's order.
    private(set) var owners: [Owner] = []
    private var clientAtSyncPoint = true
    private(set) var serverIdle = false
    private var established = false
    /// The statement waiting for the next idle point; a newer change replaces it.
    private(set) var pending: String?

    /// Messages a server may send at any time (protocol docs, "Asynchronous Operations"):
    /// they belong to the client even while the proxy's statement runs.
    static let asynchronous: Set<UInt8> = [
        BackendMessageID.noticeResponse.rawValue, BackendMessageID.parameterStatus.rawValue,
        65,  // A: NotificationResponse
    ]

    /// The proxy's statement is being answered right now.
    var isAnsweringProxy: Bool { owners.first == .proxy }
    var hasProxyStatementInFlight: Bool { owners.contains(.proxy) }

    /// The first ReadyForQuery, which ends authentication (owned by nobody's query).
    mutating func sessionEstablished(status: UInt8?) -> Action {
        established = true
        serverIdle = status == ReadyForQuery.TransactionStatus.idle.rawValue
        return injectIfIdle()
    }

    /// The client sent bytes: `syncPoints` Query/Sync/FunctionCall messages went upstream,
    /// and whether its last message was one of them, complete.
    mutating func clientSent(syncPoints: Int, endsAtSyncPoint: Bool) {
        owners += Array(repeating: .client, count: syncPoints)
        clientAtSyncPoint = endsAtSyncPoint
    }

    /// A tier change: send `statement` at the next idle point (now, if idle).
    mutating func request(_ statement: String) -> Action {
        pending = statement
        return injectIfIdle()
    }

    /// A whole server message (while relaying): forward it or swallow it, and maybe send
    /// the pending statement (after a ReadyForQuery that leaves the session idle).
    mutating func serverMessage(_ id: UInt8, readyStatus: UInt8? = nil) -> (Verdict, Action) {
        let proxyOwns = isAnsweringProxy
        guard id == BackendMessageID.readyForQuery.rawValue else {
            return (proxyOwns && !Self.asynchronous.contains(id) ? .swallow : .forward, .none)
        }
        if !owners.isEmpty { owners.removeFirst() }
        serverIdle = readyStatus == ReadyForQuery.TransactionStatus.idle.rawValue
        return (proxyOwns ? .swallow : .forward, injectIfIdle())
    }

    private mutating func injectIfIdle() -> Action {
        guard established, let statement = pending, owners.isEmpty, serverIdle, clientAtSyncPoint else { return .none }
        pending = nil
        owners.append(.proxy)
        serverIdle = false
        return .send(statement)
    }
}

extension SettingsInjection {
    /// Query, Sync, FunctionCall: each is answered up to exactly one ReadyForQuery.
    static let syncPointMessages: [UInt8] = [
        FrontendMessageID.query.rawValue, FrontendMessageID.sync.rawValue,
        70,  // F: FunctionCall
    ]

    /// Whether a client statement may return tier GUCs to their reset values (RESET,
    /// SET ... TO DEFAULT, DISCARD ALL, set_config with NULL). After a mid-session change the reset values are
    /// still the old tier's (they come from the startup packet and SQL cannot change
    /// them), so the proxy sends the tier's settings again at the next idle point. A
    /// textual check: a false alarm costs one extra SET, a miss cannot happen for these
    /// keywords.
    static func mayResetSettings(id: UInt8, payload: ArraySlice<UInt8>) -> Bool {
        let text: String
        switch FrontendMessageID(rawValue: id) {
        case .query: text = Query.decode(payload: payload)?.text ?? ""
        case .parse: text = Parse.decode(payload: payload)?.query ?? ""
        default: return false
        }
        let lowered = text.lowercased()
        return lowered.contains("reset") || lowered.contains("discard") || lowered.contains("default")
            // set_config(name, NULL, ...) also returns a setting to its reset value.
            || (lowered.contains("set_config") && lowered.contains("null"))
    }
}
