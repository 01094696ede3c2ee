import Foundation
import Gate
import Testing
import TierModel

private func org(_ raw: String) -> OrgId { try! OrgId(raw) }

@Suite struct ConnectionGateTests {
    let acme = org("org_acme")
    let free = TierMatrix.builtIn[.free]

    @Test func fiveFreeConnections_areAdmitted() {
        var gate = ConnectionGate()
        for n in 1...5 {
            let decision = gate.admit(org: acme, tier: .free, limits: free)
            #expect(decision.ticket != nil)
            #expect(gate.count(for: acme) == n)
        }
    }

    @Test func sixthFreeConnection_isRefusedWithUpgradeHint() throws {
        var gate = ConnectionGate()
        for _ in 1...5 { _ = gate.admit(org: acme, tier: .free, limits: free) }
        let refusal = try #require(gate.admit(org: acme, tier: .free, limits: free).refusal)
        #expect(refusal.current == 5 && refusal.max == 5 && refusal.tier == .free)
        #expect(refusal.hint == "Upgrade to STARTER for 10 connections")
        #expect(gate.count(for: acme) == 5)
    }

    @Test func refusal_doesNotTakeASlot_andReleaseReopensOne() throws {
        var gate = ConnectionGate()
        let tickets = (1...5).compactMap { _ in gate.admit(org: acme, tier: .free, limits: free).ticket }
        let sixth = gate.admit(org: acme, tier: .free, limits: free)
        #expect(sixth.refusal != nil)
        let released = gate.release(tickets[2])
        #expect(released == .slot)
        let replacement = gate.admit(org: acme, tier: .free, limits: free)
        #expect(replacement.ticket != nil)
        let seventh = gate.admit(org: acme, tier: .free, limits: free)
        #expect(seventh.refusal != nil)
    }

    @Test func orgs_areCountedSeparately() {
        var gate = ConnectionGate()
        for _ in 1...5 { _ = gate.admit(org: acme, tier: .free, limits: free) }
        let beta = gate.admit(org: org("org_beta"), tier: .free, limits: free)
        #expect(beta.ticket != nil)
        #expect(gate.openSessions == [acme: 5, org("org_beta"): 1])
        #expect(gate.totalOpenSessions == 6)
    }

    @Test func releasingTwice_freesOneSlotOnly() throws {
        var gate = ConnectionGate()
        let first = try #require(gate.admit(org: acme, tier: .free, limits: free).ticket)
        _ = gate.admit(org: acme, tier: .free, limits: free)
        let firstRelease = gate.release(first)
        #expect(firstRelease == .slot)
        let secondRelease = gate.release(first)
        #expect(secondRelease == nil)
        #expect(gate.count(for: acme) == 1)
        #expect(!gate.isOpen(first))
    }

    @Test func staleTicket_cannotFreeAnotherSessionsSlot() throws {
        var gate = ConnectionGate()
        let old = try #require(gate.admit(org: acme, tier: .free, limits: free).ticket)
        gate.release(old)
        let current = try #require(gate.admit(org: acme, tier: .free, limits: free).ticket)
        #expect(old.id != current.id)
        let staleRelease = gate.release(old)
        #expect(staleRelease == nil)
        #expect(gate.isOpen(current))
        #expect(gate.count(for: acme) == 1)
    }

    @Test func releasingEverything_leavesNoEntryBehind() throws {
        var gate = ConnectionGate()
        let t = try #require(gate.admit(org: acme, tier: .free, limits: free).ticket)
        gate.release(t)
        #expect(gate.openSessions.isEmpty)
        #expect(gate.count(for: acme) == 0)
        let againRelease = gate.release(t)
        #expect(againRelease == nil)
    }

    @Test func tickets_carryUniqueIdsOrgAndTier() throws {
        var gate = ConnectionGate()
        let a = try #require(gate.admit(org: acme, tier: .free, limits: free).ticket)
        let b = try #require(gate.admit(org: org("org_b"), tier: .pro, limits: TierMatrix.builtIn[.pro]).ticket)
        #expect(a.id != b.id)
        #expect(a.org == acme && a.tier == .free)
        #expect(b.org == org("org_b") && b.tier == .pro)
    }

    @Test func upgrade_raisesTheCeilingForTheNextAttempt() {
        var gate = ConnectionGate()
        for _ in 1...5 { _ = gate.admit(org: acme, tier: .free, limits: free) }
        let asFree = gate.admit(org: acme, tier: .free, limits: free)
        #expect(asFree.refusal != nil)
        let asStarter = gate.admit(org: acme, tier: .starter, limits: TierMatrix.builtIn[.starter])
        #expect(asStarter.ticket != nil)
        #expect(gate.count(for: acme) == 6)
    }

