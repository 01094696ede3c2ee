import Dispatch

/// Work that may block (Redis round trips for counters) and must stay off the loop queues.
enum DispatchQueueBridge {
    static let queue = DispatchQueue(label: "tiergate.background", qos: .utility)

    static func background(_ work: @escaping @Sendable () -> Void) {
        queue.async(execute: work)
    }
}
