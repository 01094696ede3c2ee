import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// One non-blocking socket on an event loop: a read source, a write source used only while
/// bytes are pending (or a connect is in flight), and the pending bytes.
///
/// All methods must be called on `loop.queue`. The descriptor is closed only after both
/// sources' cancel handlers ran, as Dispatch requires, so a reused descriptor number can never
/// receive a stale event.
final class SocketChannel {
    let fd: Int32
    let loop: EventLoop
    private let readSource: DispatchSourceRead
    private let writeSource: DispatchSourceWrite
    private var reading = false
    private var writing = false
    private var closed = false
    private var pending = PendingWrites()

    /// Called when the socket is readable while reading is on.
    var onReadable: () -> Void = {}
    /// Called when the socket became writable: pending bytes drained, or a connect finished.
    var onWritable: () -> Void = {}

    private(set) var bytesRead = 0
    private(set) var bytesWritten = 0

    init(fd: Int32, loop: EventLoop) {
        self.fd = fd
        self.loop = loop
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: loop.queue)
        writeSource = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: loop.queue)
        let cancelled = DispatchGroup()
        cancelled.enter()
        cancelled.enter()
        readSource.setCancelHandler { cancelled.leave() }
        writeSource.setCancelHandler { cancelled.leave() }
        cancelled.notify(queue: loop.queue) { _ = Glibc.close(fd) }
        readSource.setEventHandler { [unowned self] in self.onReadable() }
        writeSource.setEventHandler { [unowned self] in self.handleWritable() }
    }

    var hasPendingWrites: Bool { !pending.isEmpty }
    var pendingByteCount: Int { pending.count }

    func setReading(_ on: Bool) {
        guard !closed, on != reading else { return }
        reading = on
        if on { readSource.resume() } else { readSource.suspend() }
    }

    /// Fires `onWritable` once the socket is writable: how a non-blocking connect completes.
    func awaitWritable() {
        setWriting(true)
    }

    /// Reads into the loop's buffer and hands the bytes to `body`.
    func read(_ body: (ArraySlice<UInt8>) -> Void) -> Socket.IOResult {
        let result = loop.readBuffer.withUnsafeMutableBytes { Socket.read(fd, into: $0) }
        if case .bytes(let n) = result {
            bytesRead += n
            body(loop.readBuffer[0..<n])
        }
        return result
    }

    enum WriteOutcome {
        case written
        case queued
        case failed
    }

    /// Writes what the kernel takes now and keeps the rest; `.queued` tells the caller to
    /// stop reading the other side until `onWritable` (backpressure).
    @discardableResult
    func write(_ bytes: ArraySlice<UInt8>) -> WriteOutcome {
        guard !closed else { return .failed }
        if pending.isEmpty {
            var offset = bytes.startIndex
            while offset < bytes.endIndex {
                let result = bytes[offset...].withUnsafeBytes { Socket.write(fd, $0) }
                switch result {
                case .bytes(let n):
                    offset += n
                    bytesWritten += n
                case .wouldBlock:
                    pending.append(bytes[offset...])
                    setWriting(true)
                    return .queued
                case .closed, .failed:
                    return .failed
                }
            }
            return .written
        }
        pending.append(bytes)
        return .queued
    }

    private func handleWritable() {
        if pending.isEmpty {
            setWriting(false)
            onWritable()
            return
        }
        let before = pending.count
        let result = pending.drain { Socket.write(fd, $0) }
        bytesWritten += before - pending.count
        switch result {
        case .drained:
            setWriting(false)
            onWritable()
        case .partial:
            break
        case .failed:
            setWriting(false)
            onWritable()
        }
    }

    private func setWriting(_ on: Bool) {
        guard !closed, on != writing else { return }
        writing = on
        if on { writeSource.resume() } else { writeSource.suspend() }
    }

    /// Tries to push out what is pending once more, then stops both sources and closes.
    func close() {
        guard !closed else { return }
        if !pending.isEmpty { _ = pending.drain { Socket.write(fd, $0) } }
        closed = true
        onReadable = {}
        onWritable = {}
        readSource.cancel()
        writeSource.cancel()
        // A suspended source never runs its cancel handler; cancelled ones deliver no events.
        if !reading { readSource.resume() }
        if !writing { writeSource.resume() }
    }

    var isClosed: Bool { closed }
}
