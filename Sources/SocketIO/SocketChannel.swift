import CLinux
import TLS
#if canImport(Glibc)
import Glibc
#endif

/// What a channel tells its owner. Called on the loop's queue.
public protocol SocketChannelDelegate: AnyObject {
    /// Readable (or at end of stream, or failed) while reading is on: call `read`.
    func channelReadable(_ channel: SocketChannel)
    /// Pending bytes are all written, or a connect finished (check `Socket.connectResult`).
    func channelWritable(_ channel: SocketChannel)
    /// The peer is gone or half-gone while the channel is not reading it: `error` for a
    /// reset or socket error (nothing more can be sent either), else the peer closed its
    /// sending side (EPOLLRDHUP). Reported once per condition.
    func channelHungUp(_ channel: SocketChannel, error: Bool)
    /// The TLS handshake started with `startTLS` finished, well or not (reported from `read`,
    /// before the first plaintext byte; `startTLS` returns the step instead of calling this).
    func channelTLSHandshake(_ channel: SocketChannel, _ step: TLSConnection.HandshakeStep)
}

extension SocketChannelDelegate {
    public func channelTLSHandshake(_ channel: SocketChannel, _ step: TLSConnection.HandshakeStep) {}
}

/// One non-blocking socket on an event loop: its epoll interest, the bytes waiting to be
/// written, and the hang-up watch.
///
/// Guarantees:
/// - The socket is always watched for hang-up and error, reading or not: a peer that resets
///   while the proxy has paused reading it (backpressure, admission, connect) is noticed at
///   once, not when reading resumes.
/// - Writes queued with `enqueue` go out together on `flush`, in one `send` or `sendmsg`, so a
///   batch of messages costs one syscall; what the kernel does not take is copied and kept.
///   Queued slices may point into the loop's read buffer: `flush` must run before the next
///   read of any socket of the loop (the session shell flushes after every event).
/// - `close` deregisters before closing, so a reused descriptor number never gets a stale event.
/// - With TLS (`startTLS`), `read` hands out plaintext and `enqueue` takes plaintext: what
///   is queued is encrypted at `flush` as one run of records, and the ciphertext goes out as
///   above. Without TLS nothing of this runs: a plaintext channel pays one nil check.
///
/// All methods must be called on `loop.queue`.
public final class SocketChannel: ReadinessHandler {
    public let fd: Int32
    public let loop: EventLoop
    public unowned(unsafe) var delegate: SocketChannelDelegate?
    private var token: UInt64 = 0
    private var interest: UInt32 = 0
    private var reading = false
    private var awaitingWritable = false
    private var rdhupReported = false
    private var closed = false
    private var pending = PendingWrites()
    /// Queued for the next flush: the first slice apart, so the usual single write allocates nothing.
    private var firstQueued: ArraySlice<UInt8>?
    private var moreQueued: [ArraySlice<UInt8>] = []
    /// The TLS layer once `startTLS` ran; the handshake is done once `tls.isEstablished`.
    public private(set) var tls: TLSConnection?

    public private(set) var bytesRead = 0
    public private(set) var bytesWritten = 0

    private static let hangUp = EPOLLRDHUP.rawValue
    private static let errorOrHangUp = EPOLLERR.rawValue | EPOLLHUP.rawValue

    /// Registers `fd` on `loop` (not reading yet). Returns nil if epoll refuses it; the
    /// descriptor is then closed.
    public init?(fd: Int32, loop: EventLoop) {
        self.fd = fd
        self.loop = loop
        interest = Self.hangUp
        guard let token = loop.register(fd, interest: interest, handler: self) else {
            _ = Glibc.close(fd)
            return nil
        }
        self.token = token
    }

    public var isClosed: Bool { closed }
    public var isReading: Bool { reading }
    public var hasPendingWrites: Bool { !pending.isEmpty }
    public var pendingByteCount: Int { pending.count }

    public func setReading(_ on: Bool) {
        guard !closed, on != reading else { return }
        reading = on
        updateInterest()
    }

    /// Reports `channelWritable` once the socket is writable: how a non-blocking connect completes.
    public func awaitWritable() {
        guard !closed else { return }
        awaitingWritable = true
        updateInterest()
    }

    private func updateInterest() {
        var wanted: UInt32 = 0
        if reading { wanted |= EPOLLIN.rawValue }
        // Hang-up is watched until reported once; after that level-triggering would repeat it.
        if !rdhupReported { wanted |= Self.hangUp }
        if awaitingWritable || !pending.isEmpty { wanted |= EPOLLOUT.rawValue }
        guard wanted != interest else { return }
        interest = wanted
        loop.modify(fd, token: token, interest: wanted)
    }

