import Dispatch

/// A serial queue that owns a set of sockets, in the style of an event loop: every handler of
/// a session runs on its loop's queue, so a session's state needs no lock, and a few loops
/// (one per core) serve thousands of sessions without a thread each.
///
/// Each loop has one read buffer shared by all its sessions. Reads are processed to the end
/// before the next read starts, so an idle connection holds no read buffer at all.
final class EventLoop: @unchecked Sendable {
    let queue: DispatchQueue
    /// Used only on `queue`.
    var readBuffer: [UInt8]

    init(index: Int, readBufferSize: Int) {
        queue = DispatchQueue(label: "tiergate.loop.\(index)", qos: .userInitiated)
        readBuffer = [UInt8](repeating: 0, count: readBufferSize)
    }
}

final class EventLoopGroup: @unchecked Sendable {
    let loops: [EventLoop]
    private var nextIndex = 0
    private let lock = DispatchQueue(label: "tiergate.loops.pick")

    init(count: Int, readBufferSize: Int = 64 * 1024) {
        loops = (0..<max(1, count)).map { EventLoop(index: $0, readBufferSize: readBufferSize) }
    }

    func next() -> EventLoop {
        lock.sync {
            defer { nextIndex = (nextIndex + 1) % loops.count }
            return loops[nextIndex]
        }
    }
}
