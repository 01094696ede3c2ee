import PostgresWire
import Testing
@testable import Proxy

/// The injected-settings state machine, driven by message ids alone.
struct SettingsInjectionTests {
    static let Z = BackendMessageID.readyForQuery.rawValue
    static let C = BackendMessageID.commandComplete.rawValue
    static let D = BackendMessageID.dataRow.rawValue
    static let E = BackendMessageID.errorResponse.rawValue
    static let N = BackendMessageID.noticeResponse.rawValue
    static let idle = ReadyForQuery.TransactionStatus.idle.rawValue
    static let inTransaction = ReadyForQuery.TransactionStatus.inTransaction.rawValue
    static let set = "SET work_mem = '64MB'"

    static func established() -> SettingsInjection {
        var machine = SettingsInjection()
        #expect(machine.sessionEstablished(status: idle) == .none)
        return machine
    }

    @Test func changeWhileIdle_isSentAtOnce_andItsRepliesAreSwallowed() {
        var machine = Self.established()
        #expect(machine.request(Self.set) == .send(Self.set))
        #expect(machine.serverMessage(Self.C) == (.swallow, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.swallow, .none))
        #expect(!machine.hasProxyStatementInFlight)
        // The client's next query is its own again.
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)
        #expect(machine.serverMessage(Self.D) == (.forward, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .none))
    }

    @Test func changeDuringTransaction_waitsForItsEnd() {
        var machine = Self.established()
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)  // BEGIN
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.inTransaction) == (.forward, .none))
        #expect(machine.request(Self.set) == .none, "inside a transaction")
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)  // SHOW work_mem
        #expect(machine.serverMessage(Self.D) == (.forward, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.inTransaction) == (.forward, .none))
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)  // COMMIT
        #expect(machine.serverMessage(Self.C) == (.forward, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .send(Self.set)))
    }

    @Test func changeDuringRunningQuery_isSentAfterItsReadyForQuery() {
        var machine = Self.established()
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)
        #expect(machine.request(Self.set) == .none, "a query is running: it keeps the old limits")
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .send(Self.set)))
    }

    @Test func pipelinedClientQueries_areNotMistakenForTheProxys() {
        var machine = Self.established()
        machine.clientSent(syncPoints: 2, endsAtSyncPoint: true)  // two queries in flight
        #expect(machine.request(Self.set) == .none)
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .none), "one still to come")
        #expect(machine.serverMessage(Self.D) == (.forward, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .send(Self.set)))
    }

    @Test func clientQueryBehindTheProxyStatement_getsItsOwnReplies() {
        var machine = Self.established()
        #expect(machine.request(Self.set) == .send(Self.set))
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)  // arrived before SET's replies
        #expect(machine.serverMessage(Self.C) == (.swallow, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.swallow, .none))
        #expect(machine.serverMessage(Self.D) == (.forward, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .none))
    }

    @Test func halfAnExtendedBatch_isNotAnIdlePoint() {
        var machine = Self.established()
        machine.clientSent(syncPoints: 0, endsAtSyncPoint: false)  // Parse, Bind, no Sync yet
        #expect(machine.request(Self.set) == .none)
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)  // Execute, Sync
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .send(Self.set)))
    }

    @Test func proxyStatementError_isSwallowed_noticesStillReachTheClient() {
        var machine = Self.established()
        #expect(machine.request(Self.set) == .send(Self.set))
        #expect(machine.serverMessage(Self.N) == (.forward, .none))
        #expect(machine.serverMessage(Self.E) == (.swallow, .none))
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.swallow, .none))
    }

    @Test func changeBeforeAuthenticationEnds_isSentAtTheFirstReadyForQuery() {
        var machine = SettingsInjection()
        #expect(machine.request(Self.set) == .none)
        #expect(machine.sessionEstablished(status: Self.idle) == .send(Self.set))
    }

    @Test func newerChange_replacesAPendingOne() {
        var machine = Self.established()
        machine.clientSent(syncPoints: 1, endsAtSyncPoint: true)
        _ = machine.request("SET work_mem = '64MB'")
        _ = machine.request("SET work_mem = '16MB'")
        #expect(machine.serverMessage(Self.Z, readyStatus: Self.idle) == (.forward, .send("SET work_mem = '16MB'")))
    }
}
