#if canImport(Glibc)
import Glibc
#endif
import Synchronization
import Testing
@testable import PgBouncerConfig

/// Windows are driven by hand through an injected scheduler: no sleeps, no timing races.
@Suite struct DebouncedRegeneratorTests {
    /// Keeps scheduled windows until the test ends them.
    final class ManualScheduler: Sendable {
        private let pending = Mutex<[@Sendable () -> Void]>([])
        var scheduler: DebouncedRegenerator.Scheduler {
            { [self] _, work in pending.withLock { $0.append(work) } }
        }
        var count: Int { pending.withLock { $0.count } }
        /// Ends every open window, running what was scheduled.
        func endWindows() {
            let due = pending.withLock { all in defer { all = [] }; return all }
            due.forEach { $0() }
        }
    }

    @Test func burstOf100Requests_inOneWindow_causesOneRun() {
        let clock = ManualScheduler()
        let runs = Atomic<Int>(0)
        let regenerator = DebouncedRegenerator(scheduler: clock.scheduler) { runs.add(1, ordering: .relaxed) }
        for _ in 0..<100 { regenerator.requestRegeneration() }
        #expect(clock.count == 1)
        clock.endWindows()
        #expect(runs.load(ordering: .relaxed) == 1)
        #expect(regenerator.counts == (requests: 100, runs: 1))
    }

    @Test func stop_dropsTheWaitingRun_andLaterRequests() {
        let clock = ManualScheduler()
        let runs = Atomic<Int>(0)
        let regenerator = DebouncedRegenerator(scheduler: clock.scheduler) { runs.add(1, ordering: .relaxed) }
        regenerator.requestRegeneration()
        regenerator.stop()
        regenerator.requestRegeneration()
        clock.endWindows()
        #expect(runs.load(ordering: .relaxed) == 0)
        #expect(clock.count == 0)
        #expect(regenerator.counts == (requests: 1, runs: 0))
    }

    @Test func stop_waitsForTheRunInProgress() {
        let started = Atomic(false)
        let finished = Atomic(false)
        let regenerator = DebouncedRegenerator(window: .milliseconds(1)) {
            started.store(true, ordering: .sequentiallyConsistent)
            usleep(200_000)
            finished.store(true, ordering: .sequentiallyConsistent)
        }
        regenerator.requestRegeneration()
        while !started.load(ordering: .sequentiallyConsistent) { usleep(1000) }
        regenerator.stop()
        let done = finished.load(ordering: .sequentiallyConsistent)
        #expect(done, "stop returned while the run was writing")
    }

    @Test func requestsSpreadOverFiveWindows_causeFiveRuns() {
        let clock = ManualScheduler()
        let runs = Atomic<Int>(0)
        let regenerator = DebouncedRegenerator(scheduler: clock.scheduler) { runs.add(1, ordering: .relaxed) }
        for _ in 0..<5 {
            for _ in 0..<20 { regenerator.requestRegeneration() }
            clock.endWindows()
        }
        #expect(runs.load(ordering: .relaxed) == 5)
        #expect(regenerator.counts.requests == 100)
    }

    @Test func requestDuringARun_opensTheNextWindow() {
        let clock = ManualScheduler()
        let runs = Atomic<Int>(0)
        let regenerator = Mutex<DebouncedRegenerator?>(nil)
        let instance = DebouncedRegenerator(scheduler: clock.scheduler) {
            // A tier change arriving while the previous one is being applied.
            if runs.add(1, ordering: .relaxed).newValue == 1 {
                regenerator.withLock { $0 }?.requestRegeneration()
            }
        }
        regenerator.withLock { $0 = instance }
        instance.requestRegeneration()
        clock.endWindows()
        #expect(clock.count == 1, "the change seen during the run gets a run of its own")
        clock.endWindows()
        #expect(runs.load(ordering: .relaxed) == 2)
    }
}
