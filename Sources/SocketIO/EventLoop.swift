import CLinux
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Told which readiness events its descriptor reported. Called on the loop's queue.
public protocol ReadinessHandler: AnyObject {
    func handle(events: UInt32)
}

/// Told when its timer is due. Called on the loop's queue.
public protocol TimerOwner: AnyObject {
    func timerFired()
}

/// A serial Dispatch queue that owns a set of sockets, served by one epoll instance.
///
/// Why not one DispatchSource per socket: on Linux, libdispatch hands each socket event from
/// its manager thread to a worker and back (epoll_wait, wake a worker, eventfd to re-arm),
/// three thread hops per event and two events per transaction, which cost more CPU than the
/// relaying itself. Here the epoll descriptor is the loop's only DispatchSourceRead; its
/// handler drains `epoll_wait` and serves every ready socket, so one wake-up serves all the
/// sockets that became ready meanwhile. After serving events it keeps waiting in `epoll_wait`
/// for up to `holdMilliseconds` (or until its next timer is due) before returning to Dispatch:
/// every return costs the next event a Dispatch wake-up, two thread hops. A login is several
/// round trips a few hundred microseconds apart, so a 1 ms hold paid about 17 context
/// switches per connect where PgBouncer's one thread pays 7; a 50 ms hold pays about 11. The
/// blocked thread costs no CPU, and work posted with `execute` wakes it at once.
///
/// Guarantees:
/// - Every handler, timer and `execute` block of the loop runs on `queue`, one at a time, so
///   state owned by the loop needs no lock.
/// - Sockets are level-triggered and always watched for hang-up and error (the channel
///   decides what to ask for; see `SocketChannel`), whatever their read/write interest.
/// - An event for a descriptor that was deregistered earlier in the same batch, or whose
///   number was reused since, is dropped: each registration carries a generation.
/// - Work posted with `execute` from other threads runs at once, not after the hold: a
///   holding loop is woken through an eventfd in its epoll set.
/// - Timers (`LoopTimers`) fire on the queue, also while the loop holds in `epoll_wait`.
public final class EventLoop: @unchecked Sendable {
    public let queue: DispatchQueue
    public let index: Int
    /// Shared by every socket of the loop: reads are processed to the end before the next
    /// read starts, so an idle connection holds no read buffer. Used only on `queue`.
    public var readBuffer: [UInt8]
    /// TLS channels gather plaintext batches and take ciphertext out through this; empty
    /// until a loop serves its first TLS connection. Used only on `queue`.
    public var tlsScratch: [UInt8] = []

    private let epollFD: Int32
    private let wakeFD: Int32
    private var source: DispatchSourceRead?
    private let timerSource: DispatchSourceTimer
    private var registrations: [Registration] = []
    private var nextGeneration: UInt32 = 0
    private let events: UnsafeMutablePointer<epoll_event>
    private var timers = LoopTimers()
    private var timerOwners: [TimerOwner?] = []
    /// The deadline the Dispatch timer is armed for (uptime ns); `.max` when disarmed.
    private var armedDeadline = UInt64.max
    private let holding = Atomic<Bool>(false)
    private let wakePending = Atomic<Bool>(false)
    /// Blocks posted with `execute` that have not started yet. A block posted just before the
    /// loop starts holding (its Dispatch source already queued ahead of the block) finds
    /// `holding` false and writes no wake-up; the loop sees it here instead and returns to
    /// Dispatch after its first batch rather than keeping the block waiting for the hold.
    private let posted = Atomic<Int>(0)
    private let counters = LoopCounters()

    public static let eventCapacity: Int32 = 256
    /// How long a loop that served events waits in epoll_wait for more before returning to Dispatch.
    public static let holdMilliseconds: Int32 = 50
    /// A loop returns to Dispatch at least this often, so a block put on its queue by other
    /// means than `execute` (which wakes it) still runs.
    static let maxHoldNanoseconds: UInt64 = 100_000_000
    private static let wakeToken = UInt64.max

    private struct Registration {
        var generation: UInt32 = 0
        var handler: ReadinessHandler?
    }

