import Testing
import TierPolicy

struct BurstTriggerTests {
    @Test func overTheCeiling_waitsForABurst() {
        #expect(BurstTrigger.evaluate(open: 50, ceiling: 50, admitted: false) == .overCeiling)
        #expect(BurstTrigger.evaluate(open: 5, ceiling: 5, admitted: false) == .overCeiling)
    }

    /// Seed 5.1: utilization strictly over 90%, counting the connection just admitted.
    @Test func pastNinetyPercent_asksBehindTheConnection() {
        #expect(BurstTrigger.evaluate(open: 45, ceiling: 50, admitted: true) == nil)
        #expect(BurstTrigger.evaluate(open: 46, ceiling: 50, admitted: true) == .nearCeiling)
        #expect(BurstTrigger.evaluate(open: 50, ceiling: 50, admitted: true) == .nearCeiling)
        #expect(BurstTrigger.evaluate(open: 1, ceiling: 2, admitted: true) == nil)
        #expect(BurstTrigger.evaluate(open: 2, ceiling: 2, admitted: true) == .nearCeiling)
        #expect(BurstTrigger.evaluate(open: 90, ceiling: 100, admitted: true) == nil)
        #expect(BurstTrigger.evaluate(open: 91, ceiling: 100, admitted: true) == .nearCeiling)
    }
}
