/// The deadlines of one event loop's timers, as a binary min-heap that knows where each timer
/// sits, so rescheduling or cancelling one costs O(log n) and a cancelled timer leaves nothing
/// behind (a lazily-deleted heap would keep a closed session's entry until its deadline).
///
/// Pure bookkeeping: ids and nanosecond deadlines, no clock and no callbacks, so the loop's
/// timing is tested without waiting. The loop maps ids to their owners and reads the clock.
public struct LoopTimers: Sendable {
    public typealias ID = Int

    private struct Slot: Sendable {
        var deadline: UInt64 = 0
        /// Position in `heap`, or -1 when not scheduled.
        var heapIndex = -1
        var inUse = false
    }

    private var slots: [Slot] = []
    private var freeIDs: [ID] = []
    private var heap: [ID] = []

    public init() {}

    /// A new timer, not scheduled. Ids of released timers are reused.
    public mutating func make() -> ID {
        if let id = freeIDs.popLast() {
            slots[id] = Slot(inUse: true)
            return id
        }
        slots.append(Slot(inUse: true))
        return slots.count - 1
    }

    /// Cancels the timer and gives its id back.
    public mutating func release(_ id: ID) {
        guard slots.indices.contains(id), slots[id].inUse else { return }
        cancel(id)
        slots[id].inUse = false
        freeIDs.append(id)
        if freeIDs.count == slots.count {
            // Every timer is gone (all sessions closed): give the memory back too.
            slots = []
            freeIDs = []
            heap = []
        }
    }

    /// Sets (or moves) the timer's deadline.
    public mutating func schedule(_ id: ID, at deadline: UInt64) {
        guard slots.indices.contains(id), slots[id].inUse else { return }
        slots[id].deadline = deadline
        if slots[id].heapIndex < 0 {
            heap.append(id)
            slots[id].heapIndex = heap.count - 1
            siftUp(heap.count - 1)
        } else {
            let index = slots[id].heapIndex
            siftUp(index)
            siftDown(slots[id].heapIndex)
        }
    }

    public mutating func cancel(_ id: ID) {
        guard slots.indices.contains(id), slots[id].heapIndex >= 0 else { return }
        let index = slots[id].heapIndex
        slots[id].heapIndex = -1
        let last = heap.removeLast()
        guard index < heap.count else { return }
        heap[index] = last
        slots[last].heapIndex = index
        siftUp(index)
        siftDown(slots[last].heapIndex)
    }

    public func isScheduled(_ id: ID) -> Bool {
        slots.indices.contains(id) && slots[id].heapIndex >= 0
    }

    /// The earliest deadline, if any timer is scheduled.
    public var earliest: UInt64? { heap.first.map { slots[$0].deadline } }

    public var scheduledCount: Int { heap.count }

    /// Unschedules and returns one timer whose deadline is at or before `now`, earliest first.
    public mutating func popDue(now: UInt64) -> ID? {
        guard let first = heap.first, slots[first].deadline <= now else { return nil }
        cancel(first)
        return first
    }

    private mutating func siftUp(_ start: Int) {
        var child = start
        while child > 0 {
            let parent = (child - 1) / 2
            guard slots[heap[child]].deadline < slots[heap[parent]].deadline else { return }
            swapAt(child, parent)
            child = parent
        }
    }

    private mutating func siftDown(_ start: Int) {
        var parent = start
        while true {
            let left = 2 * parent + 1
            guard left < heap.count else { return }
            let right = left + 1
            var smallest = left
            if right < heap.count, slots[heap[right]].deadline < slots[heap[left]].deadline { smallest = right }
            guard slots[heap[smallest]].deadline < slots[heap[parent]].deadline else { return }
            swapAt(parent, smallest)
            parent = smallest
        }
    }

    private mutating func swapAt(_ a: Int, _ b: Int) {
        heap.swapAt(a, b)
        slots[heap[a]].heapIndex = a
        slots[heap[b]].heapIndex = b
    }
}
