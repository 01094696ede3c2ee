import Proxy
import Synchronization
import Testing

@Suite struct AdmissionCancellationTests {
    final class Count: Sendable {
        let value = Mutex(0)
        func bump() { value.withLock { $0 += 1 } }
        var now: Int { value.withLock { $0 } }
    }

    @Test func clientLeavingBeforeTheAnswer_runsEachHandlerOnce() {
        let cancellation = AdmissionCancellation()
        let count = Count()
        cancellation.onCancel { count.bump() }
        cancellation.onCancel { count.bump() }
        cancellation.cancel()
        cancellation.cancel()
        #expect(count.now == 2)
        #expect(cancellation.isCancelled)
    }

    @Test func afterTheAnswer_leavingRunsNothing() {
        let cancellation = AdmissionCancellation()
        let count = Count()
        cancellation.onCancel { count.bump() }
        cancellation.answered()
        cancellation.cancel()
        #expect(count.now == 0)
        #expect(!cancellation.isCancelled)
    }

    @Test func aHandlerRegisteredAfterTheClientLeft_runsAtOnce() {
        let cancellation = AdmissionCancellation()
        cancellation.cancel()
        let count = Count()
        cancellation.onCancel { count.bump() }
        #expect(count.now == 1)
    }
}