    /// `name` labels the loop's queue (`<name>.<index>`), as thread dumps and profiles show it.
    public init(index: Int, name: String = "tiergate.loop", readBufferSize: Int = 64 * 1024) {
        self.index = index
        queue = DispatchQueue(label: "\(name).\(index)", qos: .userInitiated)
        readBuffer = [UInt8](repeating: 0, count: readBufferSize)
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        precondition(epollFD >= 0, "epoll_create1 failed: errno \(errno)")
        wakeFD = eventfd(0, Int32(EFD_NONBLOCK | EFD_CLOEXEC))
        precondition(wakeFD >= 0, "eventfd failed: errno \(errno)")
        events = .allocate(capacity: Int(Self.eventCapacity))
        var wake = epoll_event()
        wake.events = EPOLLIN.rawValue
        wake.data.u64 = Self.wakeToken
        epoll_ctl(epollFD, EPOLL_CTL_ADD, wakeFD, &wake)
        timerSource = DispatchSource.makeTimerSource(queue: queue)
        timerSource.setEventHandler { [unowned self] in
            armedDeadline = .max
            runDueTimers()
            armTimer()
        }
        timerSource.schedule(deadline: .distantFuture)
        timerSource.resume()
        let source = DispatchSource.makeReadSource(fileDescriptor: epollFD, queue: queue)
        source.setEventHandler { [unowned self] in serve() }
        source.resume()
        self.source = source
    }

    // Loops live as long as the process: they are never torn down, so no deinit closes them.

    // MARK: Cross-thread work

    /// Runs `work` on the loop's queue. From another thread this is `queue.async`, plus a
    /// wake-up when the loop is holding in epoll_wait (else the block would wait for the hold).
    public func execute(_ work: @escaping @Sendable () -> Void) {
        // Sequentially consistent with `serve`'s store of `holding` and load of `posted`: of
        // the two, at least one sees the other, so the block never waits for a whole hold.
        posted.add(1, ordering: .sequentiallyConsistent)
        queue.async { [self] in
            posted.subtract(1, ordering: .relaxed)
            work()
        }
        if holding.load(ordering: .sequentiallyConsistent), !wakePending.exchange(true, ordering: .acquiringAndReleasing) {
            var one: UInt64 = 1
            _ = Glibc.write(wakeFD, &one, 8)
        }
    }

    /// True when called on this loop's queue.
    public var inLoop: Bool { DispatchQueue.getSpecific(key: EventLoop.key) === self }

    static let key = DispatchSpecificKey<EventLoop>()
    func markQueue() { queue.setSpecific(key: EventLoop.key, value: self) }

    // MARK: Registration (on `queue` only)

