import Synchronization
import Testing
import TierPolicy

struct StoppableClockTests {
    @Test func workDueBeforeStop_runs_workScheduledEarlierButDueAfter_doesNot() {
        let base = ManualClock()
        let clock = StoppableClock(base)
        let ran = Mutex<[String]>([])
        clock.schedule(after: .seconds(1)) { ran.withLock { $0.append("early") } }
        clock.schedule(after: .seconds(5)) { ran.withLock { $0.append("late") } }
        base.advance(by: .seconds(2))
        clock.stop()
        base.advance(by: .seconds(10))
        #expect(ran.withLock { $0 } == ["early"])
        #expect(clock.isStopped)
    }

    @Test func workScheduledAfterStop_isDropped_andTimeStillReads() {
        let base = ManualClock()
        let clock = StoppableClock(base)
        clock.stop()
        let ran = Mutex(false)
        clock.schedule(after: .zero) { ran.withLock { $0 = true } }
        #expect(base.pendingWork == 0)
        base.advance(by: .seconds(3))
        #expect(!ran.withLock { $0 })
        #expect(clock.now == base.now)
    }
}
