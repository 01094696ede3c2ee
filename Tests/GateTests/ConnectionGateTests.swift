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
        #expect(released)
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
        #expect(firstRelease)
        let secondRelease = gate.release(first)
        #expect(!secondRelease)
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
        #expect(!staleRelease)
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
        #expect(!againRelease)
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
