import Testing
@testable import SocketIO

struct PendingWritesTests {
    @Test func partialWrites_keepOrder_andReleaseBufferWhenDrained() {
        var pending = PendingWrites()
        pending.append([1, 2, 3, 4, 5][...])
        pending.append([6, 7][...])
        var written: [UInt8] = []
        var budget = 3
        let first = pending.drain { buffer in
            guard budget > 0 else { return .wouldBlock }
            let n = min(budget, buffer.count)
            written += buffer.prefix(n)
            budget -= n
            return .bytes(n)
        }
        #expect(first == .partial)
        #expect(pending.count == 4)
        let second = pending.drain { buffer in
            written += buffer
            return .bytes(buffer.count)
        }
        #expect(second == .drained)
        #expect(written == [1, 2, 3, 4, 5, 6, 7])
        #expect(pending.isEmpty)
    }

    @Test func failedWrite_isReported() {
        var pending = PendingWrites()
        pending.append([1][...])
        #expect(pending.drain { _ in .closed } == .failed(.closed))
    }
}
