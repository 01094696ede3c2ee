import Gate
import Testing
import TierModel

@Suite struct TimeoutRulesTests {
    @Test func free_logsInWithin5s_andIdlesOutAfter5min() {
        let rules = TimeoutRules(limits: TierMatrix.builtIn[.free])
        #expect(rules.login == .seconds(5))
        #expect(rules.idle == .seconds(300))
    }

    @Test func starter_idlesOutAfter15min() {
        let rules = TimeoutRules(limits: TierMatrix.builtIn[.starter])
        #expect(rules.login == .seconds(10))
        #expect(rules.idle == .seconds(900))
    }

    @Test func proAndEnterprise_neverIdleOut() {
        #expect(TimeoutRules(limits: TierMatrix.builtIn[.pro]) == TimeoutRules(login: .seconds(15), idle: nil))
        #expect(TimeoutRules(limits: TierMatrix.builtIn[.enterprise]) == TimeoutRules(login: .seconds(30), idle: nil))
    }

    @Test func shrunkMatrix_givesSubSecondPrecision() {
        var limits = TierMatrix.builtIn[.free]
        limits.postgres.connectionTimeout = 1500
        limits.lifecycle.idleTimeout = 2000
        #expect(TimeoutRules(limits: limits) == TimeoutRules(login: .milliseconds(1500), idle: .seconds(2)))
    }

    @Test func deadlines_areComputedFromInjectedInstants() {
        let rules = TimeoutRules(limits: TierMatrix.builtIn[.free])
        let t0 = TestInstant.seconds(100)
        #expect(rules.loginDeadline(acceptedAt: t0) == .seconds(105))
        #expect(rules.idleDeadline(lastActivity: t0) == .seconds(400))
        #expect(TimeoutRules(limits: TierMatrix.builtIn[.pro]).idleDeadline(lastActivity: t0) == nil)
    }
}
