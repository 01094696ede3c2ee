import Gate
import Testing
import TierModel

/// A hand-driven instant so window arithmetic is exact.
struct TestInstant: InstantProtocol {
    var offset: Duration
    static func seconds(_ s: Double) -> TestInstant { TestInstant(offset: .milliseconds(Int(s * 1000))) }
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
}

@Suite struct RejectionWindowTests {
    let acme = try! OrgId("org_acme")

    @Test func eleventhRejectionInAMinute_reportsThrashing_once() {
        var window = RejectionWindow<TestInstant>()
        for i in 1...10 {
            let event = window.recordRejection(org: acme, at: .seconds(Double(i)))
            #expect(event == nil)
        }
        let eleventh = window.recordRejection(org: acme, at: .seconds(11))
        #expect(eleventh == ThrashingEvent(org: acme, rejections: 11))
        for i in 12...40 {
            let event = window.recordRejection(org: acme, at: .seconds(Double(i)))
            #expect(event == nil)
        }
        #expect(window.count(for: acme, at: .seconds(40)) == 40)
    }

    @Test func newWindow_mayReportAgain() {
        var window = RejectionWindow<TestInstant>()
        var events = 0
        for i in 0..<30 {  // 30 rejections in the first minute
            if window.recordRejection(org: acme, at: .seconds(Double(i))) != nil { events += 1 }
        }
        #expect(events == 1)
        for i in 0..<11 {  // window started at 0 ends at 60
            if window.recordRejection(org: acme, at: .seconds(60 + Double(i))) != nil { events += 1 }
        }
        #expect(events == 2)
    }

    @Test func tenRejections_areNotThrashing() {
        var window = RejectionWindow<TestInstant>()
        for i in 0..<10 {
            let event = window.recordRejection(org: acme, at: .seconds(Double(i) * 5.9))
            #expect(event == nil)
        }
    }

    @Test func rejectionsSpreadBeyondTheWindow_doNotAccumulate() {
        var window = RejectionWindow<TestInstant>()
        for i in 0..<100 {
            let event = window.recordRejection(org: acme, at: .seconds(Double(i) * 7))
            #expect(event == nil)
        }
    }

    @Test func windowBoundary_isExclusiveAtSixtySeconds() {
        var window = RejectionWindow<TestInstant>()
        _ = window.recordRejection(org: acme, at: .seconds(0))
        #expect(window.count(for: acme, at: .seconds(59.999)) == 1)
        #expect(window.count(for: acme, at: .seconds(60)) == 0)
    }

    @Test func orgs_haveSeparateWindows() {
        var window = RejectionWindow<TestInstant>()
        let beta = try! OrgId("org_beta")
        for i in 0..<10 { _ = window.recordRejection(org: acme, at: .seconds(Double(i))) }
        let betaFirst = window.recordRejection(org: beta, at: .seconds(10))
        #expect(betaFirst == nil)
        let acmeEleventh = window.recordRejection(org: acme, at: .seconds(10))
        #expect(acmeEleventh?.org == acme)
    }

    @Test func removeExpired_forgetsEndedWindows() {
        var window = RejectionWindow<TestInstant>()
        _ = window.recordRejection(org: acme, at: .seconds(0))
        window.removeExpired(at: .seconds(61))
        #expect(window.count(for: acme, at: .seconds(0)) == 0)
    }

    @Test func sharedRedisCount_reportsExactlyAtTheFirstCountAboveTen() {
        #expect(!RejectionWindow<TestInstant>.isThrashingOnset(sharedCount: 10))
        #expect(RejectionWindow<TestInstant>.isThrashingOnset(sharedCount: 11))
        #expect(!RejectionWindow<TestInstant>.isThrashingOnset(sharedCount: 12))
    }

    @Test func event_carriesThrashingNotification() {
        #expect(ThrashingEvent.title == "Connection Limit Reached Frequently")
        #expect(ThrashingEvent.message == "You're hitting your connection limit often. Consider upgrading to a higher tier.")
        #expect(ThrashingEvent.window == .seconds(60))
        #expect(ThrashingEvent.threshold == 10)
    }

    @Test func worksWithTheContinuousClock() {
        var window = RejectionWindow<ContinuousClock.Instant>()
        let start = ContinuousClock.Instant.now
        var event: ThrashingEvent?
        for i in 0..<11 { event = window.recordRejection(org: acme, at: start.advanced(by: .seconds(i))) }
        #expect(event?.rejections == 11)
    }
}