    @Test func downgrade_keepsOpenSessions_butRefusesNewOnes() throws {
        var gate = ConnectionGate()
        let pro = TierMatrix.builtIn[.pro]
        let tickets = (1...7).compactMap { _ in gate.admit(org: acme, tier: .pro, limits: pro).ticket }
        let refusal = try #require(gate.admit(org: acme, tier: .free, limits: free).refusal)
        #expect(refusal.current == 7 && refusal.max == 5)
        #expect(refusal.message == #"connection limit exceeded for org "org_acme": 7 of 5 (tier FREE)"#)
        for t in tickets.prefix(2) { gate.release(t) }
        let atCeiling = gate.admit(org: acme, tier: .free, limits: free)
        #expect(atCeiling.refusal?.current == 5)
        gate.release(tickets[2])
        let belowCeiling = gate.admit(org: acme, tier: .free, limits: free)
        #expect(belowCeiling.ticket != nil)
        #expect(gate.count(for: acme) == 5)
    }

    @Test func admit_withOrgTier_usesItsLimits() throws {
        let doc = OrgDocument(orgId: acme, tier: "FREE", postgres: .init(database: "acme"))
        let resolved = try OrgTier.resolve(document: doc, matrix: .builtIn, now: .init(timeIntervalSince1970: 0))
        var gate = ConnectionGate()
        for _ in 1...5 {
            let decision = gate.admit(resolved)
            #expect(decision.ticket != nil)
        }
        let sixth = gate.admit(resolved)
        #expect(sixth.refusal?.max == 5)
    }

    @Test func hint_comesFromTheGatesMatrix() throws {
        var matrix = TierMatrix.builtIn
        matrix[.free].postgres.maxConnections = 2
        matrix[.starter].postgres.maxConnections = 3
        var gate = ConnectionGate(matrix: matrix)
        for _ in 1...2 { _ = gate.admit(org: acme, tier: .free, limits: matrix[.free]) }
        let refusal = try #require(gate.admit(org: acme, tier: .free, limits: matrix[.free]).refusal)
        #expect(refusal.hint == "Upgrade to STARTER for 3 connections")
    }
    // MARK: Logins in progress

    func login(_ gate: inout ConnectionGate, from address: String = "10.0.0.1") -> LoginDecision {
        gate.beginLogin(org: acme, tier: .free, limits: free, address: address)
    }

    @Test func fiveSilentLogins_doNotRefuseTheRealUser_whoEvictsTheOldestFromHisAddress() throws {
        var gate = ConnectionGate()
        let squatters = (1...5).compactMap { _ in login(&gate).ticket }
        #expect(gate.count(for: acme) == 0, "logins in progress take no slot")
        #expect(gate.loginsInProgress(for: acme) == 5)
        guard case .admitted(let user, let evicted) = login(&gate) else {
            Issue.record("the real user's login was refused")
            return
        }
        #expect(evicted == squatters[0], "the address's oldest login makes room")
        #expect(gate.completeLogin(user, limits: free) == .admitted(user))
        #expect(gate.count(for: acme) == 1)
        #expect(gate.completeLogin(squatters[0], limits: free) == nil, "an evicted login can no longer take a slot")
    }

    @Test func oneAddress_neverEvictsAnotherAddresssLogins() throws {
        var gate = ConnectionGate()
        let others = (1...4).compactMap { _ in login(&gate, from: "10.0.0.2").ticket }
        for _ in 1...20 {
            guard case .admitted(_, let evicted) = login(&gate, from: "10.0.0.9") else { Issue.record("refused"); return }
            #expect(evicted.map { !others.contains($0) } ?? true)
        }
        #expect(gate.loginsInProgress(for: acme) == 9, "4 + the flooding address's 5")
    }

    @Test func orgBound_evictsTheOrgsOldestLogin() throws {
        var gate = ConnectionGate()
        let first = try #require(login(&gate, from: "10.0.0.1").ticket)
        for i in 2...10 { _ = login(&gate, from: "10.0.0.\(i)") }
        #expect(gate.loginsInProgress(for: acme) == 10, "2 x the ceiling of 5")
        guard case .admitted(_, let evicted) = login(&gate, from: "10.0.0.11") else { Issue.record("refused"); return }
        #expect(evicted == first)
        #expect(gate.loginsInProgress(for: acme) == 10)
    }

    @Test func loginsAreRefused_onlyWhenAuthenticatedSessionsAreAtTheCeiling() throws {
        var gate = ConnectionGate()
        let logins = (1...6).compactMap { _ in login(&gate, from: "10.0.0.\(Int.random(in: 1...200))").ticket }
        #expect(logins.count == 6, "six may try")
        let decisions = logins.map { gate.completeLogin($0, limits: free) }
        #expect(decisions.prefix(5).allSatisfy { $0?.ticket != nil })
        #expect(decisions.last??.refusal?.current == 5, "the sixth to authenticate gets the ceiling refusal")
        #expect(login(&gate).ticket == nil, "at the ceiling, a new login is refused before any backend starts")
    }

    @Test func releasingALogin_freesNoSlot_andReportsWhatItFreed() throws {
        var gate = ConnectionGate()
        let pending = try #require(login(&gate).ticket)
        let admitted = try #require(gate.admit(org: acme, tier: .free, limits: free).ticket)
        #expect(gate.release(pending) == .login)
        #expect(gate.release(admitted) == .slot)
        #expect(gate.loginsInProgress(for: acme) == 0 && gate.count(for: acme) == 0)
    }

}

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
