import TierModel

/// Burst state shared by every TierGate through Redis (docs/design.md#bursts): who is bursting,
/// until when, who is cooling down or switched off, and the minutes billed.
///
/// Each call is one Lua script (`BurstScripts`), so starting, ending and billing a burst
/// happen exactly once across instances, and the `ended` a call returns is reported by that
/// caller alone (it logs the end and counts the seconds). Calls block (hiredis): never make
/// them on an I/O queue. Every call returns nil when Redis is unavailable; callers then
/// fall back to the base tier, which is what the org pays for.
public final class BurstLedger: Sendable {
    /// What a connection that wants a burst gets.
    public enum Decision: Sendable, Equatable {
        /// A burst is running (started by any instance); `remaining` until it ends.
        case running(BurstState, remaining: Duration)
        /// This call started it: the caller logs the start.
        case started(BurstState, remaining: Duration)
        /// A burst ended less than the cooldown ago: no new one yet.
        case coolingDown(remaining: Duration)
        /// `BURST OFF` is in force for the org.
        case switchedOff

        /// The burst in force after this decision, if any.
        public var burst: BurstState? {
            switch self {
            case .running(let state, _), .started(let state, _): state
            case .coolingDown, .switchedOff: nil
            }
        }
    }

    /// What `BURST OFF` found.
    public enum SwitchedOff: Sendable, Equatable {
        /// A burst was running; this call finished it.
        case endedRunning(Ended)
        case noneRunning
    }

    public struct Admission: Sendable, Equatable {
        public let decision: Decision
        /// A burst this call found over and finished (the caller reports its end).
        public let ended: Ended?
        /// Minutes this call billed (1 for a start, else 0 or the last ones of `ended`).
        public let billedMinutes: Int
    }

    /// A burst that one call finished: its record with `endedAt`.
    public struct Ended: Sendable, Equatable {
        public let state: BurstState
        /// Minutes billed by the finishing call itself.
        public let billedMinutes: Int
    }

    public enum Tick: Sendable, Equatable {
        case running(BurstState, remaining: Duration, billedMinutes: Int)
        case ended(Ended)
        /// No burst is running: another instance finished it, or it never was.
        case notRunning
    }

    /// What SHOW ORG shows.
    public struct Status: Sendable, Equatable {
        /// The latest burst, running or over; nil if the org never burst.
        public let latest: BurstState?
        public let running: Bool
        /// Time left of the cooldown (after the running burst, if one runs); nil if none.
        public let cooldownRemaining: Duration?
        public let switchedOff: Bool
        /// Burst minutes billed to the org, ever.
        public let totalBilledMinutes: Int
        /// Redis' clock, epoch ms.
        public let now: Int
    }

    private let redis: RedisTierCache

    init(redis: RedisTierCache) {
        self.redis = redis
    }

    /// Starts a burst for `org` unless one runs, the org is cooling down or switched off.
    public func admit(_ org: OrgId, burst: OrgTier.BurstConfig, instance: String) -> Admission? {
        guard let reply = run(BurstScripts.admit, org, [burst.burstTier.rawValue, String(burst.costPerMinute),
                                                        String(burst.maxDurationMilliseconds),
                                                        String(burst.cooldownMilliseconds), instance]) else { return nil }
        switch reply.code {
        case 1, 2:
            guard let state = reply.state else { return nil }
            let remaining = Duration.milliseconds(max(0, state.endsAt - reply.now))
            return Admission(decision: reply.code == 2 ? .started(state, remaining: remaining) : .running(state, remaining: remaining),
                             ended: nil, billedMinutes: reply.added)
        case 3, 4:
            let ended = reply.state.map { Ended(state: $0, billedMinutes: reply.added) }
            let decision: Decision = reply.code == 4 ? .switchedOff : .coolingDown(remaining: .milliseconds(max(0, reply.pttl)))
            return Admission(decision: decision, ended: ended, billedMinutes: reply.added)
        default:
            return nil
        }
    }

    /// Bills minutes begun since the last tick and finishes a burst that is over.
    public func tick(_ org: OrgId) -> Tick? {
        guard let reply = run(BurstScripts.tick, org, []) else { return nil }
        switch reply.code {
        case 1:
            guard let state = reply.state else { return .notRunning }
            return .running(state, remaining: .milliseconds(max(0, state.endsAt - reply.now)), billedMinutes: reply.added)
        case 2:
            guard let state = reply.state else { return .notRunning }
            return .ended(Ended(state: state, billedMinutes: reply.added))
        default:
            return .notRunning
        }
    }

    /// BURST OFF: ends a running burst now and keeps the org from bursting until `resume`.
    /// Nil when Redis is unavailable.
    public func switchOff(_ org: OrgId) -> SwitchedOff? {
        guard let reply = run(BurstScripts.stop, org, []) else { return nil }
        guard reply.code == 2, let state = reply.state else { return .noneRunning }
        return .endedRunning(Ended(state: state, billedMinutes: reply.added))
    }

    /// BURST ON: lifts the kill switch. True if it was set.
    public func resume(_ org: OrgId) -> Bool? {
        run(BurstScripts.resume, org, []).map { $0.code == 1 }
    }

    public func status(_ org: OrgId) -> Status? {
        guard let reply = run(BurstScripts.status, org, []) else { return nil }
        var latest = reply.state
        let running = reply.code == 1 && latest != nil && latest?.endedAt == nil && (latest?.endsAt ?? 0) > reply.now
        // Over but not yet finished by an instance's tick (at most a check interval): shown
        // as the tick will record it.
        if !running, let state = latest, state.endedAt == nil {
            latest = BurstState(startedAt: state.startedAt, endsAt: state.endsAt, burstTier: state.burstTier,
                                costPerMinute: state.costPerMinute, billedMinutes: state.billedMinutes,
                                startedBy: state.startedBy, endedAt: min(reply.now, state.endsAt))
        }
        return Status(latest: latest, running: running,
                      cooldownRemaining: reply.pttl > 0 ? .milliseconds(reply.pttl) : nil,
                      switchedOff: reply.pttl == -1, totalBilledMinutes: reply.added, now: reply.now)
    }

    // MARK: Script calls

    private struct Reply {
        let code: Int
        let state: BurstState?
        let added: Int
        let pttl: Int
        let now: Int
    }

    private func run(_ script: String, _ org: OrgId, _ arguments: [String]) -> Reply? {
        let keys = [RedisKey.burst(org), RedisKey.burstCooldown(org), RedisKey.burstMinutesBilled, RedisKey.burstRecords]
        let reply = redis.withConnection { connection throws(RedisError) in
            try connection.command(["EVAL", script, String(keys.count)] + keys + [org.rawValue] + arguments)
        }
        guard case .array(let parts)? = reply, parts.count == 5,
              case .integer(let code) = parts[0], case .integer(let added) = parts[2],
              case .integer(let pttl) = parts[3], case .integer(let now) = parts[4] else { return nil }
        let text = parts[1].string ?? ""
        // A record that does not parse is reported as none rather than trusted.
        let state = text.isEmpty ? nil : try? BurstState(json: text)
        return Reply(code: code, state: state, added: added, pttl: pttl, now: now)
    }
}