    public func handle(events: UInt32) {
        guard !closed else { return }
        let failed = events & Self.errorOrHangUp != 0
        if reading, events & EPOLLIN.rawValue != 0 || failed {
            // The read itself reports end of stream or the error.
            delegate?.channelReadable(self)
            return
        }
        if awaitingWritable, pending.isEmpty, events & EPOLLOUT.rawValue != 0 || failed {
            // A connect finished, well or not: the owner asks `Socket.connectResult`.
            awaitingWritable = false
            updateInterest()
            delegate?.channelWritable(self)
            return
        }
        if events & EPOLLOUT.rawValue != 0, !pending.isEmpty {
            writable(failed: failed)
            guard !closed else { return }
        }
        if failed {
            delegate?.channelHungUp(self, error: true)
        } else if events & Self.hangUp != 0, !rdhupReported, !reading {
            rdhupReported = true
            updateInterest()
            delegate?.channelHungUp(self, error: false)
        }
    }

    private func writable(failed: Bool) {
        if !pending.isEmpty {
            let before = pending.count
            let result = pending.drain { Socket.write(fd, $0) }
            bytesWritten += before - pending.count
            if case .partial = result { return }
            if case .failed = result {
                delegate?.channelHungUp(self, error: true)
                return
            }
        }
        updateInterest()
        if !failed { delegate?.channelWritable(self) }
    }

    // MARK: Reading

    /// Reads once into the loop's buffer and hands the bytes to `body`.
    public func read(_ body: (ArraySlice<UInt8>) -> Void) -> Socket.IOResult {
        let result = loop.readBuffer.withUnsafeMutableBytes { Socket.read(fd, into: $0) }
        if case .bytes(let n) = result {
            bytesRead += n
            if let tls { return readTLS(tls, count: n, body) }
            body(loop.readBuffer[0..<n])
        }
        return result
    }

    // MARK: TLS

    /// Puts TLS over the socket from here on. `initial`: ciphertext already read (a client's
    /// ClientHello that arrived as its first bytes). Returns the first handshake step, with
    /// its output already sent (or queued); later steps come to `channelTLSHandshake`.
    public func startTLS(_ connection: TLSConnection, initial: ArraySlice<UInt8> = []) -> TLSConnection.HandshakeStep {
        guard !closed else { return .failed(TLSFailure(.peerClosed)) }
        // Anything queued before (the 'S' that answers an SSLRequest) goes out in plain text, first.
        if flush() == .failed { return .failed(TLSFailure(.peerClosed)) }
        tls = connection
        initial.withUnsafeBytes { connection.receive($0) }
        let step = connection.handshake()
        if sendTLSOutput(connection) == .failed, case .inProgress = step { return .failed(TLSFailure(.peerClosed)) }
        return step
    }

