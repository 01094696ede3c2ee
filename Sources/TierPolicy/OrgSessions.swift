import Foundation
import Synchronization
import TierModel

/// The open sessions of every org with the tier they run under, the downgrades waiting for
/// their grace period to end, and the admission count.
///
/// Plain bookkeeping behind one lock; the timers and session commands it leads to are
/// performed by `TierAdmission`.
final class OrgSessions: Sendable {
    struct PendingEnforcement: Sendable, Equatable {
        let tier: Tier
        /// Set when the ceiling fell because this burst tier's burst ended.
        let burstEndedFrom: Tier?
        let ceiling: Int
        /// Open sessions when the downgrade was seen.
        let openAtChange: Int
        /// When the grace period ends, on the policy clock.
        let deadline: ContinuousClock.Instant
        /// The same moment on the wall clock, as SHOW ORG prints it.
        let deadlineDate: Date
        /// Distinguishes this enforcement from a later one for the same org.
        let token: UInt64
    }

    struct State {
        var sessions: [OrgId: [UInt64: SessionControl]] = [:]
        /// The tier each org's open sessions were last told about.
        var tiers: [OrgId: OrgTier] = [:]
        var pending: [OrgId: PendingEnforcement] = [:]
        var nextToken: UInt64 = 0
        var admitted = 0
        var closedByDowngrade = 0
        /// Sessions are counted across instances (leases): an org within its ceiling here
        /// may still be over it in the cluster, so a pending enforcement stays until its time.
        var clusterWide = false
    }

    let state = Mutex(State())

    func register(_ control: SessionControl, org: OrgTier) {
        state.withLock { state in
            state.sessions[org.orgId, default: [:]][control.ticketId] = control
            state.admitted += 1
            if state.tiers[org.orgId] == nil { state.tiers[org.orgId] = org }
        }
    }

    func unregister(_ ticketId: UInt64, org: OrgId) {
        state.withLock { state in
            state.sessions[org]?.removeValue(forKey: ticketId)
            if state.sessions[org]?.isEmpty == true {
                state.sessions[org] = nil
                state.tiers[org] = nil
                state.pending[org] = nil
            } else if !state.clusterWide, let pending = state.pending[org], (state.sessions[org]?.count ?? 0) <= pending.ceiling {
                // Back within the ceiling on its own: nothing left to enforce.
                state.pending[org] = nil
            }
        }
    }

    func controls(of org: OrgId) -> [SessionControl] {
        state.withLock { Array(($0.sessions[org] ?? [:]).values) }
    }

    var orgsWithSessions: [OrgId] { state.withLock { Array($0.sessions.keys) } }
}
