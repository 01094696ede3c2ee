import Foundation
import Synchronization
import Testing
@testable import PgBouncerConfig

@Suite struct DebouncedRegeneratorTests {
    @Test func burstOf100Requests_causesOneRun() async throws {
        let runs = Atomic<Int>(0)
        let regenerator = DebouncedRegenerator(window: .milliseconds(200)) { runs.add(1, ordering: .relaxed) }
        for _ in 0..<100 { regenerator.requestRegeneration() }
        try await Task.sleep(for: .milliseconds(600))
        #expect(runs.load(ordering: .relaxed) == 1)
        #expect(regenerator.counts.requests == 100)
    }

    @Test func requestsSpreadOverSeveralWindows_causeAFewRuns_andTheLastIsFollowedByARun() async throws {
        let runs = Atomic<Int>(0)
        let regenerator = DebouncedRegenerator(window: .milliseconds(100)) { runs.add(1, ordering: .relaxed) }
        for _ in 0..<100 {
            regenerator.requestRegeneration()
            try await Task.sleep(for: .milliseconds(3))
        }
        try await Task.sleep(for: .milliseconds(400))
        let count = runs.load(ordering: .relaxed)
        #expect(count >= 2 && count <= 15, "\(count) runs: a few, not 100")
        #expect(regenerator.counts.runs == count)
    }

    @Test func requestAfterARun_startsAnotherRun() async throws {
        let runs = Atomic<Int>(0)
        let regenerator = DebouncedRegenerator(window: .milliseconds(50)) { runs.add(1, ordering: .relaxed) }
        regenerator.requestRegeneration()
        try await Task.sleep(for: .milliseconds(250))
        regenerator.requestRegeneration()
        try await Task.sleep(for: .milliseconds(250))
        #expect(runs.load(ordering: .relaxed) == 2)
    }
}
