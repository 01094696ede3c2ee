import Dispatch
import Gate
import PostgresWire
import Proxy
import Synchronization
import Telemetry
import TierModel

/// The I/O side of `AdmissionQueue` (`serve --queue`): connections refused a slot wait
/// here for one instead of getting the refusal at once.
///
/// Guarantees:
/// - A waiter is answered exactly once: when a slot is free for it (slots are offered by
///   tier priority, FIFO within an org, each time a session ends), or at its deadline (one
///   last try, then the refusal it would have had), or, if its client leaves first, at
///   once and with nothing taken: it leaves the line and no timer of its own is left (one
///   timer serves the whole queue, armed for the earliest deadline).
/// - Waiting holds no slot, no login in progress and no upstream connection.
/// - `tiergate_connection_queue_length{tier}` counts the waiters; every exit records its
///   wait in `tiergate_connection_wait_seconds{tier}`.
final class AdmissionWaitQueue: @unchecked Sendable {
    /// What the queue needs from the admission that queued a connection.
    struct Waiting: Sendable {
        /// Tries to take a slot now; nil: still none. Runs under the queue's lock, so it
        /// must be quick and do no I/O (the gate and capacity locks only).
        let attempt: @Sendable () -> AdmissionOutcome?
        /// The answer at the deadline: a last attempt, else the usual refusal.
        let expire: @Sendable () -> AdmissionOutcome
        let complete: @Sendable (AdmissionOutcome) -> Void
    }

    private let state = Mutex(AdmissionQueue<Waiting>())
    /// Serializes draining, expiry and the timer's arming.
    private let queue = DispatchQueue(label: "tiergate.admission-queue")
    // Touched only on `queue` (and in deinit), hence @unchecked Sendable.
    private let timer: any DispatchSourceTimer
    private let metrics: TierGateMetrics
    private let clock: any PolicyClock

    init(metrics: TierGateMetrics, clock: any PolicyClock) {
        self.metrics = metrics
        self.clock = clock
        timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [weak self] in self?.expireDue() }
        timer.activate()
    }

    deinit {
        timer.cancel()
    }

    /// At shutdown, after the drain (no waiter is left: each was a session): the timer goes.
    func stop() {
        queue.sync { timer.cancel() }
    }

    /// Queues a connection of `org` for at most `wait`. False, queuing nothing, when the
    /// org already has as many waiters as its ceiling: the caller refuses at once.
    func enqueue(org: OrgId, tier: Tier, ceiling: Int, wait: Duration, cancellation: AdmissionCancellation,
                 _ waiting: Waiting) -> Bool {
        let now = clock.now
        let id = state.withLock { line -> UInt64? in
            guard line.count(org: org) < AdmissionQueue<Waiting>.perOrgBound(ceiling: ceiling) else { return nil }
            return line.enqueue(org: org, tier: tier, at: now, deadline: now + wait, payload: waiting)
        }
        guard let id else { return false }
        metrics.queued(tier: tier)
        cancellation.onCancel { [weak self] in self?.leave(id) }
        // A slot freed between the refusal and the enqueue found nobody waiting: look again.
        drainSoon()
        return true
    }

    /// Offers free slots to the waiters (after a session ended), off the caller's queue.
    func drainSoon() {
        // Nobody waiting: nothing to offer (a waiter queued later drains on its own).
        guard length > 0 else { return }
        queue.async { [self] in drain() }
    }

    var length: Int { state.withLock { $0.count } }

    func length(tier: Tier) -> Int { state.withLock { $0.count(tier: tier) } }

    private func drain() {
        let served = state.withLock { line -> [(AdmissionQueue<Waiting>.Waiter, AdmissionOutcome)] in
            var ready: [(AdmissionQueue<Waiting>.Waiter, AdmissionOutcome)] = []
            _ = line.serve { waiter in
                guard let outcome = waiter.payload.attempt() else { return false }
                ready.append((waiter, outcome))
                return true
            }
            return ready
        }
        let now = clock.now
        for (waiter, outcome) in served {
            metrics.leftQueue(tier: waiter.tier, waited: now - waiter.enqueuedAt)
            waiter.payload.complete(outcome)
        }
        rearm()
    }

    /// The client left: out of the line, answered with nothing taken (the session is gone
    /// and ignores the answer).
    private func leave(_ id: UInt64) {
        guard let waiter = state.withLock({ $0.remove(id) }) else { return }
        metrics.leftQueue(tier: waiter.tier, waited: clock.now - waiter.enqueuedAt)
        waiter.payload.complete(.refused(ErrorResponse(severity: .fatal, sqlState: .connectionFailure,
                                                       message: "the client left while waiting for a connection slot")))
        queue.async { [self] in rearm() }
    }

    private func expireDue() {
        let now = clock.now
        let expired = state.withLock { $0.removeExpired(at: now) }
        for waiter in expired {
            metrics.leftQueue(tier: waiter.tier, waited: now - waiter.enqueuedAt)
            waiter.payload.complete(waiter.payload.expire())
        }
        rearm()
    }

    /// On `queue`: the one timer, at the earliest deadline or off.
    private func rearm() {
        guard let next = state.withLock({ $0.earliestDeadline }) else {
            timer.schedule(deadline: .distantFuture)
            return
        }
        let delay = next - clock.now
        timer.schedule(deadline: .now() + .nanoseconds(max(0, delay.nanoseconds)))
    }
}