    /// Registers `fd` with the given epoll interest; returns the token to pass to `modify`.
    public func register(_ fd: Int32, interest: UInt32, handler: ReadinessHandler) -> UInt64? {
        let slot = Int(fd)
        if slot >= registrations.count {
            registrations += Array(repeating: Registration(), count: max(slot + 1 - registrations.count, registrations.count))
        }
        nextGeneration &+= 1
        registrations[slot] = Registration(generation: nextGeneration, handler: handler)
        let token = UInt64(nextGeneration) << 32 | UInt64(UInt32(bitPattern: fd))
        var event = epoll_event()
        event.events = interest
        event.data.u64 = token
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, fd, &event) == 0 else {
            registrations[slot] = Registration()
            return nil
        }
        return token
    }

    public func modify(_ fd: Int32, token: UInt64, interest: UInt32) {
        var event = epoll_event()
        event.events = interest
        event.data.u64 = token
        epoll_ctl(epollFD, EPOLL_CTL_MOD, fd, &event)
    }

    /// Stops delivering events for `fd` (call before closing it).
    public func deregister(_ fd: Int32) {
        var event = epoll_event()
        epoll_ctl(epollFD, EPOLL_CTL_DEL, fd, &event)
        if Int(fd) < registrations.count { registrations[Int(fd)] = Registration() }
    }

    // MARK: Timers (on `queue` only)

    public func makeTimer(owner: TimerOwner) -> LoopTimers.ID {
        let id = timers.make()
        if id >= timerOwners.count { timerOwners.append(nil) }
        timerOwners[id] = owner
        return id
    }

    /// Sets the timer to fire after `delay` (replacing any earlier deadline).
    public func schedule(_ id: LoopTimers.ID, after delay: Duration) {
        let (seconds, attoseconds) = delay.components
        let nanos = max(0, seconds) * 1_000_000_000 + max(0, attoseconds / 1_000_000_000)
        timers.schedule(id, at: DispatchTime.now().uptimeNanoseconds &+ UInt64(nanos))
        armTimer()
    }

    public func cancel(_ id: LoopTimers.ID) {
        timers.cancel(id)
    }

    /// Cancels the timer and forgets its owner.
    public func releaseTimer(_ id: LoopTimers.ID) {
        timers.release(id)
        if id < timerOwners.count { timerOwners[id] = nil }
        if timers.scheduledCount == 0 && timerOwners.allSatisfy({ $0 == nil }) { timerOwners = [] }
    }

    private func runDueTimers() {
        guard let earliest = timers.earliest else { return }
        let now = DispatchTime.now().uptimeNanoseconds
        guard earliest <= now else { return }
        while let id = timers.popDue(now: now) {
            timerOwners[id]?.timerFired()
        }
    }

    /// Arms the Dispatch timer for the earliest deadline, only when that is sooner than what
    /// it is armed for: re-arming wakes Dispatch's manager thread, and most new deadlines
    /// (timeouts of seconds) are later than one already armed.
    private func armTimer() {
        guard let earliest = timers.earliest, earliest < armedDeadline else { return }
        armedDeadline = earliest
        timerSource.schedule(deadline: DispatchTime(uptimeNanoseconds: earliest), leeway: .milliseconds(10))
    }

    // MARK: Serving events

    private func serve() {
        counters.wakeups.add(1, ordering: .relaxed)
        holding.store(true, ordering: .sequentiallyConsistent)
        let started = DispatchTime.now().uptimeNanoseconds
        var timeout: Int32 = 0
        while true {
            let count = epoll_wait(epollFD, events, Self.eventCapacity, timeout)
            if count < 0 {
                if errno == EINTR { continue }
                break
            }
            var woken = false
            for i in 0..<Int(count) {
                let event = events[i]
                let token = event.data.u64
                if token == Self.wakeToken {
                    var value: UInt64 = 0
                    _ = Glibc.read(wakeFD, &value, 8)
                    wakePending.store(false, ordering: .releasing)
                    woken = true
                    continue
                }
                let slot = Int(UInt32(truncatingIfNeeded: token))
                guard slot < registrations.count,
                      registrations[slot].generation == UInt32(truncatingIfNeeded: token >> 32),
                      let handler = registrations[slot].handler else { continue }
                handler.handle(events: event.events)
            }
            if count > 0 { counters.events.add(Int(count), ordering: .relaxed) }
            runDueTimers()
            // Posted work waits on the queue behind this handler: let it run.
            if woken || count == 0 || posted.load(ordering: .sequentiallyConsistent) > 0 { break }
            let now = DispatchTime.now().uptimeNanoseconds
            if now - started > Self.maxHoldNanoseconds { break }
            timeout = holdTimeout(now: now)
        }
        holding.store(false, ordering: .releasing)
        armTimer()
    }

    /// The hold, cut short so that a loop timer is not served late (rounded up: epoll_wait
    /// counts whole milliseconds, and waking early would only spin).
    private func holdTimeout(now: UInt64) -> Int32 {
        guard let earliest = timers.earliest else { return Self.holdMilliseconds }
        guard earliest > now else { return 0 }
        let milliseconds = (earliest - now + 999_999) / 1_000_000
        return Int32(min(UInt64(Self.holdMilliseconds), milliseconds))
    }

    /// Wake-ups from Dispatch and socket events served, since start.
    public var statistics: LoopStatistics {
        LoopStatistics(wakeups: counters.wakeups.load(ordering: .relaxed),
                       events: counters.events.load(ordering: .relaxed))
    }
}

public struct LoopStatistics: Sendable, Equatable {
    public var wakeups: Int
    public var events: Int

    public init(wakeups: Int, events: Int) {
        self.wakeups = wakeups
        self.events = events
    }

    /// Socket events served per Dispatch wake-up: how much batching the loop gets.
    public var eventsPerWakeup: Double { wakeups == 0 ? 0 : Double(events) / Double(wakeups) }

    public static func + (lhs: LoopStatistics, rhs: LoopStatistics) -> LoopStatistics {
        LoopStatistics(wakeups: lhs.wakeups + rhs.wakeups, events: lhs.events + rhs.events)
    }
}

private final class LoopCounters: Sendable {
    let wakeups = Atomic<Int>(0)
    let events = Atomic<Int>(0)
}

/// The loops of a proxy, one per core by default; new connections are spread over them.
public final class EventLoopGroup: Sendable {
    public let loops: [EventLoop]
    private let nextIndex = Atomic<UInt>(0)

    public init(count: Int, name: String = "tiergate.loop", readBufferSize: Int = 64 * 1024) {
        loops = (0..<max(1, count)).map { EventLoop(index: $0, name: name, readBufferSize: readBufferSize) }
        for loop in loops { loop.markQueue() }
    }

    public func next() -> EventLoop {
        loops[Int(nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(loops.count))]
    }

    public var statistics: LoopStatistics {
        loops.reduce(LoopStatistics(wakeups: 0, events: 0)) { $0 + $1.statistics }
    }
}