    private func readTLS(_ tls: TLSConnection, count: Int, _ body: (ArraySlice<UInt8>) -> Void) -> Socket.IOResult {
        loop.readBuffer.withUnsafeBytes { tls.receive(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        if !tls.isEstablished {
            let step = tls.handshake()
            let sent = sendTLSOutput(tls)
            switch step {
            case .inProgress:
                return sent == .failed ? .failed(EPIPE) : .bytes(count)
            case .failed:
                delegate?.channelTLSHandshake(self, step)
                return .bytes(count)
            case .established:
                delegate?.channelTLSHandshake(self, step)
                guard !closed else { return .bytes(count) }
            }
        }
        // The ciphertext is in the connection now: the loop's buffer takes the plaintext. The
        // slices handed to `body` are flushed by its owner before `body` returns (the session
        // shell flushes after each event), so the next round may overwrite them.
        while !closed {
            let decrypted = loop.readBuffer.withUnsafeMutableBytes { tls.read(into: $0) }
            switch decrypted {
            case .bytes(let n):
                body(loop.readBuffer[0..<n])
            case .needMore:
                if sendTLSOutput(tls) == .failed { return .failed(EPIPE) }
                return .bytes(count)
            case .closed:
                return .closed
            case .failed:
                return .failed(EPROTO)
            }
        }
        return .bytes(count)
    }

    /// Encrypts what is queued into the connection (one run of records for the whole batch).
    private func encryptQueued(_ tls: TLSConnection) {
        guard let first = firstQueued else { return }
        firstQueued = nil
        if moreQueued.isEmpty {
            first.withUnsafeBytes { _ = tls.write($0) }
            return
        }
        // Gathered into the loop's scratch buffer so a batch of messages becomes as few
        // records as its size allows, not one record (and 22+ bytes) per message.
        let total = moreQueued.reduce(first.count) { $0 + $1.count }
        if loop.tlsScratch.count < total { loop.tlsScratch = [UInt8](repeating: 0, count: max(total, 64 * 1024)) }
        loop.tlsScratch.withUnsafeMutableBytes { scratch in
            var offset = 0
            for slice in CollectionOfOne(first) + moreQueued {
                slice.withUnsafeBytes { UnsafeMutableRawBufferPointer(rebasing: scratch[offset..<offset + $0.count]).copyMemory(from: $0) }
                offset += slice.count
            }
            _ = tls.write(UnsafeRawBufferPointer(rebasing: scratch[0..<total]))
        }
        moreQueued.removeAll()
    }

    /// Sends the connection's ciphertext: straight to the socket while nothing waits, else
    /// behind what waits (kept in order).
    private func sendTLSOutput(_ tls: TLSConnection) -> FlushResult {
        if loop.tlsScratch.isEmpty { loop.tlsScratch = [UInt8](repeating: 0, count: 64 * 1024) }
        while tls.outputCount > 0 {
            let n = loop.tlsScratch.withUnsafeMutableBytes { tls.takeOutput(into: $0) }
            guard n > 0 else { break }
            let chunk = loop.tlsScratch[0..<n]
            if !pending.isEmpty {
                pending.append(chunk)
                continue
            }
            switch chunk.withUnsafeBytes({ Socket.write(fd, $0) }) {
            case .bytes(let written):
                bytesWritten += written
                if written < n { pending.append(chunk.dropFirst(written)) }
            case .wouldBlock:
                pending.append(chunk)
            case .closed, .failed:
                return .failed
            }
        }
        guard pending.isEmpty else {
            updateInterest()
            return .pending
        }
        return .written
    }

    // MARK: Writing

    /// Queues bytes for the next `flush`. Behind bytes the kernel has not taken yet, they are
    /// copied into the pending buffer at once (their order is kept either way).
    public func enqueue(_ bytes: ArraySlice<UInt8>) {
        guard !closed, !bytes.isEmpty else { return }
        if !pending.isEmpty {
            flushQueuedIntoPending()
            pending.append(bytes)
        } else if firstQueued == nil {
            firstQueued = bytes
        } else {
            moreQueued.append(bytes)
        }
    }

    public enum FlushResult: Equatable {
        /// Everything is with the kernel.
        case written
        /// Some bytes wait for the socket to become writable: stop producing more for it.
        case pending
        /// The socket is broken (the peer is gone).
        case failed
    }

    /// Writes what is queued: one syscall for any number of queued slices.
    @discardableResult
    public func flush() -> FlushResult {
        guard !closed else { return .failed }
        if let tls {
            encryptQueued(tls)
            return sendTLSOutput(tls)
        }
        guard let first = firstQueued else { return pending.isEmpty ? .written : .pending }
        firstQueued = nil
        var result: Socket.IOResult
        var total = first.count
        if moreQueued.isEmpty {
            result = first.withUnsafeBytes { Socket.write(fd, $0) }
        } else {
            total += moreQueued.reduce(0) { $0 + $1.count }
            result = Self.writeGathered(fd, first: first, more: moreQueued)
        }
        switch result {
        case .bytes(let n):
            bytesWritten += n
            if n == total {
                moreQueued.removeAll()
                return .written
            }
            keepUnwritten(first: first, skipping: n)
        case .wouldBlock:
            keepUnwritten(first: first, skipping: 0)
        case .closed, .failed:
            moreQueued.removeAll()
            return .failed
        }
        updateInterest()
        return .pending
    }

    /// Copies what the kernel did not take into the pending buffer, skipping `written` bytes.
    private func keepUnwritten(first: ArraySlice<UInt8>, skipping written: Int) {
        var skip = written
        for slice in CollectionOfOne(first) + moreQueued {
            if skip >= slice.count { skip -= slice.count; continue }
            pending.append(slice.dropFirst(skip))
            skip = 0
        }
        moreQueued.removeAll()
    }

    private func flushQueuedIntoPending() {
        guard let first = firstQueued else { return }
        firstQueued = nil
        keepUnwritten(first: first, skipping: 0)
    }

    private static let maxGathered = 64

    private static func writeGathered(_ fd: Int32, first: ArraySlice<UInt8>, more: [ArraySlice<UInt8>]) -> Socket.IOResult {
        let slices = [first] + more.prefix(maxGathered - 1)
        return withUnsafeTemporaryAllocation(of: iovec.self, capacity: slices.count) { vectors in
            // The slices stay alive (and their storage pinned) for the whole call.
            func gather(_ index: Int) -> Socket.IOResult {
                guard index < slices.count else { return Socket.write(fd, vectors) }
                return slices[index].withUnsafeBytes { raw in
                    vectors[index] = iovec(iov_base: UnsafeMutableRawPointer(mutating: raw.baseAddress), iov_len: raw.count)
                    return gather(index + 1)
                }
            }
            return gather(0)
        }
    }

    /// Tries once more to push out what is pending, then deregisters and closes.
    public func close() {
        guard !closed else { return }
        if let tls {
            encryptQueued(tls)
            tls.shutdown()
            _ = sendTLSOutput(tls)
        }
        flushQueuedIntoPending()
        if !pending.isEmpty {
            let before = pending.count
            _ = pending.drain { Socket.write(fd, $0) }
            bytesWritten += before - pending.count
        }
        closed = true
        pending = PendingWrites()
        tls = nil
        delegate = nil
        loop.deregister(fd)
        _ = Glibc.close(fd)
    }
}
